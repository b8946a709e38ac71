"""Asking, answering and withdrawing room change requests. Services flush; the caller commits."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from .. import audit
from ..notifications import accounts_of, notify
from ..campus.codes import find_room
from ..campus.models import Bed, Building, Room
from ..core.clock import utcnow
from ..core.database import conflict_on_duplicate
from ..core.enums import RequestKind, StudentStatus
from ..core.errors import ServiceError
from ..core.forms import row_id
from ..extensions import db
from ..residence import services as residence
from ..residence.models import Assignment, current_assignment_alias
from ..students.models import RoommateRequest, Student
from ..students.services import find_by_number
from .models import (
    LIVE_STATUSES,
    ChangeKind,
    ChangeStatus,
    RoomChangeChoice,
    RoomChangeRequest,
)

MAX_CHOICES = 5
# The answer the asker of a swap is told.
SWAP_AGREED = _l("agreed; the swap waits for the housing office's next requests round")
SWAP_DECLINED = _l("declined; you may ask someone else")


@dataclass
class Choice:
    """One ranked place a student would move to, as typed: a building id, a room code or a room type."""

    target: str  # "building", "room" or "type"
    value: str


def live_request_of(student: Student) -> RoomChangeRequest | None:
    """The student's own request still in play, if any."""
    return db.session.scalar(sa.select(RoomChangeRequest).where(
        RoomChangeRequest.student_id == student.id, RoomChangeRequest.status.in_(LIVE_STATUSES)))


def agreed_swap_of(student: Student) -> RoomChangeRequest | None:
    """A swap another student asked for and this one agreed to, waiting for the round."""
    return db.session.scalar(sa.select(RoomChangeRequest).where(
        RoomChangeRequest.partner_id == student.id, RoomChangeRequest.status == ChangeStatus.OPEN))


def _live_swap_naming(student: Student) -> RoomChangeRequest | None:
    return db.session.scalar(sa.select(RoomChangeRequest).where(
        RoomChangeRequest.partner_id == student.id, RoomChangeRequest.status.in_(LIVE_STATUSES)))


def swap_offers_to(student: Student) -> list[tuple[RoomChangeRequest, Assignment | None]]:
    """Swaps other students asked of this one, still waiting for an answer, with the bed on offer: one query."""
    their_bed, is_theirs = current_assignment_alias()
    return [tuple(row) for row in db.session.execute(
        sa.select(RoomChangeRequest, their_bed)
        .join(Student, Student.id == RoomChangeRequest.student_id)
        .outerjoin(their_bed, is_theirs)
        .options(contains_eager(RoomChangeRequest.student),
                 joinedload(their_bed.bed).joinedload(Bed.room).joinedload(Room.building))
        .where(RoomChangeRequest.partner_id == student.id, RoomChangeRequest.status == ChangeStatus.AWAITING_PARTNER)
        .order_by(RoomChangeRequest.id))]


def live_among(requests: list[RoomChangeRequest], student: Student) -> RoomChangeRequest | None:
    """Of the student's requests (``requests_of``), the one in play: their own live request, else a swap they
    agreed to that waits for the round (as ``live_request_of`` or ``agreed_swap_of`` would find)."""
    return (next((r for r in requests if r.student_id == student.id and r.status in LIVE_STATUSES), None)
            or next((r for r in requests if r.partner_id == student.id and r.status == ChangeStatus.OPEN), None))


def requests_of(student: Student) -> list[RoomChangeRequest]:
    """Every request the student made or agreed to, newest first."""
    return list(db.session.scalars(
        sa.select(RoomChangeRequest)
        .options(joinedload(RoomChangeRequest.student), joinedload(RoomChangeRequest.partner),
                 selectinload(RoomChangeRequest.choices).joinedload(RoomChangeChoice.building),
                 selectinload(RoomChangeRequest.choices).joinedload(RoomChangeChoice.room).joinedload(Room.building))
        .where(sa.or_(RoomChangeRequest.student_id == student.id,
                      sa.and_(RoomChangeRequest.partner_id == student.id,
                              RoomChangeRequest.status != ChangeStatus.AWAITING_PARTNER)))
        .order_by(RoomChangeRequest.id.desc())))


def _require_free_to_ask(student: Student) -> Assignment:
    if student.status != StudentStatus.ACTIVE:
        raise ServiceError(_("%(student)s is %(status)s, not active.",
                             student=student.display, status=student.status.label))
    current = residence.current_assignment(student)
    if current is None:
        raise ServiceError(_("%(student)s has no bed to change; the housing office assigns one.",
                             student=student.display))
    if live_request_of(student) is not None:
        raise ServiceError(_("%(student)s already has a request waiting; withdraw it first.",
                             student=student.display))
    if _live_swap_naming(student) is not None:
        raise ServiceError(_("%(student)s is part of a swap another student asked for; answer or withdraw "
                             "that first.", student=student.display))
    return current


