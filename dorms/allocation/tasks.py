"""The allocation run as a job: `dorms worker` solves what the allocation page queues."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import jobs
from ..core.clock import utcnow
from ..extensions import db
from .models import AllocationRun, RunStatus
from .services import execute_run


def _stop_run(job: jobs.Job, status: jobs.JobStatus, error: str | None) -> None:
    """The job was cancelled, or its worker died: the run says so too."""
    run = db.session.scalar(sa.select(AllocationRun).where(AllocationRun.job_id == job.id))
    if run is not None and run.is_active:
        run.status = RunStatus.CANCELLED if status == jobs.JobStatus.CANCELLED else RunStatus.FAILED
        run.error, run.finished_at = error or "", utcnow()


@jobs.task("allocation.run", label=_l("Allocation run"), on_stop=_stop_run)
def run_allocation(context: jobs.Context, run: int) -> dict:
    allocation = db.session.get(AllocationRun, run)
    if allocation.status in (RunStatus.FAILED, RunStatus.CANCELLED):  # a retry: the run starts over
        allocation.status, allocation.error, allocation.stage, allocation.progress = RunStatus.QUEUED, "", "", 0.0
        allocation.finished_at = None
    allocation.job_id = context.job_id
    db.session.commit()
    allocation = execute_run(run, report=context.progress)
    return {"run": allocation.id, "status": allocation.status.value, "lines": len(allocation.moves)}
