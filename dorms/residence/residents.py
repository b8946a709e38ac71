"""Students with where they live now: the student search, roommates, a counselor's housed count.

Each look-up goes through the asking user's scope (students.scopes)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..campus.models import Bed, Room
from ..core.database import bytewise
from ..core.enums import StudentStatus
from ..core.kept import kept
from ..extensions import db
from ..students.models import CounselorScope, Student
from ..students.scopes import VISIBILITY_TABLES, visibility_key, visible_students_clause
from .models import Assignment, current_assignment_alias


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


def _like_literal(pattern_of: str, text: str) -> sa.BindParameter[str]:
    """A LIKE pattern (``pattern_of``: "{}%" or "%{}%") for ``text`` taken literally, written into the statement
    so that the database plans for it: a prefix becomes an index range only when the planner sees it."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return sa.bindparam(None, pattern_of.format(escaped), type_=sa.String, literal_execute=True)


def _matching(user, filters: StudentFilters) -> list[sa.Select]:
    """``SELECT students.id, student_number`` of the students ``user`` may see that match ``filters``: one
    select, or two when a text is given: those whose number starts with it, and those whose name holds it
    (numbers not matching). Each half has its index (models.Student) and can be read in student number order
    and stopped early, which the two conditions joined by OR could not."""
    query = sa.select(Student.id, Student.student_number).where(visible_students_clause(user))
    if filters.class_name:
        query = query.where(Student.class_name == filters.class_name)
    if filters.college:
        query = query.where(Student.college == filters.college)
    if filters.status:
        query = query.where(Student.status == StudentStatus(filters.status))
    if filters.housed in ("yes", "no"):
        housed = sa.exists().where(Assignment.student_id == Student.id, Assignment.is_current)
        query = query.where(housed if filters.housed == "yes" else ~housed)
    text = (filters.text or "").strip()
    if not text:
        return [query]
    by_number = bytewise(Student.student_number).like(_like_literal("{}%", text), escape="/")
    by_name = Student.name.like(_like_literal("%{}%", text), escape="/")
    return [query.where(by_number), query.where(by_name, ~by_number)]


def find_students(user, filters: StudentFilters, *, page: int = 1, per_page: int = 50) -> list[StudentRow]:
    """One page of the students ``user`` may see, in student number order, with their current bed: one query."""
    enough = page * per_page
    in_order = bytewise(Student.student_number)
    # Each half's first pages in number order; the page is cut from their union, then its students are read.
    firsts = [select.order_by(in_order).limit(enough).subquery() for select in _matching(user, filters)]
    union = sa.union_all(*(sa.select(first.c.id, first.c.student_number) for first in firsts)).subquery()
    page_ids = (sa.select(union.c.id).order_by(bytewise(union.c.student_number))
                .limit(per_page).offset(enough - per_page).subquery())
    current, is_current = current_assignment_alias()
    rows = db.session.execute(
        sa.select(Student, current)
        .join(page_ids, page_ids.c.id == Student.id)
        .outerjoin(current, is_current)
        .options(joinedload(current.bed).joinedload(Bed.room).joinedload(Room.building))
        .order_by(in_order)
    ).all()
    return [StudentRow(student, assignment) for student, assignment in rows]


def count_students(user, filters: StudentFilters) -> int:
    """How many students ``user`` may see match ``filters``."""
    halves = [sa.select(sa.func.count()).select_from(select.subquery()).scalar_subquery()
              for select in _matching(user, filters)]
    return db.session.scalar(sa.select(sum(halves[1:], halves[0])))


def kept_count(user, filters: StudentFilters) -> int:
    """``count_students``, kept until a table it reads changes: a list's total, asked again at every page turn."""
    return kept("student_count", lambda: count_students(user, filters), depends_on=VISIBILITY_TABLES,
                key=(visibility_key(user), filters))


def search_students(user, filters: StudentFilters, *, page: int = 1, per_page: int = 50):
    """One page of the matching students and how many match in all."""
    rows = find_students(user, filters, page=page, per_page=per_page)
    total = total_of(rows, page=page, per_page=per_page)
    return rows, count_students(user, filters) if total is None else total


def total_of(rows: list, *, page: int, per_page: int) -> int | None:
    """How many match in all, when a page not full says it (it is the last); None when it takes counting."""
    if 0 < len(rows) < per_page or (page == 1 and not rows):
        return (page - 1) * per_page + len(rows)
    return None


@dataclass(frozen=True)
class Roommate:
    bed_label: str
    student_id: int
    name: str
    class_name: str


def roommates(assignment: Assignment | None) -> list[Roommate]:
    """Who holds the other beds of the assignment's room now, by bed."""
    if assignment is None:
        return []
    return [Roommate(*row) for row in db.session.execute(
        sa.select(Bed.label, Student.id, Student.name, Student.class_name)
        .join(Assignment, Assignment.bed_id == Bed.id).join(Student, Student.id == Assignment.student_id)
        .where(Bed.room_id == assignment.bed.room_id, Assignment.is_current, Assignment.id != assignment.id)
        .order_by(Bed.label))]


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
