"""Selection day (网上选宿), as stored: an event, its time windows, who takes part, the beds offered, and picks.

What must never happen is the database's to refuse, not a check's before a write: a bed has at most one live
pick (held or confirmed) per event, a student at most one hold and one confirmed pick, and a pick is only
ever of a bed the event offers, by a student who takes part (composite foreign keys).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..campus.models import Bed, Building, Campus
from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import Gender, LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db
from ..students.models import Student


class EventStatus(LabelledEnum):
    DRAFT = "draft"  # being set up: nobody chooses yet
    OPEN = "open"  # students choose, each from their own window on
    PAUSED = "paused"  # nobody acts; resuming shifts every window not yet open by the pause
    CLOSED = "closed"  # over: what was confirmed stands, the rest is placed by the solver

    @classmethod
    def _labels(cls):
        return {cls.DRAFT: _l("Being set up"), cls.OPEN: _l("Under way"), cls.PAUSED: _l("Paused"),
                cls.CLOSED: _l("Ended")}


class PickStatus(LabelledEnum):
    HELD = "held"  # the bed is kept for the student until held_until
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"  # given up by the student, or replaced by a later confirmed pick
    EXPIRED = "expired"  # a hold not confirmed in time

    @classmethod
    def _labels(cls):
        return {cls.HELD: _l("Held"), cls.CONFIRMED: _l("Confirmed"), cls.CANCELLED: _l("Cancelled"),
                cls.EXPIRED: _l("Expired")}


LIVE_PICK = "status IN ('held', 'confirmed')"


class SelectionEvent(db.Model):
    __tablename__ = "selection_events"
    __table_args__ = (
        sa.CheckConstraint("hold_seconds BETWEEN 30 AND 3600", name="hold_seconds_bounded"),
        sa.CheckConstraint("change_limit BETWEEN 0 AND 10", name="change_limit_bounded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    # A rehearsal (模拟选宿) runs on a copy of a real event's set-up and is thrown away afterwards.
    rehearsal_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("selection_events.id", ondelete="CASCADE"))
    status: Mapped[EventStatus] = mapped_column(enum_column_type(EventStatus, "selection_event_status"),
                                                default=EventStatus.DRAFT)
    # The order inside a window is derived from this published seed (services.order_key): anyone can redo it.
    seed: Mapped[str] = mapped_column(sa.String(64))
    hold_seconds: Mapped[int] = mapped_column(default=300)
    change_limit: Mapped[int] = mapped_column(default=0)  # how often a confirmed pick may be changed
    # Whether a student choosing a room sees the names of who chose there already (else their class and sleep
    # schedule only): the office's call, as its campus's rules on students' data allow.
    roommate_names: Mapped[bool] = mapped_column(default=False)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # confirmed choices became beds
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    windows: Mapped[list[SelectionWindow]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="(SelectionWindow.tier, SelectionWindow.id)")
    areas: Mapped[list[SelectionArea]] = relationship(
        cascade="all, delete-orphan", order_by="(SelectionArea.college, SelectionArea.building_id, "
                                               "SelectionArea.floor)")

    @property
    def is_rehearsal(self) -> bool:
        return self.rehearsal_of_id is not None


class SelectionWindow(db.Model):
    """A cohort's time window: the students it takes (every filter left empty takes anyone), from when, and in
    batches: inside a tier, students enter in the seeded order, ``batch_size`` every ``batch_minutes``."""

    __tablename__ = "selection_windows"
    __table_args__ = (
        sa.CheckConstraint("batch_size >= 0 AND batch_minutes >= 0", name="batches_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    tier: Mapped[int] = mapped_column(default=1)  # a lower tier enters first
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    college: Mapped[str | None] = mapped_column(sa.String(120))
    class_name: Mapped[str | None] = mapped_column(sa.String(120))
    grade: Mapped[int | None]
    gender: Mapped[Gender | None] = mapped_column(enum_column_type(Gender, "gender"))
    batch_size: Mapped[int] = mapped_column(default=0)  # 0: the whole window at once
    batch_minutes: Mapped[int] = mapped_column(default=0)
    # The zone (园区) its students choose in: only that campus's buildings. None: wherever beds are offered.
    campus_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campuses.id"), index=True)

    event: Mapped[SelectionEvent] = relationship(back_populates="windows")
    campus: Mapped[Campus | None] = relationship()


class SelectionArea(db.Model):
    """A college's part of the offered beds (选宿分区): a building, or one floor of it. A bed in an area is for
    its college(s) only; a student of a college with areas chooses only in them, and a student of a college
    without any, only outside every area."""

    __tablename__ = "selection_areas"
    __table_args__ = (sa.UniqueConstraint("event_id", "college", "building_id", "floor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_events.id", ondelete="CASCADE"), index=True)
    college: Mapped[str] = mapped_column(sa.String(120))
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    floor: Mapped[int | None]  # None: the whole building

    building: Mapped[Building] = relationship()


class SelectionParticipant(db.Model):
    __tablename__ = "selection_participants"
    __table_args__ = (sa.UniqueConstraint("event_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_events.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), index=True)
    window_id: Mapped[int | None] = mapped_column(sa.ForeignKey("selection_windows.id", ondelete="SET NULL"),
                                                  index=True)
    position: Mapped[int] = mapped_column(default=0)  # in the window's seeded order, from 0
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the student's own start, from the window
    changes_used: Mapped[int] = mapped_column(default=0)

    student: Mapped[Student] = relationship()
    window: Mapped[SelectionWindow | None] = relationship()


class SelectionOffer(db.Model):
    """A bed the event offers; a reserved one is the office's, for nobody to choose."""

    __tablename__ = "selection_offers"

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_events.id", ondelete="CASCADE"),
                                          primary_key=True)
    bed_id: Mapped[int] = mapped_column(sa.ForeignKey("beds.id"), primary_key=True, index=True)
    reserved: Mapped[bool] = mapped_column(default=False)

    bed: Mapped[Bed] = relationship()


