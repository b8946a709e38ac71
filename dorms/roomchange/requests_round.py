"""A requests round: open swap and move requests met as one exchange of beds.

Reads the campus once, turns each request into the beds its student may
take (best first), lets ``solver.exchange`` find the trades, and checks
the result as a whole: two people who arrive in the same room in one round
must still share a gender and not have asked never to room together. A
trade that breaks that loses the later request's claim on that bed, and the
exchange runs again (each pass removes a claim, so it ends).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from ..campus.models import Room
from ..core.clock import utcnow
from ..core.database import conflict_on_duplicate
from ..core.enums import Gender, RequestKind, StudentStatus
from ..core.errors import Conflict
from ..extensions import db
from ..notifications import accounts_by_student, notify_each
from ..residence.models import Assignment, select_current_beds
from ..solver.exchange import Applicant, exchange, pairs_only_moved
from ..students import roommate_requests
from ..students.models import Student
from .models import ChangeKind, ChangeOutcome, ChangeStatus, RoomChangeRequest


@dataclass
class Proposal:
    moves: list[tuple[int, int, int]] = field(default_factory=list)  # (student id, from bed id, to bed id)
    outcomes: dict[int, ChangeOutcome] = field(default_factory=dict)  # request id -> outcome
    stats: dict[str, int] = field(default_factory=dict)
    beds: dict[int, int] = field(default_factory=dict)  # student id -> bed id, as the round read the campus


@dataclass
class _Campus:
    """Who lives where, read once for the whole round."""

    rooms: dict[int, Room]
    room_of_bed: dict[int, int]
    holder: dict[int, int]  # bed id -> student id
    bed_of: dict[int, int]  # student id -> bed id
    gender: dict[int, Gender]  # student id -> gender, for everyone housed
    occupants: dict[int, set[int]]  # room id -> student ids
    avoid: dict[int, set[int]]  # both directions: "do not room with" binds whoever is named too
    by_building: dict[int, list[Room]] = field(default_factory=dict)  # in building code and number order
    by_type: dict[str, list[Room]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> _Campus:
        rooms = {room.id: room for room in db.session.scalars(
            sa.select(Room).options(selectinload(Room.beds), joinedload(Room.building)).order_by(Room.id))}
        room_of_bed = {bed.id: room.id for room in rooms.values() for bed in room.beds}
        holder, bed_of, gender = {}, {}, {}
        occupants: dict[int, set[int]] = defaultdict(set)
        for student_id, bed_id, student_gender in db.session.execute(
                select_current_beds(Assignment.student_id, Assignment.bed_id, Student.gender)):
            holder[bed_id], bed_of[student_id], gender[student_id] = student_id, bed_id, student_gender
            occupants[room_of_bed[bed_id]].add(student_id)
        avoid: dict[int, set[int]] = defaultdict(set)
        for student_id, kinds in roommate_requests.all_requests().items():
            for other_id in kinds[RequestKind.AVOID]:
                avoid[student_id].add(other_id)
                avoid[other_id].add(student_id)
        by_building: dict[int, list[Room]] = defaultdict(list)
        by_type: dict[str, list[Room]] = defaultdict(list)
        for room in sorted(rooms.values(), key=lambda r: (r.building.code, r.number)):
            by_building[room.building_id].append(room)
            by_type[room.room_type].append(room)
        return cls(rooms, room_of_bed, holder, bed_of, gender, occupants, avoid, by_building, by_type)

    def rooms_of(self, choice) -> list[Room]:
        """The rooms a move choice names, in building and number order."""
        if choice.building_id is not None:
            return self.by_building.get(choice.building_id, [])
        if choice.room_type is not None:
            return self.by_type.get(choice.room_type, [])
        return [self.rooms[choice.room_id]] if choice.room_id in self.rooms else []

    def free_beds(self) -> list[int]:
        return [bed.id for room in self.rooms.values() if room.is_open
                for bed in room.beds if bed.active and bed.id not in self.holder]

    def may_take(self, student: Student, bed_id: int) -> bool:
        """The student could live in this bed if its holder left and nobody else moved."""
        room = self.rooms[self.room_of_bed[bed_id]]
        bed = next(b for b in room.beds if b.id == bed_id)
        if not bed.active or not room.is_open or self.room_of_bed.get(self.bed_of.get(student.id)) == room.id:
            return False
        if student.needs_accessible and not room.accessible:
            return False
        others = self.occupants[room.id] - {self.holder.get(bed_id)}
        declared = room.declared_gender
        if declared is not None and declared != student.gender:
            return False
        if declared is None and any(self.gender[o] != student.gender for o in others):
            return False
        return not (others & self.avoid.get(student.id, set()))


def open_requests() -> list[RoomChangeRequest]:
    """In priority order: first asked, first served."""
    return list(db.session.scalars(
        sa.select(RoomChangeRequest)
        .options(joinedload(RoomChangeRequest.student), joinedload(RoomChangeRequest.partner),
                 selectinload(RoomChangeRequest.choices))
        .where(RoomChangeRequest.status == ChangeStatus.OPEN)
        .order_by(RoomChangeRequest.created_at, RoomChangeRequest.id)))


def propose(locked_student_ids: set[int] = frozenset()) -> Proposal:
    campus = _Campus.load()
    requests = open_requests()
    proposal = Proposal(beds=campus.bed_of)
    # Who takes part: the asker, and a swap's partner, each with the request they are in.
    entrants: list[tuple[Student, RoomChangeRequest]] = []
    entered: set[int] = set()
    for request in requests:
        why_not = _why_left_out(campus, request, entered, locked_student_ids)
        if why_not is not None:
            proposal.outcomes[request.id] = why_not
            continue
        people = _people(request)
        entrants.extend((person, request) for person in people)
        entered.update(p.id for p in people)

    free = campus.free_beds()
    in_play = set(free) | {campus.bed_of[s.id] for s, _r in entrants}
    wants = {student.id: _wanted_beds(campus, student, request, in_play) for student, request in entrants}
    banned: set[tuple[int, int]] = set()
    priority = {student.id: n for n, (student, _r) in enumerate(entrants)}
    while True:
        applicants = [Applicant(str(s.id), str(campus.bed_of[s.id]),
                                [str(b) for b in wants[s.id] if (s.id, b) not in banned]) for s, _r in entrants]
        outcome = exchange(applicants, [str(b) for b in free])
        clash = _first_clash(campus, {int(a): int(b) for a, b in outcome.beds.items() if b is not None}, priority)
        if clash is None:
            break
        banned.add(clash)

    moved = {int(a): int(b) for a, b in outcome.beds.items() if b is not None and int(b) != campus.bed_of[int(a)]}
    proposal.moves = [(student.id, campus.bed_of[student.id], moved[student.id])
                      for student, _r in entrants if student.id in moved]
    for request in requests:
        if request.id in proposal.outcomes:
            continue
        people = _people(request)
        if all(p.id in moved for p in people):
            proposal.outcomes[request.id] = ChangeOutcome.GRANTED
        elif request.kind == ChangeKind.MOVE and _lives_in_a_choice(campus, request):
            proposal.outcomes[request.id] = ChangeOutcome.ALREADY_THERE
        elif any(not _wanted_beds(campus, p, request, None) for p in people):
            proposal.outcomes[request.id] = ChangeOutcome.NO_ELIGIBLE_BED
        else:
            proposal.outcomes[request.id] = ChangeOutcome.TAKEN
    lengths = [len(cycle) for cycle in outcome.cycles]
    by_pairs = {int(a) for a in pairs_only_moved(applicants, [str(b) for b in free])}
    proposal.stats = {
        "requests": len(requests),
        "granted": sum(1 for o in proposal.outcomes.values() if o == ChangeOutcome.GRANTED),
        "students_moved": len(moved),
        "pairs_only_requests": sum(1 for request in requests
                                   if all(p.id in entered and p.id in by_pairs for p in _people(request))),
        "pairs_only_students": len(by_pairs),
        "trades": len(lengths),
        "longest_trade": max(lengths, default=0),
    }
    return proposal


def _people(request: RoomChangeRequest) -> list[Student]:
    return [request.student] + ([request.partner] if request.kind == ChangeKind.SWAP else [])


def _why_left_out(campus: _Campus, request: RoomChangeRequest, entered: set[int],
                  locked_student_ids: set[int]) -> ChangeOutcome | None:
    """Why a request cannot take part in the round at all (None: it takes part)."""
    asker = request.student
    if any(p.id in entered for p in _people(request)):  # already in an earlier request of this round
        return ChangeOutcome.IN_ANOTHER
    if asker.id not in campus.bed_of:
        return ChangeOutcome.NO_BED
    if asker.status != StudentStatus.ACTIVE:
        return ChangeOutcome.NOT_ACTIVE
    if request.kind == ChangeKind.SWAP:
        # A swap is of the two beds it was agreed for; anything else needs a new agreement.
        partner = request.partner
        if (partner.status != StudentStatus.ACTIVE or campus.bed_of.get(partner.id) != request.partner_bed_id
                or campus.bed_of[asker.id] != request.student_bed_id):
            return ChangeOutcome.SWAP_CHANGED
    if any(p.id in locked_student_ids for p in _people(request)):
        return ChangeOutcome.LOCKED
    return None


def _lives_in_a_choice(campus: _Campus, request: RoomChangeRequest) -> bool:
    own_room = campus.room_of_bed[campus.bed_of[request.student_id]]
    return any(room.id == own_room for choice in request.choices for room in campus.rooms_of(choice))


def _wanted_beds(campus: _Campus, student: Student, request: RoomChangeRequest,
                 in_play: set[int] | None) -> list[int]:
    """Beds the student may take, best first; only those that can change hands this round (``in_play``, or all)."""
    if request.kind == ChangeKind.SWAP:
        other = request.partner if student.id == request.student_id else request.student
        bed = campus.bed_of[other.id]
        return [bed] if campus.may_take(student, bed) else []
    beds: list[int] = []
    own_room = campus.room_of_bed[campus.bed_of[student.id]]
    for choice in request.choices:
        rooms = campus.rooms_of(choice)
        if any(room.id == own_room for room in rooms):
            break  # already where this choice would put them: nothing ranked lower is better than staying
        candidates = [bed.id for room in rooms for bed in room.beds
                      if (in_play is None or bed.id in in_play) and bed.id not in beds
                      and campus.may_take(student, bed.id)]
        # Within one choice the student does not mind which bed: free ones first, so chains end early.
        beds += sorted(candidates, key=lambda b: b in campus.holder)
    return beds


def _first_clash(campus: _Campus, final_beds: dict[int, int], priority: dict[int, int]) -> tuple[int, int] | None:
    """(student, bed) to take out of play when the round's result puts two who must not meet in one room."""
    arrivals: dict[int, list[int]] = defaultdict(list)
    occupants = {room_id: set(ids) for room_id, ids in campus.occupants.items()}
    for student_id, bed_id in final_beds.items():
        old_room, new_room = campus.room_of_bed[campus.bed_of[student_id]], campus.room_of_bed[bed_id]
        if old_room != new_room:
            occupants[old_room].discard(student_id)
            occupants.setdefault(new_room, set()).add(student_id)
            arrivals[new_room].append(student_id)
    for room_id in sorted(arrivals):
        everyone = occupants[room_id]
        for arriving in sorted(arrivals[room_id], key=priority.get, reverse=True):  # latest asker gives way
            mixed = campus.rooms[room_id].declared_gender is None and any(
                campus.gender[o] != campus.gender[arriving] for o in everyone)
            if mixed or everyone & campus.avoid.get(arriving, set()):
                return arriving, final_beds[arriving]
    return None


