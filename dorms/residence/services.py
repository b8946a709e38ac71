"""Assign, move and vacate. Services change the session and flush; the caller commits."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from .. import audit
from ..campus.models import Bed, Room
from ..core.clock import campus_zone, utcnow
from ..core.database import conflict_on_duplicate
from ..core.enums import Gender, StudentStatus
from ..core.errors import ServiceError
from ..extensions import db
from ..students.models import Student, Term
from .models import Assignment, select_current_beds
from .occupancy import occupied_bed_ids


# --- the leaving rule ------------------------------------------------------------------------------------------
#
# Whatever ends or changes a current assignment (move, vacate, relocate: the student page, an allocation run or
# requests round, an import) passes through one rule about what else must happen. Residence cannot know what
# that is: check-in lives in a feature above it (keys, condition reports). So the rule is installed from above
# at app start (checkin.init_app); residence only calls it, before any assignment ends and after the new ones
# exist. Without one installed, nothing else happens.


class MustCheckOut(ServiceError):
    """Refused by the leaving rule: ``students`` are checked in and must check out at the desk first.

    ``reasons`` says it of each student alone (by student id), for a row of a file.
    """

    def __init__(self, message: str, students: list[Student], reasons: dict[int, str] | None = None):
        super().__init__(message)
        self.students = students
        self.reasons = reasons or {}


@dataclass
class Departure:
    """A current assignment about to end: for a move (``moving``, maybe to ``to_bed``) or for good."""

    assignment: Assignment
    moving: bool
    to_bed: Bed | None = None
    returning: Assignment | None = None  # restoring: the earlier assignment the student goes back to


@dataclass
class Arrival:
    """A new assignment, after ``leaving`` ended (a move) or ``returning`` is being put back (a restore)."""

    assignment: Assignment
    leaving: Assignment | None = None
    returning: Assignment | None = None


class LeavingRule:
    """The rule's two moments. ``before`` refuses (raising, e.g. MustCheckOut, with nothing changed) or does
    what must go with the departures, returning what ``after`` needs; ``after`` follows up on the arrivals."""

    def before(self, departures: list[Departure], *, reason: str, actor, restoring: bool):
        return None

    def after(self, token, arrivals: list[Arrival], *, reason: str, actor, restoring: bool) -> None:
        return None


_rule: LeavingRule = LeavingRule()


def install_leaving_rule(rule: LeavingRule) -> None:
    global _rule
    _rule = rule


def leaving_rule() -> LeavingRule:
    return _rule


def current_assignment(student: Student) -> Assignment | None:
    return db.session.scalar(
        select_current_beds(Assignment)
        .options(contains_eager(Assignment.bed).contains_eager(Bed.room).contains_eager(Room.building))
        .where(Assignment.student_id == student.id)
    )


def current_occupant(bed: Bed) -> Student | None:
    return db.session.scalar(select_current_beds(Student).where(Assignment.bed_id == bed.id))


def history(student: Student) -> list[Assignment]:
    """The student's assignments, latest first, with their beds (the current one among them)."""
    return list(
        db.session.scalars(
            sa.select(Assignment)
            .options(joinedload(Assignment.bed).joinedload(Bed.room).joinedload(Room.building))
            .where(Assignment.student_id == student.id)
            .order_by(Assignment.started_at.desc(), Assignment.id.desc())
        )
    )


def term_at(moment) -> Term | None:
    """The academic term running at ``moment`` (by the campus calendar date), if any."""
    day = moment.astimezone(campus_zone()).date()
    return db.session.scalar(
        sa.select(Term).where(Term.starts_on <= day, Term.ends_on >= day).order_by(Term.starts_on.desc()).limit(1)
    )


def room_gender(room: Room, *, ignoring: Student | None = None) -> Gender | None:
    """The gender a room houses now: its own, its building's, or its occupants'."""
    if room.declared_gender is not None:
        return room.declared_gender
    query = select_current_beds(Student.gender).where(Bed.room_id == room.id).limit(1)
    if ignoring is not None:
        query = query.where(Student.id != ignoring.id)
    return db.session.scalar(query)


def placement_problems(student: Student, bed: Bed, *, occupant_may_leave: bool = False) -> list[str]:
    """Every rule that forbids putting ``student`` in ``bed``, as messages. ``occupant_may_leave``: someone
    living in the bed is the caller's to judge (selection day: a resident's bed is free once they chose
    another, to be left before anyone arrives)."""
    room = bed.room
    problems = []
    if student.status != StudentStatus.ACTIVE:
        problems.append(_("%(student)s is %(status)s, not active.",
                          student=student.display, status=student.status.label))
    if not bed.active:
        problems.append(_("Bed %(bed)s is out of use.", bed=bed.code))
    if not room.is_open:
        problems.append(_("Room %(room)s is closed.", room=room.code))
    problems.extend(message for _field, message in residency_problems(student, room))
    occupant = None if occupant_may_leave else current_occupant(bed)
    if occupant is not None and occupant.id != student.id:
        problems.append(_("Bed %(bed)s is already taken by %(occupant)s.",
                          bed=bed.code, occupant=occupant.display))
    return problems


