"""Which students a user may see: staff and auditors everyone, a student themself, a counselor their classes
and colleges, a building manager the residents of their buildings; other roles no one."""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from ..core.database import is_postgresql
from ..core.enums import Role
from ..core.roles import sees_everything
from ..extensions import db
from .models import CounselorScope, Student

# Where a student lives is residence's to say, and residence sits above students: it gives its rule here
# when it is imported (residence.scopes). Until then a building manager sees no one.
_residents_of_managed_buildings: Callable[[object], sa.ColumnElement[bool]] | None = None


def set_residents_rule(rule: Callable[[object], sa.ColumnElement[bool]]) -> None:
    global _residents_of_managed_buildings
    _residents_of_managed_buildings = rule


def visible_students_clause(user) -> sa.ColumnElement[bool]:
    """A WHERE clause selecting the students ``user`` may see."""
    if sees_everything(user):
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
        if is_postgresql():
            # = ANY(ARRAY(…)): PostgreSQL reads the few names first and then the two indexes; an OR of
            # two IN (subquery) makes it scan every student.
            return sa.or_(Student.class_name == sa.any_(sa.func.array(classes.scalar_subquery())),
                          Student.college == sa.any_(sa.func.array(colleges.scalar_subquery())))
        return sa.or_(Student.class_name.in_(classes), Student.college.in_(colleges))
    if user.role == Role.BUILDING_MANAGER and _residents_of_managed_buildings is not None:
        return _residents_of_managed_buildings(user)
    return sa.false()


def can_view_student(user, student: Student) -> bool:
    if sees_everything(user):
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
