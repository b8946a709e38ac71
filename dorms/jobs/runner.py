"""Running jobs: ``perform(job_id)`` is the one path, whether RQ, the local worker or the CLI calls it.

A job's own writes happen in the session's transaction and commit together with its "succeeded" mark.
What staff watch while it runs (progress, log, heartbeat) goes over a connection of its own, so it is
seen at once and survives a rollback; on SQLite, where a second writer would wait for the first, it
goes into the job's transaction instead and shows when that commits.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..core.clock import utcnow
from ..core.database import analyze_bulk_writes
from ..extensions import db
from . import queue, registry
from .models import Job, JobStatus
from .registry import Cancelled

log = logging.getLogger(__name__)
LOG_LIMIT = 100_000  # characters one run may add to its job's log


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _database_now():
    """Heartbeats are written and judged by the database's clock: the workers' and the reconciler's may differ."""
    return sa.func.now() if db.engine.dialect.name != "sqlite" else utcnow()


def _claim(job_id: int) -> bool:
    """Take a queued job; a conditional UPDATE, so two workers never both take it (nor a cancelled one)."""
    claimed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED).values(
        status=JobStatus.RUNNING, started_at=utcnow(), heartbeat_at=_database_now(), worker=worker_name()))
    db.session.commit()
    return claimed.rowcount == 1


class _RunningJob:
    """The context a task is handed (registry.Context)."""

    def __init__(self, job: Job):
        self.job_id = job.id
        self._job = job
        self._engine = db.engine
        self._separate = self._engine.dialect.name != "sqlite"
        self._logged = 0
        self._stop = threading.Event()
        self._heartbeat = None
        if self._separate:
            seconds = current_app.config["JOBS_HEARTBEAT_SECONDS"]
            self._heartbeat = threading.Thread(target=self._beat, args=(seconds,), daemon=True)
            self._heartbeat.start()

    def _write(self, **values) -> None:
        if self._separate:
            with self._engine.begin() as connection:
                connection.execute(sa.update(Job).where(Job.id == self.job_id).values(**values))
        else:
            for name, value in values.items():
                setattr(self._job, name, value)

    def _beat(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                self._write(heartbeat_at=_database_now())
            except sa.exc.SQLAlchemyError:
                log.exception("job %s: the heartbeat could not be written", self.job_id)

    def progress(self, percent: int, note: str = "") -> None:
        self._write(progress=max(0, min(100, int(percent))), note=str(note)[:200], heartbeat_at=_database_now())

    def log(self, text: str) -> None:
        if self._logged > LOG_LIMIT:
            return
        line = f"{utcnow():%Y-%m-%d %H:%M:%S} {text}\n"
        self._logged += len(line)
        if self._logged > LOG_LIMIT:
            line = "…\n"
        self._write(log=Job.log + line if self._separate else self._job.log + line)

    def cancelled(self) -> bool:
        with self._engine.connect() as connection:  # what is committed now, not what this transaction saw
            return connection.scalar(sa.select(Job.status).where(Job.id == self.job_id)) != JobStatus.RUNNING

    def stop_if_cancelled(self) -> None:
        if self.cancelled():
            raise Cancelled

    def close(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()


def perform(job_id: int) -> JobStatus | None:
    """Run a queued job to its end; None if it was not queued (another worker took it, or it was cancelled)."""
    if not _claim(job_id):
        db.session.rollback()
        return None
    job = db.session.get(Job, job_id)
    task = registry.find(job.kind)
    context = _RunningJob(job)
    try:
        if task is None:
            raise LookupError(_("No task is registered under the name %(kind)s.", kind=job.kind))
        result = task.function(context, **job.arguments)
        context.close()
        db.session.flush()
        # A cancel that came in meanwhile wins: then nothing the task wrote is kept.
        finished = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(
            status=JobStatus.SUCCEEDED, progress=100, result=result, finished_at=utcnow()))
        if finished.rowcount != 1:
            raise Cancelled
        db.session.commit()
    except Cancelled:
        context.close()
        db.session.rollback()
        queue.end_early(db.session.get(Job, job_id), JobStatus.CANCELLED)
        db.session.commit()
        return JobStatus.CANCELLED
    except Exception as error:  # the job page must say why, whatever broke; the data stays as it was
        context.close()
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        job = db.session.get(Job, job_id)
        if job.status == JobStatus.RUNNING:
            job.log = (job.log or "") + traceback.format_exc()[-LOG_LIMIT:]
            queue.end_early(job, JobStatus.FAILED, f"{type(error).__name__}: {error}")
        db.session.commit()
        return JobStatus.FAILED
    finally:
        context.close()
    analyze_bulk_writes()  # what the job loaded in bulk (an import), now committed
    return JobStatus.SUCCEEDED


def _process_is_gone(worker: str | None) -> bool:
    """The worker ran on this machine and its process no longer exists."""
    host, _colon, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdecimal():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


def reconcile() -> list[int]:
    """Fail running jobs whose worker died, and hand queued jobs Redis lost over again. Run by workers and the
    scheduler; returns the ids of the jobs it failed. Commits.

    On PostgreSQL a running job's worker writes a heartbeat (by the database's clock): a stale one means the
    worker died. A host:pid is no proof there (containers may share a hostname and reuse pids). SQLite sites run
    on one machine and write no heartbeat: there the worker's process is looked up."""
    stale_seconds = current_app.config["JOBS_STALE_SECONDS"]
    running = sa.select(Job).where(Job.status == JobStatus.RUNNING).order_by(Job.id)
    if db.engine.dialect.name == "sqlite":
        dead = [job for job in db.session.scalars(running) if _process_is_gone(job.worker)]
    else:
        dead = db.session.scalars(running.where(
            Job.heartbeat_at < sa.func.now() - timedelta(seconds=stale_seconds))).all()
    failed = []
    for job in dead:
        error = (_("The worker stopped mid-job; nothing was applied.") if registry.is_stoppable(job.kind)
                 else _("The worker stopped mid-job; what it had saved by then is kept."))
        if queue.end_early(job, JobStatus.FAILED, error):
            failed.append(job.id)
    db.session.commit()
    if queue.uses_redis():
        _requeue_lost(utcnow() - timedelta(seconds=stale_seconds))
    return failed


def _requeue_lost(older_than) -> None:
    from rq.job import Job as QueuedJob

    connection = queue.redis_connection()
    for job_id, queue_job_id in db.session.execute(sa.select(Job.id, Job.queue_job_id).where(
            Job.status == JobStatus.QUEUED, Job.queued_at < older_than, Job.queue_job_id.is_not(None))):
        if not QueuedJob.exists(queue_job_id, connection=connection):
            queue.hand_to_rq(queue_job_id, job_id)
    db.session.rollback()


def next_queued() -> int | None:
    return db.session.scalar(sa.select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1))
