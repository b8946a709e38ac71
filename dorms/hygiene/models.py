"""Hygiene inspections: the checklist, the bands, rounds and each room's scores in a round.

A room's score keeps each item's name and maximum as they were when it was scored
(``ItemScore``), so later changes of the checklist never change or invalidate old scores.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db

CHECKLIST_TOTAL = 100


class RoundStatus(LabelledEnum):
    OPEN = "open"
    CLOSED = "closed"

    @classmethod
    def _labels(cls):
        return {cls.OPEN: _l("Open for scoring"), cls.CLOSED: _l("Closed for scoring")}


class Band(LabelledEnum):
    EXCELLENT = "excellent"
    PASS = "pass"
    FAIL = "fail"

    @classmethod
    def _labels(cls):
        return {cls.EXCELLENT: _l("Excellent"), cls.PASS: _l("Pass"), cls.FAIL: _l("Fail")}


class ChecklistItem(db.Model):
    """One thing inspected (地面, 床铺…); the active items' maxima add up to 100."""

    __tablename__ = "hygiene_checklist_items"
    __table_args__ = (
        sa.CheckConstraint("max_points > 0 AND max_points <= 100", name="max_in_range"),
        # Two staff saving the checklist at once cannot leave the same item on it twice.
        sa.Index("uq_hygiene_checklist_items_active_name", "name", unique=True,
                 sqlite_where=sa.text("active"), postgresql_where=sa.text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    max_points: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    # Items taken off the checklist stay, so that old scores can still point at them.
    active: Mapped[bool] = mapped_column(default=True)


class HygieneSettings(db.Model):
    """The band thresholds (one row): excellent from ``excellent_min``, pass from ``pass_min``."""

    __tablename__ = "hygiene_settings"
    __table_args__ = (
        sa.CheckConstraint("pass_min > 0 AND pass_min < excellent_min AND excellent_min <= 100",
                           name="bands_in_order"),
        sa.CheckConstraint("id = 1", name="one_row"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    excellent_min: Mapped[int] = mapped_column(default=90)
    pass_min: Mapped[int] = mapped_column(default=60)

    def band(self, score: float | None) -> Band | None:
        if score is None:
            return None
        if score >= self.excellent_min:
            return Band.EXCELLENT
        return Band.PASS if score >= self.pass_min else Band.FAIL


round_buildings = sa.Table(
    "hygiene_round_buildings", db.metadata,
    sa.Column("round_id", sa.ForeignKey("hygiene_rounds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("building_id", sa.ForeignKey("buildings.id"), primary_key=True),
)

round_inspectors = sa.Table(
    "hygiene_round_inspectors", db.metadata,
    sa.Column("round_id", sa.ForeignKey("hygiene_rounds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
)


class InspectionRound(db.Model):
    """One inspection (卫生检查) on one day of some buildings by some staff."""

    __tablename__ = "hygiene_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspected_on: Mapped[date] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(sa.String(120), default="")
    status: Mapped[RoundStatus] = mapped_column(enum_column_type(RoundStatus, "hygiene_round_status"),
                                                default=RoundStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    buildings = relationship("Building", secondary=round_buildings, order_by="Building.code")
    inspectors = relationship("User", secondary=round_inspectors, order_by="User.display_name")
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN

    @property
    def label(self) -> str:
        return f"{self.inspected_on.isoformat()} {self.title}".strip()


class RoomInspection(db.Model):
    """A room's result in a round: its total (the items' sum), or ``absent`` (not inspected)."""

    __tablename__ = "hygiene_inspections"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "room_id", name="uq_hygiene_inspections_round_room"),
        sa.CheckConstraint("total IS NULL OR (total >= 0 AND total <= 100)", name="total_in_range"),
        sa.CheckConstraint("(absent AND total IS NULL) OR (NOT absent AND total IS NOT NULL)",
                           name="absent_has_no_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("hygiene_rounds.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    absent: Mapped[bool] = mapped_column(default=False)
    total: Mapped[int | None]
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    inspected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round: Mapped[InspectionRound] = relationship()
    room = relationship("Room")
    inspected_by = relationship("User")
    scores: Mapped[list[ItemScore]] = relationship(back_populates="inspection", order_by="ItemScore.position",
                                                   cascade="all, delete-orphan")
    residents: Mapped[list[InspectionResident]] = relationship(cascade="all, delete-orphan")


class ItemScore(db.Model):
    """Points for one checklist item, with the item's name and maximum as they were then."""

    __tablename__ = "hygiene_item_scores"
    __table_args__ = (
        sa.UniqueConstraint("inspection_id", "item_id", name="uq_hygiene_item_scores_inspection_item"),
        sa.CheckConstraint("points >= 0 AND points <= max_points", name="points_within_max"),
        sa.CheckConstraint("max_points > 0", name="max_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("hygiene_inspections.id", ondelete="CASCADE"),
                                               index=True)
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hygiene_checklist_items.id", ondelete="SET NULL"))
    item_name: Mapped[str] = mapped_column(sa.String(60))
    max_points: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    points: Mapped[int]

    inspection: Mapped[RoomInspection] = relationship(back_populates="scores")


class InspectionResident(db.Model):
    """Who lived in the room when it was inspected, with their class then: the class rankings count these."""

    __tablename__ = "hygiene_inspection_residents"

    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("hygiene_inspections.id", ondelete="CASCADE"),
                                               primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), primary_key=True)
    class_name: Mapped[str] = mapped_column(sa.String(120), index=True, default="")


# The audit log shows these stored words by their labels.
audit_describe.register_values(RoundStatus, ("hygiene.round.status", "status"))
