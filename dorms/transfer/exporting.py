"""Export rooms and students in the same columns the import reads."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..campus.models import Bed, Building, Floor, Room
from ..residence.occupancy import occupied_beds_by_room
from ..core.tables import write_csv, write_xlsx
from ..extensions import db
from ..residence.models import current_assignment_alias
from ..students.models import Student

ROOM_HEADERS = ["building", "building_name", "campus", "building_gender", "floor", "room", "capacity",
                "type", "gender", "accessible", "status", "bed_type", "occupied"]
STUDENT_HEADERS = ["student_number", "name", "gender", "college", "major", "class", "grade", "phone",
                   "status", "needs_accessible", "building", "room", "bed"]
FORMATS = ("csv", "xlsx")
KINDS = ("rooms", "students")


def room_rows() -> list[list]:
    per_room = occupied_beds_by_room()
    occupied = dict(db.session.execute(sa.select(per_room.c.room_id, per_room.c.occupied)).all())
    rooms = db.session.scalars(
        sa.select(Room)
        .join(Building, Building.id == Room.building_id).join(Floor, Floor.id == Room.floor_id)
        .options(joinedload(Room.building).joinedload(Building.campus), joinedload(Room.floor),
                 selectinload(Room.beds))
        .order_by(Building.code, Floor.number, Room.number)
    )
    rows = []
    for room in rooms:
        bed_types = {bed.bed_type for bed in room.active_beds}
        rows.append([
            room.building.code, room.building.name, room.building.campus.code,
            room.building.gender_policy.value, room.floor.number, room.number, room.capacity,
            room.room_type, room.gender.value if room.gender else "", "yes" if room.accessible else "no",
            room.status.value, bed_types.pop().value if len(bed_types) == 1 and None not in bed_types else "",
            occupied.get(room.id, 0),
        ])
    return rows


def student_rows() -> list[list]:
    current, is_current = current_assignment_alias()
    query = (
        sa.select(Student, current)
        .outerjoin(current, is_current)
        .options(joinedload(current.bed).joinedload(Bed.room).joinedload(Room.building))
        .order_by(Student.student_number)
    )
    rows = []
    for student, assignment in db.session.execute(query):
        bed = assignment.bed if assignment else None
        rows.append([
            student.student_number, student.name, student.gender.value, student.college, student.major,
            student.class_name, student.grade if student.grade is not None else "", student.phone,
            student.status.value, "yes" if student.needs_accessible else "no",
            bed.room.building.code if bed else "", bed.room.number if bed else "", bed.label if bed else "",
        ])
    return rows


def export(kind: str, file_format: str) -> bytes:
    headers, rows = {"rooms": (ROOM_HEADERS, room_rows), "students": (STUDENT_HEADERS, student_rows)}[kind]
    data = rows()
    if file_format == "xlsx":
        return write_xlsx(headers, data, title=kind)
    return write_csv(headers, data)
