"""Raw door events are kept for a limited time; the nightly statuses reports need are kept for good.

``purge`` first rolls every night whose events it is about to delete up into ``NightStatus`` rows,
then deletes the events, in one transaction: the reports of those nights read the rollup afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .. import audit
from ..core.clock import campus_zone, utcnow
from ..extensions import db
from . import curfew, reports, rollup
from .models import AccessEvent

# Nights whose events are purged keep their statuses for good; a decision made later would not reach
# them, so events stay well past the week in which requests may still be made and decided.
MIN_DAYS = 30


@dataclass
class PurgeReport:
    before: datetime  # events older than this go
    nights_rolled_up: int
    statuses_kept: int
    events_deleted: int


def retention_days() -> int:
    return int(current_app.config.get("ACCESS_RETENTION_DAYS", 180))


def purge(days: int | None = None, *, dry_run: bool = False) -> PurgeReport:
    days = retention_days() if days is None else days
    if days < MIN_DAYS:
        raise ValueError(f"keep at least {MIN_DAYS} days of events: reports read a week back, and students and "
                         "counselors may still ask and decide for last week's nights")
    before = utcnow() - timedelta(days=days)
    oldest = db.session.scalar(sa.select(sa.func.min(AccessEvent.occurred_at)))
    report = PurgeReport(before, 0, 0, 0)
    if oldest is None or oldest >= before:
        return report
    zone = campus_zone()
    # A night reads events back to a week before its noon: every night up to a week after the cutoff
    # loses some of its events, so each is rolled up (once) before anything is deleted.
    first = oldest.astimezone(zone).date() - timedelta(days=1)
    last = (before.astimezone(zone) + curfew.LOOK_BACK).date()
    nights = reports.nights_between(first, last)
    if dry_run:
        report.nights_rolled_up = len(nights)
    else:
        report.statuses_kept = rollup.rollup(nights, final=True)
        report.nights_rolled_up = len(nights)
    old = AccessEvent.occurred_at < before
    if dry_run:
        report.events_deleted = db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent).where(old))
        return report
    report.events_deleted = db.session.execute(sa.delete(AccessEvent).where(old)).rowcount
    audit.record("access.purge", before=before.isoformat(), events=report.events_deleted,
                 nights=report.nights_rolled_up)
    return report
