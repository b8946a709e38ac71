from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _

from ..core.roles import staff_required
from ..core.tables import download
from ..extensions import db
from ..i18n import reader_language
from . import exporting, importing
from .forms import ImportForm

bp = Blueprint("transfer", __name__)



@bp.route("/import", methods=["GET", "POST"])
@staff_required
def import_page():
    form = ImportForm()
    report = errors = pending = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report = importing.import_file(form.kind.data, upload.filename, upload.read(),
                                           dry_run=form.dry_run.data, in_browser=True,
                                           moves_confirmed=form.confirm.data or None)
            db.session.commit()
        except importing.ImportRejected as rejected:
            db.session.rollback()
            errors = rejected.errors
        except importing.MovesNeedConfirmation as unconfirmed:
            db.session.rollback()
            report = pending = unconfirmed.report
    # A confirmation of another file, or of other moves (beds changed since its preview), confirms nothing.
    changed = bool(pending and form.confirm.data)
    return render_template("transfer/import.html", form=form, report=report, errors=errors, pending=pending,
                           changed=changed, title=_("Import"),
                           columns={kind: exporting.column_names(kind, reader_language()) for kind in exporting.KINDS})


@bp.get("/export/<kind>.<file_format>")
@staff_required
def export(kind: str, file_format: str):
    if kind not in exporting.KINDS or file_format not in exporting.FORMATS:
        abort(404)
    filename = f"{kind}-{date.today().isoformat()}.{file_format}"
    return download(exporting.export(kind, file_format, language=reader_language()), file_format, filename)
