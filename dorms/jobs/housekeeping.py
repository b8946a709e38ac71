"""The nightly purge of old jobs and schedule slots: a minute's schedule alone adds 1,440 of each a day."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..core.clock import utcnow
from ..extensions import db
from .models import ACTIVE_STATUSES, Job, ScheduleSlot
from .registry import PURGE_HOOKS, task

KEEP_DAYS = 30


def _still_referenced():
    """Conditions true of a job some row still points at (an allocation run or a sync, whose page links to its
    log; a retry of it). The foreign keys are found in the metadata at run time, so this package names no
    feature."""
    jobs = Job.__table__
    conditions = []
    for table in db.metadata.tables.values():
        for key in table.foreign_keys:
            if key.column.table is jobs:
                other = table.alias()
                conditions.append(sa.exists().where(other.c[key.parent.name] == jobs.c.id))
    return conditions


def purge(days: int = KEEP_DAYS) -> dict:
    """Delete what features registered as expired (PURGE_HOOKS), finished jobs older than ``days`` that nothing
    points at, and slots older than that. The caller commits."""
    before = utcnow() - timedelta(days=days)
    expired = sum(hook() for hook in PURGE_HOOKS)  # first: what they let go of may free old jobs
    slots = db.session.execute(sa.delete(ScheduleSlot).where(ScheduleSlot.slot < before)).rowcount
    jobs = db.session.execute(sa.delete(Job).where(
        Job.status.not_in(ACTIVE_STATUSES), Job.finished_at < before,
        *(sa.not_(condition) for condition in _still_referenced()))).rowcount
    return {"jobs": jobs, "slots": slots, "expired": expired}


@task("jobs.purge", label=_l("Purge of old jobs"), idle_fields=("jobs", "slots", "expired"))
def purge_old_jobs(context, days: int = KEEP_DAYS) -> dict:
    removed = purge(days)
    context.log(f"{removed['jobs']} jobs and {removed['slots']} schedule slots older than {days} days deleted")
    return removed
