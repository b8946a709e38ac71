"""Selection day for the housing office: events set up, opened, watched, closed and applied (网上选宿).

Staff change things; auditors read (core.roles); everyone else is refused. Every change is one service call
(the service records its audit entry) and one commit (core.forms.submit): a ServiceError is a flash, never a
500. The live dashboard takes a fixed number of queries however many students take part, for it reloads every
few seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import ngettext

from ..campus import services as campus
from ..campus.models import Bed, Building, Campus, Room
from ..core.clock import utcnow
from ..core.enums import Gender
from ..core.errors import ServiceError
from ..core.forms import confirmed, options, submit, words
from ..core.roles import staff_required
from ..extensions import db
from ..students.models import Student
from . import services, traffic, waiting_room
from .forms import (
    AreaForm,
    EventForm,
    NamesForm,
    OffersForm,
    ParticipantsForm,
    RehearsalForm,
    WindowForm,
    campus_time,
)
from .models import EventStatus, PickStatus, SelectionEvent, SelectionOffer, SelectionParticipant, SelectionPick

bp = Blueprint("selection_staff", __name__, url_prefix="/selection-office")

WAITING_SHOWN = 50  # students whose window opened and who have not chosen, listed on the dashboard
UNKNOWN_SHOWN = 20  # unknown student numbers named in a refusal
NUMBERS_PER_QUERY = 5000  # student numbers looked up at once (a database takes only so many parameters)


def _event_or_404(event_id: int) -> SelectionEvent:
    return db.session.get(SelectionEvent, event_id) or abort(404)


def _to_event(event_id: int):
    return redirect(url_for("selection_staff.event", event_id=event_id))


def _building_options() -> list:
    return options((b.id, f"{b.code} {b.name}") for b in campus.buildings())


def _offers_form() -> OffersForm:
    form = OffersForm()
    form.building.choices = _building_options()
    return form


def _area_form() -> AreaForm:
    form = AreaForm()
    form.building.choices = _building_options()
    return form


def _window_form() -> WindowForm:
    form = WindowForm()
    form.campus.choices = options([(0, _("Any zone")), *((c.id, f"{c.code} {c.name}") for c in db.session.scalars(
        sa.select(Campus).order_by(Campus.code)))])
    return form


# --- the list of events ---------------------------------------------------------------------------------------


@bp.get("/")
@staff_required
def index():
    participants = (sa.select(sa.func.count()).where(SelectionParticipant.event_id == SelectionEvent.id)
                    .correlate(SelectionEvent).scalar_subquery())
    chosen = (sa.select(sa.func.count()).where(SelectionPick.event_id == SelectionEvent.id,
                                               SelectionPick.status == PickStatus.CONFIRMED)
              .correlate(SelectionEvent).scalar_subquery())
    events = db.session.execute(sa.select(SelectionEvent, participants, chosen)
                                .order_by(SelectionEvent.id.desc()).limit(200)).all()
    return render_template("selection/office/index.html", events=events, form=EventForm())


@bp.post("/events")
@staff_required
def create():
    form = EventForm()

    def create_event() -> SelectionEvent:
        return services.create_event(form.name.data.strip(), closes_at=campus_time(form.closes_at),
                                     hold_seconds=form.hold_minutes.data * 60,
                                     change_limit=form.change_limit.data, roommate_names=form.roommate_names.data)

    created = submit(form, create_event, _("The event was created. Add its windows, students and beds."))
    if not created:
        return redirect(url_for("selection_staff.index"))
    return _to_event(created.result.id)


# --- one event: its set-up, or its dashboard --------------------------------------------------------------------


@bp.get("/<int:event_id>")
@staff_required
def event(event_id: int):
    event = _event_or_404(event_id)
    now = utcnow()
    shown = {"event": event, "now": now, "windows": list(event.windows), "counts": _counts(event, now)}
    if event.status == EventStatus.DRAFT:
        shown |= {"problems": _preflight(event), "offered": _offered_by_building(event),
                  "window_form": _window_form(), "participants_form": ParticipantsForm(),
                  "offers_form": _offers_form(), "area_form": _area_form(),
                  "names_form": NamesForm(roommate_names=event.roommate_names)}
    else:
        waiting, waiting_count = _waiting(event, now)
        shown |= {"beds_left": _beds_left(event, now), "waiting": waiting, "waiting_count": waiting_count,
                  "invariant": services.invariant_problems(event)}
        if event.status in (EventStatus.OPEN, EventStatus.PAUSED):
            shown |= {"traffic": traffic.last_minute(event.id), "line": waiting_room.line(event.id, now)}
    if not event.is_rehearsal:
        shown["rehearsals"] = db.session.scalars(sa.select(SelectionEvent).where(
            SelectionEvent.rehearsal_of_id == event.id).order_by(SelectionEvent.id)).all()
        shown["rehearsal_form"] = RehearsalForm()
    return render_template("selection/office/event.html", **shown)


def _preflight(event: SelectionEvent) -> list[services.Problem]:
    """What arrange() finds now, without keeping what it works out (the windows are assigned for good when the
    event opens): a page that reads changes nothing."""
    savepoint = db.session.begin_nested()
    try:
        return services.arrange(event)
    finally:
        savepoint.rollback()


@dataclass(frozen=True)
class Counts:
    participants: int
    confirmed: int
    holding: int
    offered: int
    reserved: int


def _counts(event: SelectionEvent, now: datetime) -> Counts:
    """The event's figures in one query."""
    def count(model, *where):
        return sa.select(sa.func.count()).select_from(model).where(model.event_id == event.id, *where) \
            .scalar_subquery()

    row = db.session.execute(sa.select(
        count(SelectionParticipant),
        count(SelectionPick, SelectionPick.status == PickStatus.CONFIRMED),
        count(SelectionPick, SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now),
        count(SelectionOffer), count(SelectionOffer, SelectionOffer.reserved.is_(True)))).one()
    return Counts(*row)


