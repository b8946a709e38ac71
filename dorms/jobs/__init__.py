"""Background jobs and schedules: long or routine work, recorded in the jobs table, run by workers.

Features register tasks (``@jobs.task("allocation.run")``) and start them with ``jobs.enqueue(...)`` in
their transaction; `dorms worker` runs them (RQ on Redis, or the local worker), `dorms scheduler` queues
the routine ones. README, "Jobs and schedules".
"""
from .models import Job, JobStatus, Schedule
from .queue import cancel, end_early, enqueue, retry
from .registry import Cancelled, Context, on_purge, task
from .runner import perform, reconcile

__all__ = ["Cancelled", "Context", "Job", "JobStatus", "Schedule", "cancel", "end_early", "enqueue", "on_purge",
           "perform", "reconcile", "retry", "task"]
