"""Import rooms and students. A file with any bad row is rejected whole.

Each import runs in one transaction: rows are checked (fields, keys,
references), then the rows without a problem are written, so that a rule
refusing a row while writing (room gender, closed room, capacity, a
checked-in student) is found in the same pass; every problem is reported
at once, named by the column's header as the file writes it, and any
problem rolls back everything. Re-importing the same file changes nothing:
rows are matched by their natural key (building code + room number,
student number).

A students file that would move residents (an older export re-imported
moves people back) is only written when the moves are confirmed: with the
token of the file's content and its moves that its preview gave (the page;
beds changed since make other moves, which it does not confirm), or the
command line's --move-residents. Every import reports who is assigned a bed and
who moves, from where to where.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import selectinload

from .. import audit
from ..campus import services as campus
from ..campus.models import Bed, Building, Room
from ..core.database import note_bulk_write
from ..core.enums import Gender, GenderPolicy, RoomStatus, StudentStatus
from ..core.errors import ServiceError
from ..core.tables import RowError, Table, TableError, TooManyRows, read_rows, read_table
from ..extensions import db
from ..residence import occupancy
from ..residence import services as residence
from ..residence.models import Assignment, select_current_beds
from ..students import roommate_requests
from ..students.models import Student
from . import values


# A long import reports every this many rows: progress(stage, rows done, rows in all), where the
# stage is "read" (the file, once), "checked" (each row's fields and references) or "written".
PROGRESS_EVERY = 5000
Progress = Callable[[str, int, int], None]


class ImportRejected(ServiceError):
    def __init__(self, errors: list[RowError]):
        super().__init__(ngettext("The file was not imported: %(num)d problem.",
                                  "The file was not imported: %(num)d problems.", len(errors)))
        self.errors = errors


class MovesNeedConfirmation(ServiceError):
    """The file is fine but moves residents, and those moves were not confirmed: nothing was written."""

    def __init__(self, report: ImportReport):
        super().__init__(ngettext("The file was not imported: it moves %(num)d resident to another bed. "
                                  "Check the list and confirm.",
                                  "The file was not imported: it moves %(num)d residents to other beds. "
                                  "Check the list and confirm.", len(report.resident_moves)))
        self.report = report


def content_token(kind: str, data: bytes, moves: list[Placement] = ()) -> str:
    """What a confirmation names: this kind of import of exactly this content, moving exactly these residents
    (beds changed since the preview make other moves of the same file, which nobody confirmed)."""
    digest = hashlib.sha256(kind.encode() + b"\0" + data)
    for move in moves:
        digest.update(f"\0{move.student}\t{move.from_bed}\t{move.to_bed}".encode())
    return digest.hexdigest()[:32]


@dataclass
class Placement:
    """A student the import puts in a bed: assigned (no bed before) or moved (``from_bed`` set)."""

    student: str
    from_bed: str | None
    to_bed: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    placed: int = 0
    encoding: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    inactive_residents: list[str] = field(default_factory=list)  # not active, still in a bed
    placements: list[Placement] = field(default_factory=list)
    token: str = ""  # content_token() of the file and its moves, for confirming them

    @property
    def resident_moves(self) -> list[Placement]:
        return [p for p in self.placements if p.from_bed is not None]

    @property
    def assigned(self) -> list[Placement]:
        return [p for p in self.placements if p.from_bed is None]


class Problems(list):
    """The import's errors, knowing which rows have one (a large file has many rows to ask about)."""

    def __init__(self):
        super().__init__()
        self.rows: set[int] = set()

    def append(self, error: RowError) -> None:
        super().append(error)
        self.rows.add(error.row)


class RowReader:
    """Reads one row's fields, collecting every error instead of stopping at the first."""

    def __init__(self, number: int, cells: dict[str, str], errors: Problems, required=None):
        self.number, self.cells, self.errors = number, cells, errors
        self.present = required  # required columns the file has (None: all); a missing one is said once

    @property
    def failed(self) -> bool:
        return self.number in self.errors.rows

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    def text(self, column: str, *, required: bool = False, max_length: int = 120) -> str:
        value = self.cells.get(column, "")
        if required and self.present is not None and column not in self.present:
            required = False
        if required and not value:
            self.error(column, _("is missing"))
        elif len(value) > max_length:
            self.error(column, _("is longer than %(max)d characters", max=max_length))
        return value

    def integer(self, column: str, *, required: bool = False, minimum: int, maximum: int) -> int | None:
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            number = int(value)
        except ValueError:
            self.error(column, _("“%(value)s” is not a whole number", value=value))
            return None
        if not minimum <= number <= maximum:
            self.error(column, _("%(value)d is not between %(min)d and %(max)d", value=number, min=minimum, max=maximum))
            return None
        return number

    def choice(self, column: str, mapping: dict, *, required: bool = False, default=None):
        value = self.text(column, required=required)
        if not value:
            return default
        try:
            return mapping[value.lower()]
        except KeyError:
            allowed = ", ".join(dict.fromkeys(mapping))
            self.error(column, _("“%(value)s” is not one of: %(allowed)s", value=value, allowed=allowed))
            return default


