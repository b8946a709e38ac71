"""Curfew reports: each resident's status for a night, from the events, the rules and the permissions.

The rules (curfew.py) are pure; this module gathers their inputs with a few set-based queries, so a
counselor's 600 students cost the same handful of queries as one student.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from ..campus.models import Bed, Building, Room
from ..core.enums import Gender
from ..extensions import db
from ..residence.models import Assignment
from ..students.models import Student, Term
from . import curfew
from .curfew import Direction, Event, Leave, Night, Status
from .ingest import campus_zone
from .models import (
    AccessEvent,
    CurfewRule,
    NoCurfewNight,
    Permission,
    PermissionKind,
    PermissionStatus,
)

# SPEC.md's defaults: Sunday-Thursday nights 23:00, Friday and Saturday nights 23:30.
DEFAULT_CURFEW = {False: time(23), True: time(23, 30)}


@dataclass
class ReportRow:
    student_id: int
    student_number: str
    name: str
    class_name: str
    college: str
    building: str
    status: Status
    time: datetime | None  # local: the first entry after curfew, for late statuses
    last_seen: datetime | None  # local: the student's last event up to the cutoff, any door
    last_door: str


def settings() -> dict:
    config = current_app.config
    return {"cutoff": time.fromisoformat(config.get("CURFEW_CUTOFF", "06:00")),
            "grace": timedelta(minutes=int(config.get("CURFEW_LATE_GRACE_MINUTES", 30)))}


def has_curfew(night: date) -> bool:
    """Holidays and nights outside every term have no curfew and no status."""
    if db.session.get(NoCurfewNight, night) is not None:
        return False
    return db.session.scalar(sa.select(sa.func.count()).select_from(Term).where(
        Term.starts_on <= night, Term.ends_on >= night)) > 0


def curfew_for(rules: dict, building_id: int, gender: Gender, night: date) -> time:
    """The most specific rule: building and gender, building, gender, campus; then SPEC's default."""
    weekend = night.weekday() in (4, 5)  # Friday and Saturday nights
    for key in ((building_id, gender, weekend), (building_id, None, weekend), (None, gender, weekend),
                (None, None, weekend)):
        if key in rules:
            return rules[key]
    return DEFAULT_CURFEW[weekend]


def night_report(night: date, scope: sa.ColumnElement[bool] | None = None) -> list[ReportRow]:
    """The statuses of night ``night`` for the residents ``scope`` selects (a WHERE clause on Student)."""
    if not has_curfew(night):
        return []
    zone, options = campus_zone(), settings()
    night_start = datetime.combine(night, time(12), tzinfo=zone)
    residents = db.session.execute(
        sa.select(Student.id, Student.student_number, Student.name, Student.class_name, Student.college,
                  Student.gender, Building.id.label("building_id"), Building.code)
        .join(Assignment, Assignment.student_id == Student.id).join(Bed, Bed.id == Assignment.bed_id)
        .join(Room, Room.id == Bed.room_id).join(Building, Building.id == Room.building_id)
        .where(Assignment.started_at <= night_start,
               sa.or_(Assignment.ended_at.is_(None), Assignment.ended_at > night_start),
               sa.true() if scope is None else scope)
        .order_by(Student.student_number)).all()
    if not residents:
        return []
    rules = {(r.building_id, r.gender, r.weekend): r.curfew for r in db.session.scalars(sa.select(CurfewRule))}
    cutoff = datetime.combine(night + timedelta(days=1), options["cutoff"])
    ids = [r.id for r in residents]
    events = _events(ids, night_start - curfew.LOOK_BACK, cutoff.replace(tzinfo=zone), zone)
    leave = _leave(ids, night, options["grace"])
    rows = []
    for resident in residents:
        the_night = Night.of(night, curfew_for(rules, resident.building_id, resident.gender, night), options["cutoff"])
        own = events.get(resident.id, [])
        deciding = [Event(at, Direction(direction)) for at, direction, building, _door, granted in own
                    if granted and building == resident.code]
        outcome = curfew.night_status(the_night, deciding, _leave_for(leave.get(resident.id, {}), the_night))
        seen = own[-1] if own else None
        rows.append(ReportRow(resident.id, resident.student_number, resident.name, resident.class_name,
                              resident.college, resident.code, outcome.status, outcome.time,
                              seen[0] if seen else None, seen[3] if seen else ""))
    return rows


def _events(student_ids: list[int], since: datetime, until: datetime, zone) -> dict[int, list[tuple]]:
    """Each student's events in [since, until], oldest first, as (local time, direction, building, door, granted)."""
    by_student: dict[int, list[tuple]] = defaultdict(list)
    for start in range(0, len(student_ids), 1000):
        chunk = student_ids[start:start + 1000]
        result = db.session.execute(
            sa.select(AccessEvent.student_id, AccessEvent.occurred_at, AccessEvent.direction, AccessEvent.building,
                      AccessEvent.door, AccessEvent.granted)
            .where(AccessEvent.student_id.in_(chunk), AccessEvent.occurred_at >= since.astimezone(UTC),
                   AccessEvent.occurred_at <= until.astimezone(UTC))
            .order_by(AccessEvent.student_id, AccessEvent.occurred_at))
        for student_id, at, direction, building, door, granted in result:
            by_student[student_id].append((at.astimezone(zone).replace(tzinfo=None), direction, building, door,
                                           granted))
    return by_student


def _leave(student_ids: list[int], night: date, grace: timedelta) -> dict[int, dict]:
    """Approved permissions covering the night, per student: {"overnight": True, "late": [times]}."""
    leave: dict[int, dict] = defaultdict(lambda: {"overnight": False, "late": []})
    for start in range(0, len(student_ids), 1000):
        chunk = student_ids[start:start + 1000]
        for permission in db.session.scalars(sa.select(Permission).where(
                Permission.student_id.in_(chunk), Permission.status == PermissionStatus.APPROVED,
                Permission.first_night <= night, Permission.last_night >= night)):
            if permission.kind == PermissionKind.OVERNIGHT:
                leave[permission.student_id]["overnight"] = True
            else:
                leave[permission.student_id]["late"].append(permission.expected_return)
    return {k: {**v, "grace": grace} for k, v in leave.items()}


def _leave_for(granted: dict, night: Night) -> Leave:
    if not granted:
        return Leave()
    late = [curfew.expected_return(night, t, granted["grace"]) for t in granted["late"]]
    return Leave(overnight=granted["overnight"], late_until=max(late) if late else None)
