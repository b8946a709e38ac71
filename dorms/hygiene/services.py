"""Hygiene inspections: the checklist and bands, rounds, scoring a whole floor at once.

Services change the session and flush; the view commits once. Every refusal is a
ServiceError naming the room and the item, raised before anything is changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from .. import audit
from ..auth.models import User
from ..campus.models import Bed, Building, Floor, Room
from ..core.clock import utcnow
from ..core.database import conflict_on_duplicate
from ..core.enums import Role, RoomStatus
from ..core.errors import ServiceError
from ..extensions import db
from ..residence.models import select_current_beds
from ..students.models import Student
from .models import (
    CHECKLIST_TOTAL,
    ChecklistItem,
    HygieneSettings,
    InspectionResident,
    InspectionRound,
    ItemScore,
    RoomInspection,
    RoundStatus,
)

SETTINGS_ROW = 1  # the bands live in one row (the table's CHECK keeps it that way)
# The usual checklist (地面 20, 床铺 20, 桌面 15, 阳台 15, 卫生间 20, 无违禁物品 10), seeded in the install's language.
DEFAULT_CHECKLIST = [(_l("Clean floor"), 20), (_l("Beds made"), 20), (_l("Tidy desks"), 15), (_l("Balcony"), 15),
                     (_l("Bathroom"), 20), (_l("No banned items"), 10)]


# --- checklist and bands -----------------------------------------------------------


def settings() -> HygieneSettings:
    """The band thresholds; the defaults (90 / 60) until staff change them."""
    row = db.session.get(HygieneSettings, SETTINGS_ROW)
    # Not added to the session: reading the bands never writes.
    return row or HygieneSettings(id=SETTINGS_ROW, excellent_min=90, pass_min=60)


def set_bands(excellent_min: int, pass_min: int, *, actor=None) -> HygieneSettings:
    if not 0 < pass_min < excellent_min <= CHECKLIST_TOTAL:
        raise ServiceError(_("The pass mark must be above 0 and below the excellent mark, "
                             "and the excellent mark at most 100 (given: excellent %(excellent)d, pass %(pass)d).",
                             excellent=excellent_min, **{"pass": pass_min}))
    row = settings()
    row.excellent_min, row.pass_min = excellent_min, pass_min
    with _settings_conflict():
        db.session.add(row)
    audit.record("hygiene.bands", actor=actor, excellent_min=excellent_min, pass_min=pass_min)
    return row


def _settings_conflict():
    """Around a change of the checklist or the bands: if someone else saved them at the same moment, say so."""
    return conflict_on_duplicate(
        _("Someone else changed the hygiene settings at the same moment; look at them again."), savepoint=False)


def checklist() -> list[ChecklistItem]:
    """The active checklist, in the order it is scored."""
    return list(db.session.scalars(sa.select(ChecklistItem).where(ChecklistItem.active.is_(True))
                                   .order_by(ChecklistItem.position, ChecklistItem.id)))


@dataclass
class ItemRow:
    """One line of the checklist form: an existing item (``item_id``) or a new one."""

    name: str
    max_points: int | None
    item_id: int | None = None
    remove: bool = False


def set_checklist(rows: list[ItemRow], *, actor=None) -> list[ChecklistItem]:
    """Make ``rows`` the active checklist. Old scores keep the names and maxima they were given under."""
    numbered = [(number, row) for number, row in enumerate(rows, start=1)
                if not row.remove and (row.name.strip() or row.item_id)]
    kept = [row for _number, row in numbered]
    names = [row.name.strip() for row in kept]
    for (number, row), name in zip(numbered, names):
        if not name:
            raise ServiceError(_("Row %(row)d of the checklist needs a name.", row=number))
        if row.max_points is None or not 0 < row.max_points <= CHECKLIST_TOTAL:
            raise ServiceError(_("%(item)s: the maximum must be a whole number from 1 to 100.", item=name))
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ServiceError(_("%(item)s is on the checklist twice.", item=duplicates[0]))
    total = sum(row.max_points for row in kept)
    if total != CHECKLIST_TOTAL:
        raise ServiceError(_("The items' maxima add up to %(total)d; they must add up to exactly 100.", total=total))
    existing = {item.id: item for item in db.session.scalars(sa.select(ChecklistItem))}
    for item in existing.values():
        item.active = False
    # Off the list first, then back on: renaming two items into each other's names never meets itself
    # in the unique index of active names.
    db.session.flush()
    result = []
    with _settings_conflict():
        for position, (row, name) in enumerate(zip(kept, names), start=1):
            item = existing.get(row.item_id) if row.item_id else None
            if item is None:
                item = ChecklistItem(name=name)
                db.session.add(item)
            item.name, item.max_points, item.position, item.active = name, row.max_points, position, True
            result.append(item)
    audit.record("hygiene.checklist", actor=actor, items=[[i.name, i.max_points] for i in result])
    return result


def default_checklist(locale: str | None = None) -> list[tuple[str, int]]:
    """The usual checklist's names and maxima in ``locale`` (by default the install's language)."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return [(str(name), points) for name, points in DEFAULT_CHECKLIST]


