"""Nightly statuses kept in ``night_statuses``, so reports over many nights read a row per student and night.

``rollup`` computes finished nights for every resident (a job after the cutoff: ``dorms access rollup``).
Whatever can change a night afterwards — a late event, a card matching old events, a permission
decided, a curfew rule or the calendar — calls ``invalidate`` for the nights it touches, and those
nights are computed from the events again until the next rollup, or until a report reads them:
``keep_unkept`` rolls up a finished night a report needs, once for everyone. Rows whose events were
purged are ``final`` and never invalidated.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..core.clock import campus_zone
from ..core.database import is_database_busy, is_postgresql
from ..core.kept import rolled_into
from ..extensions import db
from . import curfew, reports
from .models import NightFeed, NightStatus


def nights_touched(first: datetime, last: datetime) -> tuple[date, date]:
    """The nights whose reports read events between ``first`` and ``last`` (aware times)."""
    zone = campus_zone()
    # A night d reads from d 12:00 less a week up to d+1 at the cutoff, that moment included: an event of the
    # day after the cutoff leaves the night just finished alone (swipes arrive all day; that night stays kept).
    cutoff = reports.settings()["cutoff"]
    since_cutoff = timedelta(hours=cutoff.hour, minutes=cutoff.minute, seconds=cutoff.second, microseconds=1)
    start = (first.astimezone(zone) - since_cutoff).date()
    end = (last.astimezone(zone) + curfew.LOOK_BACK).date()
    return start, end


# On PostgreSQL a rollup and a change that invalidates must not interleave (the rollup would keep
# statuses computed before the change): both take this transaction-level lock. SQLite has one writer.
_LOCK = 0x646F726D  # "dorm"


def _serialise() -> None:
    if is_postgresql():
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})


def invalidate(first_night: date | None = None, last_night: date | None = None, *,
               events: bool = False) -> int:
    """Forget the rolled-up statuses of these nights (all nights without bounds); returns how many went.
    ``events``: new events arrived, so the nights' kept door-event counts (NightFeed) go too.

    Whole nights go: a report reads a night from its rolled-up rows only when it has them all."""
    _serialise()
    condition = [NightStatus.final.is_(False)]
    if first_night is not None:
        condition.append(NightStatus.night >= first_night)
    if last_night is not None:
        condition.append(NightStatus.night <= last_night)
    # Nothing to forget, nothing written: swipes arrive all day for nights not over yet, which have nothing
    # kept, and a DELETE of no row would still make every kept report (core.kept) be computed again.
    if events:
        # Not those of final nights: their purged events could no longer be counted again.
        feeds = [NightFeed.night >= first_night] if first_night is not None else []
        feeds += [NightFeed.night <= last_night] if last_night is not None else []
        if _any(NightFeed.night, feeds):
            db.session.execute(sa.delete(NightFeed).where(
                NightFeed.night.not_in(sa.select(NightStatus.night).where(NightStatus.final.is_(True))), *feeds))
    if not _any(NightStatus.night, condition):
        return 0
    return db.session.execute(sa.delete(NightStatus).where(*condition)).rowcount


def _any(night: sa.ColumnElement, condition: list) -> bool:
    """Whether a row of ``night``'s table meets ``condition``: by the night's index, from the first night on."""
    return db.session.scalar(sa.select(night).where(*condition).order_by(night).limit(1)) is not None


def rollup(nights: list[date], *, final: bool = False, only_missing: bool = False) -> int:
    """Compute and keep each night's statuses for every resident; returns how many rows were written.

    ``only_missing`` leaves nights that have their rows (the morning job); otherwise they are recomputed."""
    _serialise()
    written = 0
    kept = {night: is_final for night, is_final in db.session.execute(
        sa.select(NightStatus.night, sa.func.max(sa.cast(NightStatus.final, sa.Integer)))
        .where(NightStatus.night.in_(nights)).group_by(NightStatus.night))}
    _keep_feeds([night for night in nights if not kept.get(night)])
    for night in nights:
        if kept.get(night) or (only_missing and night in kept):
            continue  # final rows' events are gone: what was kept stays
        db.session.execute(sa.delete(NightStatus).where(NightStatus.night == night))
        rows = reports.night_report(night, live=True)
        if rows:
            # The table's INSERT, not the ORM's: the ORM would batch rows by which columns are empty, a
            # statement for every change from a late student to one in time.
            db.session.execute(sa.insert(NightStatus.__table__), [
                {"student_id": r.student_id, "night": night, "status": r.status.value, "building": r.building,
                 "time": r.time, "last_seen": r.last_seen, "last_door": r.last_door, "final": final}
                for r in rows])
        written += len(rows)
    return written


def keep_unkept(nights: list[date], feed_nights: list[date] = ()) -> None:
    """Roll up those of ``nights`` (curfew nights a report is about to read) that are finished and have no rows,
    and keep the door-event counts of those of ``feed_nights`` that have none: the morning job had not run, or
    a change reopened them. So a report computes such a night once for everyone instead of on every view.

    Each night is kept in a short transaction of its own, in a session of its own, under the rollup's lock:
    the caller's transaction (a page's) is neither committed nor held up, and a night another reader kept
    meanwhile is left as it is. The latest night first (the one being viewed); after CURFEW_KEEP_SECONDS the
    rest are left for later reads, which compute them live until then. A night not over yet is never kept:
    its statuses change until the cutoff."""
    with rolled_into(NightStatus.__tablename__, NightFeed.__tablename__):  # a kept report reads these, not events
        _keep_unkept(nights, feed_nights)


def _keep_unkept(nights: list[date], feed_nights: list[date]) -> None:
    last = reports.last_finished_night()
    budget = float(current_app.config.get("CURFEW_KEEP_SECONDS", 10))
    started = time.monotonic()
    for night in sorted({night for night in nights if night <= last}, reverse=True):
        if not _in_own_transaction(lambda: rollup([night], only_missing=True)):
            return
        if time.monotonic() - started > budget:
            return
    feeds = sorted({night for night in feed_nights if night <= last})
    if feeds:
        _in_own_transaction(lambda: _keep_feeds_of(feeds))


# How long a page waits for the rollup's lock (the morning job, or another reader keeping a night) before it
# computes live instead: well within a worker's request timeout.
KEEP_LOCK_WAIT = "10s"


def _in_own_transaction(work) -> bool:
    """Run ``work`` in a new session (a new app context has its own) and commit it. False when the lock or the
    database was busy for too long (SQLite has one writer): the caller computes live this time."""
    with current_app.app_context():
        try:
            if is_postgresql():
                db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{KEEP_LOCK_WAIT}'"))
            work()
            db.session.commit()
        except sa.exc.OperationalError as error:
            db.session.rollback()
            if not (is_database_busy(error) or getattr(error.orig, "sqlstate", None) == "55P03"):
                raise
            return False
    return True


def _keep_feeds_of(nights: list[date]) -> None:
    """Keep the door-event counts of those of ``nights`` that have none kept and whose events are all there."""
    _serialise()
    final = set(db.session.scalars(sa.select(NightStatus.night).where(NightStatus.night.in_(nights),
                                                                      NightStatus.final.is_(True)).distinct()))
    _keep_feeds([night for night in nights if night not in final])


def _keep_feeds(nights: list[date]) -> None:
    """Keep the door-event counts of those of ``nights`` that have none kept (their events are all there)."""
    have = set(db.session.scalars(sa.select(NightFeed.night).where(NightFeed.night.in_(nights),
                                                                 NightFeed.building == "")))
    missing = [night for night in nights if night not in have]
    if not missing:
        return
    rows = []
    for night, counts in reports.feed_counts(missing, live=True).items():
        rows.append({"night": night, "building": "", "events": sum(n for n, _last in counts.values()),
                     "last_event": max((last for _n, last in counts.values()), default=None)})
        rows += [{"night": night, "building": building, "events": n, "last_event": last}
                 for building, (n, last) in counts.items() if building]
    db.session.execute(sa.insert(NightFeed.__table__), rows)


def finished_nights(since: date, until: date | None = None) -> list[date]:
    """Nights from ``since`` whose cutoff has passed (until ``until`` at most)."""
    last = reports.last_finished_night()
    if until is not None:
        last = min(last, until)
    return reports.nights_between(since, last)


# What the morning rollup looks back over when no night is named: nights missed meanwhile are filled in.
RECENT_DAYS = 60


def recent_nights(until: date | None = None) -> list[date]:
    """The finished nights of the last RECENT_DAYS: what `dorms access rollup` and its job fill in."""
    return finished_nights(reports.last_finished_night() - timedelta(days=RECENT_DAYS), until)