def _offered_by_building(event: SelectionEvent) -> list[tuple[str, int, int]]:
    """(building code, beds offered, of them reserved) while the event is set up."""
    return [tuple(row) for row in db.session.execute(
        sa.select(Building.code, sa.func.count(), sa.func.count().filter(SelectionOffer.reserved.is_(True)))
        .select_from(SelectionOffer).join(Bed, Bed.id == SelectionOffer.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id).where(SelectionOffer.event_id == event.id)
        .group_by(Building.code).order_by(Building.code))]


@dataclass(frozen=True)
class BedsLeft:
    building: str
    room_type: str
    offered: int
    left: int


def _beds_left(event: SelectionEvent, now: datetime) -> list[BedsLeft]:
    """Per building and room type: beds students may choose (offered, not reserved), and how many of them
    nobody has confirmed or holds now, nor lives in without having confirmed another bed. One grouped query."""
    taken = sa.exists().where(
        SelectionPick.event_id == event.id, SelectionPick.bed_id == SelectionOffer.bed_id,
        sa.or_(SelectionPick.status == PickStatus.CONFIRMED,
               sa.and_(SelectionPick.status == PickStatus.HELD, SelectionPick.held_until > now)))
    rows = db.session.execute(
        sa.select(Building.code, Room.room_type, sa.func.count(),
                  sa.func.count().filter(~taken, ~services.resident_stays(event, SelectionOffer.bed_id)))
        .select_from(SelectionOffer).join(Bed, Bed.id == SelectionOffer.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id)
        .where(SelectionOffer.event_id == event.id, SelectionOffer.reserved.is_(False))
        .group_by(Building.code, Room.room_type).order_by(Building.code, Room.room_type))
    return [BedsLeft(*row) for row in rows]


def _waiting(event: SelectionEvent, now: datetime) -> tuple[list[tuple[Student, datetime]], int]:
    """Students whose own start has come and who have confirmed nothing: the first few, earliest start first,
    and how many in all (two queries)."""
    not_chosen = (SelectionParticipant.event_id == event.id, SelectionParticipant.opens_at <= now,
                  ~sa.exists().where(SelectionPick.event_id == event.id,
                                     SelectionPick.student_id == SelectionParticipant.student_id,
                                     SelectionPick.status == PickStatus.CONFIRMED))
    shown = db.session.execute(
        sa.select(Student, SelectionParticipant.opens_at).join(Student, Student.id == SelectionParticipant.student_id)
        .where(*not_chosen).order_by(SelectionParticipant.opens_at, SelectionParticipant.position, Student.id)
        .limit(WAITING_SHOWN)).all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(SelectionParticipant).where(*not_chosen))
    return [tuple(row) for row in shown], total


# --- setting an event up --------------------------------------------------------------------------------------


@bp.post("/<int:event_id>/windows")
@staff_required
def add_window(event_id: int):
    event = _event_or_404(event_id)
    form = _window_form()

    def add():
        if campus_time(form.starts_at) >= event.closes_at:
            raise ServiceError(_("The window would start after the event closes (%(closes)s).",
                                 closes=format_datetime(event.closes_at, "short")))
        zone = db.session.get(Campus, form.campus.data) if form.campus.data else None
        if form.campus.data and zone is None:
            raise ServiceError(_("There is no such zone."))
        services.add_window(
            event, form.name.data.strip(), starts_at=campus_time(form.starts_at), tier=form.tier.data,
            college=(form.college.data or "").strip() or None, class_name=(form.class_name.data or "").strip() or None,
            grade=form.grade.data, gender=Gender(form.gender.data) if form.gender.data else None,
            batch_size=form.batch_size.data, batch_minutes=form.batch_minutes.data,
            campus_id=zone.id if zone else None)

    submit(form, add, _("The window was added."))
    return _to_event(event_id)