def residency_problems(student: Student, room: Room) -> list[tuple[str, str]]:
    """What forbids ``student`` living in ``room`` at all, as (student field, message).

    Also checked for residents who stay when their own record changes.
    """
    problems = []
    gender = room_gender(room, ignoring=student)
    if gender is not None and gender != student.gender:
        problems.append(("gender", _("Room %(room)s houses %(room_gender)s students; %(student)s is %(gender)s.",
                                     room=room.code, room_gender=gender.label.lower(),
                                     student=student.display, gender=student.gender.label.lower())))
    if student.needs_accessible and not room.accessible:
        problems.append(("needs_accessible", _("%(student)s needs an accessible room; %(room)s is not one.",
                                               student=student.display, room=room.code)))
    return problems


def _require_placeable(student: Student, bed: Bed) -> None:
    problems = placement_problems(student, bed)
    if problems:
        raise ServiceError(" ".join(problems))


def _claiming(student: Student, bed: Bed):
    """Around a change of assignments: the unique indexes catch what a concurrent request did since our checks."""
    student_placed = _("%(student)s was given a bed by someone else just now; reload and try again.",
                       student=student.display)
    bed_taken = _("Bed %(bed)s was taken by someone else just now; choose another bed.", bed=bed.code)
    return conflict_on_duplicate(
        lambda key: student_placed if "uq_assignments_current_student" in key or "student_id" in key else bed_taken,
        busy=_("Someone else is changing room assignments right now; try again in a moment."))


def assign(student: Student, bed: Bed, *, reason: str, actor=None, term: Term | None = None) -> Assignment:
    """Put a student without a bed into ``bed``."""
    existing = current_assignment(student)
    if existing is not None:
        raise ServiceError(_("%(student)s already lives in %(bed)s; move them instead.",
                             student=student.display, bed=existing.bed.code))
    _require_placeable(student, bed)
    term = term or term_at(utcnow())
    with _claiming(student, bed):
        assignment = start_assignment(student, bed, reason=reason, actor=actor, term=term)
    return assignment


def move(student: Student, bed: Bed, *, reason: str, actor=None, term: Term | None = None) -> Assignment:
    """End the student's current assignment and start one in ``bed``, as one change (under the leaving rule)."""
    existing = current_assignment(student)
    if existing is None:
        raise ServiceError(_("%(student)s has no bed to move from; assign one instead.",
                             student=student.display))
    if existing.bed_id == bed.id:
        raise ServiceError(_("%(student)s already lives in %(bed)s.", student=student.display, bed=bed.code))
    _require_placeable(student, bed)
    term = term or term_at(utcnow())
    rule = leaving_rule()
    token = rule.before([Departure(existing, moving=True, to_bed=bed)], reason=reason, actor=actor, restoring=False)
    end_assignment(existing, reason=reason, actor=actor)
    # The old row must be closed in the database before the new one can exist.
    db.session.flush()
    with _claiming(student, bed):
        assignment = start_assignment(student, bed, reason=reason, actor=actor, term=term, from_bed=existing.bed)
    rule.after(token, [Arrival(assignment, leaving=existing)], reason=reason, actor=actor, restoring=False)
    return assignment


def place(student: Student, bed: Bed, *, reason: str, actor=None) -> Assignment:
    """Put ``student`` in ``bed``: an assignment if they have no bed, else a move."""
    if current_assignment(student) is None:
        return assign(student, bed, reason=reason, actor=actor)
    return move(student, bed, reason=reason, actor=actor)


def vacate(student: Student, *, reason: str, actor=None) -> Assignment:
    existing = current_assignment(student)
    if existing is None:
        raise ServiceError(_("%(student)s has no bed.", student=student.display))
    leaving_rule().before([Departure(existing, moving=False)], reason=reason, actor=actor, restoring=False)
    end_assignment(existing, reason=reason, actor=actor)
    db.session.flush()
    audit.record("assignment.vacate", student=student, room=existing.bed.room, reason=reason,
                 actor=actor, bed=existing.bed.code)
    return existing