# --- what a round does to the requests when it is applied or rolled back ----------------------


def requests_changed_since(outcomes: dict[str, str]) -> list[str]:
    """Requests of the round no longer open (withdrawn, or decided elsewhere): the round is stale.

    Locks the round's requests until the transaction ends, so a withdrawal cannot slip in before settle().
    """
    ids = [int(i) for i in outcomes]
    requests = db.session.scalars(sa.select(RoomChangeRequest).options(joinedload(RoomChangeRequest.student))
                                  .where(RoomChangeRequest.id.in_(ids)).order_by(RoomChangeRequest.id)
                                  .with_for_update(of=RoomChangeRequest)).all()
    return [_("request #%(id)d (%(student)s) is now %(status)s", id=r.id, student=r.student.display,
              status=r.status.label.lower()) for r in requests if r.status != ChangeStatus.OPEN]


def settle(run_id: int, outcomes: dict[str, str]) -> None:
    """Students see the outcome once the round is applied; only requests still open are decided."""
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for request_id, value in outcomes.items():
        by_outcome[value].append(int(request_id))
    for value, ids in by_outcome.items():
        outcome = ChangeOutcome(value)
        status = ChangeStatus.GRANTED if outcome == ChangeOutcome.GRANTED else ChangeStatus.NOT_GRANTED
        decided = db.session.execute(
            sa.update(RoomChangeRequest)
            .where(RoomChangeRequest.id.in_(ids), RoomChangeRequest.status == ChangeStatus.OPEN)
            .values(status=status, outcome=outcome, decided_run_id=run_id, updated_at=utcnow()))
        if decided.rowcount != len(ids):
            raise Conflict(_("A request of this round changed while it was being applied; run the round again."))
    _tell_outcomes(run_id)