def add_default_checklist(locale: str | None = None) -> int:
    """The usual checklist when there never was one; returns how many items were added.

    Seeded as plain text in the install's language (not as translation keys): the office edits its own
    words, and scores keep the names they were given under. Items are never deleted (only taken off the
    list), so any row means the office has had a checklist: it is never seeded again or overwritten."""
    if db.session.scalar(sa.select(ChecklistItem.id).limit(1)) is not None:
        return 0
    rows = [ItemRow(name, points) for name, points in default_checklist(locale)]
    set_checklist(rows)
    return len(rows)


def ensure_default_checklist(locale: str | None = None) -> list[ChecklistItem]:
    """The active checklist, the usual one put in first when there never was one (add_default_checklist)."""
    add_default_checklist(locale)
    return checklist()


def checklist_problem(items: list[ChecklistItem] | None = None) -> str | None:
    """Why rounds cannot be scored with the checklist as it is, or None when it is complete.

    Complete: at least one active item and the maxima add up to exactly 100. The bands need no check:
    without a row the defaults (90 / 60) apply, and the table's CHECK keeps a saved row in order."""
    items = checklist() if items is None else items
    if not items:
        return _("The hygiene checklist is empty: set its items (their maxima adding up to 100) first.")
    total = sum(item.max_points for item in items)
    if total != CHECKLIST_TOTAL:
        return _("The hygiene checklist's maxima add up to %(total)d, not 100: fix the checklist first.", total=total)
    return None


# --- rounds --------------------------------------------------------------------------


def rounds(limit: int = 100) -> list[InspectionRound]:
    return list(db.session.scalars(
        sa.select(InspectionRound).options(selectinload(InspectionRound.buildings),
                                           selectinload(InspectionRound.inspectors))
        .order_by(InspectionRound.inspected_on.desc(), InspectionRound.id.desc()).limit(limit)))


# Who may be a round's inspector: the housing office, hygiene inspectors, and building managers (a building
# manager scores only their own buildings' floors: the floor page refuses the others).
INSPECTING_ROLES = (Role.STAFF, Role.INSPECTOR, Role.BUILDING_MANAGER)


def staff_users() -> list[User]:
    """The accounts a round may name as inspectors."""
    return list(db.session.scalars(sa.select(User).where(User.role.in_(INSPECTING_ROLES), User.active.is_(True))
                                   .order_by(User.display_name)))


def buildings_with_ids(ids: list[int]) -> list[Building]:
    return list(db.session.scalars(sa.select(Building).where(Building.id.in_(ids)).order_by(Building.code)))


def users_with_ids(ids: list[int]) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.display_name)))


def create_round(inspected_on: date, buildings: list[Building], inspectors: list[User], *, title: str = "",
                 actor=None) -> InspectionRound:
    # Refused here, not on the inspector's floor page later: a round cannot be scored without the checklist.
    if problem := checklist_problem():
        raise ServiceError(problem)
    if not buildings:
        raise ServiceError(_("Choose at least one building to inspect."))
    _require_inspectors(inspectors)
    the_round = InspectionRound(inspected_on=inspected_on, title=title.strip()[:120], buildings=list(buildings),
                                inspectors=list(inspectors), created_by_id=actor.id if actor else None)
    db.session.add(the_round)
    db.session.flush()
    audit.record("hygiene.round.create", actor=actor, round=the_round.id, date=inspected_on.isoformat(),
                 buildings=[b.code for b in buildings], inspectors=[u.username for u in inspectors])
    return the_round


def _require_inspectors(inspectors: list[User]) -> None:
    if not inspectors:
        raise ServiceError(_("Choose at least one inspector."))
    for user in inspectors:
        if user.role not in INSPECTING_ROLES:
            raise ServiceError(_("%(name)s is not housing-office staff and cannot inspect.", name=user.display_name))


def set_inspectors(the_round: InspectionRound, inspectors: list[User], *, actor=None) -> None:
    _require_inspectors(inspectors)
    the_round.inspectors = list(inspectors)
    db.session.flush()
    audit.record("hygiene.round.inspectors", actor=actor, round=the_round.id,
                 inspectors=[u.username for u in inspectors])


