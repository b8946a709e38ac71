"""Roommate requests and lifestyle answers: what students ask of the allocation."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from ..audit import service as audit
from ..core.enums import Lifestyle, RequestKind
from ..core.errors import ServiceError
from ..extensions import db
from .models import RoommateRequest, Student
from .services import find_by_number

MAX_WANTS = 5


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


def add_request(student: Student, other_number: str, kind: RequestKind) -> RoommateRequest:
    other = find_by_number(other_number)
    if other is None:
        raise ServiceError(_("No student has the number %(number)s.", number=other_number))
    if other.id == student.id:
        raise ServiceError(_("A request names someone else."))
    if kind == RequestKind.WANT and other.gender != student.gender:
        raise ServiceError(_("Rooms house one gender: %(other)s cannot be a roommate.", other=other.display))
    existing = db.session.scalar(sa.select(RoommateRequest).where(
        RoommateRequest.student_id == student.id, RoommateRequest.other_id == other.id))
    if existing is not None:
        raise ServiceError(_("There is already a request about %(other)s; remove it first.", other=other.display))
    if kind == RequestKind.WANT and db.session.scalar(sa.select(sa.func.count()).select_from(RoommateRequest).where(
            RoommateRequest.student_id == student.id, RoommateRequest.kind == RequestKind.WANT)) >= MAX_WANTS:
        raise ServiceError(_("At most %(count)d roommate wishes.", count=MAX_WANTS))
    request = RoommateRequest(student=student, other=other, kind=kind)
    db.session.add(request)
    db.session.flush()
    audit.record("request.add", student=student, other=other.display, kind=kind.value)
    return request


def remove_request(student: Student, request_id: int) -> None:
    request = db.session.get(RoommateRequest, request_id)
    if request is None or request.student_id != student.id:
        raise ServiceError(_("There is no such request."))
    audit.record("request.remove", student=student, other=request.other.display, kind=request.kind.value)
    db.session.delete(request)
    db.session.flush()


def set_lifestyle(student: Student, value: str | None) -> None:
    student.lifestyle = Lifestyle(value) if value else None
    db.session.flush()


def all_requests() -> dict[int, dict[RequestKind, list[int]]]:
    """Every request as {student id: {kind: [other ids]}}, for the solver, in one query."""
    result: dict[int, dict[RequestKind, list[int]]] = {}
    for student_id, other_id, kind in db.session.execute(
            sa.select(RoommateRequest.student_id, RoommateRequest.other_id, RoommateRequest.kind)
            .order_by(RoommateRequest.id)):
        result.setdefault(student_id, {RequestKind.WANT: [], RequestKind.AVOID: []})[kind].append(other_id)
    return result