def _store(request: RoomChangeRequest) -> RoomChangeRequest:
    # The same form sent twice at once: the partial unique index.
    with conflict_on_duplicate(_("%(student)s already has a request waiting; withdraw it first.",
                                 student=request.student.display)):
        db.session.add(request)
    return request


def ask_to_move(student: Student, choices: list[Choice], reason: str) -> RoomChangeRequest:
    """A move to the first of the ranked places where a bed can be had; each checked now, by row."""
    current = _require_free_to_ask(student)
    if not choices:
        raise ServiceError(_("Name at least one building, room or room type."))
    if len(choices) > MAX_CHOICES:
        raise ServiceError(_("At most %(count)d choices.", count=MAX_CHOICES))
    if not reason.strip():
        raise ServiceError(_("Give a reason."))
    rows, problems, seen = [], [], set()
    for rank, choice in enumerate(choices, start=1):
        try:
            row = _resolve(choice, student, current.bed.room)
        except ServiceError as error:
            problems.append(_("Choice %(rank)d: %(problem)s", rank=rank, problem=error))
            continue
        key = (row.building and row.building.id, row.room and row.room.id, row.room_type)
        if key in seen:
            problems.append(_("Choice %(rank)d: named twice.", rank=rank))
            continue
        seen.add(key)
        row.rank = len(rows) + 1
        rows.append(row)
    if problems:
        raise ServiceError(" ".join(problems))
    request = _store(RoomChangeRequest(student=student, kind=ChangeKind.MOVE, status=ChangeStatus.OPEN,
                                       reason=reason.strip(), choices=rows, student_bed_id=current.bed_id))
    audit.record("roomchange.ask", student=student, kind=ChangeKind.MOVE.value, request=request.id)
    return request


def _resolve(choice: Choice, student: Student, own_room: Room) -> RoomChangeChoice:
    """A typed choice as a stored one, refused if no room in it could ever take the student."""
    if choice.target == "building":
        building = db.session.get(Building, number) if (number := row_id(choice.value)) is not None else None
        if building is None:
            raise ServiceError(_("there is no such building."))
        rooms = [room for room in building.rooms if room.id != own_room.id]
        stored = RoomChangeChoice(building=building)
    elif choice.target == "room":
        room = find_room(choice.value)
        if room is None:
            raise ServiceError(_("there is no room %(code)s (write it as building-number, e.g. A1-203).",
                                 code=choice.value))
        if room.id == own_room.id:
            raise ServiceError(_("%(room)s is your own room.", room=room.code))
        rooms, stored = [room], RoomChangeChoice(room=room)
    elif choice.target == "type":
        rooms = list(db.session.scalars(sa.select(Room).where(Room.room_type == choice.value, Room.id != own_room.id)))
        if not rooms:
            raise ServiceError(_("there is no room of type %(type)s.", type=choice.value))
        stored = RoomChangeChoice(room_type=choice.value)
    else:
        raise ServiceError(_("choose a building, a room or a room type."))
    if not any(room.is_open and room.capacity and not residence.residency_problems(student, room) for room in rooms):
        raise ServiceError(_("no open room there can house you (gender or accessibility)."))
    return stored


def ask_to_swap(student: Student, partner_number: str, reason: str, *, discreet: bool = False) -> RoomChangeRequest:
    """A swap of beds with a named student, who must confirm it.

    ``discreet`` (a student asking): refusals never tell anything about the
    named student that the asker could not see anyway.
    """
    current = _require_free_to_ask(student)
    partner = find_by_number(partner_number)
    unavailable = _("Student number %(number)s cannot be named for a swap.", number=partner_number)
    # Each rule the asker can see for themselves gets its own answer; the rest (status, a private need,
    # someone's "do not room with", a request waiting) stays one answer to a student.
    if partner is not None and partner.id == student.id:
        raise ServiceError(_("You cannot swap with yourself."))
    if partner is not None and partner.gender != student.gender:
        raise ServiceError(_("Swaps are only between students of the same gender.") if discreet else
                           _("%(other)s cannot swap with %(student)s (gender or status).",
                             other=partner.display, student=student.display))
    if partner is None or partner.status != StudentStatus.ACTIVE:
        raise ServiceError(unavailable if discreet or partner is None else
                           _("%(other)s cannot swap with %(student)s (gender or status).",
                             other=partner.display, student=student.display))
    theirs = residence.current_assignment(partner)
    if theirs is not None and theirs.bed.room_id == current.bed.room_id:
        raise ServiceError(_("Student number %(number)s lives in your own room: a swap would change nothing.",
                             number=partner_number) if discreet else
                           _("%(other)s has no bed in another room.", other=partner.display))
    if theirs is None:
        raise ServiceError(unavailable if discreet else
                           _("%(other)s has no bed in another room.", other=partner.display))
    if live_request_of(partner) is not None or _live_swap_naming(partner) is not None:
        raise ServiceError(unavailable if discreet else
                           _("%(other)s already has a request waiting.", other=partner.display))
    problems = swap_problems(student, partner, current, theirs)
    if problems:  # to a student, the same answer as for anyone else who cannot be named
        raise ServiceError(unavailable if discreet else " ".join(problems))
    if not reason.strip():
        raise ServiceError(_("Give a reason."))
    request = _store(RoomChangeRequest(student=student, kind=ChangeKind.SWAP, partner=partner,
                                       status=ChangeStatus.AWAITING_PARTNER, reason=reason.strip(),
                                       student_bed_id=current.bed_id))
    audit.record("roomchange.ask", student=student, kind=ChangeKind.SWAP.value, request=request.id,
                 partner=partner.display)
    notify(accounts_of([partner]), "swap_requested", student=student.display, room=current.bed.room.code)
    return request


