from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..core.clock import utcnow
from ..core.database import analyze_bulk_writes
from ..core.roles import staff_required
from ..core.tables import RowError, download
from ..extensions import db
from ..i18n import reader_language
from ..jobs import Job, JobStatus
from . import exporting, importing, tasks
from .forms import ImportForm

bp = Blueprint("transfer", __name__)


def _columns() -> dict[str, list[str]]:
    return {kind: exporting.column_names(kind, reader_language()) for kind in exporting.KINDS}


@bp.route("/import", methods=["GET", "POST"])
@staff_required
def import_page():
    form = ImportForm()
    report = errors = pending = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        if importing.count_rows(upload.filename, data) > current_app.config["IMPORT_JOB_ROWS"]:
            job = tasks.start_import(form.kind.data, upload.filename, data, dry_run=form.dry_run.data,
                                     confirm=form.confirm.data, language=str(get_locale() or "en"))
            db.session.commit()
            return redirect(url_for(".import_job", import_job_id=job.id))
        try:
            report = importing.import_file(form.kind.data, upload.filename, data,
                                           dry_run=form.dry_run.data, in_browser=True,
                                           moves_confirmed=form.confirm.data or None)
            db.session.commit()
            analyze_bulk_writes()  # after the commit: at most IMPORT_JOB_ROWS rows, a matter of milliseconds
        except importing.ImportRejected as rejected:
            db.session.rollback()
            errors = rejected.errors
        except importing.MovesNeedConfirmation as unconfirmed:
            db.session.rollback()
            report = pending = unconfirmed.report
    # A confirmation of another file, or of other moves (beds changed since its preview), confirms nothing.
    changed = bool(pending and form.confirm.data)
    return render_template("transfer/import.html", form=form, report=report, errors=errors, pending=pending,
                           changed=changed, title=_("Import"), columns=_columns())


def _job_of_kind(job_id: int, kind: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind != kind:
        abort(404)
    return job


@bp.get("/import/jobs/<int:import_job_id>")
@staff_required
def import_job(import_job_id: int):
    """A large import's progress and then, as the import page shows it, its report."""
    job = _job_of_kind(import_job_id, "transfer.import")
    outcome = (job.result or {}).get("outcome") if job.status == JobStatus.SUCCEEDED else None
    report = importing.report_from_json(job.result["report"]) if outcome in ("checked", "imported", "pending") \
        else None
    errors = [RowError(**error) for error in job.result["errors"]] if outcome == "rejected" else None
    pending = report if outcome == "pending" else None
    return render_template("transfer/import_job.html", job=job, report=report, errors=errors, pending=pending,
                           changed=bool(pending and job.arguments.get("confirm")),
                           dry_run=job.arguments.get("dry_run"), kind=job.arguments.get("kind"))


@bp.route("/export/<kind>.<file_format>", methods=["GET", "POST"])
@staff_required
def export(kind: str, file_format: str):
    """The file at once; a large one is prepared by a job, started from a form (a link followed, prefetched or
    embedded elsewhere starts nothing)."""
    if kind not in exporting.KINDS or file_format not in exporting.FORMATS:
        abort(404)
    rows = exporting.count_rows(kind)
    if rows > current_app.config["EXPORT_JOB_ROWS"]:
        if request.method == "GET":
            return render_template("transfer/export_start.html", kind=kind, file_format=file_format, rows=rows,
                                   title=_("Export"))
        job = tasks.start_export(kind, file_format, reader_language())
        db.session.commit()
        return redirect(url_for(".export_job", export_job_id=job.id))
    if request.method == "POST":
        abort(405)
    filename = f"{kind}-{date.today().isoformat()}.{file_format}"
    return download(exporting.export(kind, file_format, language=reader_language()), file_format, filename)


def _export_file(job: Job):
    found = tasks.job_file(job.id, tasks.EXPORT)
    return found if found is not None and found.expires_at > utcnow() else None


@bp.get("/export/jobs/<int:export_job_id>")
@staff_required
def export_job(export_job_id: int):
    """A large export's progress, then its file for download until it expires."""
    job = _job_of_kind(export_job_id, "transfer.export")
    return render_template("transfer/export_job.html", job=job, file=_export_file(job))


@bp.get("/export/jobs/<int:export_job_id>/file")
@staff_required
def export_file(export_job_id: int):
    found = _export_file(_job_of_kind(export_job_id, "transfer.export")) or abort(404)
    return download(found.content, found.filename.rsplit(".", 1)[-1], found.filename)
