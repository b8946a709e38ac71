"""The long-running processes: a worker (RQ's on Redis, or the local one polling the jobs table) and the
scheduler."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

from ..extensions import db
from . import queue, runner, schedules

log = logging.getLogger(__name__)
RECONCILE_SECONDS = 30
SCHEDULER_SECONDS = 20


def _stop_on_signals() -> threading.Event:
    """SIGTERM (systemd's stop) and SIGINT finish the job at hand, then stop."""
    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())
    return stopping


def _housekeeping(with_scheduler: bool) -> None:
    runner.reconcile()
    if with_scheduler:
        schedules.run_due()


def work_locally(*, burst: bool = False, with_scheduler: bool = False, poll_seconds: float = 1.0,
                 parent: int | None = None, stopping: threading.Event | None = None) -> None:
    """Take queued jobs from the table one at a time. ``parent``: stop once that process is gone."""
    stopping = stopping or _stop_on_signals()
    if with_scheduler:
        schedules.ensure_default_schedules()
        db.session.commit()
    last = {"reconcile": 0.0, "schedule": 0.0}
    while not stopping.is_set():
        now = time.monotonic()
        if now - last["reconcile"] >= RECONCILE_SECONDS:
            runner.reconcile()
            last["reconcile"] = now
        if with_scheduler and now - last["schedule"] >= SCHEDULER_SECONDS:
            schedules.run_due()
            last["schedule"] = now
        job_id = runner.next_queued()
        db.session.rollback()  # end the read: the next poll sees new jobs
        if job_id is not None:
            runner.perform(job_id)
            continue
        if burst or (parent is not None and os.getppid() != parent):
            return
        stopping.wait(poll_seconds)


def work_with_rq(*, burst: bool = False) -> None:
    """An RQ worker on the dorms queue; jobs run in this process, one at a time."""
    from rq import SimpleWorker

    runner.reconcile()
    SimpleWorker([queue.rq_queue()], connection=queue.redis_connection()).work(burst=burst, logging_level="INFO")


def run_scheduler(*, once: bool = False) -> None:
    schedules.ensure_default_schedules()
    db.session.commit()
    stopping = None if once else _stop_on_signals()
    while True:
        _housekeeping(with_scheduler=True)
        if once or stopping.wait(SCHEDULER_SECONDS):
            return
