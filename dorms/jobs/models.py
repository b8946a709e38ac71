"""Jobs as stored: each one's arguments, progress, log and outcome; the schedules and the slots they ran."""
from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db
from . import registry


class JobStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # nothing the job wrote was kept; ``error`` says why
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls):
        return {cls.QUEUED: _l("Queued"), cls.RUNNING: _l("Running"), cls.SUCCEEDED: _l("Succeeded"),
                cls.FAILED: _l("Failed"), cls.CANCELLED: _l("Cancelled")}


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(db.Model):
    """One piece of background work: what ran, for whom, how far it got and how it ended."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))  # a registered task's name, e.g. "allocation.run"
    arguments: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # none: the scheduler
    schedule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_schedules.id"))
    status: Mapped[JobStatus] = mapped_column(enum_column_type(JobStatus, "job_status"), default=JobStatus.QUEUED,
                                              index=True)
    progress: Mapped[int] = mapped_column(default=0)  # percent
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    log: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str | None] = mapped_column(sa.Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written while it runs: a running job whose heartbeat has gone stale lost its worker.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(sa.String(128))  # host:pid of the process running it
    attempt: Mapped[int] = mapped_column(default=1)
    retry_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"))
    queue_job_id: Mapped[str | None] = mapped_column(sa.String(64))  # the RQ job's id (Redis only)

    started_by = relationship("User")
    schedule = relationship("Schedule")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_finished(self) -> bool:
        return not self.is_active

    @property
    def can_retry(self) -> bool:
        return self.status in (JobStatus.FAILED, JobStatus.CANCELLED) and registry.is_retryable(self.kind)

    @property
    def can_cancel(self) -> bool:
        """Queued; or running a task that keeps nothing when stopped (one that commits as it goes finishes)."""
        return self.status == JobStatus.QUEUED or (self.status == JobStatus.RUNNING
                                                    and registry.is_stoppable(self.kind))


class Schedule(db.Model):
    """Routine work run by `dorms scheduler`: every so many minutes, or daily at a local time of day."""

    __tablename__ = "job_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    arguments: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    every_minutes: Mapped[int | None] = mapped_column()  # set: an interval schedule
    time_of_day: Mapped[time | None] = mapped_column(sa.Time)  # otherwise: daily at this local time
    # Slots before this are not run (a new or just re-enabled schedule does not catch up on the past).
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("(every_minutes IS NULL) != (time_of_day IS NULL)", name="interval_or_time"),
        sa.CheckConstraint("every_minutes IS NULL OR every_minutes BETWEEN 1 AND 10080", name="every_minutes_range"),
    )


class ScheduleSlot(db.Model):
    """A slot a schedule ran in: the unique pair is what lets one scheduler, and only one, run it."""

    __tablename__ = "job_schedule_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(sa.ForeignKey("job_schedules.id", ondelete="CASCADE"))
    slot: Mapped[datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("schedule_id", "slot", name="uq_job_schedule_slots_schedule_slot"),)
