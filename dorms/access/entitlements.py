"""Who may enter which building (for the door system), and where the door logs and the rooms disagree."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..campus.models import Bed, Building, Room
from ..core.clock import utcnow
from ..extensions import db
from ..residence.models import Assignment, select_current_beds
from ..students.models import Student
from .cards import key
from .models import AccessEvent, Card


@dataclass
class Entitlement:
    student_number: str
    name: str
    building: str
    cards: list[str]
    pins: list[str]  # what face, fingerprint and password entries know the student by


def entitlements() -> list[Entitlement]:
    """Every current resident with their building, cards and PINs (empty lists: a resident the doors cannot
    know)."""
    residents = db.session.execute(
        select_current_beds(Student.id, Student.student_number, Student.name, Building.code)
        .order_by(Building.code, Student.student_number)).all()
    held: dict[tuple[int, str], list[str]] = {}
    for student_id, number, kind in db.session.execute(sa.select(Card.student_id, Card.number, Card.kind)
                                                       .order_by(Card.number)):
        held.setdefault((student_id, kind), []).append(number)
    return [Entitlement(r.student_number, r.name, r.code, held.get((r.id, "card"), []), held.get((r.id, "pin"), []))
            for r in residents]


@dataclass
class Visit:
    student_number: str
    name: str
    lives_in: str
    building: str
    entries: int
    last: datetime


def visits_elsewhere(days: int = 7) -> list[Visit]:
    """Granted events of residents at buildings they did not live in, over the last ``days`` days.

    Each event is compared with the bed the student held when it happened (the assignment history), not with
    today's: a student who just moved entered their old building as a resident, and their new one too."""
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        sa.select(Student.student_number, Student.name, Building.code.label("lives_in"),
                  AccessEvent.building, sa.func.count().label("entries"),
                  sa.func.max(AccessEvent.occurred_at).label("last"))
        .select_from(AccessEvent)
        .join(Student, Student.id == AccessEvent.student_id)
        .join(Assignment, sa.and_(Assignment.student_id == AccessEvent.student_id,
                                  Assignment.started_at <= AccessEvent.occurred_at,
                                  sa.or_(Assignment.ended_at.is_(None), Assignment.ended_at > AccessEvent.occurred_at)))
        .join(Bed, Bed.id == Assignment.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id)
        .where(AccessEvent.occurred_at >= since, AccessEvent.granted.is_(True),
               sa.func.upper(AccessEvent.building) != sa.func.upper(Building.code))
        .group_by(Student.student_number, Student.name, Building.code, AccessEvent.building)
        .order_by(sa.func.count().desc(), Student.student_number).limit(1000)).all()
    return [Visit(r.student_number, r.name, r.lives_in, r.building, r.entries, r.last) for r in rows]


@dataclass
class UnknownCard:
    card: str
    events: int
    last: datetime
    buildings: str


def unknown_cards(days: int = 7) -> list[UnknownCard]:
    """Cards and PINs nobody holds that opened doors lately: lost cards, visitors, or a card list out of date."""
    since = utcnow() - timedelta(days=days)
    # One identifier in any letter case is one card (cards.key).
    rows = db.session.execute(
        sa.select(sa.func.min(AccessEvent.card), sa.func.count(), sa.func.max(AccessEvent.occurred_at),
                  sa.func.min(AccessEvent.building), sa.func.max(AccessEvent.building))
        .where(AccessEvent.student_id.is_(None), AccessEvent.occurred_at >= since)
        .group_by(key(AccessEvent.card)).order_by(sa.func.count().desc()).limit(1000)).all()
    return [UnknownCard(card, count, last, low if low == high else f"{low} … {high}")
            for card, count, last, low, high in rows]
