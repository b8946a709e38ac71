"""The check-in spreadsheets: check-ins with their keys, reports waiting for an answer, check-outs with charges.

Downloads from the pages: values in the reader's language (table_download puts the column names so)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from ..campus.models import Bed, Room
from ..core.clock import utcnow
from ..core.tables import yes_no
from ..extensions import db
from ..residence.models import Assignment
from .models import CheckIn, CheckOut, Damage, KeyStatus, checked_out, yuan


def _when(moment, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _check_ins(*where):
    return db.session.scalars(
        sa.select(CheckIn).options(
            joinedload(CheckIn.assignment).joinedload(Assignment.student),
            joinedload(CheckIn.assignment).joinedload(Assignment.bed).joinedload(Bed.room).joinedload(Room.building),
            joinedload(CheckIn.checked_in_by), selectinload(CheckIn.keys), selectinload(CheckIn.items),
            selectinload(CheckIn.check_out).selectinload(CheckOut.damages).joinedload(Damage.report_item))
        .where(*where).order_by(CheckIn.checked_in_at, CheckIn.id)).unique()


def check_ins(zone: ZoneInfo):
    headers = ["student_number", "name", "class", "college", "building", "bed", "checked_in_at", "checked_in_by",
               "self_service", "report", "acknowledged_at", "ack_due_at", "keys", "checked_out_at"]
    now = utcnow()
    rows = []
    for r in _check_ins():
        s, a = r.assignment.student, r.assignment
        rows.append([s.student_number, s.name, s.class_name, s.college, a.bed.room.building.code, a.bed.code,
                     _when(r.checked_in_at, zone), r.checked_in_by.username if r.checked_in_by else "",
                     yes_no(r.self_service), r.report_state(now).label,
                     _when(r.acknowledged_at, zone), _when(r.ack_due_at, zone),
                     "; ".join(f"{k.kind.label}:{k.label}:{k.status.label}" for k in r.keys),
                     _when(r.check_out.checked_out_at, zone) if r.check_out else ""])
    return headers, rows


def pending(zone: ZoneInfo):
    """Unanswered reports of current check-ins: still open, or past the deadline (deemed acknowledged)."""
    headers = ["student_number", "name", "class", "college", "bed", "checked_in_at", "ack_due_at", "report",
               "disputed_items"]
    now = utcnow()
    rows = []
    for r in _check_ins(CheckIn.acknowledged_at.is_(None), ~checked_out()):
        s = r.assignment.student
        rows.append([s.student_number, s.name, s.class_name, s.college, r.assignment.bed.code,
                     _when(r.checked_in_at, zone), _when(r.ack_due_at, zone), r.report_state(now).label,
                     "; ".join(f"{i.name}: {i.dispute_note}" for i in r.disputed_items)])
    return headers, rows


def check_outs(zone: ZoneInfo):
    """One row per charge (damage or missing key); a check-out without charges gets one row of its own."""
    headers = ["student_number", "name", "class", "bed", "checked_in_at", "checked_out_at", "reason", "charge",
               "item", "description", "amount_yuan", "total_yuan"]
    rows = []
    for r in _check_ins(checked_out()):
        s, out = r.assignment.student, r.check_out
        head = [s.student_number, s.name, s.class_name, r.assignment.bed.code, _when(r.checked_in_at, zone),
                _when(out.checked_out_at, zone), out.reason_label]
        total = yuan(out.total_cents)
        charges = [[_("Damage"), d.report_item.name if d.report_item else "", d.description, yuan(d.amount_cents)]
                   for d in out.damages]
        charges += [[_("Missing key"), k.name, "", yuan(k.charge_cents)]
                    for k in r.keys if k.status == KeyStatus.MISSING]
        for charge in charges or [["", "", "", ""]]:
            rows.append(head + charge + [total])
    return headers, rows


TABLES = {"check-ins": check_ins, "pending": pending, "check-outs": check_outs}
