"""Keeping a room's inventory: items are added with their condition, and every change of it is kept."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..campus.models import Room
from ..core.errors import ServiceError
from ..extensions import db
from .models import Condition, ConditionChange, InventoryItem, ItemKind


def add_item(room: Room, kind: ItemKind, *, asset_label: str = "", description: str = "",
             condition: Condition = Condition.GOOD, actor=None) -> InventoryItem:
    label = asset_label.strip() or None
    if label and db.session.scalar(sa.select(InventoryItem.id).where(InventoryItem.asset_label == label)):
        raise ServiceError(_("Asset label %(label)s is already on another item.", label=label))
    item = InventoryItem(room=room, kind=kind, asset_label=label, description=description.strip()[:200],
                         condition=condition)
    item.changes.append(ConditionChange(old=None, new=condition, changed_by_id=actor.id if actor else None))
    db.session.add(item)
    db.session.flush()
    audit.record("inventory.add", room=room, item=item.id, kind=kind.value, asset_label=label,
                 condition=condition.value, actor=actor)
    return item


def set_condition(item: InventoryItem, condition: Condition, *, note: str = "", actor=None) -> None:
    if condition == item.condition:
        raise ServiceError(_("The item is already %(condition)s.", condition=condition.label.lower()))
    if condition == Condition.BROKEN and not note.strip():
        raise ServiceError(_("Say what is broken."))
    item.changes.append(ConditionChange(old=item.condition, new=condition, note=note.strip()[:500],
                                        changed_by_id=actor.id if actor else None))
    audit.record("inventory.condition", room=item.room, item=item.id, old=item.condition.value,
                 new=condition.value, note=note.strip()[:500], actor=actor)
    item.condition = condition
    db.session.flush()


def _in_room(room_id: int):
    return sa.select(InventoryItem).where(InventoryItem.room_id == room_id).order_by(InventoryItem.kind, InventoryItem.id)


def items_in(room_id: int) -> list[InventoryItem]:
    """A room's items, in the order the room page lists them, without their history (the check-in desk)."""
    return list(db.session.scalars(_in_room(room_id)))


def items_of(room: Room) -> list[InventoryItem]:
    """A room's items with the history of each one's condition (the room page)."""
    return list(db.session.scalars(_in_room(room.id).options(sa.orm.selectinload(InventoryItem.changes))))
