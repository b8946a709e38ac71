"""Selection day: setting an event up, its windows and order, and the students' holds and confirmations.

A student acts from their own start (their window's, plus their batch in the seeded order) until the event
closes, while it is open. Every refusal is a ServiceError with a sentence in the reader's language. A hold
and a confirmation are one conditional write each: two students asking for one bed at the same moment are
told apart by the database's unique indexes, never by a read before the write. Every change the office makes
records its audit entry here, so that the pages and the command line leave the same ones (by the signed-in
user, or "system" from the command line, as audit.current_actor says).
"""
from __future__ import annotations

import bisect
import hashlib
import secrets
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import audit
from ..allocation import services as allocation
from ..allocation.models import RunMode
from ..campus.models import Bed, Building, Campus, Floor, Room
from ..core.clock import campus_zone, utcnow
from ..core.database import conflict_on_duplicate
from ..core.enums import GenderPolicy, RequestKind, RoomStatus, StudentStatus
from ..core.errors import ServiceError
from ..core.kept import generations_of, kept
from ..core.kept import latest as latest_kept
from ..extensions import db
from ..notifications.outbox import accounts_by_student, notify_each
from ..residence import services as residence
from ..residence.models import Assignment
from ..students import roommate_requests
from ..students.models import RoommateRequest, Student
from . import waiting_room
from .models import (
    EventStatus,
    PickStatus,
    SelectionArea,
    SelectionEvent,
    SelectionOffer,
    SelectionParticipant,
    SelectionPick,
    SelectionWindow,
)

LIVE = (PickStatus.HELD, PickStatus.CONFIRMED)


# --- setting up ---------------------------------------------------------------------------------------------


def create_event(name: str, *, closes_at: datetime, hold_seconds: int = 300, change_limit: int = 0,
                 seed: str | None = None, roommate_names: bool = False) -> SelectionEvent:
    event = SelectionEvent(name=name, closes_at=closes_at, hold_seconds=hold_seconds, change_limit=change_limit,
                           seed=seed or secrets.token_hex(8), roommate_names=roommate_names)
    db.session.add(event)
    db.session.flush()
    audit.record("selection.create", event=event.id, name=event.name, closes_at=event.closes_at.isoformat(),
                 hold_seconds=event.hold_seconds, change_limit=event.change_limit, seed=event.seed,
                 roommate_names=event.roommate_names)
    return event


def show_roommate_names(event: SelectionEvent, shown: bool) -> None:
    """Whether students see the names of who chose a room already (else their class and sleep schedule only)."""
    _require_draft(event)
    event.roommate_names = shown
    db.session.flush()
    audit.record("selection.names", event=event.id, roommate_names=event.roommate_names)


def add_window(event: SelectionEvent, name: str, *, starts_at: datetime, tier: int = 1, college: str | None = None,
               class_name: str | None = None, grade: int | None = None, gender=None, batch_size: int = 0,
               batch_minutes: int = 0, campus_id: int | None = None) -> SelectionWindow:
    """A cohort's window; with ``campus_id``, its students choose in that zone's buildings only."""
    _require_draft(event)
    window = SelectionWindow(event=event, name=name, starts_at=starts_at, tier=tier, college=college,
                             class_name=class_name, grade=grade, gender=gender, batch_size=batch_size,
                             batch_minutes=batch_minutes, campus_id=campus_id)
    db.session.add(window)
    db.session.flush()
    audit.record("selection.window", event=event.id, name=window.name, starts_at=window.starts_at.isoformat(),
                 tier=window.tier, college=window.college, classes=window.class_name, grade=window.grade,
                 gender=window.gender.value if window.gender else None, batch_size=window.batch_size,
                 batch_minutes=window.batch_minutes, zone=window.campus.code if window.campus else None)
    return window


def add_area(event: SelectionEvent, college: str, building: Building, floor: int | None = None) -> SelectionArea:
    """Give ``college`` a building (``floor`` None) or one floor of it: its beds are for that college's students,
    who choose only in their college's areas."""
    _require_draft(event)
    college = college.strip()
    if not college:
        raise ServiceError(_("Say which college the area is for."))
    if any(a.college == college and a.building_id == building.id and a.floor == floor for a in event.areas):
        raise ServiceError(_("%(college)s has this area already.", college=college))
    area = SelectionArea(event_id=event.id, college=college, building=building, floor=floor)
    event.areas.append(area)
    db.session.flush()
    audit.record("selection.area", event=event.id, college=area.college, building=building.code, floor=area.floor)
    return area


def remove_area(event: SelectionEvent, area_id: int) -> SelectionArea:
    """Take an area away; returns it, gone, its building still read (to say which it was)."""
    _require_draft(event)
    area = next((a for a in event.areas if a.id == area_id), None)
    if area is None:
        raise ServiceError(_("This event has no such area."))
    db.session.refresh(area, ["building"])
    event.areas.remove(area)
    db.session.flush()
    audit.record("selection.area_remove", event=event.id, college=area.college, building=area.building.code,
                 floor=area.floor)
    return area


def area_label(area: SelectionArea) -> str:
    """Where an area is, as a student reads it: a building's code, and its floor if only one."""
    if area.floor is None:
        return area.building.code
    return _("%(building)s floor %(floor)s", building=area.building.code, floor=area.floor)


def add_participants(event: SelectionEvent, students: list[Student], *, college: str | None = None,
                     class_name: str | None = None, grade: int | None = None) -> int:
    """Who takes part; a student added twice is taken once. Returns how many were new. ``college``,
    ``class_name`` and ``grade``: the cohort the office chose them by, for the audit log."""
    _require_draft(event)
    known = set(db.session.scalars(sa.select(SelectionParticipant.student_id)
                                   .where(SelectionParticipant.event_id == event.id)))
    new = []
    for student in students:
        if student.id not in known:  # nor twice from ``students`` itself (a list typed by hand)
            known.add(student.id)
            new.append(SelectionParticipant(event_id=event.id, student_id=student.id))
    db.session.add_all(new)
    db.session.flush()
    audit.record("selection.participants", event=event.id, students=len(students), added=len(new), college=college,
                 classes=class_name, grade=grade)
    return len(new)


def active_students(*, college: str | None = None, class_name: str | None = None,
                    grade: int | None = None) -> list[Student]:
    """The active students of a college, class and year of entry (each one given must match), by number: who
    a cohort of the office's takes part."""
    query = sa.select(Student).where(Student.status == StudentStatus.ACTIVE)
    for column, value in ((Student.college, college), (Student.class_name, class_name), (Student.grade, grade)):
        if value is not None:
            query = query.where(column == value)
    return list(db.session.scalars(query.order_by(Student.student_number)))


@dataclass(frozen=True)
class OfferPlace:
    """Where the office offers or withdraws beds: buildings (None: every one), a floor of them, some rooms of it
    by number (empty: every room)."""
    building_ids: list[int] | None = None
    floor: int | None = None
    room_numbers: tuple[str, ...] = ()

    def narrow(self, query):
        """``query`` (joined to Room and Floor) kept to this place."""
        if self.building_ids is not None:
            query = query.where(Room.building_id.in_(self.building_ids))
        if self.floor is not None:
            query = query.where(Floor.number == self.floor)
        if self.room_numbers:
            query = query.where(Room.number.in_(self.room_numbers))
        return query


def unknown_rooms(building: Building, numbers: tuple[str, ...]) -> list[str]:
    """Of the room numbers typed, those ``building`` has no room of."""
    known = set(db.session.scalars(sa.select(Room.number).where(Room.building_id == building.id,
                                                                Room.number.in_(numbers))))
    return [number for number in numbers if number not in known]


@dataclass(frozen=True)
class Offerable:
    """The beds of a place the event may offer, and how many of them a student taking part lives in."""
    beds: list[Bed]
    lived_in: int


