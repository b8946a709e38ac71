"""Who may see what. Every view goes through these checks."""
from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from ..campus.models import Bed, Room
from ..core.enums import Role
from ..extensions import db
from ..residence.models import Assignment
from ..students.models import CounselorScope, Student


def roles_required(*roles: Role):
    """Sign-in required, and one of ``roles``; anyone else gets 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required(Role.STAFF)


def visible_students_clause(user) -> sa.ColumnElement[bool]:
    """A WHERE clause selecting the students ``user`` may see."""
    if user.role == Role.STAFF:
        return sa.true()
    if user.role == Role.STUDENT:
        return Student.id == user.student_id
    if user.role == Role.COUNSELOR:
        classes = sa.select(CounselorScope.class_name).where(
            CounselorScope.user_id == user.id, CounselorScope.class_name.is_not(None)
        )
        colleges = sa.select(CounselorScope.college).where(
            CounselorScope.user_id == user.id, CounselorScope.college.is_not(None)
        )
        return sa.or_(Student.class_name.in_(classes), Student.college.in_(colleges))
    return sa.false()


def can_view_student(user, student: Student) -> bool:
    if user.role == Role.STAFF:
        return True
    if user.role == Role.STUDENT:
        return user.student_id == student.id
    return bool(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Student).where(
                Student.id == student.id, visible_students_clause(user)
            )
        )
    )


def visible_student_or_404(student_id: int) -> Student:
    """Out-of-scope students are reported as missing, so no one learns they exist."""
    student = db.session.get(Student, student_id)
    if student is None or not can_view_student(current_user, student):
        abort(404)
    return student


def visible_rooms_clause(user, room_id_column) -> sa.ColumnElement[bool]:
    """A WHERE clause on ``room_id_column`` selecting the rooms ``user`` may see.

    Staff see every room; a student the room of their current bed; a
    counselor the rooms where at least one of their students lives now.
    """
    if user.role == Role.STAFF:
        return sa.true()
    if user.role not in (Role.STUDENT, Role.COUNSELOR):
        return sa.false()
    lived_in = (sa.select(Bed.room_id).join(Assignment, Assignment.bed_id == Bed.id)
                .join(Student, Student.id == Assignment.student_id)
                .where(Assignment.ended_at.is_(None), visible_students_clause(user)))
    return room_id_column.in_(lived_in)


def can_view_room(user, room_id: int) -> bool:
    return user.role == Role.STAFF or bool(db.session.scalar(
        sa.select(sa.func.count()).select_from(Room).where(Room.id == room_id, visible_rooms_clause(user, Room.id))))