def set_round_status(the_round: InspectionRound, status: RoundStatus, *, actor=None) -> None:
    if the_round.status == status:
        raise ServiceError(_("The round is already %(status)s.", status=status.label.lower()))
    the_round.status = status
    db.session.flush()
    audit.record("hygiene.round.status", actor=actor, round=the_round.id, status=status.value)


@dataclass
class FloorProgress:
    floor: Floor
    rooms: int  # open rooms to inspect
    done: int  # of them, scored or marked absent

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.rooms) if self.rooms else 0


def round_floors(the_round: InspectionRound, *, within: sa.ColumnElement[bool] | None = None) -> list[FloorProgress]:
    """Each floor of the round's buildings with how many of its open rooms are done; ``within``: a scope's
    clause on Floor.building_id (a building manager's buildings)."""
    building_ids = [b.id for b in the_round.buildings]
    done = (sa.select(RoomInspection.room_id).where(RoomInspection.round_id == the_round.id)).subquery()
    rows = db.session.execute(
        sa.select(Floor, sa.func.count(Room.id), sa.func.count(done.c.room_id))
        .join(Room, Room.floor_id == Floor.id)
        .outerjoin(done, done.c.room_id == Room.id)
        .where(Floor.building_id.in_(building_ids), Room.status == RoomStatus.OPEN,
               within if within is not None else sa.true())
        .options(joinedload(Floor.building))
        .group_by(Floor.id).order_by(Floor.building_id, Floor.number)
    ).all()
    result = [FloorProgress(floor, rooms, finished) for floor, rooms, finished in rows]
    result.sort(key=lambda p: (p.floor.building.code, p.floor.number))
    return result


def floor_of_round_or_none(the_round: InspectionRound, floor_id: int) -> Floor | None:
    floor = db.session.get(Floor, floor_id)
    if floor is None or floor.building_id not in {b.id for b in the_round.buildings}:
        return None
    return floor


@dataclass
class FloorSheet:
    """What the floor page shows: the rooms, the checklist, and what was saved already."""

    the_round: InspectionRound
    floor: Floor
    items: list[ChecklistItem]
    rooms: list[Room]
    saved: dict[int, RoomInspection]  # room id -> its inspection in this round
    residents: dict[int, dict[int, str]]  # room id -> who lives there now (student id -> class)

    def points(self, room: Room) -> dict[int, int]:
        inspection = self.saved.get(room.id)
        return {s.item_id: s.points for s in inspection.scores} if inspection else {}


def floor_sheet(the_round: InspectionRound, floor: Floor) -> FloorSheet:
    rooms = list(db.session.scalars(sa.select(Room).where(Room.floor_id == floor.id)
                                    .options(joinedload(Room.building)).order_by(Room.number)))
    saved = {i.room_id: i for i in db.session.scalars(
        sa.select(RoomInspection).where(RoomInspection.round_id == the_round.id,
                                        RoomInspection.room_id.in_([r.id for r in rooms]))
        .options(selectinload(RoomInspection.scores)))}
    return FloorSheet(the_round, floor, checklist(), rooms, saved, _current_residents([r.id for r in rooms]))


@dataclass
class RoomEntry:
    """One room's card as submitted: points as typed (text), or absent."""

    absent: bool = False
    note: str = ""
    points: dict[int, str] = field(default_factory=dict)  # item id -> what was typed

    @property
    def blank(self) -> bool:
        return not self.absent and not any(v.strip() for v in self.points.values())


def may_score(user, the_round: InspectionRound) -> bool:
    return user.role in INSPECTING_ROLES and any(u.id == user.id for u in the_round.inspectors)


