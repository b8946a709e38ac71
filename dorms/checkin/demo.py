"""Demo check-ins: most residents checked in with keys, a few reports still waiting for the student, a few
still expected at the desk, and a few last-term check-outs with damages charged.

Rows are built directly and flushed in batches (like dorms/demo/seed.py), not through the services:
the services' one-by-one checks would make the demo slow. Current assignments are left as they are
(the check-outs are of earlier, already ended stays), so ``placed`` stays true for the other seeders.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..core.clock import utcnow
from ..extensions import db
from ..facilities.models import Condition, InventoryItem
from ..residence.models import Assignment
from .models import (
    CHECK_OUT_REASON,
    CheckIn,
    CheckOut,
    Damage,
    KeyIssue,
    KeyKind,
    KeyStatus,
    ReportItem,
)
from .services import DEFAULT_ACK_HOURS

LAST_TERM = (datetime(2026, 2, 24, 1, 0, tzinfo=UTC), datetime(2026, 7, 8, 2, 0, tzinfo=UTC))
DAMAGES = [("桌面划痕严重，需更换桌板", 12000), ("墙面大面积涂鸦，需重新粉刷", 8000), ("衣柜门合页损坏", 4500),
           ("椅子靠背断裂", 9000), ("床板开裂", 15000)]
DISPUTES = ["空调遥控器入住时就没有", "椅子入住时已经摇晃", "桌子抽屉拉不开", "衣柜门关不严"]


def seed(rng: random.Random, placed: dict[int, Assignment], admin) -> int:
    """Check in about nine in ten placed students; returns how many rows were made."""
    now = utcnow()
    assignments = [placed[student_id] for student_id in sorted(placed)]
    items_by_room = _inventory([a.bed.room_id for a in assignments])
    made = _last_term_check_outs(rng, assignments[:: max(len(assignments) // 4, 1)][:4], admin, items_by_room)
    records, answers = [], []
    for assignment in assignments:
        roll = rng.random()
        if roll < 0.08:
            continue  # still expected at the desk
        late = roll < 0.12  # arrived in the last day: the report still waits for them
        at = now - timedelta(hours=rng.randint(1, 20)) if late else \
            max(assignment.started_at, now - timedelta(days=400)) + timedelta(hours=rng.randint(1, 30))
        record = CheckIn(assignment=assignment, checked_in_at=at, checked_in_by=admin,
                         self_service=rng.random() < 0.3, ack_due_at=at + timedelta(hours=DEFAULT_ACK_HOURS))
        answer = None if late else rng.random()
        if answer is not None and answer < 0.85:
            record.acknowledged_at = at + timedelta(hours=rng.randint(1, 60))
        records.append(record)
        answers.append(answer)
    db.session.add_all(records)
    db.session.flush()
    # Items and keys in two bulk INSERTs: thousands of rows, too many to build one ORM object at a time.
    items, keys = [], []
    for record, answer in zip(records, answers):
        assignment, at = record.assignment, record.checked_in_at
        stock = items_by_room.get(assignment.bed.room_id, [])
        disputed = rng.randrange(len(stock)) if stock and answer is not None and answer > 0.95 else None
        for n, item in enumerate(stock):
            row = _item_row(record.id, item)
            if n == disputed:
                row.update(disputed_at=at + timedelta(hours=rng.randint(1, 48)), dispute_note=rng.choice(DISPUTES))
            items.append(row)
        keys += [{"check_in_id": record.id, "kind": key.kind, "label": key.label, "status": KeyStatus.ISSUED,
                  "issued_at": at} for key in _keys(rng, assignment)]
    if items:
        db.session.execute(sa.insert(ReportItem), items)
    db.session.execute(sa.insert(KeyIssue), keys)
    return made + len(records) + len(items) + len(keys)


def _item_row(check_in_id: int, item: InventoryItem) -> dict:
    return {"check_in_id": check_in_id, "inventory_item_id": item.id, "kind": item.kind,
            "asset_label": item.asset_label or "", "description": item.description, "condition": item.condition,
            "note": "", "dispute_note": "", "check_out_note": ""}


def _keys(rng, assignment: Assignment) -> list[KeyIssue]:
    room = assignment.bed.room
    return [KeyIssue(kind=KeyKind.ROOM_KEY, label=f"{room.code}-{assignment.bed.label}"),
            KeyIssue(kind=KeyKind.MAILBOX_KEY, label=f"信箱 {room.number}"),
            KeyIssue(kind=KeyKind.ACCESS_CARD, label=f"{rng.randint(10**9, 4 * 10**9):010d}")]


def _inventory(room_ids: list[int]) -> dict[int, list[InventoryItem]]:
    by_room = defaultdict(list)
    if room_ids:
        for item in db.session.scalars(sa.select(InventoryItem).where(InventoryItem.room_id.in_(set(room_ids)))
                                       .order_by(InventoryItem.id)):
            by_room[item.room_id].append(item)
    return by_room


def _record(rng, assignment: Assignment, at: datetime, admin, items_by_room) -> CheckIn:
    record = CheckIn(assignment=assignment, checked_in_at=at, checked_in_by=admin, self_service=False,
                     ack_due_at=at + timedelta(hours=DEFAULT_ACK_HOURS))
    for item in items_by_room.get(assignment.bed.room_id, []):
        record.items.append(ReportItem(inventory_item_id=item.id, kind=item.kind, asset_label=item.asset_label or "",
                                       description=item.description, condition=item.condition))
    for key in _keys(rng, assignment):
        key.issued_at = at
        record.keys.append(key)
    return record


def _last_term_check_outs(rng, assignments: list[Assignment], admin, items_by_room) -> int:
    """Last term in the same bed, checked out in July with damages (and one lost key)."""
    made = 0
    start, end = LAST_TERM
    for n, current in enumerate(assignments):
        if current.started_at <= end:
            continue
        earlier = Assignment(student=current.student, bed=current.bed, started_at=start, ended_at=end,
                             start_reason="2025—2026学年第二学期", end_reason=CHECK_OUT_REASON,
                             started_by=admin, ended_by=admin)
        record = _record(rng, earlier, start + timedelta(hours=2), admin, items_by_room)
        record.acknowledged_at = start + timedelta(hours=20)
        out = CheckOut(check_in=record, checked_out_at=end, checked_out_by=admin, reason=CHECK_OUT_REASON,
                       note="学期末退宿")
        for description, cents in rng.sample(DAMAGES, 2):
            item = rng.choice(record.items) if record.items else None
            out.damages.append(Damage(description=description, amount_cents=cents, report_item=item))
            if item is not None:
                item.check_out_condition = Condition.BROKEN
        for key in record.keys:
            key.status, key.settled_at = KeyStatus.RETURNED, end
        if n == 0:
            record.keys[-1].status, record.keys[-1].charge_cents = KeyStatus.MISSING, 3000
        db.session.add_all([earlier, record, out])
        made += 3 + len(out.damages) + len(record.items) + len(record.keys)
    return made
