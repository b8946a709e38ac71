"""Places by the codes people write: a building (A1), a room as building-number (A1-203), a bed as
building-number-bed (A1-203-2).

One reading for every form and import. Letter case does not matter, as at a housing office's desk
("a1-203" is A1-203). The code is split from the right, so a building code may itself hold a hyphen.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..extensions import db
from .models import Bed, Building, Room


def _code_parts(code: str | None, count: int) -> list[str] | None:
    """``code`` as ``count`` upper-cased parts split at its last hyphens, or None when it has too few."""
    parts = (code or "").strip().upper().rsplit("-", count - 1)
    return parts if len(parts) == count and all(parts) else None


def _the_one(rows: list, code: str, written) -> object | None:
    """The one row a code names. Codes are unique only as written: where two differ in case alone
    (101a, 101A), the one written exactly so is meant, and without it the code names neither."""
    if len(rows) == 1:
        return rows[0]
    exact = [row for row in rows if written(row) == code.strip()]
    return exact[0] if len(exact) == 1 else None


def find_building(code: str | None) -> Building | None:
    """The building a code such as A1 (or a1) names, or None."""
    written = (code or "").strip()
    if not written:
        return None
    buildings = db.session.scalars(sa.select(Building).where(sa.func.upper(Building.code) == written.upper())).all()
    return _the_one(buildings, written, lambda building: building.code)


def find_room(code: str | None) -> Room | None:
    """The room a code such as A1-203 names (building loaded with it), or None."""
    parts = _code_parts(code, 2)
    if parts is None:
        return None
    building, number = parts
    rooms = db.session.scalars(
        sa.select(Room).join(Room.building).options(contains_eager(Room.building))
        .where(sa.func.upper(Building.code) == building, sa.func.upper(Room.number) == number)).all()
    return _the_one(rooms, code, lambda room: room.code)


def find_bed(code: str | None) -> Bed | None:
    """The bed a code such as A1-203-2 names (room and building loaded with it), or None."""
    parts = _code_parts(code, 3)
    if parts is None:
        return None
    building, number, label = parts
    beds = db.session.scalars(
        sa.select(Bed).join(Bed.room).join(Room.building)
        .options(contains_eager(Bed.room).contains_eager(Room.building))
        .where(sa.func.upper(Building.code) == building, sa.func.upper(Room.number) == number,
               sa.func.upper(Bed.label) == label)).all()
    return _the_one(beds, code, lambda bed: bed.code)