def save_floor(the_round: InspectionRound, floor: Floor, entries: dict[int, RoomEntry], *, actor) -> int:
    """Save a floor's scores in this round; a room saved before is updated. Returns how many rooms were saved.

    All of it is checked first: one wrong number refuses the whole floor, naming the room and the item.
    Rooms left entirely blank are skipped (not inspected yet).
    """
    if not may_score(actor, the_round):
        raise ServiceError(_("Only the inspectors of this round can score it."))
    if not the_round.is_open:
        raise ServiceError(_("The round of %(date)s is closed; its scores can no longer be changed.",
                             date=the_round.inspected_on.isoformat()))
    items = checklist()
    if problem := checklist_problem(items):  # changed since the round was created
        raise ServiceError(problem)
    rooms = {room.id: room for room in db.session.scalars(
        sa.select(Room).where(Room.floor_id == floor.id).options(joinedload(Room.building)))}
    errors: list[str] = []
    parsed: dict[int, dict[int, int]] = {}
    for room_id, entry in entries.items():
        room = rooms.get(room_id)
        if room is None:
            errors.append(_("Room #%(id)d is not on this floor.", id=room_id))
            continue
        if entry.blank:
            continue
        if not room.is_open:
            errors.append(_("Room %(room)s is closed; closed rooms are not inspected.", room=room.code))
            continue
        if entry.absent:
            parsed[room_id] = {}
            continue
        parsed[room_id] = points = {}
        for item in items:
            typed = (entry.points.get(item.id) or "").strip()
            if not typed:
                errors.append(_("Room %(room)s: give a score for %(item)s.", room=room.code, item=item.name))
                continue
            try:
                value = int(typed)
            except ValueError:
                errors.append(_("Room %(room)s, %(item)s: %(value)s is not a whole number.",
                                room=room.code, item=item.name, value=typed[:10]))
                continue
            if value < 0:
                errors.append(_("Room %(room)s, %(item)s: a score cannot be negative.", room=room.code,
                                item=item.name))
            elif value > item.max_points:
                errors.append(_("Room %(room)s, %(item)s: %(points)d is more than the maximum of %(max)d.",
                                room=room.code, item=item.name, points=value, max=item.max_points))
            else:
                points[item.id] = value
    if errors:
        raise ServiceError(" ".join(errors))
    if not parsed:
        raise ServiceError(_("Nothing to save: enter scores for at least one room, or mark it not inspected."))

    saved = {i.room_id: i for i in db.session.scalars(
        sa.select(RoomInspection).where(RoomInspection.round_id == the_round.id,
                                        RoomInspection.room_id.in_(list(parsed)))
        .options(selectinload(RoomInspection.scores), selectinload(RoomInspection.residents)))}
    residents = _current_residents(list(parsed))
    now = utcnow()
    another_inspector = _("Someone else saved this floor at the same time; reload the page and enter it again.")
    with conflict_on_duplicate(another_inspector, busy=another_inspector, savepoint=False):
        for room_id, points in parsed.items():
            entry = entries[room_id]
            inspection = saved.get(room_id)
            if inspection is None:
                inspection = RoomInspection(round_id=the_round.id, room_id=room_id)
                db.session.add(inspection)
            inspection.absent = entry.absent
            inspection.total = None if entry.absent else sum(points.values())
            inspection.note = entry.note.strip()[:500]
            inspection.inspected_at, inspection.inspected_by_id = now, actor.id
            _replace_scores(inspection, items, points)
            _replace_residents(inspection, residents.get(room_id, {}))
        # One entry for the floor, like the one submit it was.
        audit.record("hygiene.score", actor=actor, round=the_round.id, floor=floor.number,
                     building=floor.building.code,
                     rooms={rooms[room_id].code: (None if entries[room_id].absent else sum(points.values()))
                            for room_id, points in parsed.items()})
    return len(parsed)


def _replace_scores(inspection: RoomInspection, items: list[ChecklistItem], points: dict[int, int]) -> None:
    # Updated in place: deleting and re-adding rows in one flush could trip the (inspection, item) key.
    by_item = {s.item_id: s for s in inspection.scores}
    for item in items:
        if item.id not in points:
            continue
        score = by_item.pop(item.id, None)
        if score is None:
            score = ItemScore(item_id=item.id)
            inspection.scores.append(score)
        score.item_name, score.max_points, score.position, score.points = \
            item.name, item.max_points, item.position, points[item.id]
    for stale in by_item.values():
        inspection.scores.remove(stale)


def _replace_residents(inspection: RoomInspection, residents: dict[int, str]) -> None:
    by_student = {r.student_id: r for r in inspection.residents}
    for student_id, class_name in residents.items():
        row = by_student.pop(student_id, None)
        if row is None:
            inspection.residents.append(InspectionResident(student_id=student_id, class_name=class_name))
        else:
            row.class_name = class_name
    for gone in by_student.values():
        inspection.residents.remove(gone)


def _current_residents(room_ids: list[int]) -> dict[int, dict[int, str]]:
    """room id -> {student id: class} of the students living there now, in one query."""
    result: dict[int, dict[int, str]] = {}
    for room_id, student_id, class_name in db.session.execute(
            select_current_beds(Bed.room_id, Student.id, Student.class_name).where(Bed.room_id.in_(room_ids))):
        result.setdefault(room_id, {})[student_id] = class_name or ""
    return result