def start_assignment(student: Student, bed: Bed, *, reason: str, actor=None, term: Term | None = None,
                     from_bed: Bed | None = None) -> Assignment:
    """Open an assignment and log it; rules are the caller's to check first.

    With ``from_bed`` it is logged as a move (the caller ended that one).
    """
    actor = actor or audit.current_actor()
    now = utcnow()
    assignment = Assignment(student=student, bed=bed, term=term or term_at(now), started_at=now,
                            start_reason=reason, started_by=actor)
    db.session.add(assignment)
    if from_bed is None:
        audit.record("assignment.assign", student=student, room=bed.room, reason=reason, actor=actor,
                     bed=bed.code)
    else:
        audit.record("assignment.move", student=student, room=bed.room, reason=reason, actor=actor,
                     bed=bed.code, from_bed=from_bed.code)
    return assignment


def end_assignment(assignment: Assignment, *, reason: str, actor=None) -> None:
    """Close the row; move(), vacate() and relocate() call it under the leaving rule, nothing else should."""
    assignment.ended_at = utcnow()
    assignment.end_reason = reason
    assignment.ended_by = actor or audit.current_actor()


@dataclass
class Relocation:
    """One student's part in a change of several at once (see relocate())."""

    student: Student
    leaving: Assignment | None  # ended before anyone arrives
    to_bed: Bed | None = None
    to_room: Room | None = None  # any free bed of this room, once named beds are taken
    assignment: Assignment | None = None  # the new one, when it worked
    problems: list[str] = field(default_factory=list)
    returning: Assignment | None = None  # when restoring: the earlier assignment this one puts back


def relocate(relocations: list[Relocation], *, reason: str, actor=None, restoring: bool = False) -> list[Relocation]:
    """Several students change bed as one change: everyone leaving goes first, then everyone arrives.

    So beds can change hands, even around a cycle (A takes B's, B takes A's).
    Each arrival is checked like a single assignment; what a rule refuses is
    left in ``problems`` (the caller decides whether that aborts the whole
    change). A relocation with neither bed nor room only vacates. When
    ``restoring`` (undoing an earlier change) people go back where they were
    even if that room has since closed; the bed must still be free and the
    room still of their gender.

    The leaving rule sees every departure before any assignment ends, so a
    refusal names everyone it concerns and nothing has changed.
    """
    rule = leaving_rule()
    token = rule.before([Departure(r.leaving, moving=r.to_bed is not None or r.to_room is not None,
                                   to_bed=r.to_bed, returning=r.returning)
                         for r in relocations if r.leaving is not None],
                        reason=reason, actor=actor, restoring=restoring)
    for r in relocations:
        if r.leaving is not None:
            end_assignment(r.leaving, reason=reason, actor=actor)
            if r.to_bed is None and r.to_room is None:
                audit.record("assignment.vacate", student=r.student, room=r.leaving.bed.room, reason=reason,
                             actor=actor, bed=r.leaving.bed.code)
    db.session.flush()
    for r in sorted(relocations, key=lambda r: r.to_bed is None):
        bed = r.to_bed or (first_free_bed(r.to_room) if r.to_room is not None else None)
        if bed is None:
            if r.to_room is not None:
                r.problems.append(_("Room %(room)s is over capacity: all %(capacity)d beds are taken.",
                                    room=r.to_room.code, capacity=r.to_room.capacity))
            continue
        if restoring:
            occupant = current_occupant(bed)
            if occupant is not None and occupant.id != r.student.id:
                r.problems = [_("Bed %(bed)s is already taken by %(occupant)s.", bed=bed.code,
                                occupant=occupant.display)]
            # Whatever else changed, a room never houses two genders.
            r.problems += [p for field, p in residency_problems(r.student, bed.room) if field == "gender"]
        else:
            r.problems = placement_problems(r.student, bed)
        if r.problems:
            continue
        r.assignment = start_assignment(r.student, bed, reason=reason, actor=actor,
                                        from_bed=r.leaving.bed if r.leaving else None)
        db.session.flush()
    rule.after(token, [Arrival(r.assignment, leaving=r.leaving, returning=r.returning)
                       for r in relocations if r.assignment is not None],
               reason=reason, actor=actor, restoring=restoring)
    return relocations


def first_free_bed(room: Room) -> Bed | None:
    taken = occupied_bed_ids([bed.id for bed in room.active_beds])
    return next((bed for bed in room.active_beds if bed.id not in taken), None)


def occupants_of(room: Room) -> list[Student]:
    return [assignment.student for assignment in occupants_by_bed([room]).values()]


def occupants_by_bed(rooms: list[Room]) -> dict[int, Assignment]:
    """Current assignments of the given rooms' beds, keyed by bed id, in one query."""
    room_ids = [room.id for room in rooms]
    if not room_ids:
        return {}
    rows = db.session.scalars(
        select_current_beds(Assignment)
        .options(contains_eager(Assignment.student))
        .where(Bed.room_id.in_(room_ids))
    )
    return {assignment.bed_id: assignment for assignment in rows}