def offerable_beds(event: SelectionEvent, place: OfferPlace = OfferPlace()) -> Offerable:
    """The beds of that place students of ``event`` could choose, to offer: in use, in an open room, and nobody's
    or lived in by a student taking part (theirs until they confirm another bed: add the students first). Any
    other bed offered, the pre-flight check would refuse."""
    resident_takes_part = sa.exists().where(SelectionParticipant.event_id == event.id,
                                            SelectionParticipant.student_id == Assignment.student_id)
    lived_in = (sa.select(resident_takes_part).where(Assignment.bed_id == Bed.id, Assignment.ended_at.is_(None))
                .scalar_subquery())  # NULL: nobody lives there
    query = (sa.select(Bed, lived_in).join(Room, Room.id == Bed.room_id).join(Floor, Floor.id == Room.floor_id)
             .where(Bed.active.is_(True), Room.status == RoomStatus.OPEN, sa.func.coalesce(lived_in, True)))
    rows = db.session.execute(place.narrow(query).order_by(Bed.id)).all()
    return Offerable([bed for bed, _lived_in in rows], sum(1 for _bed, resident in rows if resident is not None))


def _audited_place(event: SelectionEvent, place: OfferPlace | None) -> dict:
    """Where beds were offered or withdrawn, as the audit log keeps it: building codes, floor, rooms."""
    place = place or OfferPlace()
    codes = None  # every building
    if place.building_ids is not None:
        codes = ", ".join(db.session.scalars(sa.select(Building.code).where(Building.id.in_(place.building_ids))
                                             .order_by(Building.code)))
    return {"event": event.id, "building": codes, "floor": place.floor, "rooms": ", ".join(place.room_numbers) or None}


def withdraw_offers(event: SelectionEvent, place: OfferPlace) -> int:
    """No longer offer the beds of ``place`` (reserved ones too) while the event is set up. Returns how many."""
    _require_draft(event)
    there = place.narrow(sa.select(Bed.id).join(Room, Room.id == Bed.room_id).join(Floor, Floor.id == Room.floor_id))
    withdrawn = db.session.execute(
        sa.delete(SelectionOffer).where(SelectionOffer.event_id == event.id, SelectionOffer.bed_id.in_(there))
        .execution_options(synchronize_session=False)).rowcount
    db.session.flush()
    if withdrawn:
        audit.record("selection.withdraw", **_audited_place(event, place), beds=withdrawn)
    return withdrawn


def offer_beds(event: SelectionEvent, beds: list[Bed], *, reserved: bool = False,
               place: OfferPlace | None = None) -> int:
    """Offer ``beds`` (again: their reserved mark changes). Returns how many were new. ``place``: where the
    office chose them (offerable_beds), for the audit log."""
    _require_draft(event)
    offers = {o.bed_id: o for o in db.session.scalars(sa.select(SelectionOffer)
                                                       .where(SelectionOffer.event_id == event.id))}
    added = 0
    for bed in beds:
        if bed.id in offers:
            offers[bed.id].reserved = reserved
        else:
            db.session.add(SelectionOffer(event_id=event.id, bed_id=bed.id, reserved=reserved))
            added += 1
    db.session.flush()
    audit.record("selection.offer", **_audited_place(event, place), beds=len(beds), added=added, reserved=reserved)
    return added


def rehearse(event: SelectionEvent, *, starts_at: datetime, closes_at: datetime) -> SelectionEvent:
    """A rehearsal (模拟选宿) of ``event``: a copy of its windows, areas, students and offered beds, its first window
    moved to ``starts_at`` and the others kept as far after it; to be thrown away with ``discard``. The seed is
    the real event's, so students rehearse in the order they will choose in."""
    if event.is_rehearsal:
        raise ServiceError(_("A rehearsal cannot itself be rehearsed."))
    copy = SelectionEvent(name=_("%(name)s (rehearsal)", name=event.name), rehearsal_of_id=event.id,
                          seed=event.seed, hold_seconds=event.hold_seconds, change_limit=event.change_limit,
                          roommate_names=event.roommate_names, closes_at=closes_at)
    db.session.add(copy)
    db.session.flush()
    first = min((w.starts_at for w in event.windows), default=starts_at)
    for window in event.windows:
        db.session.add(SelectionWindow(
            event_id=copy.id, name=window.name, tier=window.tier, starts_at=starts_at + (window.starts_at - first),
            college=window.college, class_name=window.class_name, grade=window.grade, gender=window.gender,
            batch_size=window.batch_size, batch_minutes=window.batch_minutes, campus_id=window.campus_id))
    for area in event.areas:
        db.session.add(SelectionArea(event_id=copy.id, college=area.college, building_id=area.building_id,
                                     floor=area.floor))
    db.session.execute(sa.insert(SelectionParticipant).from_select(
        ["event_id", "student_id", "position", "changes_used"],
        sa.select(sa.literal(copy.id), SelectionParticipant.student_id, sa.literal(0), sa.literal(0))
        .where(SelectionParticipant.event_id == event.id)))
    db.session.execute(sa.insert(SelectionOffer).from_select(
        ["event_id", "bed_id", "reserved"],
        sa.select(sa.literal(copy.id), SelectionOffer.bed_id, SelectionOffer.reserved)
        .where(SelectionOffer.event_id == event.id)))
    db.session.flush()
    db.session.expire(copy)
    audit.record("selection.rehearse", event=event.id, rehearsal=copy.id, starts_at=starts_at.isoformat(),
                 closes_at=copy.closes_at.isoformat())
    return copy


def discard(event: SelectionEvent) -> None:
    """Throw a rehearsal away, with everything chosen in it; a real event is never thrown away."""
    if not event.is_rehearsal:
        raise ServiceError(_("Only a rehearsal can be thrown away."))
    audit.record("selection.discard", event=event.id, name=event.name)
    for table in (SelectionPick, SelectionOffer, SelectionParticipant, SelectionWindow, SelectionArea):
        db.session.execute(sa.delete(table).where(table.event_id == event.id))
    db.session.expire(event)  # its windows and areas, if loaded, are gone: not for the ORM to delete again
    db.session.delete(event)
    db.session.flush()


def order_key(seed: str, student_number: str) -> str:
    """A student's place inside their window: the SHA-256 of the event's published seed, a colon and their
    student number, in hexadecimal; ascending. Anyone with the seed and the list can redo the order."""
    return hashlib.sha256(f"{seed}:{student_number}".encode()).hexdigest()


def _matches(window: SelectionWindow, student: Student) -> bool:
    return all(wanted is None or wanted == actual for wanted, actual in (
        (window.college, student.college), (window.class_name, student.class_name),
        (window.grade, student.grade), (window.gender, student.gender)))


@dataclass(frozen=True)
class Problem:
    """A reason the event cannot open, with what it is about."""
    kind: str  # "overlap", "no_window", "unusable_bed", "no_beds", "area_without_beds", "empty_area",
    # "outside_areas", "empty_zone"
    message: str


def arrange(event: SelectionEvent) -> list[Problem]:
    """Give every participant their window (the one cohort that takes them) and their own start, in the seeded
    order; returns what stops the event from opening (an empty list: it may open)."""
    windows = list(event.windows)
    participants = db.session.scalars(
        sa.select(SelectionParticipant).where(SelectionParticipant.event_id == event.id)
        .options(sa.orm.joinedload(SelectionParticipant.student))).all()
    problems: list[Problem] = []
    by_window: dict[int, list[SelectionParticipant]] = {w.id: [] for w in windows}
    for participant in participants:
        student = participant.student
        matching = [w for w in windows if _matches(w, student)]
        lowest = min((w.tier for w in matching), default=None)
        first = [w for w in matching if w.tier == lowest]
        if not first:
            problems.append(Problem("no_window", _("%(student)s is in no window.", student=student.display)))
            participant.window_id = participant.opens_at = None
        elif len(first) > 1:
            problems.append(Problem("overlap", _("%(student)s is in two windows of one tier: %(windows)s.",
                                                 student=student.display,
                                                 windows=", ".join(w.name for w in first))))
            participant.window_id = participant.opens_at = None
        else:
            by_window[first[0].id].append(participant)
    for window in windows:
        members = sorted(by_window[window.id], key=lambda p: order_key(event.seed, p.student.student_number))
        for position, participant in enumerate(members):
            batch = position // window.batch_size if window.batch_size else 0
            participant.window_id, participant.position = window.id, position
            participant.opens_at = window.starts_at + timedelta(minutes=batch * window.batch_minutes)
    problems.extend(_unusable_offers(event))
    problems.extend(_areas_without_beds(event, [p.student for p in participants]))
    problems.extend(_zones_without_beds(event))
    db.session.flush()
    return problems


