"""Demo data: the usual checklist, and five fortnightly hygiene rounds over the past two months of every
lived-in room of the demo buildings, each room with its own habits (most pass, some are excellent, a few
fail, and a couple have failed twice in a row)."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..campus.models import Building, Room
from ..core.clock import campus_today, campus_zone
from ..core.enums import Role, RoomStatus
from ..extensions import db
from ..residence.models import Assignment
from .models import (
    InspectionResident,
    InspectionRound,
    ItemScore,
    RoomInspection,
    RoundStatus,
)
from .services import default_checklist, ensure_default_checklist

ROUNDS_AGO = [56, 42, 28, 14, 3]  # days before today: the last one is still open
NOTES = [  # what the inspector wrote when this item of the usual checklist lost the most points
    ["地面有垃圾未清扫", "地面有水渍", "床下积灰较多"],  # floor
    ["被子未叠", "床铺凌乱，衣物堆放"],  # beds
    ["桌面杂乱", "桌面有外卖餐盒未清理"],  # desks
    ["阳台堆放杂物", "阳台晾晒衣物杂乱"],  # balcony
    ["卫生间有异味", "洗手池有污渍", "垃圾桶未倒"],  # bathroom
    ["发现违规电器（电热锅），已收缴", "发现大功率吹风机"],  # banned items
]


def seed(rng: random.Random, placed: dict[int, Assignment], admin) -> int:
    """Rounds, scores and the residents they counted for; returns how many room inspections were made."""
    items = ensure_default_checklist()
    # The items' names are in the install's language: the notes follow them by the usual checklist's order.
    notes = dict(zip((name for name, _points in default_checklist()), NOTES))
    today = campus_today()
    residents: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for student_id, assignment in placed.items():
        residents[assignment.bed.room_id].append((student_id, assignment.student.class_name or ""))
    rooms = list(db.session.scalars(
        sa.select(Room).where(Room.id.in_(list(residents)), Room.status == RoomStatus.OPEN)
        .order_by(Room.building_id, Room.number)))
    if not rooms:
        return 0
    buildings = list(db.session.scalars(sa.select(Building).where(Building.id.in_({r.building_id for r in rooms}))))
    staff = list(db.session.scalars(sa.select(User).where(User.role == Role.STAFF, User.active.is_(True))))
    inspectors = [admin] + [u for u in staff if u.id != admin.id][:1]

    # Each room's habits: how tidy it usually is (share of full marks), and how much that varies.
    tidiness = {room.id: min(0.99, max(0.55, rng.gauss(0.8, 0.07))) for room in rooms}
    for room in rng.sample(rooms, max(1, len(rooms) // 10)):
        tidiness[room.id] = rng.uniform(0.93, 0.99)  # the excellent dorms
    untidy = [r for r in rooms if tidiness[r.id] < 0.9]
    slipping = set(rng.sample(untidy, min(3, len(untidy))))

    rounds = []
    for n, days_ago in enumerate(ROUNDS_AGO):
        day = today - timedelta(days=days_ago)
        rounds.append(InspectionRound(
            inspected_on=day, title=f"第{n + 1}次卫生检查", buildings=buildings, inspectors=inspectors,
            status=RoundStatus.OPEN if n == len(ROUNDS_AGO) - 1 else RoundStatus.CLOSED, created_by_id=admin.id,
            created_at=datetime.combine(day - timedelta(days=2), time(9), campus_zone())))
    db.session.add_all(rounds)
    db.session.flush()

    inspections, pending = [], []
    for n, the_round in enumerate(rounds):
        at = datetime.combine(the_round.inspected_on, time(15), campus_zone())
        late = n >= len(rounds) - 2
        for room in rooms:
            if room in slipping:  # fine until recently, failing in the last two rounds
                points = [_points(rng, item.max_points, 0.48 if late else 0.8) for item in items]
            elif rng.random() < 0.02:
                points = []  # nobody home: not inspected
            else:
                points = [_points(rng, item.max_points, tidiness[room.id]) for item in items]
            worst = min(range(len(items)), key=lambda i: points[i] / items[i].max_points) if points else None
            note = ""
            if points and sum(points) < 80 and worst is not None:
                note = rng.choice(notes.get(items[worst].name, [""]))
            inspection = RoomInspection(round_id=the_round.id, room_id=room.id, absent=not points,
                                        total=sum(points) if points else None, note=note, inspected_at=at,
                                        inspected_by_id=rng.choice(inspectors).id)
            inspections.append(inspection)
            pending.append((inspection, room.id, points))
    db.session.add_all(inspections)
    db.session.flush()

    score_rows, resident_rows = [], []
    for inspection, room_id, points in pending:
        for item, value in zip(items, points):
            score_rows.append({"inspection_id": inspection.id, "item_id": item.id, "item_name": item.name,
                               "max_points": item.max_points, "position": item.position, "points": value})
        for student_id, class_name in residents[room_id]:
            resident_rows.append({"inspection_id": inspection.id, "student_id": student_id, "class_name": class_name})
    if score_rows:
        db.session.execute(sa.insert(ItemScore), score_rows)
    if resident_rows:
        db.session.execute(sa.insert(InspectionResident), resident_rows)
    return len(inspections)


def _points(rng: random.Random, max_points: int, level: float) -> int:
    share = min(1.0, max(0.0, rng.gauss(level, 0.08)))
    return min(max_points, max(0, round(max_points * share)))
