"""Large imports and exports as jobs (README, "Jobs and schedules"): the import page and the export links
start them past IMPORT_JOB_ROWS and EXPORT_JOB_ROWS rows. The upload waits in transfer_files for its job,
which removes it however it ends; an export job leaves its file there for EXPORT_KEEP_HOURS."""
from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import jobs
from ..core.clock import utcnow
from ..extensions import db
from . import exporting, importing
from .models import TransferFile

UPLOAD, EXPORT = "upload", "export"
# Of the import's stages (importing.Progress), how far along each starts, in percent.
STAGE_START = {"read": 5, "checked": 5, "written": 50}
STAGE_SHARE = {"read": 0, "checked": 45, "written": 50}


def job_file(job_id: int, purpose: str) -> TransferFile | None:
    return db.session.scalar(sa.select(TransferFile).where(TransferFile.job_id == job_id,
                                                          TransferFile.purpose == purpose))


def start_import(kind: str, filename: str, data: bytes, *, dry_run: bool, confirm: str | None,
                 language: str) -> jobs.Job:
    """Queue an import of ``data`` (once the caller commits); the job reads it from the database."""
    filename = filename[-TransferFile.__table__.c.filename.type.length:]  # its end keeps the extension
    job = jobs.enqueue("transfer.import", {"kind": kind, "filename": filename, "dry_run": dry_run,
                                           "confirm": confirm or None, "language": language})
    db.session.add(TransferFile(job_id=job.id, purpose=UPLOAD, filename=filename, content=data))
    return job


def start_export(kind: str, file_format: str, language: str) -> jobs.Job:
    return jobs.enqueue("transfer.export", {"kind": kind, "file_format": file_format, "language": language})


def _drop_upload(job, status, error) -> None:
    """A job ended early (cancelled, failed, its worker died): its upload goes too."""
    db.session.execute(sa.delete(TransferFile).where(TransferFile.job_id == job.id,
                                                     TransferFile.purpose == UPLOAD))


@jobs.task("transfer.import", label=_l("Import"), on_stop=_drop_upload, retryable=False)
def run_import(context: jobs.Context, *, kind: str, filename: str, dry_run: bool, confirm: str | None,
               language: str) -> dict:
    """The import page's import, all or nothing as there; the result is what the page shows (the report, or
    every problem, or the moves to confirm)."""
    upload = job_file(context.job_id, UPLOAD)
    if upload is None:
        raise LookupError(_("The uploaded file is no longer kept; upload it again."))

    def progress(stage: str, done: int, total: int) -> None:
        context.stop_if_cancelled()
        context.progress(STAGE_START[stage] + STAGE_SHARE[stage] * done // max(total, 1), f"{done}/{total}")

    starter = db.session.get(jobs.Job, context.job_id).started_by
    with force_locale(language):
        try:
            report = importing.import_file(kind, filename, upload.content, dry_run=dry_run, progress=progress,
                                           moves_confirmed=confirm, actor=starter)
            result = {"outcome": "checked" if dry_run else "imported", "report": importing.report_as_json(report)}
        except importing.ImportRejected as rejected:
            result = {"outcome": "rejected", "errors": [asdict(error) for error in rejected.errors]}
        except importing.MovesNeedConfirmation as unconfirmed:
            result = {"outcome": "pending", "report": importing.report_as_json(unconfirmed.report)}
    context.log(result["outcome"])
    db.session.delete(upload)
    return result


@jobs.on_purge
def forget_expired_exports() -> int:
    """Export files past their time (the nightly purge; each export job also does it): personal data kept no
    longer than it is offered."""
    return db.session.execute(sa.delete(TransferFile).where(TransferFile.purpose == EXPORT,
                                                            TransferFile.expires_at < utcnow())).rowcount


@jobs.task("transfer.export", label=_l("Export"))
def run_export(context: jobs.Context, *, kind: str, file_format: str, language: str) -> dict:
    """Write the export into transfer_files, for download from the job's page until it expires."""
    now = utcnow()
    forget_expired_exports()
    with force_locale("zh_CN" if language == "zh" else "en"):
        body = exporting.export(kind, file_format, language=language)
    filename = f"{kind}-{now.date().isoformat()}.{file_format}"
    expires = now + timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])
    db.session.add(TransferFile(job_id=context.job_id, purpose=EXPORT, filename=filename, content=body,
                                expires_at=expires))
    return {"filename": filename, "bytes": len(body), "expires_at": expires.isoformat()}