def _choosable_by_floor(event: SelectionEvent) -> list[tuple[int, int, int]]:
    """(building id, campus id, floor number) of each bed offered to choose (not reserved), one row a bed."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Room.building_id, Building.campus_id, Floor.number).select_from(SelectionOffer)
        .join(Bed, Bed.id == SelectionOffer.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id).join(Floor, Floor.id == Room.floor_id)
        .where(SelectionOffer.event_id == event.id, SelectionOffer.reserved.is_(False)))]


def _covers(area: SelectionArea, building_id: int, floor: int) -> bool:
    return area.building_id == building_id and area.floor in (None, floor)


def _areas_without_beds(event: SelectionEvent, students: list[Student]) -> list[Problem]:
    """Areas no bed to choose is offered in (a college whose students are left nowhere at all is one problem,
    not one per area), and students of colleges without areas when every bed is in one."""
    areas = list(event.areas)
    if not areas:
        return []
    beds = _choosable_by_floor(event)
    problems = []
    taking_part = {student.college for student in students}
    by_college: dict[str, list[SelectionArea]] = {}
    for area in areas:
        by_college.setdefault(area.college, []).append(area)
    for college, own in by_college.items():
        empty = [a for a in own if not any(_covers(a, building, floor) for building, _campus, floor in beds)]
        if college in taking_part and len(empty) == len(own):
            problems.append(Problem("area_without_beds", _(
                "Students of %(college)s can choose nowhere: no bed is offered in their college's areas "
                "(%(areas)s).", college=college, areas=", ".join(area_label(a) for a in own))))
        else:
            problems.extend(Problem("empty_area", _("No bed is offered in %(area)s, an area of %(college)s.",
                                                    area=area_label(a), college=college)) for a in empty)
    without_areas = sum(1 for student in students if student.college not in by_college)
    if without_areas and all(any(_covers(a, building, floor) for a in areas) for building, _campus, floor in beds):
        problems.append(Problem("outside_areas", ngettext(
            "%(num)d student is of a college without an area, and every bed offered is in an area: give their "
            "college one, or offer beds outside the areas.",
            "%(num)d students are of colleges without an area, and every bed offered is in an area: give their "
            "colleges one, or offer beds outside the areas.", without_areas)))
    return problems


def _zones_without_beds(event: SelectionEvent) -> list[Problem]:
    """Windows choosing in a zone where no bed to choose is offered."""
    zoned = [window for window in event.windows if window.campus_id is not None]
    if not zoned:
        return []
    offered_in = {campus for _building, campus, _floor in _choosable_by_floor(event)}
    return [Problem("empty_zone", _("Window %(window)s chooses in %(zone)s, where no bed is offered.",
                                    window=window.name, zone=window.campus.name))
            for window in zoned if window.campus_id not in offered_in]


def _unusable_offers(event: SelectionEvent) -> list[Problem]:
    """Offered beds nobody may take as they stand: out of use, in a closed room, lived in by a student who does
    not take part (they would lose it without a say), or in a room that houses no one gender (a room's gender
    must be settled before students choose, or two students choosing at once could make it mixed). A bed whose
    resident takes part may be offered: it is free for others once they confirm another."""
    problems = []
    offers = db.session.scalars(
        sa.select(SelectionOffer).where(SelectionOffer.event_id == event.id, SelectionOffer.reserved.is_(False))
        .options(sa.orm.joinedload(SelectionOffer.bed).joinedload(Bed.room).joinedload(Room.building))).all()
    if not offers:
        problems.append(Problem("no_beds", _("No bed is offered.")))
    outsiders = dict(db.session.execute(
        sa.select(Assignment.bed_id, Student).join(Student, Student.id == Assignment.student_id)
        .where(Assignment.ended_at.is_(None), Assignment.bed_id.in_([o.bed_id for o in offers]),
               ~sa.exists().where(SelectionParticipant.event_id == event.id,
                                  SelectionParticipant.student_id == Assignment.student_id))).all())
    for offer in offers:
        bed, room = offer.bed, offer.bed.room
        if bed.id in outsiders:
            problems.append(Problem("unusable_bed", _(
                "Bed %(bed)s cannot be chosen: %(student)s lives there and does not take part in the selection. "
                "Add them, or withdraw the bed.", bed=bed.code, student=outsiders[bed.id].display)))
        elif not bed.active or not room.is_open or room.declared_gender is None:
            problems.append(Problem("unusable_bed", _("Bed %(bed)s cannot be chosen: it is out of use, closed, "
                                                      "or its room houses no one gender.", bed=bed.code)))
    return problems


def open_event(event: SelectionEvent) -> None:
    """Open a set-up event; refused while arrange() finds anything wrong."""
    _require_draft(event)
    problems = arrange(event)
    if problems:
        raise ServiceError(" ".join(p.message for p in problems[:5]))
    event.status = EventStatus.OPEN
    _record_step("selection.open", event)


def pause(event: SelectionEvent, now: datetime | None = None) -> None:
    _switch(event, EventStatus.OPEN, EventStatus.PAUSED)
    event.paused_at = now or utcnow()
    _record_step("selection.pause", event)


def resume(event: SelectionEvent, now: datetime | None = None) -> None:
    """Open again, every start not reached when it paused moved on by the pause, the close too."""
    paused_at = event.paused_at
    _switch(event, EventStatus.PAUSED, EventStatus.OPEN)
    shift = (now or utcnow()) - paused_at
    for waiting in db.session.scalars(sa.select(SelectionParticipant).where(
            SelectionParticipant.event_id == event.id, SelectionParticipant.opens_at > paused_at)):
        waiting.opens_at += shift  # in Python: SQLite has no date arithmetic to do it in one UPDATE
    for window in event.windows:
        if window.starts_at > paused_at:
            window.starts_at += shift
    event.closes_at += shift
    event.paused_at = None
    db.session.flush()
    _record_step("selection.resume", event)


def close(event: SelectionEvent) -> None:
    """Nobody chooses any more: holds not confirmed end, confirmed picks stand."""
    if event.status not in (EventStatus.OPEN, EventStatus.PAUSED):
        raise ServiceError(_("Only an open or paused event can be closed."))
    event.status = EventStatus.CLOSED
    db.session.execute(sa.update(SelectionPick)
                       .where(SelectionPick.event_id == event.id, SelectionPick.status == PickStatus.HELD)
                       .values(status=PickStatus.EXPIRED, ended_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.flush()
    _record_step("selection.close", event)


def _record_step(action: str, event: SelectionEvent) -> None:
    """A step of the event's life in the audit log (its status shown by label: EventStatus in models)."""
    audit.record(action, event=event.id, name=event.name, status=event.status.value)


