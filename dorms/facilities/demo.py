"""Demo inventory for every room and a few weeks of repair tickets in all states."""
from __future__ import annotations

import random
from datetime import timedelta

from ..campus.models import Room
from ..core.clock import utcnow
from ..extensions import db
from ..residence.models import Assignment
from .models import (
    Condition,
    ConditionChange,
    InventoryItem,
    ItemKind,
    RepairStatus,
    RepairStep,
    RepairTicket,
)

FAULTS = [  # item kind (None: not on the inventory), description
    (ItemKind.AIR_CONDITIONER, "空调不制冷，开机后吹热风"),
    (ItemKind.AIR_CONDITIONER, "空调遥控器失灵，外机噪音很大"),
    (ItemKind.WATER_HEATER, "热水器不出热水"),
    (ItemKind.WATER_HEATER, "热水器漏水，地面有积水"),
    (ItemKind.NETWORK_POINT, "网口没有信号，指示灯不亮"),
    (ItemKind.DESK, "书桌抽屉轨道坏了，拉不出来"),
    (ItemKind.WARDROBE, "衣柜门合页松了，门关不上"),
    (None, "卫生间下水道堵塞"),
    (None, "阳台门锁坏了"),
    (None, "宿舍顶灯不亮，换了灯管也不行"),
]
WORKERS = ["王师傅（水电班）", "李师傅（空调维修）", "网络中心 赵工", "木工班 陈师傅"]


def seed_inventory(rooms: list[Room]) -> int:
    """Every room: an air conditioner and a water heater with asset labels, a network point, a desk and a wardrobe per bed."""
    items = []
    for room in rooms:
        tag = f"{room.building.code}-{room.number}"
        kinds = [(ItemKind.AIR_CONDITIONER, f"KT-{tag}", "格力 1.5匹"), (ItemKind.WATER_HEATER, f"RS-{tag}", "储水式 60L"),
                 (ItemKind.NETWORK_POINT, None, "")]
        kinds += [(kind, None, f"{bed.label}号床") for bed in room.beds for kind in (ItemKind.DESK, ItemKind.WARDROBE)]
        for kind, label, description in kinds:
            item = InventoryItem(room=room, kind=kind, asset_label=label, description=description)
            item.changes.append(ConditionChange(old=None, new=Condition.GOOD, note=""))
            items.append(item)
    db.session.add_all(items)
    return len(items)


def seed(rng: random.Random, placed: dict[int, Assignment], admin, student_user=None, tickets: int = 30) -> int:
    """``tickets`` repair tickets over the last four weeks in lived-in rooms; the oldest are mostly done,
    the newest still open; one is the demo student's."""
    now = utcnow()
    rooms = sorted({a.bed.room for a in placed.values()}, key=lambda room: room.id)
    items_by_room_kind: dict[tuple[int, ItemKind], InventoryItem] = {}
    for item in db.session.scalars(db.select(InventoryItem)):
        items_by_room_kind.setdefault((item.room_id, item.kind), item)
    made = []
    for n in range(tickets):
        room = rng.choice(rooms)
        kind, description = rng.choice(FAULTS)
        item = items_by_room_kind.get((room.id, kind)) if kind else None
        if item is not None and any(t.item is item and t.status.is_open for t in made):
            item = None
        reported_at = now - timedelta(days=28 * (tickets - n) / tickets, hours=rng.randint(0, 10))
        ticket = RepairTicket(room=room, item=item, description=description, reported_by_id=admin.id,
                              status=RepairStatus.REPORTED,
                              reported_at=reported_at)
        ticket.steps.append(RepairStep(status=RepairStatus.REPORTED, actor_id=admin.id, at=reported_at))
        # Older tickets have come further along.
        path = [RepairStatus.ASSIGNED, RepairStatus.IN_PROGRESS, RepairStatus.FIXED]
        done = min(3, int((now - reported_at).days / 4) + rng.randint(-1, 1))
        rejected = n % 10 == 3
        moment = reported_at
        for status in path[:max(done, 0)] if not rejected else []:
            moment += timedelta(hours=rng.randint(3, 30))
            note = rng.choice(WORKERS) if status == RepairStatus.ASSIGNED else ""
            if status == RepairStatus.ASSIGNED:
                ticket.assignee = note
            ticket.steps.append(RepairStep(status=status, actor_id=admin.id, at=min(moment, now), note=note))
            ticket.status = status
        if rejected:
            moment += timedelta(hours=5)
            ticket.steps.append(RepairStep(status=RepairStatus.REJECTED, actor_id=admin.id, at=moment,
                                           note="非维修范围：请联系网络中心自助报修"))
            ticket.status = RepairStatus.REJECTED
        if not ticket.status.is_open:
            ticket.closed_at = min(moment, now)
        elif item is not None:
            item.condition = Condition.BROKEN
            item.changes.append(ConditionChange(old=Condition.GOOD, new=Condition.BROKEN, note=description,
                                                changed_at=reported_at, changed_by_id=admin.id))
        made.append(ticket)
    own = placed.get(student_user.student_id) if student_user is not None else None
    if own is not None:
        made.append(RepairTicket(room=own.bed.room, description="宿舍顶灯闪烁", reported_by_id=student_user.id,
                                 status=RepairStatus.REPORTED,
                                 reported_at=now - timedelta(days=1),
                                 steps=[RepairStep(status=RepairStatus.REPORTED, actor_id=student_user.id,
                                                   at=now - timedelta(days=1))]))
    db.session.add_all(made)
    return len(made)
