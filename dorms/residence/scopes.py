"""Which rooms a user may see: the rooms where students they may see live now."""
from __future__ import annotations

import sqlalchemy as sa

from ..campus.models import Bed, Room
from ..core.enums import Role
from ..extensions import db
from ..students.models import Student
from ..students.scopes import visible_students_clause
from .models import Assignment


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
                .where(Assignment.is_current, visible_students_clause(user)))
    return room_id_column.in_(lived_in)


def can_view_room(user, room_id: int) -> bool:
    return user.role == Role.STAFF or bool(db.session.scalar(
        sa.select(sa.func.count()).select_from(Room).where(Room.id == room_id, visible_rooms_clause(user, Room.id))))
