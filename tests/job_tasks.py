"""Tasks for the job tests: each writes an audit entry (what must be kept or not) and does what the test asks.

Imported by the tests, and by the worker processes they start (`python -c "import tests.job_tasks; ..."`)."""
from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from dorms import audit, jobs
from dorms.audit.models import AuditEntry
from dorms.extensions import db

ACTION = "test.job"


def written(marker: str) -> int:
    """How many entries jobs with ``marker`` left (committed ones, as this session sees them)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == ACTION, AuditEntry.reason == marker))


@jobs.task("test.write")
def write(context: jobs.Context, marker: str, fail: bool = False) -> dict:
    audit.record(ACTION, reason=marker)
    db.session.flush()
    context.progress(50, "written")
    context.log(f"wrote {marker}")
    if fail:
        raise ValueError(f"told to fail after writing {marker}")
    return {"marker": marker}


@jobs.task("test.wait")
def wait(context: jobs.Context, marker: str, release: str) -> dict:
    """Write, say so, then wait for the file ``release`` (or a cancel): the test holds the job mid-way."""
    audit.record(ACTION, reason=marker)
    db.session.flush()
    context.progress(50, "waiting")
    deadline = time.monotonic() + 60
    while not Path(release).exists():
        context.stop_if_cancelled()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} never came")
        time.sleep(0.05)
    return {"marker": marker}