def apply_choices(event: SelectionEvent, actor=None) -> int:
    """Every confirmed choice of a closed event becomes its student's bed, as one change (residence.relocate:
    everyone leaving goes first, then everyone arrives, so beds change hands among those who chose, chains of
    residents taking each other's beds too, under every placement rule and the check-in rule); all or nothing.
    Who confirmed nothing, or their own bed, stays. Returns how many students changed bed."""
    if event.is_rehearsal:
        raise ServiceError(_("A rehearsal's choices are never applied."))
    if event.status != EventStatus.CLOSED:
        raise ServiceError(_("Close the selection before applying its choices."))
    if event.applied_at is not None:
        raise ServiceError(_("These choices were applied already."))
    picks = db.session.scalars(sa.select(SelectionPick).where(
        SelectionPick.event_id == event.id, SelectionPick.status == PickStatus.CONFIRMED)
        .options(sa.orm.joinedload(SelectionPick.bed))).all()
    students = {s.id: s for s in db.session.scalars(sa.select(Student).where(
        Student.id.in_([p.student_id for p in picks])))}
    relocations = []
    for pick in picks:
        student = students[pick.student_id]
        current = residence.current_assignment(student)
        if current is None or current.bed_id != pick.bed_id:
            relocations.append(residence.Relocation(student=student, leaving=current, to_bed=pick.bed))
    done = residence.relocate(relocations, reason=_("Chosen on selection day: %(event)s", event=event.name),
                              actor=actor)
    problems = [problem for r in done for problem in r.problems]
    if problems:
        raise ServiceError(" ".join(problems[:10]))
    event.applied_at = utcnow()
    db.session.flush()
    audit.record("selection.apply", actor=actor, event=event.id, name=event.name, moves=len(relocations))
    return len(relocations)


def place_the_rest(event: SelectionEvent, *, time_limit: int = 60, actor=None):
    """An allocation run (intake) placing the event's students who have no bed after its choices were applied,
    in the beds it offered and nobody took (never a reserved one), around everyone placed: a proposal to
    review and apply like any other. Returns the run, queued."""
    if event.is_rehearsal or event.applied_at is None:
        raise ServiceError(_("Apply the event's choices first: the rest are placed around them."))
    housed = sa.select(Assignment.student_id).where(Assignment.ended_at.is_(None))
    unplaced = db.session.scalars(sa.select(SelectionParticipant.student_id).where(
        SelectionParticipant.event_id == event.id, SelectionParticipant.student_id.not_in(housed))).all()
    if not unplaced:
        raise ServiceError(_("Everyone of this event has a bed."))
    offered = db.session.execute(sa.select(SelectionOffer.bed_id, Room.building_id)
                                 .join(Bed, Bed.id == SelectionOffer.bed_id).join(Room, Room.id == Bed.room_id)
                                 .where(SelectionOffer.event_id == event.id,
                                        SelectionOffer.reserved.is_(False))).all()
    run = allocation.create_run(mode=RunMode.INTAKE, building_ids=sorted({b for _bed, b in offered}),
                                time_limit=time_limit, actor=actor, student_scope={"students": sorted(unplaced)},
                                bed_ids=[bed for bed, _building in offered])
    allocation.start_job(run)
    audit.record("selection.place_the_rest", actor=actor, event=event.id, name=event.name, run=run.id)
    return run


def _require_draft(event: SelectionEvent) -> None:
    if event.status != EventStatus.DRAFT:
        raise ServiceError(_("The event is under way: its set-up can no longer change."))


