"""Student look-ups."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from .models import Student
from .scopes import visible_students_clause


def class_names(user) -> list[str]:
    return list(db.session.scalars(
        sa.select(Student.class_name).where(visible_students_clause(user), Student.class_name != "")
        .distinct().order_by(Student.class_name)
    ))


def find_by_number(student_number: str) -> Student | None:
    return db.session.scalar(sa.select(Student).where(Student.student_number == student_number.strip()))
