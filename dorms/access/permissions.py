"""Students ask for late-return (晚归报备) and overnight-away (外宿) permission; their counselor decides."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import audit
from ..auth.services import counselors_of
from ..notifications import accounts_of, notify
from ..core.clock import campus_zone, utcnow
from ..core.enums import Role
from ..core.errors import ServiceError
from ..extensions import db
from ..residence.services import current_assignment
from ..students.models import Student
from ..students.scopes import can_view_student, visible_students_clause
from . import rollup
from .curfew import Night
from .models import Permission, PermissionKind, PermissionStatus
from .reports import curfew_for, curfew_rules

MAX_NIGHTS = 31  # a longer absence is a leave of absence, not a night away


def request_permission(student: Student, kind: PermissionKind, first_night: date, last_night: date | None = None, *,
                       expected_return: time | None = None, reason: str = "", destination: str = "",
                       emergency_contact: str = "") -> Permission:
    last_night = last_night or first_night
    if kind == PermissionKind.LATE:
        last_night = first_night  # one night: a late return is for an evening
        if expected_return is None:
            raise ServiceError(_("Say when you expect to be back."))
    elif not destination.strip() or not emergency_contact.strip():
        raise ServiceError(_("An overnight request needs the destination and an emergency contact."))
    if last_night < first_night:
        raise ServiceError(_("The last night is before the first."))
    if (last_night - first_night).days + 1 > MAX_NIGHTS:
        raise ServiceError(_("At most %(nights)d nights in one request.", nights=MAX_NIGHTS))
    if not reason.strip():
        raise ServiceError(_("Give a reason."))
    today = datetime.now(campus_zone()).date()
    late_by = int(current_app.config.get("CURFEW_REQUEST_DAYS_AFTER", 7))
    if first_night < today - timedelta(days=late_by):
        raise ServiceError(_("Requests for nights more than %(days)d days ago go to your counselor directly.",
                             days=late_by))
    ahead = int(current_app.config.get("CURFEW_REQUEST_DAYS_AHEAD", 60))
    if first_night > today + timedelta(days=ahead):
        raise ServiceError(_("Ask for nights at most %(days)d days ahead.", days=ahead))
    clash = db.session.scalar(sa.select(Permission).where(
        Permission.student_id == student.id, Permission.kind == kind,
        Permission.status != PermissionStatus.REJECTED,
        Permission.first_night <= last_night, Permission.last_night >= first_night))
    if clash is not None:
        raise ServiceError(_("You already asked for these nights (%(first)s – %(last)s).",
                             first=clash.first_night.isoformat(), last=clash.last_night.isoformat()))
    # Asking again for nights a rejected request named reopens that request (the audit log keeps both).
    permission = db.session.scalar(sa.select(Permission).where(
        Permission.student_id == student.id, Permission.kind == kind, Permission.first_night == first_night,
        Permission.last_night == last_night)) or Permission(student_id=student.id, kind=kind,
                                                            first_night=first_night, last_night=last_night)
    permission.status, permission.decided_by_id, permission.decided_at, permission.comment = \
        PermissionStatus.PENDING, None, None, ""
    permission.expected_return = expected_return if kind == PermissionKind.LATE else None
    permission.reason, permission.destination = reason.strip()[:500], destination.strip()[:200]
    permission.emergency_contact = emergency_contact.strip()[:120]
    permission.after_the_fact = _after_curfew(student, first_night)
    db.session.add(permission)
    db.session.flush()
    audit.record("access.permission.request", student=student, kind=kind.value,
                 first_night=first_night.isoformat(), last_night=last_night.isoformat(),
                 after_the_fact=permission.after_the_fact)
    notify(counselors_of(student), "permission_requested", student=student.display, class_name=student.class_name,
           kind=kind.lazy_label, nights=_nights(permission), reason=permission.reason)
    return permission


def _after_curfew(student: Student, night: date) -> bool:
    """Asked once the night's curfew had passed: allowed, but marked for the counselor."""
    assignment = current_assignment(student)
    building_id = assignment.bed.room.building_id if assignment else None
    the_night = Night.of(night, curfew_for(curfew_rules(), building_id, student.gender, night))
    return datetime.now(campus_zone()).replace(tzinfo=None) > the_night.curfew


COMMENT_LIMIT = 500  # the column's length


def decide(permission: Permission, approve: bool, user, comment: str = "") -> None:
    """The student's counselor (or staff) approves or rejects a pending request."""
    if user.role not in (Role.STAFF, Role.COUNSELOR) or not can_view_student(user, permission.student):
        raise ServiceError(_("Only the student's counselor or the housing office can decide this request."))
    if permission.status != PermissionStatus.PENDING:
        raise ServiceError(_("This request was already decided."))
    if not approve and not comment.strip():
        # The student reads why and may ask again: a bare "rejected" tells them nothing.
        raise ServiceError(_("Give the reason for rejecting the request."))
    if len(comment.strip()) > COMMENT_LIMIT:  # said, not cut: the student would read half a reason
        raise ServiceError(_("%(field)s: longer than %(limit)d characters", field=_("Comment"), limit=COMMENT_LIMIT))
    permission.status = PermissionStatus.APPROVED if approve else PermissionStatus.REJECTED
    permission.decided_by_id, permission.decided_at = user.id, utcnow()
    permission.comment = comment.strip()
    rollup.invalidate(permission.first_night, permission.last_night)
    audit.record("access.permission.decide", student=permission.student, permission=permission.id,
                 status=permission.status.value, comment=permission.comment)
    notify(accounts_of([permission.student]), "permission_decided", kind=permission.kind.lazy_label,
           nights=_nights(permission), status=permission.status.lazy_label, comment=permission.comment)


def _nights(permission: Permission) -> str:
    first, last = permission.first_night.isoformat(), permission.last_night.isoformat()
    return first if first == last else f"{first} – {last}"


def withdraw(permission: Permission, student: Student) -> None:
    if permission.student_id != student.id or permission.status != PermissionStatus.PENDING:
        raise ServiceError(_("Only your own pending requests can be withdrawn."))
    audit.record("access.permission.withdraw", student=student, permission=permission.id)
    db.session.delete(permission)


def requests_of(student: Student) -> list[Permission]:
    return list(db.session.scalars(sa.select(Permission).where(Permission.student_id == student.id)
                                   .order_by(Permission.first_night.desc(), Permission.id.desc()).limit(50)))


def requests_for(user, status: PermissionStatus | None = PermissionStatus.PENDING) -> list[Permission]:
    """The requests ``user`` may decide or see: a counselor's students', or everyone's for staff."""
    query = (sa.select(Permission).join(Student, Student.id == Permission.student_id)
             .where(visible_students_clause(user)).options(sa.orm.joinedload(Permission.student))
             .order_by(Permission.first_night, Permission.id).limit(500))
    if status is not None:
        query = query.where(Permission.status == status)
    return list(db.session.scalars(query))
