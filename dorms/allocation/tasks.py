"""The allocation run as a job: `dorms worker` solves what the allocation page queues."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import jobs
from ..core.clock import utcnow
from ..extensions import db
from .models import AllocationRun, RunStatus
from .services import execute_run


def _stop_run(job: jobs.Job, status: jobs.JobStatus, error: str | None) -> bool:
    """The job was cancelled, or its worker died: the run says so too, unless it finished first (its proposal
    committed): then False, and a cancel comes too late. The run's row decides which came first."""
    stopped = db.session.execute(sa.update(AllocationRun).where(
        AllocationRun.job_id == job.id, AllocationRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING))).values(
        status=RunStatus.CANCELLED if status == jobs.JobStatus.CANCELLED else RunStatus.FAILED,
        error=error or "", finished_at=utcnow()))
    return stopped.rowcount == 1 or db.session.scalar(
        sa.select(AllocationRun.id).where(AllocationRun.job_id == job.id)) is None


@jobs.task("allocation.run", label=_l("Allocation run"), on_stop=_stop_run)
def run_allocation(context: jobs.Context, run: int) -> dict:
    allocation = db.session.get(AllocationRun, run)
    # Only a retry starts an ended run over: a job that waited in the queue while its run was given up on must
    # not bring that run back.
    if db.session.get(jobs.Job, context.job_id).retry_of_id is not None and allocation.status in (
            RunStatus.FAILED, RunStatus.CANCELLED):
        allocation.status, allocation.error, allocation.stage, allocation.progress = RunStatus.QUEUED, "", "", 0.0
        allocation.finished_at = None
    allocation.job_id = context.job_id
    db.session.commit()
    allocation = execute_run(run, report=context.progress)
    return {"run": allocation.id, "status": allocation.status.value, "lines": len(allocation.moves)}
