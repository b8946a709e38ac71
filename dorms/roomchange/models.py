"""Swap and move requests, as stored."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db
from ..students.models import Student


class ChangeKind(LabelledEnum):
    SWAP = "swap"  # with a named student, who confirms
    MOVE = "move"  # to any bed among ranked choices

    @classmethod
    def _labels(cls):
        return {cls.SWAP: _l("Swap with a student"), cls.MOVE: _l("Move")}


class ChangeStatus(LabelledEnum):
    AWAITING_PARTNER = "awaiting"  # a swap the named student has not answered yet
    OPEN = "open"  # waits for the next requests round
    GRANTED = "granted"
    NOT_GRANTED = "not_granted"
    DECLINED = "declined"  # the named student said no
    WITHDRAWN = "withdrawn"

    @classmethod
    def _labels(cls):
        return {cls.AWAITING_PARTNER: _l("Waiting for the other student"), cls.OPEN: _l("Waiting for the next round"),
                cls.GRANTED: _l("Granted"), cls.NOT_GRANTED: _l("Not granted"),
                cls.DECLINED: _l("Declined by the other student"), cls.WITHDRAWN: _l("Withdrawn")}


LIVE_STATUSES = (ChangeStatus.AWAITING_PARTNER, ChangeStatus.OPEN)
# One live request per student: the partial indexes below enforce it for whoever asked, and for
# whoever agreed to a swap (several may ask the same student; one answer can be yes).
LIVE = sa.text("status IN ('awaiting', 'open')")
AGREED = sa.text("status = 'open'")


class ChangeOutcome(LabelledEnum):
    """Why a round granted a request or not, as the student reads it."""

    GRANTED = "granted"
    NO_ELIGIBLE_BED = "no_eligible_bed"
    TAKEN = "taken"
    LOCKED = "locked"
    NO_BED = "no_bed"
    NOT_ACTIVE = "not_active"
    SWAP_CHANGED = "swap_changed"
    IN_ANOTHER = "in_another"
    ROLLED_BACK = "rolled_back"
    ALREADY_THERE = "already_there"

    @classmethod
    def _labels(cls):
        return {
            cls.GRANTED: _l("Granted: the new bed is in the housing history."),
            cls.NO_ELIGIBLE_BED: _l("None of your choices had a bed you may take (the room's gender, accessibility, "
                                    "a closed room, or someone you must not room with)."),
            cls.TAKEN: _l("The beds you chose went to students who asked earlier, or their residents are not moving."),
            cls.LOCKED: _l("The housing office kept you in your bed this round."),
            cls.NO_BED: _l("You had no bed to give up when the round ran."),
            cls.NOT_ACTIVE: _l("You were not an active student when the round ran."),
            cls.SWAP_CHANGED: _l("The swap could not be made: one of the two beds, or the other student, changed "
                                 "since it was agreed."),
            cls.IN_ANOTHER: _l("You were part of another request in the same round."),
            cls.ROLLED_BACK: _l("The round that granted this was undone by the housing office."),
            cls.ALREADY_THERE: _l("You already live in one of your choices; nothing ranked lower was considered."),
        }


class RoomChangeRequest(db.Model):
    __tablename__ = "room_change_requests"
    __table_args__ = (
        sa.Index("uq_room_change_requests_live_student", "student_id", unique=True,
                 sqlite_where=LIVE, postgresql_where=LIVE),
        sa.Index("uq_room_change_requests_agreed_partner", "partner_id", unique=True,
                 sqlite_where=AGREED, postgresql_where=AGREED),
        sa.CheckConstraint("(kind = 'swap') = (partner_id IS NOT NULL)", name="swap_has_partner"),
        sa.CheckConstraint("partner_id IS NULL OR partner_id <> student_id", name="partner_not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), index=True)
    kind: Mapped[ChangeKind] = mapped_column(enum_column_type(ChangeKind, "change_kind"))
    status: Mapped[ChangeStatus] = mapped_column(enum_column_type(ChangeStatus, "change_status"))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("students.id"), index=True)
    partner_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The beds the request is about: the asker's when asking, the partner's when agreeing. A round
    # refuses a request whose student has since changed bed (a swap follows the agreement, not the people).
    student_bed_id: Mapped[int | None] = mapped_column(sa.ForeignKey("beds.id"))
    partner_bed_id: Mapped[int | None] = mapped_column(sa.ForeignKey("beds.id"))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set by the round that decided it, once that round is applied.
    decided_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("allocation_runs.id"), index=True)
    outcome: Mapped[ChangeOutcome | None] = mapped_column(enum_column_type(ChangeOutcome, "change_outcome"))

    student: Mapped[Student] = relationship(foreign_keys=[student_id])
    partner: Mapped[Student | None] = relationship(foreign_keys=[partner_id])
    choices: Mapped[list[RoomChangeChoice]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RoomChangeChoice.rank")

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def partner_agreed(self) -> bool:
        """The named student's yes stands (or the swap went to a round): only then may the asker see who they are.

        A swap withdrawn or declined shows nothing of them, so asking and withdrawing cannot turn
        any student number into a name.
        """
        return self.status in (ChangeStatus.OPEN, ChangeStatus.GRANTED, ChangeStatus.NOT_GRANTED)


class RoomChangeChoice(db.Model):
    """One acceptable place in a move request, ranked: a building, a room, or a room type."""

    __tablename__ = "room_change_choices"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "rank"),
        sa.CheckConstraint(
            "(building_id IS NOT NULL AND room_id IS NULL AND room_type IS NULL)"
            " OR (building_id IS NULL AND room_id IS NOT NULL AND room_type IS NULL)"
            " OR (building_id IS NULL AND room_id IS NULL AND room_type IS NOT NULL)",
            name="exactly_one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("room_change_requests.id", ondelete="CASCADE"))
    rank: Mapped[int]
    building_id: Mapped[int | None] = mapped_column(sa.ForeignKey("buildings.id"))
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"))
    room_type: Mapped[str | None] = mapped_column(sa.String(32))

    request: Mapped[RoomChangeRequest] = relationship(back_populates="choices")
    building = relationship("Building")
    room = relationship("Room")

    @property
    def label(self) -> str:
        if self.building is not None:
            return _("Building %(building)s", building=f"{self.building.code} {self.building.name}")
        if self.room is not None:
            return _("Room %(room)s", room=self.room.code)
        return _("Room type %(type)s", type=self.room_type)


# The audit log shows these stored words by their labels.
audit_describe.register_values(ChangeKind, ("roomchange.ask", "kind"))