def _switch(event: SelectionEvent, before: EventStatus, after: EventStatus) -> None:
    """A conditional UPDATE: of two staff pausing at once, the second is told."""
    changed = db.session.execute(sa.update(SelectionEvent).where(SelectionEvent.id == event.id,
                                                                 SelectionEvent.status == before)
                                 .values(status=after).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise ServiceError(_("The event is %(status)s now, not %(expected)s.",
                             status=db.session.scalar(sa.select(SelectionEvent.status)
                                                      .where(SelectionEvent.id == event.id)).label,
                             expected=before.label))
    db.session.refresh(event)


# --- what a student may do ----------------------------------------------------------------------------------


def in_an_event_under_way(user) -> bool:
    """Whether ``user`` is a student taking part in an open or paused event (one session each, then)."""
    if user.student_id is None:
        return False
    return db.session.scalar(sa.select(sa.exists().where(
        SelectionParticipant.student_id == user.student_id, SelectionParticipant.event_id == SelectionEvent.id,
        SelectionEvent.status.in_([EventStatus.OPEN, EventStatus.PAUSED])))) or False


def participant(event: SelectionEvent, student: Student) -> SelectionParticipant | None:
    return db.session.scalar(sa.select(SelectionParticipant).where(SelectionParticipant.event_id == event.id,
                                                                    SelectionParticipant.student_id == student.id))


def refusal(event: SelectionEvent, taking_part: SelectionParticipant | None, now: datetime) -> str | None:
    """Why the student cannot act now, or None."""
    if taking_part is None:
        return _("You do not take part in this selection.")
    if event.status == EventStatus.PAUSED:
        return _("The selection is paused; it goes on shortly, and your window moves on by the pause.")
    if event.status == EventStatus.DRAFT:
        return _("The selection has not opened yet.")
    if event.status == EventStatus.CLOSED or now >= event.closes_at:
        return _("The selection is over.")
    if taking_part.opens_at is None or now < taking_part.opens_at:
        return _("It is not your window yet.")
    return None


def in_line(event: SelectionEvent, taking_part: SelectionParticipant, now: datetime) -> waiting_room.Place:
    """The student's place in the waiting room, their window open (let in when there is none)."""
    return waiting_room.place(event.id, taking_part.student_id, now)


def waiting_message(place: waiting_room.Place) -> str:
    return ngettext("You are in the waiting room: %(num)d student before you, about %(seconds)d s.",
                    "You are in the waiting room: %(num)d students before you, about %(seconds)d s.",
                    place.ahead, seconds=place.seconds)


def standing(event: SelectionEvent, taking_part: SelectionParticipant | None,
             now: datetime) -> tuple[str | None, waiting_room.Place | None]:
    """Why the student cannot act now (None: they may), and, their window open, their place in the waiting
    room (a ticket taken the first time): the one answer the pages, the API and every action read."""
    reason = refusal(event, taking_part, now)
    if reason is not None:
        return reason, None
    place = in_line(event, taking_part, now)
    return (None if place.admitted else waiting_message(place)), place


@dataclass(frozen=True)
class LineView:
    """An event as the waiting room needs it, with every participant's own start: kept (core.kept) until the event
    or its participants change, so that a student still waiting in line is answered without the database. Reads
    like the event where a page shows it (name, status, closes_at). The starts are two arrays, ordered by student
    id, not a dict: a cohort's worth unpickles at every request in microseconds, not a millisecond."""
    id: int
    name: str
    status: EventStatus
    is_rehearsal: bool
    closes_at: datetime
    change_limit: int
    student_ids: array
    start_seconds: array  # each student's own start, in seconds since the epoch

    def start_of(self, student_id: int) -> datetime | None:
        at = bisect.bisect_left(self.student_ids, student_id)
        if at < len(self.student_ids) and self.student_ids[at] == student_id:
            return datetime.fromtimestamp(self.start_seconds[at], timezone.utc)
        return None


LINE_TABLES = ("selection_events", "selection_participants")  # what a LineView is read from, sorted


def line_view(event_id: int, generations: tuple | None = None) -> LineView | None:
    """The event's LineView; ``generations``: of LINE_TABLES, as the caller just read them (core.kept.kept)."""
    def compute() -> LineView | None:
        event = db.session.get(SelectionEvent, event_id)
        if event is None:
            return None
        starts = db.session.execute(
            sa.select(SelectionParticipant.student_id, SelectionParticipant.opens_at)
            .where(SelectionParticipant.event_id == event_id, SelectionParticipant.opens_at.is_not(None))
            .order_by(SelectionParticipant.student_id)).all()
        return LineView(event.id, event.name, event.status, event.is_rehearsal, event.closes_at, event.change_limit,
                        array("q", (student for student, _start in starts)),
                        array("d", (start.timestamp() for _student, start in starts)))
    return kept("selection.line", compute, depends_on=LINE_TABLES, key=event_id, generations=generations)


@dataclass(frozen=True)
class InLine:
    """A student waiting in the waiting room, as answered without the database."""
    event: LineView
    opens_at: datetime
    place: waiting_room.Place


def still_in_line(event_id: int, student_id: int, now: datetime, *,
                  count: waiting_room.Count | None = None) -> InLine | None:
    """The event, the student's start and their place when their window is open and they are still waiting in
    the waiting room, from kept values and Redis alone; None otherwise (let in, not their window, no such event or
    student: ask the database). When a cohort arrives in the same second, these answers are most of what the
    servers give, and the database gives none of them. It only ever tells a student to wait: what they may do
    once let in is decided as always. ``count``: the request's traffic, counted if the student waits.

    One round trip to Redis: the event as this process read it last is taken for current, and the waiting room's
    script checks that its generations still are before it moves the line; if not, the event is read again."""
    if not waiting_room.in_use():
        return None
    seen = latest_kept("selection.line", depends_on=LINE_TABLES, key=event_id)
    for fresh in (False, True) if seen else (True,):
        if fresh:
            generations = generations_of(LINE_TABLES)
            if generations is None:
                return None
            seen = generations, line_view(event_id, generations)
        generations, view = seen
        opens_at = _window_open_in(view, student_id, now)
        if opens_at is None:
            continue  # perhaps only as this process saw the event last: read it again, then ask the database
        place = waiting_room.place(event_id, student_id, now, count=count,
                                   unchanged=waiting_room.Unchanged(LINE_TABLES, generations))
        if place is not None:
            return None if place.admitted else InLine(view, opens_at, place)
    return None


def _window_open_in(view: LineView | None, student_id: int, now: datetime) -> datetime | None:
    """The student's start, if the event is open and their window has started by ``now``."""
    if view is None or view.status != EventStatus.OPEN or now >= view.closes_at:
        return None
    opens_at = view.start_of(student_id)
    return opens_at if opens_at is not None and now >= opens_at else None


def _require_may_act(event: SelectionEvent, student: Student, now: datetime) -> SelectionParticipant:
    taking_part = participant(event, student)
    reason, _place = standing(event, taking_part, now)
    if reason:
        raise ServiceError(reason)
    return taking_part


def live_picks(event: SelectionEvent, student: Student, now: datetime) -> dict[PickStatus, SelectionPick]:
    """The student's hold (if not expired) and confirmed pick."""
    picks = db.session.scalars(sa.select(SelectionPick).where(
        SelectionPick.event_id == event.id, SelectionPick.student_id == student.id,
        SelectionPick.status.in_(LIVE))).all()
    return {p.status: p for p in picks if p.status == PickStatus.CONFIRMED or p.held_until > now}


@dataclass(frozen=True)
class Scope:
    """Where a student may choose beyond their gender and needs. ``college``: theirs when the event has areas
    (None: it has none, so no area rule applies); ``campus_id``: their window's zone, if it has one."""
    college: str | None
    campus_id: int | None


def scope(event: SelectionEvent, student: Student) -> Scope:
    """The student's Scope in the event (kept: every bed list and hold reads it)."""
    return _scope_and_home(event, student)[0]


def _scope_and_home(event: SelectionEvent, student: Student) -> tuple[Scope, int | None]:
    """The student's Scope, and the bed they live in if the event offers it for choosing (None for most): one
    query, then kept until the event's areas, windows, participants or offers, or anyone's bed, change."""
    def compute() -> tuple[Scope, int | None]:
        has_areas, campus_id, home = db.session.execute(sa.select(
            sa.exists().where(SelectionArea.event_id == event.id),
            sa.select(SelectionWindow.campus_id)
            .join(SelectionParticipant, SelectionParticipant.window_id == SelectionWindow.id)
            .where(SelectionParticipant.event_id == event.id, SelectionParticipant.student_id == student.id)
            .scalar_subquery(),
            sa.select(Assignment.bed_id)
            .join(SelectionOffer, sa.and_(SelectionOffer.bed_id == Assignment.bed_id,
                                          SelectionOffer.event_id == event.id))
            .where(Assignment.student_id == student.id, Assignment.ended_at.is_(None),
                   SelectionOffer.reserved.is_(False))
            .scalar_subquery())).one()
        return Scope(student.college if has_areas else None, campus_id), home
    return kept("selection.where", compute, key=(event.id, student.id, student.college),
                depends_on=("assignments", "selection_areas", "selection_offers", "selection_participants",
                            "selection_windows"))


def home_bed(event: SelectionEvent, student: Student) -> int | None:
    """The bed ``student`` lives in, if the event offers it for choosing: theirs unless they confirm another."""
    return _scope_and_home(event, student)[1]


# --- beds lived in by students taking part ----------------------------------------------------------------
#
# A bed whose resident takes part may be offered. It stays theirs, whoever else asks, until they have a
# confirmed pick of another bed in the event; then it is free for others (and for them, to take back while
# nobody else holds it). Nobody loses a bed they did not give up: who chooses nothing keeps theirs. Chains
# follow: A confirms a free bed, B takes A's, C takes B's..., and apply_choices moves them all at once.


def _confirmed_elsewhere(event: SelectionEvent, resident):
    """Whether the student of ``resident`` (Assignment, or an alias of it, in the query around) has a confirmed
    pick of a bed other than that one in the event. Named by ``resident``'s columns alone: a subquery correlates
    to the query just around it, so a bed of a query further out would be read as a table of its own (every bed,
    scanned)."""
    moved = sa.orm.aliased(SelectionPick)
    return sa.exists().where(moved.event_id == event.id, moved.student_id == resident.student_id,
                             moved.status == PickStatus.CONFIRMED, moved.bed_id != resident.bed_id)


def resident_stays(event: SelectionEvent, bed_id):
    """Whether someone lives in bed ``bed_id`` (a column or a value) and has no confirmed pick of another bed in
    the event: the bed is theirs still. Served by the partial unique indexes on current assignments per bed and
    on confirmed picks per event and student."""
    resident = sa.orm.aliased(Assignment)
    return sa.exists().where(resident.bed_id == bed_id, resident.ended_at.is_(None),
                             ~_confirmed_elsewhere(event, resident))


def _residents_staying(event: SelectionEvent, bed_ids: list[int]) -> dict[int, int]:
    """{bed id: its resident} of those beds whose resident has not confirmed another bed in the event.

    Read before the hold is written, and yet no race: once a resident has a confirmed pick of another bed, only
    they can make it untrue, by moving that confirmed pick (a confirmed pick is never given up, only replaced by
    another, in one transaction) onto their own bed, which takes a live pick of it, and a bed has one live
    pick at most (uq_selection_picks_live_bed). So a hold written after this read sees the resident either
    still elsewhere, or holding their bed first, and then the unique index refuses the hold ("taken a moment
    ago"); the other way round, the resident's own hold is refused. A resident who has not confirmed another bed
    is answered "taken", which stays true until they confirm, so a refusal is never wrong either. (The office
    moving residents meanwhile is the office's: applying the choices checks every arrival again.)"""
    if not bed_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Assignment.bed_id, Assignment.student_id)
        .where(Assignment.bed_id.in_(bed_ids), Assignment.ended_at.is_(None),
               ~_confirmed_elsewhere(event, Assignment))).all())


def _in_area(event: SelectionEvent, *where):
    """Whether the room joined in the query is in an area of the event (of those ``where`` says)."""
    return sa.exists().where(SelectionArea.event_id == event.id, SelectionArea.building_id == Room.building_id,
                             sa.or_(SelectionArea.floor.is_(None), SelectionArea.floor == Floor.number), *where)


