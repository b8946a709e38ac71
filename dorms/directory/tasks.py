"""Directory syncs as jobs: the ones the directory page starts, and the scheduled incremental and full ones."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import jobs
from ..core.clock import utcnow
from ..core.errors import ServiceError
from ..extensions import db
from .models import DirectoryRun, SyncKind, SyncStatus
from .settings import is_configured
from .sync import create_run, execute_configured


def _stop_sync(job: jobs.Job, status: jobs.JobStatus, error: str | None) -> None:
    """The job was cancelled while queued, or its worker died: its sync says so, unless it finished first."""
    db.session.execute(sa.update(DirectoryRun).where(
        DirectoryRun.job_id == job.id, DirectoryRun.status.in_((SyncStatus.QUEUED, SyncStatus.RUNNING))).values(
        status=SyncStatus.FAILED, error=error or str(status.label), finished_at=utcnow()))


# A running sync commits its changes: it cannot be cancelled then, only while queued.
@jobs.task("directory.sync", label=_l("Directory sync"), on_stop=_stop_sync, available=is_configured,
           stoppable=False, idle_fields=("created", "updated", "deactivated"))
def sync(context: jobs.Context, run: int | None = None, kind: str = SyncKind.INCREMENTAL.value,
         dry_run: bool = False, force: bool = False) -> dict:
    """``run``: the sync the page queued; otherwise (the schedules) a new one of ``kind``."""
    if run is None:
        if not is_configured():
            context.log("The campus directory is not configured: nothing to sync.")
            return {"skipped": "not configured"}
        try:
            directory_run = create_run(SyncKind(kind), dry_run=dry_run, force=force)
        except ServiceError as error:  # one is running: the next slot will catch up
            context.log(str(error))
            return {"skipped": str(error)}
    else:
        directory_run = db.session.get(DirectoryRun, run)
        if directory_run.status == SyncStatus.FAILED:  # a retry: the same sync again
            directory_run.status, directory_run.error, directory_run.finished_at = SyncStatus.QUEUED, None, None
    directory_run.job_id = context.job_id
    db.session.flush()
    directory_run = execute_configured(directory_run)
    if directory_run.status == SyncStatus.FAILED:
        raise RuntimeError(directory_run.error)
    return {"run": directory_run.id, "status": directory_run.status.value, "created": directory_run.created,
            "updated": directory_run.updated, "deactivated": directory_run.deactivated}
