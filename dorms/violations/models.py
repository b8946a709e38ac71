"""Violation types (a catalogue staff keep), violation records and their workflow history."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import Versioned, enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db
from ..photos import Photo


class Severity(LabelledEnum):
    MINOR = "minor"
    SERIOUS = "serious"
    GRAVE = "grave"

    @classmethod
    def _labels(cls):
        return {cls.MINOR: _l("Minor"), cls.SERIOUS: _l("Serious"), cls.GRAVE: _l("Grave")}


class ViolationStatus(LabelledEnum):
    RECORDED = "recorded"
    NOTIFIED = "notified"
    RESOLVED = "resolved"
    APPEALED = "appealed"
    UPHELD = "upheld"  # the appeal was turned down: the violation stands
    DISMISSED = "dismissed"  # the appeal was granted: the violation is void

    @classmethod
    def _labels(cls):
        return {cls.RECORDED: _l("Recorded"), cls.NOTIFIED: _l("Notified"), cls.RESOLVED: _l("Resolved"),
                cls.APPEALED: _l("Appealed"), cls.UPHELD: _l("Upheld"), cls.DISMISSED: _l("Dismissed")}


class ViolationType(db.Model):
    """One kind of violation; a type in use is retired (``active`` false), never deleted."""

    __tablename__ = "violation_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    severity: Mapped[Severity] = mapped_column(enum_column_type(Severity, "violation_severity"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


violation_students = sa.Table(
    "violation_students", db.metadata,
    sa.Column("violation_id", sa.ForeignKey("violations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("student_id", sa.ForeignKey("students.id"), primary_key=True, index=True),
)

violation_photos = sa.Table(
    "violation_photos", db.metadata,
    sa.Column("violation_id", sa.ForeignKey("violations.id", ondelete="CASCADE"), primary_key=True),
    # A photo is evidence of one record only.
    sa.Column("photo_id", sa.ForeignKey("photos.id"), primary_key=True, unique=True),
)


class Violation(Versioned, db.Model):
    """A violation naming students and/or a room; ``events`` keep every step of its workflow.

    Versioned: of two people moving one record at once (staff resolving, the student appealing), one wins."""

    __tablename__ = "violations"
    __table_args__ = (
        # One appeal per record: its reason and its student go together.
        sa.CheckConstraint("(appeal_reason IS NULL) = (appellant_id IS NULL)", name="appeal_complete"),
        # Only an appealed record can be appealed, upheld or dismissed.
        sa.CheckConstraint("status NOT IN ('appealed', 'upheld', 'dismissed') OR appeal_reason IS NOT NULL",
                           name="appeal_before_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(sa.ForeignKey("violation_types.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    # The building the record counts for: the room's, else the first named student's when it was recorded.
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("buildings.id"), index=True)
    occurred_on: Mapped[date] = mapped_column(index=True)
    description: Mapped[str] = mapped_column(sa.String(2000), default="")
    status: Mapped[ViolationStatus] = mapped_column(enum_column_type(ViolationStatus, "violation_status"),
                                                    default=ViolationStatus.RECORDED, index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    appeal_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    appellant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("students.id"))

    type: Mapped[ViolationType] = relationship()
    room = relationship("Room")
    building = relationship("Building")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    appellant = relationship("Student", foreign_keys=[appellant_id])
    students = relationship("Student", secondary=violation_students, order_by="Student.student_number")
    photos: Mapped[list[Photo]] = relationship(secondary=violation_photos, order_by="Photo.id")
    events: Mapped[list[ViolationEvent]] = relationship(
        back_populates="violation", order_by="ViolationEvent.id", cascade="all, delete-orphan")
    comments: Mapped[list[ViolationComment]] = relationship(
        back_populates="violation", order_by="ViolationComment.id", cascade="all, delete-orphan")


class ViolationEvent(db.Model):
    """One step of the workflow: who moved the record to ``status``, when, and why."""

    __tablename__ = "violation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(sa.ForeignKey("violations.id", ondelete="CASCADE"), index=True)
    status: Mapped[ViolationStatus] = mapped_column(enum_column_type(ViolationStatus, "violation_event_status"))
    note: Mapped[str] = mapped_column(sa.String(2000), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    violation: Mapped[Violation] = relationship(back_populates="events")
    actor = relationship("User")


class ViolationComment(db.Model):
    __tablename__ = "violation_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(sa.ForeignKey("violations.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    violation: Mapped[Violation] = relationship(back_populates="comments")
    author = relationship("User")


# The audit log shows these stored words by their labels.
audit_describe.register_values(ViolationStatus, ("violation.status", "old"), ("violation.status", "new"))
audit_describe.register_values(Severity, ("violation.record", "severity"), ("violation.type.add", "severity"),
                               ("violation.type.update", "severity"), ("violation.type.update", "old_severity"))
