"""Student look-ups."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from .models import Student
from ..core.kept import kept
from .scopes import VISIBILITY_TABLES, visibility_key, visible_students_clause


def class_names(user) -> list[str]:
    """The classes of the students ``user`` may see, kept until students (or who sees them) change."""
    return kept("student_class_names", lambda: list(db.session.scalars(
        sa.select(Student.class_name).where(visible_students_clause(user), Student.class_name != "")
        .distinct().order_by(Student.class_name)
    )), depends_on=VISIBILITY_TABLES, key=visibility_key(user))


def find_by_number(student_number: str) -> Student | None:
    return db.session.scalar(sa.select(Student).where(Student.student_number == student_number.strip()))
