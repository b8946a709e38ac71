from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..core.database import enum_column_type
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
