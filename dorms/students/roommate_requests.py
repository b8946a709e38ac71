"""Roommate requests and lifestyle answers: what students ask of the allocation."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from .. import audit
from ..campus.models import Building
from ..core.database import conflict_on_duplicate
from ..core.enums import Lifestyle, RequestKind
from ..core.errors import ServiceError
from ..core.forms import MAX_ID
from ..extensions import db
from .models import BuildingPreference, RoommateRequest, Student
from .services import find_by_number

MAX_WANTS = 5
MAX_AVOIDS = 3  # binding: more would let one student take a room for themself
MAX_PREFERENCES = 3


def requests_of(student: Student) -> list[RoommateRequest]:
    return list(db.session.scalars(
        sa.select(RoommateRequest).options(joinedload(RoommateRequest.other))
        .where(RoommateRequest.student_id == student.id).order_by(RoommateRequest.kind, RoommateRequest.id)))


def mutual_ids(student: Student) -> set[int]:
    """Whom this student wants, who want them back."""
    return set(db.session.scalars(
        sa.select(RoommateRequest.student_id).where(
            RoommateRequest.other_id == student.id, RoommateRequest.kind == RequestKind.WANT,
            RoommateRequest.student_id.in_(sa.select(RoommateRequest.other_id).where(
                RoommateRequest.student_id == student.id, RoommateRequest.kind == RequestKind.WANT)))))


def add_request(student: Student, other_number: str, kind: RequestKind, *, discreet: bool = False) -> RoommateRequest:
    """``discreet`` (a student asking): a number that is no one's, or a wish for the other gender, is saved
    like any other, so the answer never tells who a number belongs to; the allocation ignores those.
    Staff are told what is wrong instead.
    """
    other = find_by_number(other_number)
    other_number = other.student_number if other is not None else other_number.strip()
    if other_number == student.student_number:
        raise ServiceError(_("A request names someone else."))
    if not discreet and other is None:
        raise ServiceError(_("No student has the number %(number)s.", number=other_number))
    if not discreet and kind == RequestKind.WANT and other.gender != student.gender:
        raise ServiceError(_("Rooms house one gender: %(other)s cannot be a roommate.", other=other.display))
    existing = db.session.scalar(sa.select(RoommateRequest).where(
        RoommateRequest.student_id == student.id, RoommateRequest.other_number == other_number))
    if existing is not None:
        raise ServiceError(_("There is already a request about %(other)s; remove it first.", other=other_number))
    limit = MAX_WANTS if kind == RequestKind.WANT else MAX_AVOIDS
    if db.session.scalar(sa.select(sa.func.count()).select_from(RoommateRequest).where(
            RoommateRequest.student_id == student.id, RoommateRequest.kind == kind)) >= limit:
        raise ServiceError(_("At most %(count)d requests of this kind.", count=limit))
    request = RoommateRequest(student=student, other_number=other_number, other=other, kind=kind)
    # The same form sent twice at once.
    with conflict_on_duplicate(_("There is already a request about %(other)s; remove it first.", other=other_number)):
        db.session.add(request)
    audit.record("request.add", student=student, other=_named(request), kind=kind.value)
    return request


def _named(request: RoommateRequest) -> str:
    return request.other.display if request.other is not None else request.other_number


def remove_request(student: Student, request_id: int) -> None:
    request = db.session.get(RoommateRequest, request_id)
    if request is None or request.student_id != student.id:
        raise ServiceError(_("There is no such request."))
    audit.record("request.remove", student=student, other=_named(request), kind=request.kind.value)
    db.session.delete(request)
    db.session.flush()


def set_lifestyle(student: Student, value: str | None) -> None:
    student.lifestyle = Lifestyle(value) if value else None
    db.session.flush()


def preferred_buildings(student: Student) -> list[BuildingPreference]:
    return list(db.session.scalars(sa.select(BuildingPreference).options(joinedload(BuildingPreference.building))
                                   .where(BuildingPreference.student_id == student.id)
                                   .order_by(BuildingPreference.rank)))


def set_preferred_buildings(student: Student, building_ids: list[int]) -> None:
    """Replace the student's ranked buildings (best first; repeats and blanks dropped)."""
    ranked = list(dict.fromkeys(b for b in building_ids if b))
    if len(ranked) > MAX_PREFERENCES:
        raise ServiceError(_("At most %(count)d buildings.", count=MAX_PREFERENCES))
    known = set(db.session.scalars(sa.select(Building.id).where(Building.id.in_([b for b in ranked if b <= MAX_ID]))))
    if set(ranked) - known:
        raise ServiceError(_("There is no such building."))
    # Saved twice at the same moment.
    with conflict_on_duplicate(_("Someone else is changing the same records right now. Go back and try again.")):
        db.session.execute(sa.delete(BuildingPreference).where(BuildingPreference.student_id == student.id))
        db.session.add_all(BuildingPreference(student_id=student.id, building_id=b, rank=n)
                           for n, b in enumerate(ranked, start=1))
    audit.record("request.buildings", student=student, buildings=len(ranked))


def all_preferences() -> dict[int, list[str]]:
    """Every student's ranked building codes, for the solver, in one query."""
    result: dict[int, list[str]] = {}
    for student_id, code in db.session.execute(
            sa.select(BuildingPreference.student_id, Building.code).join(Building)
            .order_by(BuildingPreference.student_id, BuildingPreference.rank)):
        result.setdefault(student_id, []).append(code)
    return result


def link_waiting_requests() -> int:
    """Requests naming a number that was no one's, linked to the student who now has it (after an import
    or a directory sync adds students). Returns how many were linked."""
    holder = (sa.select(Student.id).where(Student.student_number == RoommateRequest.other_number)
              .scalar_subquery())
    return db.session.execute(
        sa.update(RoommateRequest).where(RoommateRequest.other_id.is_(None), sa.exists(holder))
        .values(other_id=holder).execution_options(synchronize_session=False)).rowcount


def all_requests() -> dict[int, dict[RequestKind, list[int]]]:
    """Every request that can be met as {student id: {kind: [other ids]}}, for the solver, in one query.

    Left out: numbers that are no one's, and wishes for a student of the other gender.
    """
    result: dict[int, dict[RequestKind, list[int]]] = {}
    asker, other = aliased(Student), aliased(Student)
    for student_id, other_id, kind in db.session.execute(
            sa.select(RoommateRequest.student_id, RoommateRequest.other_id, RoommateRequest.kind)
            .join(asker, asker.id == RoommateRequest.student_id).join(other, other.id == RoommateRequest.other_id)
            .where(sa.or_(RoommateRequest.kind == RequestKind.AVOID, asker.gender == other.gender))
            .order_by(RoommateRequest.id)):
        result.setdefault(student_id, {RequestKind.WANT: [], RequestKind.AVOID: []})[kind].append(other_id)
    return result