def import_file(kind: str, filename: str, data: bytes, *, dry_run: bool = False, in_browser: bool = False,
                progress: Progress | None = None, moves_confirmed: str | bool | None = None,
                actor=None) -> ImportReport:
    """Check and write one file; raises ImportRejected listing every problem of every row.

    A file may have at most IMPORT_MAX_ROWS rows; from the import page
    (``in_browser``) at most IMPORT_WEB_MAX_ROWS, which one request can write
    before it times out: larger files go through ``dorms import``.
    A file that moves residents raises MovesNeedConfirmation (its report
    lists the moves) unless ``moves_confirmed`` is the token of the file and these moves (a preview's
    report.token), or True (the command line's --move-residents: whatever moves the file makes).
    The caller commits (or, on dry_run, this rolls back after checking). ``actor``: who the audit names
    (a job's starter; in a request, the signed-in user).
    """
    max_rows = current_app.config["IMPORT_MAX_ROWS"]
    web_max_rows = min(max_rows, current_app.config["IMPORT_WEB_MAX_ROWS"])
    try:
        table = read_table(filename, data, values.alias_map(kind),
                           max_rows=web_max_rows if in_browser else max_rows)
    except TooManyRows as error:
        message = str(error) if error.limit == max_rows else _(
            "The file has more than %(limit)d rows, too many to import on this page. Import it on the "
            "server with the command line, which has no time limit: dorms import %(kind)s <file>",
            limit=error.limit, kind=kind)
        raise ImportRejected([RowError(0, _("file"), message)]) from error
    except TableError as error:
        raise ImportRejected([RowError(0, _("file"), str(error))]) from error
    if progress and len(table.rows) >= PROGRESS_EVERY:
        progress("read", len(table.rows), len(table.rows))
    report = ImportReport(kind, rows=len(table.rows), encoding=table.encoding,
                          ignored_columns=table.ignored_columns)
    importer = {"rooms": _import_rooms, "students": _import_students}[kind]
    errors = Problems()
    with db.session.begin_nested() as savepoint:
        importer(table, report, errors, progress)
        report.token = content_token(kind, data, report.resident_moves)
        unconfirmed = bool(report.resident_moves) and moves_confirmed not in (True, report.token)
        if errors or dry_run or unconfirmed:
            savepoint.rollback()
    if errors:
        for error in errors:
            error.column = values.column_name(kind, error.column, table.labels)
        raise ImportRejected(sorted(errors, key=lambda e: e.row))
    if unconfirmed and not dry_run:
        raise MovesNeedConfirmation(report)
    if not dry_run:
        audit.record(f"import.{kind}", actor=actor, file=filename, created=report.created,
                     updated=report.updated, unchanged=report.unchanged)
        _note_tables_written(kind, report)
    return report


def _note_tables_written(kind: str, report: ImportReport) -> None:
    """For the planner's statistics (core.database.analyze_bulk_writes, run by whoever commits the import)."""
    written = report.created + report.updated
    if kind == "rooms":
        note_bulk_write(Room.__tablename__, written)
        note_bulk_write(Bed.__tablename__, written)  # a room's beds are made and changed with it
    else:
        note_bulk_write(Student.__tablename__, written)
        note_bulk_write(Assignment.__tablename__, report.placed)


def count_rows(filename: str, data: bytes) -> int:
    """The rows below the header, read within IMPORT_MAX_ROWS; 0 for a file that cannot be read that way (the
    import itself then says why)."""
    try:
        return len(read_rows(filename, data, max_rows=current_app.config["IMPORT_MAX_ROWS"])[0]) - 1
    except TableError:
        return 0


def report_as_json(report: ImportReport) -> dict:
    return dataclasses.asdict(report)