def _tell_outcomes(run_id: int) -> None:
    """Each student of a decided request (both of a swap) is told the outcome and why."""
    decided = db.session.scalars(
        sa.select(RoomChangeRequest).where(RoomChangeRequest.decided_run_id == run_id).order_by(RoomChangeRequest.id)
        .execution_options(populate_existing=True)).all()
    accounts = accounts_by_student(i for r in decided for i in (r.student_id, r.partner_id))
    notify_each(([*accounts[request.student_id], *accounts[request.partner_id]], "round_outcome",
                 {"request": request.id, "status": request.status.lazy_label, "reason": request.outcome.lazy_label})
                for request in decided)


def reopen(run_id: int) -> None:
    """A rolled-back round's requests wait again; where a student has asked anew since, the newer one counts.

    A granted request that cannot wait again is closed as rolled back.
    """
    decided = list(db.session.scalars(sa.select(RoomChangeRequest).where(RoomChangeRequest.decided_run_id == run_id)
                                      .with_for_update()))
    people = {p for r in decided for p in (r.student_id, r.partner_id) if p is not None}
    busy = set()
    for student_id, partner_id, status in db.session.execute(
            sa.select(RoomChangeRequest.student_id, RoomChangeRequest.partner_id, RoomChangeRequest.status)
            .where(RoomChangeRequest.status.in_([ChangeStatus.OPEN, ChangeStatus.AWAITING_PARTNER]),
                   sa.or_(RoomChangeRequest.student_id.in_(people), RoomChangeRequest.partner_id.in_(people)))):
        busy.add(student_id)
        if status == ChangeStatus.OPEN and partner_id is not None:
            busy.add(partner_id)
    # A student who asks again at this very moment meets the partial unique index.
    with conflict_on_duplicate(_("A student of this round asked for a change just now; try the rollback again.")):
        for request in decided:
            if {request.student_id, request.partner_id} & busy:
                if request.status == ChangeStatus.GRANTED:
                    request.status, request.outcome = ChangeStatus.NOT_GRANTED, ChangeOutcome.ROLLED_BACK
                continue
            request.status, request.outcome, request.decided_run_id = ChangeStatus.OPEN, None, None


def proposed_outcomes(outcomes: dict[str, str]) -> list[tuple[RoomChangeRequest, ChangeOutcome]]:
    """A round's requests with what it proposes for each, oldest first, for the run page."""
    requests = db.session.scalars(
        sa.select(RoomChangeRequest).options(joinedload(RoomChangeRequest.student), joinedload(RoomChangeRequest.partner))
        .where(RoomChangeRequest.id.in_([int(i) for i in outcomes])).order_by(RoomChangeRequest.id))
    return [(request, ChangeOutcome(outcomes[str(request.id)])) for request in requests]
