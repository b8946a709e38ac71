"""Rooms as residents fill them: occupancy, room search, and the room changes occupancy limits."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .. import audit
from ..campus.models import Bed, Building, Floor, Room
from ..campus.services import BuildingName
from ..core.enums import BedType, Gender, GenderPolicy, RoomStatus
from ..core.errors import ServiceError
from ..core.kept import kept
from ..extensions import db
from ..students.models import Student
from .models import Assignment


def occupied_beds_by_room():
    """Subquery (room_id, occupied): current occupants per room."""
    return (
        sa.select(Bed.room_id, sa.func.count(Assignment.id).label("occupied"))
        .join(Assignment, sa.and_(Assignment.bed_id == Bed.id, Assignment.is_current))
        .group_by(Bed.room_id)
        .subquery()
    )


def _active_beds_by_room():
    return (
        sa.select(Bed.room_id, sa.func.count(Bed.id).label("capacity"))
        .where(Bed.active.is_(True))
        .group_by(Bed.room_id)
        .subquery()
    )


@dataclass
class RoomRow:
    room: Room
    capacity: int
    occupied: int

    @property
    def free(self) -> int:
        return self.capacity - self.occupied if self.room.is_open else 0


@dataclass
class RoomFilters:
    building_id: int | None = None
    gender: str | None = None  # "M" or "F": rooms that may take a student of this gender now
    room_type: str | None = None
    status: str | None = None
    free_only: bool = False
    accessible_only: bool = False
    number: str | None = None


def search_rooms(filters: RoomFilters, *, limit: int = 500,
                 within: sa.ColumnElement[bool] | None = None) -> list[RoomRow]:
    """Rooms with their capacity and occupancy, in one query; ``within``: a scope's clause on Room.id."""
    occupied = occupied_beds_by_room()
    capacity = _active_beds_by_room()
    capacity_col = sa.func.coalesce(capacity.c.capacity, 0)
    occupied_col = sa.func.coalesce(occupied.c.occupied, 0)
    query = (
        sa.select(Room, capacity_col, occupied_col)
        .join(Building, Building.id == Room.building_id)
        .join(Floor, Floor.id == Room.floor_id)
        .outerjoin(capacity, capacity.c.room_id == Room.id)
        .outerjoin(occupied, occupied.c.room_id == Room.id)
        .options(joinedload(Room.building), joinedload(Room.floor))
        .order_by(Building.code, Floor.number, Room.number)
        .limit(limit)
    )
    if within is not None:
        query = query.where(within)
    if filters.building_id:
        query = query.where(Room.building_id == filters.building_id)
    if filters.gender in (Gender.MALE.value, Gender.FEMALE.value):
        gender = Gender(filters.gender)
        # A room takes this gender when it or its building says so, or when nothing says
        # otherwise and nobody of the other gender lives there now.
        other_gender_resident = (
            sa.select(Assignment.id)
            .join(Bed, Bed.id == Assignment.bed_id)
            .join(Student, Student.id == Assignment.student_id)
            .where(Bed.room_id == Room.id, Assignment.is_current, Student.gender != gender)
            .exists()
        )
        query = query.where(
            sa.or_(Room.gender == gender,
                   sa.and_(Room.gender.is_(None), Building.gender_policy == GenderPolicy(gender.value)),
                   sa.and_(Room.gender.is_(None), Building.gender_policy == GenderPolicy.MIXED,
                           ~other_gender_resident))
        )
    if filters.room_type:
        query = query.where(Room.room_type == filters.room_type)
    if filters.status:
        query = query.where(Room.status == RoomStatus(filters.status))
    if filters.free_only:
        query = query.where(Room.status == RoomStatus.OPEN, capacity_col > occupied_col)
    if filters.accessible_only:
        query = query.where(Room.accessible.is_(True))
    if filters.number:
        # "101a" finds 101A: room codes are read without letter case everywhere (campus.codes)
        query = query.where(Room.number.icontains(filters.number.strip(), autoescape=True))
    return [RoomRow(room, cap, occ) for room, cap, occ in db.session.execute(query)]


@dataclass
class OccupancyRow:
    building: BuildingName | None  # None in rows added up per gender (occupancy_by_gender)
    gender: str  # "M", "F" or "" (not yet decided)
    beds: int
    occupied: int  # in open rooms
    closed: int  # beds in closed rooms
    in_closed_rooms: int = 0  # residents still in closed rooms

    @property
    def free(self) -> int:
        return self.beds - self.occupied - self.closed

    @property
    def gender_label(self) -> str:
        return Gender(self.gender).label if self.gender else _("Any gender")


# What occupancy is counted from: it changes when someone moves in or out, or rooms and beds change.
OCCUPANCY_TABLES = ("assignments", "beds", "rooms", "buildings")