def swap_problems(a: Student, b: Student, a_now, b_now) -> list[str]:
    """What forbids a and b trading beds: each room's rules, and "do not room with" either way."""
    problems = [message for _field, message in residence.residency_problems(a, b_now.bed.room)]
    problems += [message for _field, message in residence.residency_problems(b, a_now.bed.room)]
    for student, room, leaving in ((a, b_now.bed.room, b), (b, a_now.bed.room, a)):
        others = [o.id for o in residence.occupants_of(room) if o.id != leaving.id]
        if others and db.session.scalar(sa.select(sa.func.count()).select_from(RoommateRequest).where(
                RoommateRequest.kind == RequestKind.AVOID, sa.or_(
                    sa.and_(RoommateRequest.student_id == student.id, RoommateRequest.other_id.in_(others)),
                    sa.and_(RoommateRequest.other_id == student.id, RoommateRequest.student_id.in_(others))))):
            problems.append(_("%(student)s must not share %(room)s with someone living there.",
                              student=student.display, room=room.code))
    return problems


def answer_swap(partner: Student, request_id: int, *, accept: bool) -> RoomChangeRequest:
    """The named student says yes (the swap goes to the next round, for the two beds as they are now) or no."""
    request = db.session.get(RoomChangeRequest, request_id, with_for_update=True)
    if request is None or request.partner_id != partner.id or request.status != ChangeStatus.AWAITING_PARTNER:
        raise ServiceError(_("There is no such swap waiting for your answer."))
    if accept:
        if live_request_of(partner) is not None or agreed_swap_of(partner) is not None:
            raise ServiceError(_("You have another request waiting; withdraw it first."))
        theirs = residence.current_assignment(partner)
        if theirs is None:
            raise ServiceError(_("You have no bed to swap."))
        request.partner_bed_id = theirs.bed_id
    # Agreed to another swap at the same moment: the partial unique index.
    with conflict_on_duplicate(_("You have another request waiting; withdraw it first.")):
        request.status = ChangeStatus.OPEN if accept else ChangeStatus.DECLINED
        request.partner_answered_at = utcnow()
    audit.record("roomchange.answer", student=partner, request=request.id, accepted=accept,
                 asker=request.student.display)
    _tell_asker(request, agreed=accept)
    return request


def withdraw(request_id: int, *, by: Student | None) -> RoomChangeRequest:
    """The asker, the swap partner (``by``) or staff (``by`` None) call a live request off."""
    request = db.session.get(RoomChangeRequest, request_id, with_for_update=True)
    if request is None or (by is not None and by.id not in (request.student_id, request.partner_id)):
        raise ServiceError(_("There is no such request."))
    if not request.is_live:
        raise ServiceError(_("This request is %(status)s; it can no longer be withdrawn.",
                             status=request.status.label.lower()))
    # The named student calling off a swap they never agreed to is declining it.
    declining = by is not None and by.id == request.partner_id and request.status == ChangeStatus.AWAITING_PARTNER
    request.status = ChangeStatus.DECLINED if declining else ChangeStatus.WITHDRAWN
    db.session.flush()
    audit.record("roomchange.withdraw", student=request.student, request=request.id)
    if declining:
        _tell_asker(request, agreed=False)
    return request


def _tell_asker(request: RoomChangeRequest, *, agreed: bool) -> None:
    notify(accounts_of([request.student]), "swap_answered", student=request.partner.display,
           answer=SWAP_AGREED if agreed else SWAP_DECLINED)


def search_requests(*, status: str | None = None, kind: str | None = None, page: int = 1,
                    per_page: int = 50) -> tuple[list[RoomChangeRequest], int]:
    """Every request, for staff, newest first, with who and what in the same queries."""
    query = sa.select(RoomChangeRequest)
    if status:
        query = query.where(RoomChangeRequest.status == ChangeStatus(status))
    if kind:
        query = query.where(RoomChangeRequest.kind == ChangeKind(kind))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(joinedload(RoomChangeRequest.student), joinedload(RoomChangeRequest.partner),
                      selectinload(RoomChangeRequest.choices).joinedload(RoomChangeChoice.building),
                      selectinload(RoomChangeRequest.choices).joinedload(RoomChangeChoice.room)
                      .joinedload(Room.building))
        .order_by(RoomChangeRequest.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total