@bp.post("/<int:event_id>/participants")
@staff_required
def add_participants(event_id: int):
    event = _event_or_404(event_id)
    form = ParticipantsForm()

    def add() -> tuple[int, int]:
        if (form.numbers.data or "").strip():
            students = _students_numbered(form.numbers.data)
        else:
            students = _students_matching(form)
        added = services.add_participants(event, students, college=form.college.data or None,
                                          class_name=form.class_name.data or None, grade=form.grade.data)
        return added, len(students)

    submit(form, add, lambda result: ngettext(
        "%(num)d student added (%(given)d given; the others took part already).",
        "%(num)d students added (%(given)d given; the others took part already).", result[0], given=result[1]))
    return _to_event(event_id)


def _students_matching(form: ParticipantsForm) -> list[Student]:
    students = services.active_students(college=form.college.data.strip() if form.college.data else None,
                                        class_name=form.class_name.data.strip() if form.class_name.data else None,
                                        grade=form.grade.data or None)
    if not students:
        raise ServiceError(_("No active student is of that college, class and year."))
    return students


def _students_numbered(text: str) -> list[Student]:
    """The students a pasted list names, one number a line (a line may hold several, separated by spaces or
    commas). Any number that is nobody's refuses the whole list, naming its line, so that nothing is half
    added."""
    lines = [(number, words(line)) for number, line in enumerate(text.splitlines(), 1)]
    wanted = list(dict.fromkeys(word for _, line_words in lines for word in line_words))
    found: dict[str, Student] = {}
    for start in range(0, len(wanted), NUMBERS_PER_QUERY):
        found |= {s.student_number: s for s in db.session.scalars(
            sa.select(Student).where(Student.student_number.in_(wanted[start:start + NUMBERS_PER_QUERY])))}
    unknown = [(number, word) for number, line_words in lines for word in line_words if word not in found]
    if unknown:
        named = _("; ").join(_("line %(line)d: %(number)s", line=line, number=word)
                             for line, word in unknown[:UNKNOWN_SHOWN])
        raise ServiceError(ngettext("Nothing was added: %(num)d student number is nobody's (%(lines)s).",
                                    "Nothing was added: %(num)d student numbers are nobody's (%(lines)s).",
                                    len(unknown), lines=named))
    return [found[word] for word in wanted]


@bp.post("/<int:event_id>/offers")
@staff_required
def offer_beds(event_id: int):
    """The beds of a building, floor or rooms, free or lived in by a student taking part, offered (or
    reserved); with ``withdraw``, those offered there taken back."""
    event = _event_or_404(event_id)
    form = _offers_form()
    withdrawing = "withdraw" in request.form

    def change() -> tuple[int, int]:
        building = db.session.get(Building, form.building.data) if form.building.data else None
        if building is None:
            raise ServiceError(_("Choose a building."))
        unknown = services.unknown_rooms(building, form.room_numbers)
        if unknown:
            raise ServiceError(_("%(building)s has no room %(rooms)s.", building=building.code,
                                 rooms=", ".join(unknown)))
        place = services.OfferPlace([building.id], form.floor.data, form.room_numbers)
        if withdrawing:
            withdrawn = services.withdraw_offers(event, place)
            if not withdrawn:
                raise ServiceError(_("No bed is offered there."))
            return withdrawn, 0
        found = services.offerable_beds(event, place)
        beds = found.beds
        if not beds:
            raise ServiceError(_("No free bed in use is there, nor one a student taking part lives in."))
        services.offer_beds(event, beds, reserved=form.reserved.data, place=place)
        return len(beds), found.lived_in

    if withdrawing:
        submit(form, change, lambda result: ngettext("%(num)d bed no longer offered.",
                                                     "%(num)d beds no longer offered.", result[0]))
    else:
        submit(form, change, lambda result: _offered_message(*result)
               + (" " + _("Reserved for the office.") if form.reserved.data else ""))
    return _to_event(event_id)


def _offered_message(count: int, lived_in: int) -> str:
    if not lived_in:
        return ngettext("%(num)d free bed offered.", "%(num)d free beds offered.", count)
    return ngettext("%(num)d bed offered, %(lived_in)d of them lived in by students taking part: each is free for "
                    "others once its resident confirms another bed.",
                    "%(num)d beds offered, %(lived_in)d of them lived in by students taking part: each is free for "
                    "others once its resident confirms another bed.", count, lived_in=lived_in)