def _may_take(event: SelectionEvent, student: Student, now: datetime, columns, where: Scope, *,
              building: str | None = None, floor: int | None = None, home: int | None = None):
    """A SELECT of ``columns`` over the beds ``student`` may hold now: offered, free (no live pick, and nobody
    lives there who has not confirmed another bed), in use, in an open room for their gender (accessible when
    they need it), in their college's areas (with none, outside every area) and their window's zone (``where``),
    optionally of one building and floor. With ``home``, the student's own bed (home_bed), the one bed of theirs
    nobody else may take: free of live picks, they have not confirmed another bed. The first list is the same
    for every student of a kind (and kept), the second is the student's own."""
    if home is None:
        not_lived_in = ~resident_stays(event, Bed.id)
    else:
        not_lived_in = sa.and_(Bed.id == home, resident_stays(event, Bed.id))
    query = (sa.select(*columns).select_from(Bed)
             .join(SelectionOffer, sa.and_(SelectionOffer.bed_id == Bed.id, SelectionOffer.event_id == event.id))
             .join(Room, Room.id == Bed.room_id).join(Building, Building.id == Room.building_id)
             .join(Floor, Floor.id == Room.floor_id)
             .where(SelectionOffer.reserved.is_(False), Bed.active.is_(True), Room.status == RoomStatus.OPEN,
                    sa.or_(Room.gender == student.gender,
                           sa.and_(Room.gender.is_(None),
                                   Building.gender_policy == GenderPolicy(student.gender.value))),
                    ~sa.exists().where(
                        SelectionPick.event_id == event.id, SelectionPick.bed_id == Bed.id,
                        sa.or_(SelectionPick.status == PickStatus.CONFIRMED,
                               sa.and_(SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now))),
                    not_lived_in))
    if student.needs_accessible:
        query = query.where(Room.accessible.is_(True))
    if where.college is not None:
        has_own = sa.exists().where(SelectionArea.event_id == event.id, SelectionArea.college == where.college)
        query = query.where(sa.or_(_in_area(event, SelectionArea.college == where.college),
                                   sa.and_(~has_own, ~_in_area(event))))
    if where.campus_id is not None:
        query = query.where(Building.campus_id == where.campus_id)
    if building is not None:
        query = query.where(Building.code == building)
    if floor is not None:
        query = query.where(Floor.number == floor)
    return query


# What the lists of free beds read. They are kept (core.kept) until a pick, an offer or anyone's bed changes, and
# for at most FREE_BEDS_SECONDS besides: a hold that ran out frees its bed without a write, so a list may show it
# taken that long. A list showing a bed free that was taken meanwhile is answered by the hold ("taken a moment
# ago").
FREE_BED_TABLES = ("selection_offers", "selection_picks", "selection_areas", "beds", "rooms", "buildings", "floors",
                   "assignments")
FREE_BEDS_SECONDS = 10


def _kept_free(name: str, compute, event: SelectionEvent, student: Student, now: datetime, where: Scope, *key):
    """Free beds are the same for every student of a gender, need of an accessible room and Scope (college
    when the event has areas, zone): kept per those."""
    moment = int(now.timestamp()) // FREE_BEDS_SECONDS
    return kept(name, compute, depends_on=FREE_BED_TABLES,
                key=(event.id, student.gender.value, student.needs_accessible, where, moment, *key))


def free_by_floor(event: SelectionEvent, student: Student, now: datetime | None = None) -> list[tuple[str, int, int]]:
    """(building code, floor number, free beds) of what ``student`` may hold now: where to look first."""
    now = now or utcnow()
    where, home = _scope_and_home(event, student)

    def count() -> list[tuple[str, int, int]]:
        query = _may_take(event, student, now, (Building.code, Floor.number, sa.func.count()), where)
        return [tuple(row) for row in db.session.execute(
            query.group_by(Building.code, Floor.number).order_by(Building.code, Floor.number))]
    counts = _kept_free("selection.free_by_floor", count, event, student, now, where)
    own = home is not None and db.session.execute(
        _may_take(event, student, now, (Building.code, Floor.number), where, home=home)).first()
    if not own:
        return counts
    free = {(code, number): count for code, number, count in counts}
    free[tuple(own)] = free.get(tuple(own), 0) + 1
    return [(code, number, count) for (code, number), count in sorted(free.items())]


@dataclass(frozen=True)
class FreeBed:
    bed_id: int
    label: str
    room_id: int
    room: str
    building: str
    floor: int
    room_type: str

    @property
    def code(self) -> str:
        return f"{self.building}-{self.room}-{self.label}"


def available_beds(event: SelectionEvent, student: Student, now: datetime | None = None, *,
                   building: str | None = None, floor: int | None = None) -> list[FreeBed]:
    """The beds ``student`` may hold now, by building, floor, room and bed (one building's floor, if given)."""
    now = now or utcnow()
    where, home = _scope_and_home(event, student)
    columns = (Bed.id, Bed.label, Room.id, Room.number, Building.code, Floor.number, Room.room_type)

    def listed() -> list[FreeBed]:
        query = _may_take(event, student, now, columns, where, building=building, floor=floor)
        return [FreeBed(*row) for row in db.session.execute(
            query.order_by(Building.code, Floor.number, Room.number, Bed.label))]
    beds = _kept_free("selection.available_beds", listed, event, student, now, where, building, floor)
    own = home is not None and db.session.execute(
        _may_take(event, student, now, columns, where, building=building, floor=floor, home=home)).first()
    if not own:
        return beds
    return sorted([*beds, FreeBed(*own)], key=lambda bed: (bed.building, bed.floor, bed.room, bed.label))


def _require_placeable(event: SelectionEvent, student: Student, bed: Bed, avoided: str) -> None:
    """Refused when a rule of residence forbids ``student`` the bed, or "do not room with" does (``avoided``). Who
    lives there is the resident rule's (_residents_staying): they leave before anyone arrives."""
    problems = residence.placement_problems(student, bed, occupant_may_leave=True)
    if problems:
        raise ServiceError(" ".join(problems))
    if _avoided_in_room(event, student, bed):
        raise ServiceError(avoided)


def _avoided_in_room(event: SelectionEvent, student: Student, bed: Bed) -> bool:
    """Whether a student who chose a bed in ``bed``'s room is one ``student`` asked not to room with, or one who
    asked not to room with them ("do not room with", roommate wishes)."""
    others = sa.select(SelectionPick.student_id).join(Bed, Bed.id == SelectionPick.bed_id).where(
        SelectionPick.event_id == event.id, SelectionPick.status.in_(LIVE), Bed.room_id == bed.room_id,
        SelectionPick.student_id != student.id)
    return db.session.scalar(sa.select(sa.exists().where(
        RoommateRequest.kind == RequestKind.AVOID,
        sa.or_(sa.and_(RoommateRequest.student_id == student.id, RoommateRequest.other_id.in_(others)),
               sa.and_(RoommateRequest.other_id == student.id, RoommateRequest.student_id.in_(others)))))) or False


@dataclass(frozen=True)
class Chooser:
    """Someone who chose a bed of a room already, as a student choosing there sees them: their bed, class and
    sleep schedule, and their name only when the office allows it (SelectionEvent.roommate_names)."""
    bed: str
    class_name: str
    lifestyle: object  # Lifestyle or None
    name: str | None


def choosers(event: SelectionEvent, student: Student, room_ids: list[int], now: datetime) -> dict[int, list[Chooser]]:
    """{room id: [Chooser]} of the other students holding or having confirmed a bed in those rooms, by bed, in
    one query."""
    if not room_ids:
        return {}
    rows = db.session.execute(
        sa.select(Bed.room_id, Bed.label, Student.class_name, Student.lifestyle, Student.name)
        .select_from(SelectionPick).join(Bed, Bed.id == SelectionPick.bed_id)
        .join(Student, Student.id == SelectionPick.student_id)
        .where(SelectionPick.event_id == event.id, SelectionPick.student_id != student.id,
               Bed.room_id.in_(room_ids),
               sa.or_(SelectionPick.status == PickStatus.CONFIRMED,
                      sa.and_(SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now)))
        .order_by(Bed.room_id, Bed.label))
    found: dict[int, list[Chooser]] = {}
    for room_id, bed, class_name, lifestyle, name in rows:
        found.setdefault(room_id, []).append(Chooser(bed, class_name, lifestyle,
                                                     name if event.roommate_names else None))
    return found


