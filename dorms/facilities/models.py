from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import Versioned, enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db
from ..photos import Photo  # noqa: F401 (tickets' photos; registers the table)


class ItemKind(LabelledEnum):
    BED = "bed"
    DESK = "desk"
    CHAIR = "chair"
    WARDROBE = "wardrobe"
    AIR_CONDITIONER = "air_conditioner"
    WATER_HEATER = "water_heater"
    NETWORK_POINT = "network_point"
    OTHER = "other"

    @classmethod
    def _labels(cls):
        return {cls.BED: _l("Bed"), cls.DESK: _l("Desk"), cls.CHAIR: _l("Chair"), cls.WARDROBE: _l("Wardrobe"),
                cls.AIR_CONDITIONER: _l("Air conditioner"), cls.WATER_HEATER: _l("Water heater"),
                cls.NETWORK_POINT: _l("Network point"), cls.OTHER: _l("Other")}


class Condition(LabelledEnum):
    GOOD = "good"
    WORN = "worn"
    BROKEN = "broken"

    @classmethod
    def _labels(cls):
        return {cls.GOOD: _l("Good"), cls.WORN: _l("Worn"), cls.BROKEN: _l("Broken")}


class InventoryItem(db.Model):
    """One thing in a room; its condition now, with every change kept in ``changes``."""

    __tablename__ = "inventory_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(enum_column_type(ItemKind, "item_kind"))
    # The sticker on the item (固定资产编号); unique when there is one.
    asset_label: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    condition: Mapped[Condition] = mapped_column(enum_column_type(Condition, "item_condition"), default=Condition.GOOD)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    room = relationship("Room")
    changes: Mapped[list[ConditionChange]] = relationship(
        back_populates="item", order_by="ConditionChange.changed_at.desc()", cascade="all, delete-orphan")


class ConditionChange(db.Model):
    __tablename__ = "inventory_condition_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_items.id", ondelete="CASCADE"), index=True)
    old: Mapped[Condition | None] = mapped_column(enum_column_type(Condition, "old_condition"))
    new: Mapped[Condition] = mapped_column(enum_column_type(Condition, "new_condition"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    item: Mapped[InventoryItem] = relationship(back_populates="changes")
    changed_by = relationship("User")


class RepairStatus(LabelledEnum):
    REPORTED = "reported"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    FIXED = "fixed"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls):
        return {cls.REPORTED: _l("Reported"), cls.ASSIGNED: _l("Assigned"), cls.IN_PROGRESS: _l("In progress"),
                cls.FIXED: _l("Fixed"), cls.REJECTED: _l("Rejected")}

    @property
    def is_open(self) -> bool:
        return self not in (RepairStatus.FIXED, RepairStatus.REJECTED)


OPEN_REPAIR_STATUSES = [s for s in RepairStatus if s.is_open]

repair_ticket_photos = sa.Table(
    "repair_ticket_photos", db.metadata,
    sa.Column("ticket_id", sa.ForeignKey("repair_tickets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("photo_id", sa.ForeignKey("photos.id"), primary_key=True),
)


class RepairTicket(Versioned, db.Model):
    """A fault in a room (报修), from the report to fixed or rejected; every step is kept in ``steps``."""

    __tablename__ = "repair_tickets"
    __table_args__ = (
        # A ticket has a closing time exactly when it is fixed or rejected.
        sa.CheckConstraint("(status IN ('fixed', 'rejected')) = (closed_at IS NOT NULL)", name="closed_when_done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    # The broken thing, when it is on the room's inventory; else the description says what.
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_items.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(sa.String(1000))
    status: Mapped[RepairStatus] = mapped_column(enum_column_type(RepairStatus, "repair_status"),
                                                 default=RepairStatus.REPORTED, index=True)
    # The worker or team it went to (维修工, 电工班), as the office names them.
    assignee: Mapped[str] = mapped_column(sa.String(100), default="")
    # The repair worker's account when the ticket went to one: their queue is the tickets naming them here.
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Versioned: two staff moving the same ticket at once cannot both win.

    room = relationship("Room")
    item: Mapped[InventoryItem | None] = relationship()
    reported_by = relationship("User", foreign_keys=[reported_by_id])
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    steps: Mapped[list[RepairStep]] = relationship(
        back_populates="ticket", order_by="RepairStep.id", cascade="all, delete-orphan")
    photos = relationship("Photo", secondary=repair_ticket_photos, order_by="Photo.id")

    @property
    def age(self) -> timedelta:
        """How long the ticket has been (or was) open."""
        return (self.closed_at or utcnow()) - self.reported_at


class RepairStep(db.Model):
    """One move of a ticket: to which status, by whom, when, and what they said."""

    __tablename__ = "repair_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("repair_tickets.id", ondelete="CASCADE"), index=True)
    status: Mapped[RepairStatus] = mapped_column(enum_column_type(RepairStatus, "step_status"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[RepairTicket] = relationship(back_populates="steps")
    actor = relationship("User")


# The audit log shows these stored words by their labels.
audit_describe.register_values(RepairStatus, ("repair.step", "old"), ("repair.step", "new"))
audit_describe.register_values(Condition, ("inventory.condition", "old"), ("inventory.condition", "new"),
                               ("inventory.add", "condition"))
audit_describe.register_values(ItemKind, ("inventory.add", "kind"))
