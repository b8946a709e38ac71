"""The student's selection pages (网上选宿), phone-first: their events, their window and a countdown, where beds
are free for them per building and floor and one floor's rooms and beds, and their hold and confirmed choice.

The same services, waiting room and claim limit as the JSON API (api.py); every refusal is the service's
sentence, flashed, never a 500. The event page reads a fixed number of queries however many beds are offered
(tests/test_selection_pages.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from ..campus.models import Bed
from ..core.clock import utcnow
from ..core.enums import Role
from ..core.errors import ServiceError
from ..core.forms import row_id, submit
from ..core.roles import roles_required
from ..extensions import db
from ..students.models import Student
from . import services, traffic
from .api import claims_limited
from .models import EventStatus, PickStatus, SelectionEvent, SelectionParticipant, SelectionPick

bp = Blueprint("selection", __name__, url_prefix="/selection")
traffic.record_requests(bp)


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
    """A room of the floor shown, its beds the student may hold, and who chose a bed in it already."""
    room_id: int
    code: str
    room_type: str
    beds: list[services.FreeBed] = field(default_factory=list)
    choosers: list[services.Chooser] = field(default_factory=list)

    @property
    def fits_a_group(self) -> bool:
        return len(self.beds) > 1


@dataclass(frozen=True)
class FloorLink:
    """A building's floor with beds free for the student, to go to."""
    building: str
    floor: int
    free: int
    shown: bool


def _one_floor(event: SelectionEvent, student: Student, now: datetime, building: str | None,
               floor: int | None) -> tuple[list[FloorLink], list[RoomChoice]]:
    """Where beds are free for the student (per building and floor), and one floor's rooms: the one asked for
    if it has free beds, else the first. A few queries, however many beds: a phone never gets the whole list."""
    free = services.free_by_floor(event, student, now)
    if not free:
        return [], []
    places = [(code, number) for code, number, _count in free]
    shown = (building, floor) if (building, floor) in places else places[0]
    links = [FloorLink(code, number, count, (code, number) == shown) for code, number, count in free]
    beds = services.available_beds(event, student, now, building=shown[0], floor=shown[1])
    choosers = services.choosers(event, student, list({bed.room_id for bed in beds}), now)
    rooms: list[RoomChoice] = []
    for bed in beds:  # in room and bed order already
        if not rooms or rooms[-1].room_id != bed.room_id:
            rooms.append(RoomChoice(bed.room_id, f"{bed.building}-{bed.room}", bed.room_type,
                                    choosers=choosers.get(bed.room_id, [])))
        rooms[-1].beds.append(bed)
    return links, rooms


@bp.get("/<int:event_id>", endpoint="event")
@roles_required(Role.STUDENT)
def event_page(event_id: int):
    now = utcnow()
    if current_user.student_id is not None and (waiting := services.still_in_line(event_id, current_user.student_id,
                                                                                   now)):
        # Still waiting in line: the page from the kept event alone (the refreshes of a cohort arriving at once).
        return render_template(
            "selection/event.html", event=waiting.event, now=now, opens_at=waiting.opens_at,
            refusal=services.waiting_message(waiting.place), seconds_in_line=waiting.place.seconds)
    student, event = _me(), _event(event_id)
    taking_part = services.participant(event, student)
    refused, place = services.standing(event, taking_part, now)
    picks = services.live_picks(event, student, now) if taking_part else {}
    opens_at = taking_part.opens_at if taking_part else None
    # No countdown while paused: resuming moves the window on by the pause.
    waiting = opens_at is not None and now < opens_at and event.status in (EventStatus.OPEN, EventStatus.DRAFT)
    links, rooms = (_one_floor(event, student, now, request.args.get("building"),
                               request.args.get("floor", type=int)) if refused is None else ([], []))
    # A resident whose bed is offered is told what choosing does to it (home_bed is kept with their scope; the
    # bed itself is read only for a resident).
    home = services.home_bed(event, student) if taking_part and event.status != EventStatus.CLOSED else None
    return render_template(
        "selection/event.html", event=event, taking_part=taking_part, refusal=refused, now=now,
        opens_at=opens_at, countdown=countdown(now, opens_at) if waiting else None,
        seconds_to_open=int((opens_at - now).total_seconds()) + 1 if waiting else None,
        seconds_in_line=place.seconds if place is not None and not place.admitted else None,
        held=picks.get(PickStatus.HELD), confirmed=picks.get(PickStatus.CONFIRMED),
        changes_left=max(0, event.change_limit - taking_part.changes_used) if taking_part else 0,
        floors=links, rooms=rooms, home=db.session.get(Bed, home) if home is not None else None,
        # Roommates who want each other may take one room together (not once this student holds or chose).
        group=services.group_of(event, student, now) if refused is None and not picks else [])


def _bed_id() -> int:
    bed_id = row_id(request.form.get("bed_id"))
    if not bed_id:
        raise ServiceError(_("Choose a bed from the list."))
    return bed_id


def _back(event_id: int):
    """To the event page, on the floor the form was sent from."""
    building, floor = request.form.get("building", "")[:32], row_id(request.form.get("floor"))
    if building and floor is not None:
        return redirect(url_for("selection.event", event_id=event_id, building=building, floor=floor))
    return redirect(url_for("selection.event", event_id=event_id))


def _held_message(pick: SelectionPick) -> str:
    return _("Bed %(bed)s is kept for you until %(time)s. Confirm it to make it yours.",
             bed=pick.bed.code, time=format_datetime(pick.held_until, "short"))


@bp.post("/<int:event_id>/hold")
@roles_required(Role.STUDENT)
@claims_limited
def hold(event_id: int):
    student, event = _me(), _event(event_id)
    submit(None, lambda: services.hold(event, student, _bed_id()), _held_message)
    return _back(event_id)


@bp.post("/<int:event_id>/hold-group")
@roles_required(Role.STUDENT)
@claims_limited
def hold_group(event_id: int):
    """A bed of one room for the student and each roommate ticked, all or none."""
    student, event = _me(), _event(event_id)

    def hold():
        room_id = row_id(request.form.get("room_id"))
        members = [row_id(value) for value in request.form.getlist("member")[:20]]
        if not room_id or not members or None in members:
            raise ServiceError(_("Choose a room and at least one roommate."))
        return services.hold_group(event, student, room_id, members)[0]

    submit(None, hold, lambda pick: _("A bed of room %(room)s is kept for each of you until %(time)s. Confirm to "
                                      "make them yours.", room=pick.bed.room.code,
                                      time=format_datetime(pick.held_until, "short")))
    return _back(event_id)


@bp.post("/<int:event_id>/confirm")
@roles_required(Role.STUDENT)
@claims_limited
def confirm(event_id: int):
    student, event = _me(), _event(event_id)
    submit(None, lambda: services.confirm(event, student),
           lambda pick: _("Bed %(bed)s is yours.", bed=pick.bed.code))
    return redirect(url_for("selection.event", event_id=event_id))


@bp.post("/<int:event_id>/cancel")
@roles_required(Role.STUDENT)
@claims_limited
def cancel(event_id: int):
    student, event = _me(), _event(event_id)
    submit(None, lambda: services.cancel(event, student), _("You gave the bed up; it is free for others again."))
    return redirect(url_for("selection.event", event_id=event_id))
