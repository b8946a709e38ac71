"""The housing office's directory page: recent syncs, what they did, and starting one."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import jobs
from ..core.enums import StudentStatus
from ..core.errors import ServiceError
from ..core.roles import staff_required
from ..extensions import db
from .forms import SyncForm
from .mapping import describe
from .models import DirectoryRun, SyncKind
from .settings import is_configured
from .sync import create_run

bp = Blueprint("directory", __name__, url_prefix="/directory")


@bp.get("/")
@staff_required
def index():
    runs = db.session.scalars(sa.select(DirectoryRun).order_by(DirectoryRun.id.desc()).limit(30)).all()
    return render_template("directory/index.html", runs=runs, form=SyncForm(), configured=is_configured())


@bp.post("/")
@staff_required
def start():
    form = SyncForm()
    if not is_configured():
        flash(_("The campus directory is not configured (DORMS_LDAP_URL and the settings in the README)."), "danger")
        return redirect(url_for(".index"))
    if not form.validate_on_submit():
        flash(_("The form was not valid; please try again."), "danger")
        return redirect(url_for(".index"))
    try:
        run = create_run(SyncKind(form.kind.data), dry_run=form.dry_run.data, force=form.force.data)
    except ServiceError as error:
        flash(str(error), "warning")
        return redirect(url_for(".index"))
    run.job = jobs.enqueue("directory.sync", {"run": run.id})
    db.session.commit()
    return redirect(url_for(".run", run_id=run.id))


ACTIONS = {"create": _l("New student"), "update": _l("Updated"), "deactivate": _l("Gone from the directory")}


@bp.get("/runs/<int:run_id>")
@staff_required
def run(run_id: int):
    return render_template("directory/run.html", run=db.get_or_404(DirectoryRun, run_id), describe=describe,
                           actions=ACTIONS, status_label=lambda value: StudentStatus(value).label)