@bp.post("/<int:event_id>/areas")
@staff_required
def add_area(event_id: int):
    """A college's area: a building or one of its floors, for that college's students only."""
    event = _event_or_404(event_id)
    form = _area_form()

    def add():
        building = db.session.get(Building, form.building.data) if form.building.data else None
        if building is None:
            raise ServiceError(_("Choose a building."))
        services.add_area(event, form.college.data, building, form.floor.data)

    submit(form, add, _("The area was added."))
    return _to_event(event_id)


@bp.post("/<int:event_id>/areas/<int:area_id>/remove")
@staff_required
def remove_area(event_id: int, area_id: int):
    event = _event_or_404(event_id)
    submit(None, lambda: services.remove_area(event, area_id), _("The area was removed."))
    return _to_event(event_id)


@bp.post("/<int:event_id>/names")
@staff_required
def roommate_names(event_id: int):
    """Whether students see the names of who chose a room already."""
    event = _event_or_404(event_id)
    form = NamesForm()

    def change() -> bool:
        services.show_roommate_names(event, form.roommate_names.data)
        return event.roommate_names

    submit(form, change, lambda shown: _("Students see the names of who chose a room.") if shown
           else _("Students see the class and sleep schedule of who chose a room, not their names."))
    return _to_event(event_id)


# --- running it -----------------------------------------------------------------------------------------------


def _switch(event_id: int, change, done: str, confirm_sentence: str | None = None):
    """One step of the event's life: refused unless confirmed (when ``confirm_sentence`` asks)."""
    event = _event_or_404(event_id)
    if confirm_sentence and not confirmed(request.form, confirm_sentence):
        return _to_event(event_id)
    submit(None, lambda: change(event), done)
    return _to_event(event_id)


def open_sentence() -> str:
    return _("Students may choose from their window on; the set-up can no longer change.")


@bp.post("/<int:event_id>/open")
@staff_required
def open_event(event_id: int):
    return _switch(event_id, services.open_event, _("The selection is open."),
                   open_sentence())


@bp.post("/<int:event_id>/pause")
@staff_required
def pause(event_id: int):
    return _switch(event_id, services.pause,
                   _("The selection is paused: nobody may act until it resumes."))


@bp.post("/<int:event_id>/resume")
@staff_required
def resume(event_id: int):
    return _switch(event_id, services.resume,
                   _("The selection goes on; every window not yet open moved on by the pause."))


@bp.post("/<int:event_id>/close")
@staff_required
def close(event_id: int):
    return _switch(event_id, services.close,
                   _("The selection is closed: confirmed choices stand, holds ended."),
                   _("Nobody may choose any more; holds not confirmed end."))


@bp.post("/<int:event_id>/apply")
@staff_required
def apply(event_id: int):
    event = _event_or_404(event_id)
    if not confirmed(request.form, _("Every confirmed choice becomes its student's bed, all at once.")):
        return _to_event(event_id)

    submit(None, lambda: services.apply_choices(event), lambda moves: ngettext("Applied: %(num)d student changed bed.",
                                                       "Applied: %(num)d students changed bed.", moves))
    return _to_event(event_id)


@bp.post("/<int:event_id>/place-the-rest")
@staff_required
def place_the_rest(event_id: int):
    """An allocation run for who did not choose, in the beds nobody took; its proposal is reviewed there."""
    event = _event_or_404(event_id)
    started = submit(None, lambda: services.place_the_rest(event), _("An allocation run places who did not choose; review its proposal."))
    if started:
        return redirect(url_for("allocation.run", run_id=started.result.id))
    return _to_event(event_id)


@bp.post("/<int:event_id>/rehearse")
@staff_required
def rehearse(event_id: int):
    event = _event_or_404(event_id)
    form = RehearsalForm()

    def make() -> SelectionEvent:
        return services.rehearse(event, starts_at=campus_time(form.starts_at), closes_at=campus_time(form.closes_at))

    made = submit(form, make, _("A rehearsal was made: open it when the students are told."))
    return _to_event(made.result.id if made else event_id)


@bp.post("/<int:event_id>/discard")
@staff_required
def discard(event_id: int):
    event = _event_or_404(event_id)
    if not confirmed(request.form, _("The rehearsal and everything chosen in it are thrown away.")):
        return _to_event(event_id)
    real_id = event.rehearsal_of_id
    if not submit(None, lambda: services.discard(event), _("The rehearsal was thrown away.")):
        return _to_event(event_id)
    return _to_event(real_id) if real_id else redirect(url_for("selection_staff.index"))
