"""Routine work on a schedule: each slot (a quarter hour, a night) runs once however many schedulers run.

A scheduler claims a slot by inserting (schedule, slot) into a table where that pair is unique, in the
same transaction that queues the job: a second scheduler's insert fails, so it queues nothing. Only the
latest slot is ever due, so a scheduler that was down runs a missed slot once, not every one it missed.
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit
from ..core.clock import utcnow
from ..core.errors import ServiceError
from ..extensions import db
from . import queue, registry
from .models import Job, Schedule, ScheduleSlot

# name: (task, arguments, every N minutes or daily at a local time, label)
DEFAULT_SCHEDULES = {
    "directory.incremental": ("directory.sync", {"kind": "incremental"}, 15, _l("Directory sync (incremental)")),
    "directory.full": ("directory.sync", {"kind": "full"}, time(2, 30), _l("Directory sync (full)")),
    "access.purge": ("access.purge", {}, time(3, 30), _l("Purge of old door events")),
    "access.rollup": ("access.rollup", {}, time(6, 30), _l("Curfew rollup of last night")),
    "notifications.send": ("notifications.send", {}, 1, _l("Sending notifications")),
    "access.curfew_alerts": ("access.curfew_alerts", {}, time(6, 45), _l("Morning curfew alerts to counselors")),
    "checkin.report_reminders": ("checkin.report_reminders", {}, 60, _l("Reminders of check-in reports due")),
    "selection.window_reminders": ("selection.window_reminders", {}, 5,
                                   _l("Reminders of selection day windows about to open")),
    "jobs.purge": ("jobs.purge", {}, time(4, 0), _l("Purge of old jobs")),
}


def label(schedule: Schedule) -> str:
    default = DEFAULT_SCHEDULES.get(schedule.name)
    return str(default[3]) if default else schedule.name


def ensure_default_schedules() -> int:
    """Add the default schedules missing by name (an office's changes are kept). The caller commits."""
    existing = set(db.session.scalars(sa.select(Schedule.name)))
    added = 0
    for name, (kind, arguments, when, _label) in DEFAULT_SCHEDULES.items():
        if name not in existing:
            db.session.add(Schedule(name=name, kind=kind, arguments=arguments,
                                    every_minutes=when if isinstance(when, int) else None,
                                    time_of_day=when if isinstance(when, time) else None))
            added += 1
    db.session.flush()
    return added


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def latest_slot(schedule: Schedule, now: datetime) -> datetime:
    """The newest slot at or before ``now`` (UTC): intervals count from the epoch, times of day are local."""
    if schedule.every_minutes:
        step = schedule.every_minutes * 60
        return datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
    local = now.astimezone(_zone())
    slot = datetime.combine(local.date(), schedule.time_of_day, tzinfo=local.tzinfo)
    if slot > local:
        slot -= timedelta(days=1)
    return slot.astimezone(UTC)


def run_due(now: datetime | None = None) -> list[Job]:
    """Queue each enabled schedule's latest slot unless some scheduler already has. Commits per schedule."""
    now = now or utcnow()
    queued = []
    for schedule in db.session.scalars(sa.select(Schedule).where(Schedule.enabled).order_by(Schedule.id)).all():
        slot = latest_slot(schedule, now)
        if slot < schedule.since or not registry.is_available(schedule.kind):
            continue  # before it was set up or changed; or its task is not part (or not set up) here
        if _claimed(schedule, slot):
            continue  # the usual case, without trying an insert that fails
        try:
            with db.session.begin_nested():
                claim = ScheduleSlot(schedule_id=schedule.id, slot=slot)
                db.session.add(claim)
                db.session.flush()
        except sa.exc.IntegrityError:
            continue  # another scheduler claimed it first
        arguments = dict(schedule.arguments)
        if registry.find(schedule.kind).takes_slot:  # the slot, and how long until the next one
            arguments.update(slot=slot.isoformat(), every_minutes=schedule.every_minutes or 24 * 60)
        claim.job_id = queue.enqueue(schedule.kind, arguments, schedule=schedule).id
        db.session.commit()
        queued.append(db.session.get(Job, claim.job_id))
    db.session.commit()
    return queued


def _claimed(schedule: Schedule, slot: datetime) -> bool:
    return db.session.scalar(sa.select(ScheduleSlot.id).where(ScheduleSlot.schedule_id == schedule.id,
                                                              ScheduleSlot.slot == slot)) is not None


def last_jobs() -> dict[int, Job]:
    """Each schedule's newest job."""
    newest = sa.select(sa.func.max(Job.id)).where(Job.schedule_id.is_not(None)).group_by(Job.schedule_id)
    return {job.schedule_id: job for job in db.session.scalars(sa.select(Job).where(Job.id.in_(newest)))}


def change(schedule: Schedule, *, enabled: bool, every_minutes: int | None, time_of_day: time | None) -> None:
    """Edit a schedule; the caller commits. Changed timing or re-enabling starts from now: no catch-up."""
    if schedule.every_minutes is not None:
        if not every_minutes or not 1 <= every_minutes <= 10080:
            raise ServiceError(_("Give an interval between 1 minute and 7 days (10080 minutes)."))
        time_of_day = None
    else:
        if time_of_day is None:
            raise ServiceError(_("Give a time of day (HH:MM)."))
        every_minutes = None
    if (enabled and not schedule.enabled) or (every_minutes, time_of_day) != (schedule.every_minutes,
                                                                               schedule.time_of_day):
        schedule.since = utcnow()
    schedule.enabled, schedule.every_minutes, schedule.time_of_day = enabled, every_minutes, time_of_day
    audit.record("job.schedule", schedule=schedule.name, enabled=enabled, every_minutes=every_minutes,
                 time_of_day=time_of_day.strftime("%H:%M") if time_of_day else None)
