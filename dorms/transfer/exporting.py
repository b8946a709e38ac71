"""Export rooms and students in the same columns the import reads.

In English (the command line's default) the columns and words are the documented machine-readable ones;
in Chinese (``language="zh"``: a page read in Chinese, or ``dorms export --language zh``) they are the
Chinese headers and words the import reads too (values.py), so either file imports again unchanged."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..campus.models import Bed, Building, Floor, Room
from ..residence.occupancy import occupied_beds_by_room
from ..core.tables import write_csv, write_xlsx
from ..extensions import db
from ..residence.models import current_assignment_alias
from ..students.models import Student
from . import values

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


def count_rows(kind: str) -> int:
    """How many rows an export of ``kind`` has (one per room, or per student)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from({"rooms": Room, "students": Student}[kind]))


def _chinese(words: dict) -> dict:
    """{stored word: its first Chinese spelling the import reads} from one of values.py's maps."""
    found = {}
    for word, meaning in words.items():
        key = meaning.value if hasattr(meaning, "value") else meaning
        if not word.isascii():
            found.setdefault(key, word)
    return found


# Each column's words in Chinese (columns not named here hold numbers, codes and names).
CHINESE_WORDS = {
    "building_gender": _chinese(values.GENDER_POLICIES), "gender": _chinese(values.GENDERS),
    "accessible": _chinese(values.BOOLEANS), "needs_accessible": _chinese(values.BOOLEANS),
    "bed_type": _chinese(values.BED_TYPES),
}
CHINESE_STATUS = {"rooms": _chinese(values.ROOM_STATUSES), "students": _chinese(values.STUDENT_STATUSES)}
CHINESE_OCCUPIED = "已住人数"  # not read by the import


def column_names(kind: str, language: str = "en") -> list[str]:
    """The columns the import reads for ``kind``, as a file in ``language`` heads them."""
    return values.headers(values.COLUMNS[kind], language)


def _in_chinese(kind: str, headers: list[str], rows: list[list]) -> tuple[list[str], list[list]]:
    chinese = dict(zip(values.COLUMNS[kind], column_names(kind, "zh")))
    names = [chinese.get(h, CHINESE_OCCUPIED) for h in headers]
    words = [CHINESE_STATUS[kind] if h == "status" else CHINESE_WORDS.get(h, {}) for h in headers]
    yes_no = {"yes": True, "no": False}
    translated = [[words[i].get(yes_no.get(v, v), v) if words[i] else v for i, v in enumerate(row)] for row in rows]
    return names, translated


def export(kind: str, file_format: str, *, language: str = "en") -> bytes:
    headers, rows = {"rooms": (ROOM_HEADERS, room_rows), "students": (STUDENT_HEADERS, student_rows)}[kind]
    data = rows()
    if language == "zh":
        headers, data = _in_chinese(kind, headers, data)
    if file_format == "xlsx":
        return write_xlsx(headers, data, title=kind)
    return write_csv(headers, data)
