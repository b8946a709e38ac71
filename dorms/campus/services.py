"""Campus places: buildings, floors and rooms as they are built (who lives in them is residence's)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..core.kept import kept
from ..extensions import db
from .models import Building, Campus, Floor, Room


def room_types() -> list[str]:
    """The room types there are, kept until rooms change."""
    return kept("room_types", lambda: list(db.session.scalars(
        sa.select(Room.room_type).distinct().order_by(Room.room_type))), depends_on=("rooms",))


@dataclass(frozen=True)
class BuildingName:
    """A building's id, code and name as plain data: lists and rows of them can be kept (core.kept)."""

    id: int
    code: str
    name: str


def building_names() -> list[BuildingName]:
    """Every building's code and name, by code, for a form to choose from; kept until buildings change."""
    return kept("building_names", lambda: [
        BuildingName(*row) for row in db.session.execute(
            sa.select(Building.id, Building.code, Building.name).order_by(Building.code))
    ], depends_on=("buildings",))


def buildings() -> list[Building]:
    return list(
        db.session.scalars(
            sa.select(Building).options(joinedload(Building.campus)).order_by(Building.code)
        )
    )


def load_room(room_id: int) -> Room | None:
    """The room with its building, floor and beds, in one query."""
    return db.session.scalars(
        sa.select(Room)
        .options(joinedload(Room.building), joinedload(Room.floor), joinedload(Room.beds))
        .where(Room.id == room_id)
    ).unique().one_or_none()


def building_rooms(building: Building) -> list[Room]:
    """Every room of a building with beds loaded, for the floor plan page."""
    return list(
        db.session.scalars(
            sa.select(Room)
            .options(selectinload(Room.beds), joinedload(Room.floor), joinedload(Room.building))
            .where(Room.building_id == building.id)
            .join(Floor, Floor.id == Room.floor_id)
            .order_by(Floor.number, Room.number)
        )
    )


# --- changes -----------------------------------------------------------------


def get_or_create_campus(code: str, name: str | None = None) -> Campus:
    campus = db.session.scalar(sa.select(Campus).where(Campus.code == code))
    if campus is None:
        campus = Campus(code=code, name=name or code)
        db.session.add(campus)
    return campus


def get_or_create_floor(building: Building, number: int) -> Floor:
    floor = next((f for f in building.floors if f.number == number), None)
    if floor is None:
        floor = Floor(building=building, number=number)
        db.session.add(floor)
    return floor