def report_from_json(data: dict) -> ImportReport:
    return ImportReport(**{**data, "placements": [Placement(**p) for p in data["placements"]]})


def _reporting(items: list, progress: Progress | None, stage: str) -> Iterator:
    """The items, calling progress every PROGRESS_EVERY of them."""
    for done, item in enumerate(items, start=1):
        yield item
        if progress and done % PROGRESS_EVERY == 0:
            progress(stage, done, len(items))


def _require_columns(table: Table, required: list[str], errors: list[RowError]) -> set[str]:
    """Says which required columns the file lacks; returns those it has (rows are still checked, not written)."""
    missing = [c for c in required if c not in table.headers]
    for column in missing:
        errors.append(RowError(1, column, _("this column is missing from the header row")))
    return set(required) - set(missing)


def _apply(obj, changes: dict) -> bool:
    changed = False
    for name, value in changes.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


# --- rooms --------------------------------------------------------------------


# Room attributes and the column each comes from. A column missing from the
# file leaves the attribute of an existing room as it is.
ROOM_ATTRIBUTES = {"room_type": "type", "gender": "gender", "accessible": "accessible", "status": "status"}


def _import_rooms(table: Table, report: ImportReport, errors: Problems, progress: Progress | None) -> None:
    required = ["building", "floor", "room", "capacity"]
    present_required = _require_columns(table, required, errors)
    buildings = {b.code: b for b in db.session.scalars(
        sa.select(Building).options(selectinload(Building.floors)))}
    rooms = {(r.building.code, r.number): r for r in db.session.scalars(
        sa.select(Room).options(selectinload(Room.beds), selectinload(Room.building)))}
    present = set(table.headers)
    seen: dict[tuple[str, str], int] = {}
    named_in_file: set[str] = set()  # new buildings an earlier row named
    parsed = []
    for number, cells in _reporting(table.rows, progress, "checked"):
        row = RowReader(number, cells, errors, present_required)
        code = row.text("building", required=True, max_length=32)
        room_number = row.text("room", required=True, max_length=16)
        fields = {
            "floor": row.integer("floor", required=True, minimum=-5, maximum=200),
            "capacity": row.integer("capacity", required=True, minimum=0, maximum=20),
            "room_type": row.text("type", max_length=32) or "standard",
            "gender": row.choice("gender", values.GENDERS),
            "accessible": row.choice("accessible", values.BOOLEANS, default=False),
            "status": row.choice("status", values.ROOM_STATUSES, default=RoomStatus.OPEN),
            "bed_type": row.choice("bed_type", values.BED_TYPES),
            "building_name": row.text("building_name"),
            "campus": row.text("campus", max_length=32),
            "building_gender": row.choice("building_gender", values.GENDER_POLICIES),
        }
        if code and room_number:
            key = (code, room_number)
            if key in seen:
                row.error("room", _("room %(room)s of building %(building)s is also on row %(other)d",
                                    room=room_number, building=code, other=seen[key]))
            seen[key] = number
            if fields["building_name"]:
                named_in_file.add(code)
            elif code not in buildings and code not in named_in_file:
                row.error("building", _("unknown building %(code)s (give a %(column)s to create it)", code=code,
                                        column=values.column_name("rooms", "building_name", table.labels)))
        parsed.append((row, code, room_number, fields))
    if len(present_required) < len(required):
        return  # rows without their key columns cannot be written
    # The rows without a problem are written (and rolled back with the rest), so that what writing
    # refuses is found in the same pass.
    parsed = [p for p in parsed if not p[0].failed]
    policy_rows: dict[str, RowReader] = {}
    for row, code, room_number, fields in _reporting(parsed, progress, "written"):
        _upsert_room(row, buildings, rooms, code, room_number, fields, present, report, policy_rows)
    db.session.flush()
    for code, row in policy_rows.items():
        for problem in _residents_who_do_not_fit(buildings[code]):
            row.error("building_gender", problem)


