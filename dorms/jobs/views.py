"""Staff pages: recent jobs (cancel, retry) and the schedules (on or off, how often, what time)."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from ..core.forms import submit
from ..core.roles import staff_required
from ..extensions import db
from . import queue, registry, schedules
from .forms import ScheduleForm
from .models import Job, JobStatus, Schedule

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
RECENT = 100


@bp.app_context_processor
def job_helpers():
    return {"job_label": registry.label, "schedule_label": schedules.label}


def _job_or_404(job_id: int) -> Job:
    return db.session.get(Job, job_id) or abort(404)


@bp.get("/")
@staff_required
def index():
    show_routine = request.args.get("routine") == "1"
    recent = sa.select(Job).options(joinedload(Job.started_by), joinedload(Job.schedule))
    if not show_routine:
        recent = recent.where(sa.not_(_routine()))
    jobs = db.session.scalars(recent.order_by(Job.id.desc()).limit(RECENT)).all()
    return render_template("jobs/index.html", jobs=jobs, redis=queue.uses_redis(), show_routine=show_routine)


def _routine():
    """Scheduled runs that succeeded and did nothing (sent nothing, synced no change): left out unless asked for,
    so that a minute's schedule does not bury the allocation runs and syncs."""
    idle = [sa.and_(Job.kind == task.name, *(Job.result[field].as_integer() == 0 for field in task.idle_fields))
            for task in registry.TASKS.values() if task.idle_fields]
    return sa.and_(Job.schedule_id.is_not(None), Job.status == JobStatus.SUCCEEDED, sa.or_(sa.false(), *idle))


@bp.get("/<int:job_id>")
@staff_required
def job(job_id: int):
    job = _job_or_404(job_id)
    return render_template("jobs/job.html", job=job, arguments=json.dumps(job.arguments, ensure_ascii=False),
                           result=json.dumps(job.result, ensure_ascii=False) if job.result is not None else None)


@bp.post("/<int:job_id>/cancel")
@staff_required
def cancel(job_id: int):
    submit(None, lambda: queue.cancel(_job_or_404(job_id)), _("The job was cancelled; nothing it did is kept."))
    return redirect(url_for(".job", job_id=job_id))


@bp.post("/<int:job_id>/retry")
@staff_required
def retry(job_id: int):
    again = submit(None, lambda: queue.retry(_job_or_404(job_id)), "")
    return redirect(url_for(".job", job_id=again.result.id if again else job_id))


@bp.get("/schedules")
@staff_required
def schedule_list():
    rows = db.session.scalars(sa.select(Schedule).order_by(Schedule.id)).all()
    forms = {s.id: ScheduleForm(prefix=f"s{s.id}", data={"enabled": s.enabled, "every_minutes": s.every_minutes,
                                                          "time_of_day": s.time_of_day}) for s in rows}
    return render_template("jobs/schedules.html", schedules=rows, forms=forms, label=schedules.label,
                           available=lambda s: registry.is_available(s.kind), last_jobs=schedules.last_jobs())


@bp.post("/schedules/<int:schedule_id>")
@staff_required
def edit_schedule(schedule_id: int):
    schedule = db.session.get(Schedule, schedule_id) or abort(404)
    form = ScheduleForm(prefix=f"s{schedule.id}")
    submit(form, lambda: schedules.change(schedule, enabled=form.enabled.data, every_minutes=form.every_minutes.data,
                                          time_of_day=form.time_of_day.data))
    return redirect(url_for(".schedule_list"))