def occupancy_by_building() -> list[OccupancyRow]:
    """Beds, occupied, free and closed per building and gender, in one query, kept until someone moves.

    A bed in a closed room counts as closed, even while someone still
    sleeps in it; those residents are counted apart, as ``in_closed_rooms``:
    they have to be moved.
    """
    return kept("residence.occupancy_by_building", _count_occupancy, depends_on=OCCUPANCY_TABLES)


def _count_occupancy() -> list[OccupancyRow]:
    gender = sa.func.coalesce(
        sa.cast(Room.gender, sa.String),
        sa.case((Building.gender_policy != GenderPolicy.MIXED, sa.cast(Building.gender_policy, sa.String)),
                else_=""),
    )
    is_closed = Room.status == RoomStatus.CLOSED
    is_occupied = Assignment.id.is_not(None)
    query = (
        sa.select(
            Building.id,
            Building.code,
            Building.name,
            gender.label("gender"),
            sa.func.count(Bed.id),
            sa.func.sum(sa.case((sa.and_(is_occupied, ~is_closed), 1), else_=0)),
            sa.func.sum(sa.case((is_closed, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(is_occupied, is_closed), 1), else_=0)),
        )
        .select_from(Bed)
        .join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id)
        .outerjoin(Assignment, sa.and_(Assignment.bed_id == Bed.id, Assignment.is_current))
        .where(Bed.active.is_(True))
        .group_by(Building.id, gender)
    )
    rows = [
        OccupancyRow(BuildingName(building_id, code, name), gender or "", int(beds), int(occupied), int(closed),
                     int(in_closed))
        for building_id, code, name, gender, beds, occupied, closed, in_closed in db.session.execute(query)
    ]
    return sorted(rows, key=lambda row: (row.building.code, row.gender))


GENDER_ORDER = {Gender.MALE.value: 0, Gender.FEMALE.value: 1, "": 2}


def occupancy_by_gender(rows: list[OccupancyRow]) -> list[OccupancyRow]:
    """The rows added up per gender (men's, women's, undecided), for a campus with too many buildings to
    chart one by one; ``building`` is left out (None)."""
    genders: dict[str, list[OccupancyRow]] = {}
    for row in rows:
        genders.setdefault(row.gender, []).append(row)
    return [OccupancyRow(None, gender, **{key: sum(getattr(r, key) for r in group)
                                          for key in ("beds", "occupied", "closed", "in_closed_rooms")})
            for gender, group in sorted(genders.items(), key=lambda item: GENDER_ORDER.get(item[0], 9))]


def occupancy_totals(rows: list[OccupancyRow]) -> dict[str, int]:
    return {
        "beds": sum(r.beds for r in rows),
        "occupied": sum(r.occupied for r in rows),
        "free": sum(r.free for r in rows),
        "closed": sum(r.closed for r in rows),
        "in_closed_rooms": sum(r.in_closed_rooms for r in rows),
    }


def occupancy_totals_by_building(rows: list[OccupancyRow]) -> dict[int, dict[str, int]]:
    totals: dict[int, list[OccupancyRow]] = {}
    for row in rows:
        totals.setdefault(row.building.id, []).append(row)
    return {building_id: occupancy_totals(group) for building_id, group in totals.items()}


# --- changes -----------------------------------------------------------------


def occupied_bed_ids(bed_ids: list[int]) -> set[int]:
    if not bed_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Assignment.bed_id).where(Assignment.bed_id.in_(bed_ids), Assignment.is_current)
        )
    )


def set_capacity(room: Room, capacity: int, bed_type: BedType | None = None) -> bool:
    """Give a room ``capacity`` beds in use, labelled 1..capacity. Returns whether anything changed.

    Beds over the new capacity are taken out of use, never deleted (they keep
    their history); an occupied bed cannot be taken out of use.
    """
    changed = False
    by_label = {bed.label: bed for bed in room.beds}
    wanted = {str(n) for n in range(1, capacity + 1)}
    for label in sorted(wanted, key=int):
        bed = by_label.get(label)
        if bed is None:
            room.beds.append(Bed(label=label, bed_type=bed_type, active=True))
            changed = True
            continue
        if not bed.active:
            bed.active = True
            changed = True
        if bed_type is not None and bed.bed_type != bed_type:
            bed.bed_type = bed_type
            changed = True
    for label, bed in by_label.items():
        if label not in wanted and bed.active:
            if bed.id is not None and occupied_bed_ids([bed.id]):
                raise ServiceError(_("Bed %(bed)s is occupied and cannot be taken out of use.", bed=bed.code))
            bed.active = False
            changed = True
    return changed


def set_room_status(room: Room, status: RoomStatus, *, reason: str) -> int:
    """Open or close a room. Returns how many residents still live in it.

    Closing an occupied room is allowed (renovation is planned ahead); its
    residents then have to be moved, which the page says.
    """
    if room.status == status:
        return 0
    old = room.status
    room.status = status
    db.session.flush()
    audit.record("room.status", room=room, reason=reason, room_code=room.code,
                 old=old.value, new=status.value)
    return len(occupied_bed_ids([bed.id for bed in room.beds]))
