"""The long-running processes: a worker (RQ's on Redis, or the local one polling the jobs table) and the
scheduler."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

import sqlalchemy as sa

from ..extensions import db
from . import queue, runner, schedules

log = logging.getLogger(__name__)
RECONCILE_SECONDS = 30
SCHEDULER_SECONDS = 20


def stop_on_signals() -> threading.Event:
    """SIGTERM (systemd's stop) and SIGINT let the job at hand finish, then stop the loop."""
    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())
    return stopping


def work_locally(*, burst: bool = False, with_scheduler: bool = False, poll_seconds: float = 1.0,
                 parent: int | None = None, stopping: threading.Event | None = None) -> None:
    """Take queued jobs from the table one at a time, until ``stopping`` is set (or, ``burst``, none is
    left). ``parent``: also stop once that process is gone."""
    stopping = stopping or threading.Event()
    if with_scheduler:
        schedules.ensure_default_schedules()
        db.session.commit()
    last = {"reconcile": 0.0, "schedule": 0.0}
    while not stopping.is_set():
        try:
            job_id = _housekeep_then_next(last, with_scheduler)
            if job_id is not None:
                runner.perform(job_id)
                continue
        except sa.exc.OperationalError:  # the database away, or (SQLite) busy with another writer: next poll
            db.session.rollback()
            log.warning("the local worker could not reach the database", exc_info=True)
        else:
            if burst:
                return
        if parent is not None and os.getppid() != parent:
            return
        stopping.wait(poll_seconds)


def _housekeep_then_next(last: dict[str, float], with_scheduler: bool) -> int | None:
    now = time.monotonic()
    if now - last["reconcile"] >= RECONCILE_SECONDS:
        runner.reconcile()
        last["reconcile"] = now
    if with_scheduler and now - last["schedule"] >= SCHEDULER_SECONDS:
        schedules.run_due()
        last["schedule"] = now
    job_id = runner.next_queued()
    db.session.rollback()  # end the read: the next poll sees new jobs
    return job_id


def work_with_rq(*, burst: bool = False) -> None:
    """An RQ worker on the dorms queue; jobs run in this process, one at a time."""
    from rq import SimpleWorker

    runner.reconcile()
    SimpleWorker([queue.rq_queue()], connection=queue.redis_connection()).work(burst=burst, logging_level="INFO")


def run_scheduler(*, once: bool = False, stopping: threading.Event | None = None) -> None:
    """Queue what is due (and fail jobs whose worker died) every SCHEDULER_SECONDS."""
    schedules.ensure_default_schedules()
    db.session.commit()
    stopping = stopping or threading.Event()
    while True:
        runner.reconcile()
        schedules.run_due()
        if once or stopping.wait(SCHEDULER_SECONDS):
            return