def _upsert_room(row, buildings, rooms, code, room_number, fields, present, report, policy_rows) -> None:
    building = buildings.get(code)
    changed = False
    if building is None:
        building = Building(code=code, name=fields["building_name"],
                            campus=campus.get_or_create_campus(fields["campus"] or "main"),
                            gender_policy=fields["building_gender"] or GenderPolicy.MIXED)
        db.session.add(building)
        buildings[code] = building
    else:
        if fields["building_name"]:
            changed |= _apply(building, {"name": fields["building_name"]})
        if fields["building_gender"] and _apply(building, {"gender_policy": fields["building_gender"]}):
            changed = True
            policy_rows.setdefault(code, row)
    floor = campus.get_or_create_floor(building, fields["floor"])
    room = rooms.get((code, room_number))
    created = room is None
    if created:
        room = Room(building=building, floor=floor, number=room_number)
        db.session.add(room)
        rooms[(code, room_number)] = room
    attributes = {name: fields[name] for name, column in ROOM_ATTRIBUTES.items() if created or column in present}
    changed |= _apply(room, {"floor": floor, **attributes})
    try:
        changed |= occupancy.set_capacity(room, fields["capacity"], fields["bed_type"])
    except ServiceError as error:
        row.error("capacity", str(error))
        return
    db.session.flush()
    for column, problem in _room_problems(room):
        row.error(column, problem)
    report.created += created
    report.updated += changed and not created
    report.unchanged += not changed and not created


def _room_problems(room: Room) -> list[tuple[str, str]]:
    """What the room's new attributes break for the people living in it now."""
    residents = [a.student for a in residence.occupants_by_bed([room]).values()]
    problems = []
    # A room's own gender; a building's is checked once for the whole building.
    if room.gender is not None and any(s.gender != room.gender for s in residents):
        problems.append(("gender", _("room %(room)s has residents of the other gender", room=room.code)))
    if not room.accessible and any(s.needs_accessible for s in residents):
        problems.append(("accessible", _("room %(room)s houses a student who needs an accessible room",
                                         room=room.code)))
    return problems


def _residents_who_do_not_fit(building: Building) -> list[str]:
    """After a building's gender policy changed: residents of the other gender in its ungendered rooms."""
    if building.gender_policy == GenderPolicy.MIXED:
        return []
    misfits = db.session.scalars(
        select_current_beds(Room.number).distinct()
        .where(Room.building_id == building.id, Room.gender.is_(None),
               Student.gender != Gender(building.gender_policy.value))
        .order_by(Room.number)
    ).all()
    if not misfits:
        return []
    return [_("building %(building)s cannot house only %(gender)s students: rooms %(rooms)s have others",
              building=building.code, gender=building.gender_policy.label.lower(), rooms=", ".join(misfits))]


# --- students -----------------------------------------------------------------


# Student attributes and their columns; name and gender are always given.
STUDENT_ATTRIBUTES = {"college": "college", "major": "major", "class_name": "class", "grade": "grade",
                      "phone": "phone", "status": "status", "needs_accessible": "needs_accessible"}


def _import_students(table: Table, report: ImportReport, errors: Problems,
                     progress: Progress | None) -> None:
    required = ["student_number", "name", "gender"]
    present_required = _require_columns(table, required, errors)
    existing = {s.student_number: s for s in db.session.scalars(sa.select(Student))}
    beds = {(b.room.building.code, b.room.number, b.label): b for b in db.session.scalars(
        sa.select(Bed).where(Bed.active.is_(True)).options(selectinload(Bed.room).selectinload(Room.building)))}
    rooms = {(r.building.code, r.number): r for r in db.session.scalars(
        sa.select(Room).options(selectinload(Room.building), selectinload(Room.beds)))}
    building_codes = {code for code, _number in rooms} | set(db.session.scalars(sa.select(Building.code)))
    seen_numbers: dict[str, int] = {}
    seen_beds: dict[tuple, int] = {}
    parsed = []
    for number, cells in _reporting(table.rows, progress, "checked"):
        row = RowReader(number, cells, errors, present_required)
        student_number = row.text("student_number", required=True, max_length=32)
        fields = {
            "name": row.text("name", required=True),
            "gender": row.choice("gender", values.GENDERS, required=True),
            "college": row.text("college"),
            "major": row.text("major"),
            "class_name": row.text("class"),
            "grade": row.integer("grade", minimum=1900, maximum=2200),
            "phone": row.text("phone", max_length=32),
            "status": row.choice("status", values.STUDENT_STATUSES, default=StudentStatus.ACTIVE),
            "needs_accessible": row.choice("needs_accessible", values.BOOLEANS, default=False),
        }
        if student_number in seen_numbers:
            row.error("student_number", _("student number %(number)s is also on row %(other)d",
                                          number=student_number, other=seen_numbers[student_number]))
        seen_numbers[student_number] = number
        target = _read_target(row, building_codes, rooms, beds, seen_beds, table.labels)
        parsed.append((row, student_number, fields, target))
    if "student_number" not in present_required:
        return  # rows cannot be matched to students

    present = set(table.headers)
    placements = []
    placed: set[int] = set()  # existing students already in ``placements`` (a number may be on two rows)
    for row, student_number, fields, target in _reporting(parsed, progress, "written"):
        student = existing.get(student_number)
        if row.failed or len(present_required) < len(required):
            # Not written; an existing student still takes part in the placing (with the record as it
            # is), so that others' moves are checked as the file means them.
            if student is not None and student.id not in placed:
                placements.append((row, student, target))
                placed.add(student.id)
            continue
        if student is None:
            student = Student(student_number=student_number, **fields)
            db.session.add(student)
            report.created += 1
        elif _apply(student, {name: value for name, value in fields.items()
                              if name not in STUDENT_ATTRIBUTES or STUDENT_ATTRIBUTES[name] in present}):
            report.updated += 1
        else:
            report.unchanged += 1
        placements.append((row, student, target))
        placed.add(student.id)
    db.session.flush()
    if report.created:
        roommate_requests.link_waiting_requests()
    _place_students(placements, report)