def _outside(event: SelectionEvent, student: Student, bed: Bed) -> str | None:
    """Why ``bed`` is not the student's to choose by the event's areas or their window's zone, or None."""
    where = scope(event, student)
    if where == Scope(None, None):  # no area rule, no zone: the bed's place does not matter
        return None
    building = bed.room.building
    if where.campus_id is not None and building.campus_id != where.campus_id:
        return _("Your window chooses in %(zone)s only.", zone=db.session.get(Campus, where.campus_id).name)
    if where.college is None:
        return None
    floor = bed.room.floor.number
    covering = [a for a in event.areas if _covers(a, building.id, floor)]
    if covering and all(a.college != student.college for a in covering):
        if all(a.floor is None for a in covering):
            return _("This building belongs to another college.")
        return _("This floor belongs to another college.")
    own = [a for a in event.areas if a.college == student.college]
    if own and not covering:
        return _("Students of %(college)s choose in their college's areas: %(areas)s.", college=student.college,
                 areas=", ".join(area_label(a) for a in own))
    return None


def hold(event: SelectionEvent, student: Student, bed_id: int, now: datetime | None = None) -> SelectionPick:
    """Keep ``bed_id`` for ``student`` for the event's hold time. A hold they had on another bed is given up
    for it, unless this one fails (then they keep it)."""
    now = now or utcnow()
    taking_part = _require_may_act(event, student, now)
    offer = db.session.get(SelectionOffer, (event.id, bed_id))
    if offer is None or offer.reserved:
        raise ServiceError(_("This bed is not offered in this selection."))
    bed = offer.bed
    outside = _outside(event, student, bed)
    if outside:
        raise ServiceError(outside)
    if _residents_staying(event, [bed_id]).get(bed_id, student.id) != student.id:
        raise ServiceError(_("This bed is taken: whoever lives in it keeps it unless they choose another bed. "
                             "Choose another."))
    _refuse_if_held_by_group(event, student, now)
    confirmed = live_picks(event, student, now).get(PickStatus.CONFIRMED)
    if confirmed is not None:
        if confirmed.bed_id == bed_id:
            raise ServiceError(_("This bed is already yours."))
        if taking_part.changes_used >= event.change_limit:
            raise ServiceError(_("Your choice is confirmed and can no longer be changed."))
    _require_placeable(event, student, bed, _("This room has a student you asked not to room with, or who asked "
                                              "not to room with you. Choose another room."))
    pick = SelectionPick(event_id=event.id, bed_id=bed_id, student_id=student.id, status=PickStatus.HELD,
                         held_until=now + timedelta(seconds=event.hold_seconds), created_at=now)
    with conflict_on_duplicate(lambda key: _("This bed was taken a moment ago. Choose another.")
                               if "bed" in key else _("You changed your choice elsewhere a moment ago; reload.")):
        # A hold past its time frees its bed: ended here, by whoever asks for the bed (or the student) first.
        _release_holds(event, student, now, [bed_id])
        db.session.add(pick)
    return pick


def _release_holds(event: SelectionEvent, student: Student, now: datetime, bed_ids: list[int]) -> None:
    """End the student's hold, those they made for their group, and holds past their time on ``bed_ids``
    (a hold past its time frees its bed: ended by whoever asks for the bed, or its student, first)."""
    db.session.execute(
        sa.update(SelectionPick).where(
            SelectionPick.event_id == event.id, SelectionPick.status == PickStatus.HELD,
            sa.or_(SelectionPick.student_id == student.id, SelectionPick.chosen_by_id == student.id,
                   sa.and_(SelectionPick.bed_id.in_(bed_ids), SelectionPick.held_until <= now)))
        .values(status=sa.case((SelectionPick.held_until <= now, PickStatus.EXPIRED.value),
                               else_=PickStatus.CANCELLED.value), ended_at=now)
        .execution_options(synchronize_session=False))


def _refuse_if_held_by_group(event: SelectionEvent, student: Student, now: datetime) -> None:
    held = live_picks(event, student, now).get(PickStatus.HELD)
    if held is not None and held.chosen_by_id not in (None, student.id):
        raise ServiceError(_("Your group holds a bed for you: the one who chose it confirms or cancels it."))


# --- choosing together ----------------------------------------------------------------------------------------


def group_of(event: SelectionEvent, student: Student, now: datetime | None = None) -> list[Student]:
    """Who may choose with ``student``: the students they want as roommates who want them back (roommate
    wishes), taking part in the event, of their gender, with no hold or confirmed choice yet."""
    now = now or utcnow()
    mutual = roommate_requests.mutual_ids(student)
    if not mutual:
        return []
    live = sa.select(SelectionPick.student_id).where(
        SelectionPick.event_id == event.id,
        sa.or_(SelectionPick.status == PickStatus.CONFIRMED,
               sa.and_(SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now)))
    return list(db.session.scalars(
        sa.select(Student).join(SelectionParticipant, SelectionParticipant.student_id == Student.id)
        .where(SelectionParticipant.event_id == event.id, Student.id.in_(mutual),
               Student.gender == student.gender, Student.id.not_in(live))
        .order_by(Student.student_number)))


def hold_group(event: SelectionEvent, leader: Student, room_id: int, member_ids: list[int],
               now: datetime | None = None) -> list[SelectionPick]:
    """Hold one bed of room ``room_id`` for ``leader`` and for each of ``member_ids`` (from group_of), all or
    none. The leader is the member whose own start comes first; they confirm or cancel for everyone."""
    now = now or utcnow()
    taking_part = _require_may_act(event, leader, now)
    _refuse_if_held_by_group(event, leader, now)
    if live_picks(event, leader, now).get(PickStatus.CONFIRMED) is not None:
        raise ServiceError(_("Your choice is confirmed: choose with your group before you confirm alone."))
    allowed = {s.id: s for s in group_of(event, leader, now)}
    if not member_ids or any(m not in allowed for m in member_ids) or len(set(member_ids)) != len(member_ids):
        raise ServiceError(_("Only students you want as roommates who want you back, taking part and without a "
                             "bed chosen yet, can choose with you."))
    members = [allowed[m] for m in member_ids]
    starts = [participant(event, s).opens_at for s in members]
    if any(start is not None and start < taking_part.opens_at for start in starts):
        raise ServiceError(_("The member of your group whose window opens first chooses for the group."))
    group = [leader, *members]
    # The leader's own bed, if listed (theirs to take back), is the leader's: nobody else's until they move.
    home = home_bed(event, leader)
    free = sorted((bed for bed in available_beds(event, leader, now) if bed.room_id == room_id),
                  key=lambda bed: bed.bed_id != home)
    if len(free) < len(group):
        raise ServiceError(ngettext("This room has %(num)d free bed; your group needs %(needed)d.",
                                    "This room has %(num)d free beds; your group needs %(needed)d.",
                                    len(free), needed=len(group)))
    beds = {bed.id: bed for bed in db.session.scalars(sa.select(Bed).where(
        Bed.id.in_([b.bed_id for b in free[:len(group)]])))}
    for member in members:  # the leader's list was theirs: each member's college and zone are asked here
        outside = _outside(event, member, beds[free[0].bed_id])
        if outside:
            raise ServiceError(_("%(student)s cannot choose this room: %(reason)s", student=member.name,
                                 reason=outside))
    staying = _residents_staying(event, list(beds))  # the list is kept: its residents are asked again here
    if any(staying.get(free_bed.bed_id, person.id) != person.id for person, free_bed in zip(group, free)):
        raise ServiceError(_("A bed of this room was taken a moment ago. Choose again."))
    for person, free_bed in zip(group, free):
        _require_placeable(event, person, beds[free_bed.bed_id], _(
            "This room has a student one of your group asked not to room with, or who asked not to room with them. "
            "Choose another room."))
    until = now + timedelta(seconds=event.hold_seconds)
    picks = [SelectionPick(event_id=event.id, bed_id=free_bed.bed_id, student_id=person.id, status=PickStatus.HELD,
                           held_until=until, chosen_by_id=leader.id, created_at=now)
             for person, free_bed in zip(group, free)]
    with conflict_on_duplicate(_("A bed of this room was taken a moment ago. Choose again.")):
        _release_holds(event, leader, now, [p.bed_id for p in picks])
        db.session.add_all(picks)
        db.session.flush()
        for pick in picks:
            pick.group_id = picks[0].id
    return picks