class SelectionPick(db.Model):
    __tablename__ = "selection_picks"
    __table_args__ = (
        sa.ForeignKeyConstraint(["event_id", "bed_id"], ["selection_offers.event_id", "selection_offers.bed_id"],
                                ondelete="CASCADE", name="fk_selection_picks_offer"),
        sa.ForeignKeyConstraint(["event_id", "student_id"],
                                ["selection_participants.event_id", "selection_participants.student_id"],
                                ondelete="CASCADE", name="fk_selection_picks_participant"),
        sa.Index("uq_selection_picks_live_bed", "event_id", "bed_id", unique=True,
                 sqlite_where=sa.text(LIVE_PICK), postgresql_where=sa.text(LIVE_PICK)),
        sa.Index("uq_selection_picks_held_student", "event_id", "student_id", unique=True,
                 sqlite_where=sa.text("status = 'held'"), postgresql_where=sa.text("status = 'held'")),
        sa.Index("uq_selection_picks_confirmed_student", "event_id", "student_id", unique=True,
                 sqlite_where=sa.text("status = 'confirmed'"), postgresql_where=sa.text("status = 'confirmed'")),
        sa.CheckConstraint("status <> 'held' OR held_until IS NOT NULL", name="held_until_set"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(index=True)
    bed_id: Mapped[int] = mapped_column()
    student_id: Mapped[int] = mapped_column(index=True)
    status: Mapped[PickStatus] = mapped_column(enum_column_type(PickStatus, "selection_pick_status"),
                                               default=PickStatus.HELD)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A group's picks (roommates choosing together) share the first one's id; its chooser is the member whose
    # start came first, who held and confirms every bed of the group.
    group_id: Mapped[int | None] = mapped_column(index=True)
    chosen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("students.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    bed: Mapped[Bed] = relationship(foreign_keys=[bed_id], primaryjoin="SelectionPick.bed_id == Bed.id",
                                    viewonly=True)
    student: Mapped[Student] = relationship(foreign_keys=[student_id],
                                            primaryjoin="SelectionPick.student_id == Student.id", viewonly=True)


# The audit log shows an event's status by its label.
audit_describe.register_values(EventStatus, *((f"selection.{step}", "status")
                                              for step in ("open", "pause", "resume", "close")))
