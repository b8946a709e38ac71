"""Students with where they live now: the student search, roommates, a counselor's housed count.

Each look-up goes through the asking user's scope (students.scopes)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from ..campus.models import Bed, Room
from ..core.enums import StudentStatus
from ..extensions import db
from ..students.models import CounselorScope, Student
from ..students.scopes import visible_students_clause
from .models import Assignment, current_assignment_alias, select_current_beds


@dataclass
class StudentFilters:
    text: str | None = None  # student number or name, partial
    class_name: str | None = None
    college: str | None = None
    status: str | None = None
    housed: str | None = None  # "yes", "no" or None for everyone


@dataclass
class StudentRow:
    student: Student
    assignment: Assignment | None


def search_students(user, filters: StudentFilters, *, page: int = 1, per_page: int = 50):
    """Students ``user`` may see, with their current bed, in one query per page."""
    current, is_current = current_assignment_alias()
    query = (
        sa.select(Student, current)
        .outerjoin(current, is_current)
        .options(joinedload(current.bed).joinedload(Bed.room).joinedload(Room.building))
        .where(visible_students_clause(user))
        .order_by(Student.student_number)
    )
    if filters.text:
        text = filters.text.strip()
        query = query.where(sa.or_(Student.student_number.startswith(text, autoescape=True),
                                   Student.name.contains(text, autoescape=True)))
    if filters.class_name:
        query = query.where(Student.class_name == filters.class_name)
    if filters.college:
        query = query.where(Student.college == filters.college)
    if filters.status:
        query = query.where(Student.status == StudentStatus(filters.status))
    if filters.housed == "yes":
        query = query.where(current.id.is_not(None))
    elif filters.housed == "no":
        query = query.where(current.id.is_(None))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return [StudentRow(student, assignment) for student, assignment in rows], total


def roommates(assignment: Assignment | None) -> list[Assignment]:
    """Current assignments of the other beds in the same room."""
    if assignment is None:
        return []
    return list(db.session.scalars(
        select_current_beds(Assignment).options(contains_eager(Assignment.bed), contains_eager(Assignment.student))
        .where(Bed.room_id == assignment.bed.room_id, Assignment.id != assignment.id)
        .order_by(Bed.label)
    ))


@dataclass
class CounselorSummary:
    scopes: list[CounselorScope]
    students: int
    housed: int

    @property
    def unhoused(self) -> int:
        return self.students - self.housed


def counselor_summary(user) -> CounselorSummary:
    current, is_current = current_assignment_alias()
    students, housed = db.session.execute(
        sa.select(sa.func.count(Student.id), sa.func.count(current.id))
        .outerjoin(current, is_current)
        .where(visible_students_clause(user), Student.status == StudentStatus.ACTIVE)
    ).one()
    return CounselorSummary(list(user.scopes), students, housed)