def confirm(event: SelectionEvent, student: Student, now: datetime | None = None) -> SelectionPick:
    """Make the student's hold their choice (replacing one confirmed before, when changes are allowed)."""
    now = now or utcnow()
    taking_part = _require_may_act(event, student, now)
    picks = live_picks(event, student, now)
    held = picks.get(PickStatus.HELD)
    if held is None:
        raise ServiceError(_("You hold no bed, or your hold ran out. Choose a bed again."))
    _refuse_if_held_by_group(event, student, now)
    earlier = picks.get(PickStatus.CONFIRMED)
    if earlier is not None:
        counted = db.session.execute(
            sa.update(SelectionParticipant).where(SelectionParticipant.id == taking_part.id,
                                                  SelectionParticipant.changes_used < event.change_limit)
            .values(changes_used=SelectionParticipant.changes_used + 1)
            .execution_options(synchronize_session=False)).rowcount
        if counted != 1:
            raise ServiceError(_("Your choice is confirmed and can no longer be changed."))
        _end(earlier, PickStatus.CANCELLED, now)
    with conflict_on_duplicate(_("You confirmed another bed elsewhere a moment ago; reload.")):
        confirmed = db.session.execute(
            sa.update(SelectionPick).where(SelectionPick.id == held.id, SelectionPick.status == PickStatus.HELD,
                                           SelectionPick.held_until > now)
            .values(status=PickStatus.CONFIRMED.value, confirmed_at=now, held_until=None)
            .execution_options(synchronize_session=False)).rowcount
    if confirmed != 1:
        raise ServiceError(_("Your hold ran out a moment ago. Choose a bed again."))
    group = [held]
    if held.group_id is not None:
        group = db.session.scalars(sa.select(SelectionPick).where(SelectionPick.group_id == held.group_id,
                                                                  SelectionPick.id != held.id)).all()
        members = db.session.execute(
            sa.update(SelectionPick).where(SelectionPick.group_id == held.group_id, SelectionPick.id != held.id,
                                           SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now)
            .values(status=PickStatus.CONFIRMED.value, confirmed_at=now, held_until=None)
            .execution_options(synchronize_session=False)).rowcount
        if members != len(group):
            raise ServiceError(_("Your group's hold ran out a moment ago. Choose again."))
        group = [held, *group]
    for pick in group:
        db.session.expire(pick)
    accounts = accounts_by_student(pick.student_id for pick in group)
    notify_each((accounts[pick.student_id], "selection_confirmed", {"event": event.name, "bed": pick.bed.code})
                for pick in group)
    return held


def remind_windows(now: datetime | None = None, *, ahead: timedelta = timedelta(minutes=30),
                   every: timedelta = timedelta(minutes=5)) -> int:
    """Remind each student of an open event whose own start is ``ahead`` from now; flushes only. Meant to run
    once every ``every`` (the scheduler's slot): a start is reminded by the run whose slot its "start minus
    ahead" falls in, so exactly once. Returns how many."""
    now = now or utcnow()
    due = db.session.execute(
        sa.select(SelectionParticipant, SelectionEvent.name).join(SelectionEvent)
        .where(SelectionEvent.status == EventStatus.OPEN, SelectionParticipant.opens_at > now + ahead - every,
               SelectionParticipant.opens_at <= now + ahead)).all()
    zone = campus_zone()
    accounts = accounts_by_student(taking_part.student_id for taking_part, _name in due)
    notify_each((accounts[taking_part.student_id], "selection_window_soon",
                 {"event": event_name, "time": taking_part.opens_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")})
                for taking_part, event_name in due)
    return len(due)


def cancel(event: SelectionEvent, student: Student, now: datetime | None = None) -> None:
    """Give up the student's hold (their confirmed choice stays)."""
    now = now or utcnow()
    _require_may_act(event, student, now)
    held = live_picks(event, student, now).get(PickStatus.HELD)
    if held is None:
        raise ServiceError(_("You hold no bed."))
    _refuse_if_held_by_group(event, student, now)
    _release_holds(event, student, now, [])
    db.session.expire(held)


def _end(pick: SelectionPick, status: PickStatus, now: datetime) -> None:
    db.session.execute(sa.update(SelectionPick).where(SelectionPick.id == pick.id,
                                                      SelectionPick.status.in_(LIVE))
                       .values(status=status.value, ended_at=now, held_until=None)
                       .execution_options(synchronize_session=False))
    db.session.expire(pick)


def expire_holds(event: SelectionEvent, now: datetime | None = None) -> int:
    """End every hold past its time (once: a hold already ended is left as it is). Returns how many."""
    now = now or utcnow()
    return db.session.execute(
        sa.update(SelectionPick).where(SelectionPick.event_id == event.id, SelectionPick.status == PickStatus.HELD,
                                       SelectionPick.held_until <= now)
        .values(status=PickStatus.EXPIRED.value, ended_at=now)
        .execution_options(synchronize_session=False)).rowcount


# --- checks --------------------------------------------------------------------------------------------------


def invariant_problems(event: SelectionEvent) -> list[str]:
    """What must never be, looked for in the stored picks (after a benchmark, in a test): a bed with two live
    picks, a student with two holds or two confirmed picks, a live pick of a bed not offered or reserved, a
    pick made before its chooser's start, a live pick of a bed whose resident (another student) has confirmed
    no other bed. Empty when all is well."""
    found = []
    live = SelectionPick.status.in_([s.value for s in LIVE])
    for sentence, column, statuses in (
            (_("Bed %(id)s has %(count)s live picks."), SelectionPick.bed_id, LIVE),
            (_("Student %(id)s holds %(count)s beds."), SelectionPick.student_id, (PickStatus.HELD,)),
            (_("Student %(id)s confirmed %(count)s beds."), SelectionPick.student_id, (PickStatus.CONFIRMED,))):
        for value, count in db.session.execute(
                sa.select(column, sa.func.count()).where(SelectionPick.event_id == event.id,
                                                         SelectionPick.status.in_(statuses))
                .group_by(column).having(sa.func.count() > 1)):
            found.append(sentence % {"id": value, "count": count})
    for bed_id, in db.session.execute(
            sa.select(SelectionPick.bed_id).join(SelectionOffer, sa.and_(
                SelectionOffer.event_id == SelectionPick.event_id, SelectionOffer.bed_id == SelectionPick.bed_id))
            .where(SelectionPick.event_id == event.id, live, SelectionOffer.reserved.is_(True))):
        found.append(_("Bed %(id)s is reserved, yet picked.", id=bed_id))
    for pick_id, in db.session.execute(
            sa.select(SelectionPick.id).join(SelectionParticipant, sa.and_(
                SelectionParticipant.event_id == SelectionPick.event_id,
                SelectionParticipant.student_id == sa.func.coalesce(SelectionPick.chosen_by_id,
                                                                    SelectionPick.student_id)))
            .where(SelectionPick.event_id == event.id,
                   sa.or_(SelectionParticipant.opens_at.is_(None),
                          SelectionPick.created_at < SelectionParticipant.opens_at))):
        found.append(_("Pick %(id)s was made before its chooser's start.", id=pick_id))
    for bed_id, resident_id in db.session.execute(
            sa.select(SelectionPick.bed_id, Assignment.student_id)
            .join(Assignment, sa.and_(Assignment.bed_id == SelectionPick.bed_id, Assignment.ended_at.is_(None)))
            .where(SelectionPick.event_id == event.id, live, Assignment.student_id != SelectionPick.student_id,
                   ~_confirmed_elsewhere(event, Assignment))
            .order_by(SelectionPick.bed_id)):
        found.append(_("Bed %(id)s is picked, yet student %(resident)s, who lives there, has confirmed no other bed.",
                       id=bed_id, resident=resident_id))
    return found
