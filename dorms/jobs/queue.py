"""Handing jobs to a queue: RQ on Redis when DORMS_REDIS_URL is set, otherwise the jobs table itself
(a local worker polls it). A job reaches the queue only once the transaction that wrote it commits."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import audit
from ..core.clock import utcnow
from ..core.errors import ServiceError
from ..extensions import db
from . import registry
from .models import ACTIVE_STATUSES, Job, JobStatus

log = logging.getLogger(__name__)
# A job runs until it ends or is cancelled: allocation runs have their own time limit.
NO_TIMEOUT = -1
_PENDING = "dorms.jobs.to_queue"  # Session.info key: RQ ids to hand over once the transaction commits
_WITHDRAWN = "dorms.jobs.to_withdraw"  # ... and ids of cancelled jobs to take off the queue


def uses_redis() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def redis_connection():
    """One client per app (redis-py pools its connections)."""
    import redis

    extensions = current_app.extensions
    if "dorms.jobs.redis" not in extensions:
        extensions["dorms.jobs.redis"] = redis.Redis.from_url(current_app.config["REDIS_URL"])
    return extensions["dorms.jobs.redis"]


def rq_queue():
    from rq import Queue

    return Queue(current_app.config["JOBS_QUEUE"], connection=redis_connection())


def enqueue(kind: str, arguments: dict | None = None, *, actor=None, schedule=None, retry_of: Job | None = None,
            hand_over: bool = True) -> Job:
    """Record a job in the caller's transaction (flushed, not committed); it is queued when that commits.
    ``hand_over=False``: the caller runs it itself (``perform``), no worker gets it."""
    job = Job(kind=kind, arguments=dict(arguments or {}), schedule=schedule,
              started_by=actor or (None if schedule is not None else audit.current_actor()),
              attempt=retry_of.attempt + 1 if retry_of else 1, retry_of_id=retry_of.id if retry_of else None)
    db.session.add(job)
    db.session.flush()
    if hand_over and uses_redis():
        job.queue_job_id = f"{current_app.config['JOBS_QUEUE']}-job-{job.id}"
        db.session.info.setdefault(_PENDING, []).append((job.queue_job_id, job.id))
    return job


def hand_to_rq(queue_job_id: str, job_id: int) -> None:
    rq_queue().enqueue_call("dorms.jobs.runner.perform", args=(job_id,), job_id=queue_job_id, timeout=NO_TIMEOUT,
                            description=f"dorms job {job_id}")


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _after_commit(session) -> None:
    pending, withdrawn = session.info.pop(_PENDING, []), session.info.pop(_WITHDRAWN, [])
    for queue_job_id, job_id in pending:
        try:
            hand_to_rq(queue_job_id, job_id)
        except Exception:  # Redis down: the job stays queued in the table and reconcile hands it over later
            log.exception("job %s could not be handed to Redis", job_id)
    for queue_job_id in withdrawn:
        try:
            from rq.exceptions import NoSuchJobError
            from rq.job import Job as QueuedJob

            QueuedJob.fetch(queue_job_id, connection=redis_connection()).cancel()
        except NoSuchJobError:
            pass  # already taken (the worker then finds the job cancelled) or expired
        except Exception:
            log.exception("job %s could not be taken off the queue", queue_job_id)


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction rolled back (not a savepoint): nothing to queue
        session.info.pop(_PENDING, None)
        session.info.pop(_WITHDRAWN, None)


def end_early(job: Job, status: JobStatus, error: str | None = None, *,
              statuses: tuple[JobStatus, ...] = ACTIVE_STATUSES) -> bool:
    """Mark a job still in one of ``statuses`` cancelled or failed (a worker may finish it meanwhile), and let its
    task mark its own rows. True if this call ended it. A cancel that meets work already finished (the task's
    ``on_stop`` says so) is undone: the finished work stands."""
    savepoint = db.session.begin_nested()
    ended = db.session.execute(sa.update(Job).where(Job.id == job.id, Job.status.in_(statuses)).values(
        status=status, error=error, finished_at=utcnow()))
    if ended.rowcount != 1:
        savepoint.rollback()
        return False
    db.session.refresh(job)
    task = registry.find(job.kind)
    if task and task.on_stop and task.on_stop(job, status, error) is False and status == JobStatus.CANCELLED:
        savepoint.rollback()
        db.session.refresh(job)
        return False
    savepoint.commit()
    return True


def cancel(job: Job) -> None:
    """A queued job will not start; a running one stops at its next check and keeps nothing. A running job of a
    task that commits as it goes (not ``stoppable``) cannot be cancelled: it finishes. The caller commits."""
    queue_job_id = job.queue_job_id
    stoppable = registry.is_stoppable(job.kind)
    if not end_early(job, JobStatus.CANCELLED, statuses=ACTIVE_STATUSES if stoppable else (JobStatus.QUEUED,)):
        db.session.refresh(job)
        if job.status == JobStatus.RUNNING and not stoppable:
            raise ServiceError(_("This job is running and cannot be stopped: what it has done so far is already "
                                 "saved. It will finish on its own."))
        raise ServiceError(_("This job has already finished."))
    if queue_job_id:
        db.session.info.setdefault(_WITHDRAWN, []).append(queue_job_id)
    audit.record("job.cancel", job=job.id, kind=job.kind)


def retry(job: Job, actor=None) -> Job:
    """A new attempt: the same kind and arguments. The caller commits."""
    if job.is_active:
        raise ServiceError(_("This job has not finished yet."))
    if job.status == JobStatus.SUCCEEDED:
        raise ServiceError(_("This job succeeded; start a new one instead."))
    if not job.can_retry:
        raise ServiceError(_("This job cannot run again: what it worked on is no longer kept. Start it anew."))
    again = enqueue(job.kind, job.arguments, actor=actor, retry_of=job)
    audit.record("job.retry", job=again.id, kind=job.kind, attempt=again.attempt)
    return again