def _read_target(row: RowReader, building_codes, rooms, beds, seen_beds, labels):
    """The room (and maybe bed) a row puts its student in, or None."""
    code = row.text("building", max_length=32)
    room_number = row.text("room", max_length=16)
    label = row.text("bed", max_length=8)
    if not (code or room_number or label):
        return None
    if not (code and room_number):
        name = {c: values.column_name("students", c, labels) for c in ("building", "room", "bed")}
        row.error("room" if code else "building",
                  _("give %(building)s and %(room)s together (%(bed)s is optional)", **name))
        return None
    if code not in building_codes:
        row.error("building", _("unknown building %(code)s", code=code))
        return None
    room = rooms.get((code, room_number))
    if room is None:
        row.error("room", _("building %(code)s has no room %(room)s", code=code, room=room_number))
        return None
    if not label:
        return room
    bed = beds.get((code, room_number, label))
    if bed is None:
        row.error("bed", _("room %(room)s has no bed %(bed)s in use", room=room.code, bed=label))
        return None
    if bed.id in seen_beds:
        row.error("bed", _("bed %(bed)s is also given on row %(other)d", bed=bed.code, other=seen_beds[bed.id]))
    seen_beds[bed.id] = row.number
    return bed


def _place_students(placements, report: ImportReport) -> None:
    """Move everyone whose target differs, as one change: all leave first, then all arrive.

    Leaving first lets a file swap two students, or fill a bed someone else vacates.
    Residents who stay are checked against their room too (their record may
    have changed); inactive residents keep their bed until staff act, and
    the report lists them.
    """
    moving, staying = [], []
    for row, student, target in placements:
        current = residence.current_assignment(student)
        current_bed = current.bed if current else None
        if target is None or (current_bed is not None and target in (current_bed, current_bed.room)):
            if current is not None:
                staying.append((row, student, current))
            continue
        moving.append((row, student, target, current))
    for row, student, current in staying:
        for column, problem in residence.residency_problems(student, current.bed.room):
            row.error(column, problem)
        if student.status != StudentStatus.ACTIVE:
            report.inactive_residents.append(f"{student.display} ({current.bed.code})")
    relocations = [residence.Relocation(student, current, to_bed=target if isinstance(target, Bed) else None,
                                        to_room=target if isinstance(target, Room) else None)
                   for _row, student, target, current in moving]
    try:
        residence.relocate(relocations, reason=_("import"))
    except residence.MustCheckOut as refused:
        # The leaving rule refused before anything changed: those rows are in error; the others are
        # placed all the same, so that their own problems show in this pass too.
        held = {student.id for student in refused.students}
        for row, student, target, current in moving:
            if student.id in held:
                row.error("bed" if isinstance(target, Bed) else "room", refused.reasons.get(student.id, str(refused)))
        kept = [(m, r) for m, r in zip(moving, relocations) if m[1].id not in held]
        moving, relocations = [m for m, _r in kept], [r for _m, r in kept]
        for relocation in relocations:
            relocation.problems = []
        residence.relocate(relocations, reason=_("import"))
    for (row, student, target, current), relocation in zip(moving, relocations):
        if relocation.problems:
            row.error("bed" if isinstance(target, Bed) else "room", " ".join(relocation.problems))
        elif not row.failed:
            report.placed += 1
            report.placements.append(Placement(student.display, current.bed.code if current else None,
                                               relocation.assignment.bed.code))


