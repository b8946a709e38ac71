"""Which rooms and buildings a user may see.

Staff and auditors every room; a hygiene inspector every room (to read); a building manager the rooms
of their buildings; a student the room of their current bed; a counselor the rooms where at least one
of their students lives now; a repair worker none (their tickets are their scope, facilities.repairs).
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from ..campus.models import Bed, Building, ManagedBuilding, Room
from ..core.enums import Role
from ..core.roles import sees_everything
from ..extensions import db
from ..students import scopes as student_scopes
from ..students.models import Student
from ..students.scopes import visible_students_clause
from .models import Assignment

READS_EVERY_ROOM = frozenset({Role.INSPECTOR})


def managed_building_ids(user) -> sa.Select:
    """The ids of the buildings ``user`` manages, as a subquery (none unless a building manager)."""
    return sa.select(ManagedBuilding.building_id).where(ManagedBuilding.user_id == user.id)


def visible_buildings_clause(user, building_id_column) -> sa.ColumnElement[bool]:
    """A WHERE clause on ``building_id_column``: every building for staff, auditors and inspectors, a
    building manager's own; nobody else opens buildings."""
    if sees_everything(user) or user.role in READS_EVERY_ROOM:
        return sa.true()
    if user.role == Role.BUILDING_MANAGER:
        return building_id_column.in_(managed_building_ids(user))
    return sa.false()


def visible_rooms_clause(user, room_id_column) -> sa.ColumnElement[bool]:
    """A WHERE clause on ``room_id_column`` selecting the rooms ``user`` may see."""
    if sees_everything(user) or user.role in READS_EVERY_ROOM:
        return sa.true()
    if user.role == Role.BUILDING_MANAGER:
        return room_id_column.in_(sa.select(Room.id).where(Room.building_id.in_(managed_building_ids(user))))
    if user.role not in (Role.STUDENT, Role.COUNSELOR):
        return sa.false()
    lived_in = (sa.select(Bed.room_id).join(Assignment, Assignment.bed_id == Bed.id)
                .join(Student, Student.id == Assignment.student_id)
                .where(Assignment.is_current, visible_students_clause(user)))
    return room_id_column.in_(lived_in)


def can_view_room(user, room_id: int) -> bool:
    return sees_everything(user) or bool(db.session.scalar(
        sa.select(sa.func.count()).select_from(Room).where(Room.id == room_id, visible_rooms_clause(user, Room.id))))


def can_view_building(user, building_id: int) -> bool:
    return sees_everything(user) or bool(db.session.scalar(
        sa.select(sa.func.count()).select_from(Building).where(
            Building.id == building_id, visible_buildings_clause(user, Building.id))))


def manages_room(user, room_id: int) -> bool:
    """May ``user`` act on this room's residents, desk, hygiene and repairs: staff anywhere, a building
    manager in their own buildings."""
    if user.role == Role.STAFF:
        return True
    return user.role == Role.BUILDING_MANAGER and can_view_room(user, room_id)


def room_or_404(room_id: int, load: Callable[[int], Room | None] | None = None) -> Room:
    """A room the asker may see (``load``: read it with what the page needs); another building's room is
    reported as missing."""
    room = load(room_id) if load else db.session.get(Room, room_id)
    if room is None or not can_view_room(current_user, room.id):
        abort(404)
    return room


def building_or_404(building_id: int) -> Building:
    building = db.session.get(Building, building_id)
    if building is None or not can_view_building(current_user, building.id):
        abort(404)
    return building


def visible_buildings(user) -> list[Building]:
    """The buildings ``user`` may open, by code (building filters and the building list offer only these)."""
    return list(db.session.scalars(sa.select(Building).where(visible_buildings_clause(user, Building.id))
                                   .options(sa.orm.joinedload(Building.campus)).order_by(Building.code)))


def _residents_of_managed_buildings(user) -> sa.ColumnElement[bool]:
    """A building manager's students: those holding a bed in one of their buildings now."""
    residents = (sa.select(Assignment.student_id).join(Bed, Bed.id == Assignment.bed_id)
                 .join(Room, Room.id == Bed.room_id)
                 .where(Assignment.is_current, Room.building_id.in_(managed_building_ids(user))))
    return Student.id.in_(residents)


student_scopes.set_residents_rule(_residents_of_managed_buildings)
