"""The student's selection pages (网上选宿), phone-first: their events, their window and a countdown, the beds
they may hold now by building, floor and room, and their hold and confirmed choice.

The same services as the JSON API (api.py); every refusal is the service's sentence, flashed, never a 500. The
event page reads a fixed number of queries however many beds are offered (tests/test_selection_pages.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from ..campus.models import Bed, Building, Floor, Room
from ..core.clock import utcnow
from ..core.enums import Role
from ..core.errors import ServiceError
from ..core.forms import row_id, submit
from ..core.roles import roles_required
from ..extensions import db
from ..students.models import Student
from . import services
from .models import EventStatus, PickStatus, SelectionEvent, SelectionParticipant, SelectionPick

bp = Blueprint("selection", __name__, url_prefix="/selection")


def _me() -> Student:
    if current_user.student_id is None:  # a student's account not (yet) tied to a student record
        abort(403)
    return db.session.get(Student, current_user.student_id)


def _event(event_id: int) -> SelectionEvent:
    event = db.session.get(SelectionEvent, event_id)
    if event is None:
        abort(404)
    return event


def student_events(student: Student) -> list[SelectionEvent]:
    """The events ``student`` takes part in that are under way or about to be: open, paused, or still being set
    up but with their window already given; the most recent first. A closed one is reached by its address."""
    return list(db.session.scalars(
        sa.select(SelectionEvent).join(SelectionParticipant, SelectionParticipant.event_id == SelectionEvent.id)
        .where(SelectionParticipant.student_id == student.id,
               sa.or_(SelectionEvent.status.in_([EventStatus.OPEN, EventStatus.PAUSED]),
                      sa.and_(SelectionEvent.status == EventStatus.DRAFT,
                              SelectionParticipant.opens_at.is_not(None))))
        .order_by(SelectionEvent.created_at.desc(), SelectionEvent.id.desc())))


@bp.get("/")
@roles_required(Role.STUDENT)
def index():
    events = student_events(_me())
    if len(events) == 1:
        return redirect(url_for("selection.event", event_id=events[0].id))
    return render_template("selection/index.html", events=events)


def countdown(now: datetime, opens_at: datetime) -> str:
    """How long until the student's window opens, in words (the page's script keeps a clock beside it)."""
    minutes = int((opens_at - now).total_seconds() + 59) // 60  # rounded up: "in 1 minute" until it opens
    if minutes <= 1:
        return _("Your window opens in less than a minute.")
    if minutes < 120:
        return ngettext("Your window opens in %(num)d minute.", "Your window opens in %(num)d minutes.", minutes)
    hours = minutes // 60
    if hours < 48:
        return ngettext("Your window opens in %(num)d hour.", "Your window opens in %(num)d hours.", hours)
    return ngettext("Your window opens in %(num)d day.", "Your window opens in %(num)d days.", hours // 24)


@dataclass
class RoomChoice:
    """A room with beds the student may hold, and who chose a bed in it already (their class and sleep only)."""
    room: Room
    beds: list[Bed] = field(default_factory=list)
    choosers: list[tuple[str, object]] = field(default_factory=list)  # (class name, Lifestyle or None)


@dataclass
class FloorChoice:
    floor: Floor
    rooms: list[RoomChoice] = field(default_factory=list)


@dataclass
class BuildingChoice:
    building: Building
    floors: list[FloorChoice] = field(default_factory=list)

    @property
    def bed_count(self) -> int:
        return sum(len(room.beds) for floor in self.floors for room in floor.rooms)


def _choosers(event: SelectionEvent, student: Student, room_ids: list[int], now: datetime) -> dict[int, list]:
    """{room id: [(class name, lifestyle)]} of the other students holding or having confirmed a bed there, in
    one query. Names are never shown: a student chooses by the room, not by who is in it."""
    if not room_ids:
        return {}
    rows = db.session.execute(
        sa.select(Bed.room_id, Student.class_name, Student.lifestyle)
        .select_from(SelectionPick).join(Bed, Bed.id == SelectionPick.bed_id)
        .join(Student, Student.id == SelectionPick.student_id)
        .where(SelectionPick.event_id == event.id, SelectionPick.student_id != student.id,
               Bed.room_id.in_(room_ids),
               sa.or_(SelectionPick.status == PickStatus.CONFIRMED,
                      sa.and_(SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now)))
        .order_by(Bed.room_id, Bed.label))
    found: dict[int, list] = {}
    for room_id, class_name, lifestyle in rows:
        found.setdefault(room_id, []).append((class_name, lifestyle))
    return found


def _grouped(event: SelectionEvent, student: Student, now: datetime) -> list[BuildingChoice]:
    """The beds the student may hold now, building → floor → room, in three queries whatever their number."""
    beds = services.available_beds(event, student, now)  # rooms and buildings loaded with them
    floors = {floor.id: floor for floor in db.session.scalars(
        sa.select(Floor).where(Floor.id.in_({bed.room.floor_id for bed in beds})))} if beds else {}
    choosers = _choosers(event, student, list({bed.room_id for bed in beds}), now)
    buildings: list[BuildingChoice] = []
    for bed in beds:  # in building, floor, room and bed order already
        room = bed.room
        if not buildings or buildings[-1].building.id != room.building_id:
            buildings.append(BuildingChoice(room.building))
        building = buildings[-1]
        if not building.floors or building.floors[-1].floor.id != room.floor_id:
            building.floors.append(FloorChoice(floors[room.floor_id]))
        floor = building.floors[-1]
        if not floor.rooms or floor.rooms[-1].room.id != room.id:
            floor.rooms.append(RoomChoice(room, choosers=choosers.get(room.id, [])))
        floor.rooms[-1].beds.append(bed)
    return buildings


@bp.get("/<int:event_id>", endpoint="event")
@roles_required(Role.STUDENT)
def event_page(event_id: int):
    student, event = _me(), _event(event_id)
    now = utcnow()
    taking_part = services.participant(event, student)
    refused = services.refusal(event, taking_part, now)
    picks = services.live_picks(event, student, now) if taking_part else {}
    opens_at = taking_part.opens_at if taking_part else None
    # No countdown while paused: resuming moves the window on by the pause.
    waiting = opens_at is not None and now < opens_at and event.status in (EventStatus.OPEN, EventStatus.DRAFT)
    return render_template(
        "selection/event.html", event=event, taking_part=taking_part, refusal=refused, now=now,
        opens_at=opens_at, countdown=countdown(now, opens_at) if waiting else None,
        seconds_to_open=int((opens_at - now).total_seconds()) + 1 if waiting else None,
        held=picks.get(PickStatus.HELD), confirmed=picks.get(PickStatus.CONFIRMED),
        changes_left=max(0, event.change_limit - taking_part.changes_used) if taking_part else 0,
        buildings=_grouped(event, student, now) if refused is None else [])


def _bed_id() -> int:
    bed_id = row_id(request.form.get("bed_id"))
    if not bed_id:
        raise ServiceError(_("Choose a bed from the list."))
    return bed_id


def _held_message(pick: SelectionPick) -> str:
    return _("Bed %(bed)s is kept for you until %(time)s. Confirm it to make it yours.",
             bed=pick.bed.code, time=format_datetime(pick.held_until, "short"))


@bp.post("/<int:event_id>/hold")
@roles_required(Role.STUDENT)
def hold(event_id: int):
    student, event = _me(), _event(event_id)
    submit(None, lambda: services.hold(event, student, _bed_id()), _held_message)
    return redirect(url_for("selection.event", event_id=event_id))


@bp.post("/<int:event_id>/confirm")
@roles_required(Role.STUDENT)
def confirm(event_id: int):
    student, event = _me(), _event(event_id)
    submit(None, lambda: services.confirm(event, student),
           lambda pick: _("Bed %(bed)s is yours.", bed=pick.bed.code))
    return redirect(url_for("selection.event", event_id=event_id))


@bp.post("/<int:event_id>/cancel")
@roles_required(Role.STUDENT)
def cancel(event_id: int):
    student, event = _me(), _event(event_id)
    submit(None, lambda: services.cancel(event, student), _("You gave the bed up; it is free for others again."))
    return redirect(url_for("selection.event", event_id=event_id))
