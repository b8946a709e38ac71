from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db


class SyncKind(LabelledEnum):
    FULL = "full"  # every entry: also finds who left
    INCREMENTAL = "incremental"  # entries changed since the last run's high-water mark

    @classmethod
    def _labels(cls):
        return {cls.FULL: _l("Full"), cls.INCREMENTAL: _l("Incremental")}


class SyncStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # nothing was changed; ``error`` says why
    HELD = "held"  # it would deactivate too many students: nothing changed, rerun with force

    @classmethod
    def _labels(cls):
        return {cls.QUEUED: _l("Queued"), cls.RUNNING: _l("Running"), cls.SUCCEEDED: _l("Succeeded"),
                cls.FAILED: _l("Failed"), cls.HELD: _l("Held: too many would leave")}


class DirectoryRun(db.Model):
    """One sync from the campus directory: what it did, or why it did nothing."""

    __tablename__ = "directory_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SyncKind] = mapped_column(enum_column_type(SyncKind, "sync_kind"))
    status: Mapped[SyncStatus] = mapped_column(enum_column_type(SyncStatus, "sync_status"), default=SyncStatus.QUEUED)
    dry_run: Mapped[bool] = mapped_column(default=False)
    forced: Mapped[bool] = mapped_column(default=False)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"))  # the job running it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entries: Mapped[int] = mapped_column(default=0)  # read from the directory
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    deactivated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    counselors: Mapped[int] = mapped_column(default=0)  # counselor accounts created or changed
    cards: Mapped[int] = mapped_column(default=0)  # door cards added or given to another student
    # The newest modifyTimestamp read (generalized time); the next incremental sync asks for >= it.
    high_water_mark: Mapped[str | None] = mapped_column(sa.String(32))
    error: Mapped[str | None] = mapped_column(sa.Text)
    # Lists for the report: [{dn, key, reason}], [{student_number, name, status, bed}], and a sample of
    # the changes ({student_number, action, fields}) — what a dry run shows.
    skipped_entries: Mapped[list] = mapped_column(sa.JSON, default=list)
    inactive_residents: Mapped[list] = mapped_column(sa.JSON, default=list)
    changes: Mapped[list] = mapped_column(sa.JSON, default=list)

    started_by = relationship("User")
    job = relationship("Job")

    @property
    def is_finished(self) -> bool:
        return self.status in (SyncStatus.SUCCEEDED, SyncStatus.FAILED, SyncStatus.HELD)


# The audit log shows these stored words by their labels.
audit_describe.register_values(SyncKind, ("directory.sync", "kind"))
