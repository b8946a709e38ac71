"""Allocation runs in the app: read the campus, solve in another process, propose, apply, roll back.

Services change the session and flush; the request or command commits.
"""
from __future__ import annotations

import os
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from .. import audit, jobs
from ..campus.models import Bed, Room
from ..core.clock import utcnow
from ..core.database import is_postgresql
from ..core.enums import RequestKind, StudentStatus
from ..core.errors import ServiceError
from ..extensions import db
from ..residence import services as residence
from ..residence.models import Assignment, select_current_beds
from ..roomchange import requests_round
from ..solver.pipeline import solve
from ..solver.problem import Instance, score
from ..solver.problem import Room as ProblemRoom
from ..solver.problem import Student as ProblemStudent
from ..students import roommate_requests
from ..students.models import RoommateRequest, Student
from .models import AllocationMove, AllocationRun, MoveReason, RunMode, RunStatus

# --- reading the campus ----------------------------------------------------------------


def _rooms_in_scope(run: AllocationRun) -> list[Room]:
    query = sa.select(Room).options(selectinload(Room.beds), joinedload(Room.building), joinedload(Room.floor))
    if run.building_ids:
        query = query.where(Room.building_id.in_(run.building_ids))
    return list(db.session.scalars(query.order_by(Room.id)))


def _current_beds() -> dict[int, Assignment]:
    rows = db.session.scalars(select_current_beds(Assignment).options(contains_eager(Assignment.bed)))
    return {a.student_id: a for a in rows}


def _usable_beds(run: AllocationRun, current: dict[int, Assignment]):
    """Whether a bed counts for the run: any, or, for a run limited to some beds, those and the taken ones
    (a resident's bed stays theirs)."""
    if not run.bed_ids:
        return lambda bed: True
    allowed = set(run.bed_ids) | {a.bed_id for a in current.values()}
    return lambda bed: bed.id in allowed


def build_instance(run: AllocationRun) -> tuple[Instance, dict[str, int], list[Student]]:
    """The run's campus as a solver Instance; also {student id: bed id} now and the inactive residents."""
    rooms = _rooms_in_scope(run)
    room_ids = {room.id for room in rooms}
    current = _current_beds()
    usable = _usable_beds(run, current)
    problem_rooms = [
        ProblemRoom(id=str(room.id), building=room.building.code, floor=room.floor.number,
                    capacity=len([bed for bed in room.active_beds if usable(bed)]) if room.is_open else 0,
                    gender=room.declared_gender.value if room.declared_gender else None,
                    accessible=room.accessible, tier=room.room_type)
        for room in rooms
    ]
    students = list(db.session.scalars(sa.select(Student).order_by(Student.student_number)))
    wishes = roommate_requests.all_requests()
    preferences = roommate_requests.all_preferences()
    locked = set(run.locked_student_ids or [])
    problem_students, snapshot, inactive, staying_inactive = [], {}, [], []
    for student in students:
        assignment = current.get(student.id)
        in_scope = assignment is not None and assignment.bed.room_id in room_ids
        if assignment is not None:
            snapshot[str(student.id)] = assignment.bed_id
        if assignment is not None and not in_scope:
            continue  # lives elsewhere on campus: not this run's business
        chosen = run.in_student_scope(student)
        if not chosen and not in_scope:
            continue  # outside the run's students and without a bed here: not placed
        if student.status != StudentStatus.ACTIVE:
            if in_scope:  # a reallocation frees the beds of its inactive students; anyone else keeps theirs
                (inactive if run.mode == RunMode.REALLOCATION and chosen else staying_inactive).append(student)
            continue
        problem_students.append(ProblemStudent(
            id=str(student.id), gender=student.gender.value, class_=student.class_name,
            college=student.college, needs_accessible=student.needs_accessible,
            current_room=str(assignment.bed.room_id) if in_scope else None,
            locked=in_scope and (run.mode == RunMode.INTAKE or student.id in locked or not chosen),
            roommates=[str(o) for o in wishes.get(student.id, {}).get(RequestKind.WANT, [])],
            avoid=[str(o) for o in wishes.get(student.id, {}).get(RequestKind.AVOID, [])],
            lifestyle=student.lifestyle.value if student.lifestyle else None,
            preferences=preferences.get(student.id, []),
        ))
    if staying_inactive:
        # Inactive residents the run leaves alone keep their beds until staff act: those beds are
        # not free, and the room keeps their gender.
        held: dict[int, list[Student]] = defaultdict(list)
        for student in staying_inactive:
            if current[student.id].bed.active:
                held[current[student.id].bed.room_id].append(student)
        problem_rooms = [ProblemRoom(**{**room.__dict__,
                                        "capacity": max(0, room.capacity - len(held[int(room.id)])),
                                        "gender": room.gender or (held[int(room.id)][0].gender.value
                                                                  if held[int(room.id)] else None)})
                         for room in problem_rooms]
    locked_room = {s.id: s.current_room for s in problem_students if s.locked}
    for s in problem_students:
        if s.id in locked_room:
            s.avoid = [o for o in s.avoid if locked_room.get(o) != locked_room[s.id]]
    return Instance(problem_rooms, problem_students, dict(run.weights or {})), snapshot, inactive


# --- running --------------------------------------------------------------------------


def create_run(*, mode: RunMode, building_ids: list[int], time_limit: int, seed: int = 0, actor=None,
               weights: dict[str, int] | None = None, locked_numbers: list[str] = (),
               student_scope: dict | None = None, bed_ids: list[int] = ()) -> AllocationRun:
    locked = dict(db.session.execute(sa.select(Student.student_number, Student.id)
                                     .where(Student.student_number.in_(list(locked_numbers)))).all())
    unknown = [n for n in locked_numbers if n not in locked]
    if unknown:
        raise ServiceError(_("No student has the number %(number)s.", number=", ".join(unknown)))
    for other in db.session.scalars(sa.select(AllocationRun).where(
            AllocationRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))):
        if not _gone_silent(other):
            raise ServiceError(_("Another allocation run is still going; wait for it or cancel it."))
        other.status, other.finished_at = RunStatus.FAILED, utcnow()
        other.error = _("The solver stopped without finishing (see its job's log).")
        if other.job is not None:  # it must not start later and bring the run back
            jobs.end_early(other.job, jobs.JobStatus.FAILED, other.error)
    if mode == RunMode.REQUESTS:
        building_ids, weights, student_scope = [], {}, {}  # requests name their own places; nothing to weigh
    scope = {kind: sorted(set(values)) for kind, values in (student_scope or {}).items() if values}
    run = AllocationRun(mode=mode, building_ids=sorted(building_ids), time_limit=time_limit, seed=seed,
                        weights=dict(weights or {}), locked_student_ids=sorted(set(locked.values())),
                        student_scope=scope, bed_ids=sorted(set(bed_ids)),
                        created_by=actor or audit.current_actor())
    db.session.add(run)
    db.session.flush()
    audit.record("allocation.create", run=run.id, mode=mode.value)
    return run


def _gone_silent(run: AllocationRun) -> bool:
    """A run whose job has ended lost its solver (the job failed when its worker died). A run with no job (from
    before jobs) is judged by age: far past its time limit, it lost its process."""
    if run.job is not None:
        return run.job.is_finished
    began = run.started_at or run.created_at
    return (utcnow() - began).total_seconds() > 2 * run.time_limit + 300


def bed_changes(run: AllocationRun) -> int:
    """How many students applying (or rolling back) the run moves: every line of the proposal but the unplaced."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(AllocationMove).where(
        AllocationMove.run_id == run.id, AllocationMove.reason != MoveReason.UNPLACED.value))


def locked_numbers(run: AllocationRun) -> list[str]:
    return list(db.session.scalars(sa.select(Student.student_number)
                                   .where(Student.id.in_(run.locked_student_ids or [])).order_by(Student.student_number)))


def rerun(run: AllocationRun, actor=None, *, locked: list[str] | None = None) -> AllocationRun:
    """The same run again (scope, weights, locks), on the campus as it is now; ``locked`` replaces the locks."""
    numbers = locked_numbers(run) if locked is None else list(dict.fromkeys(locked))
    return create_run(mode=run.mode, building_ids=list(run.building_ids or []), time_limit=run.time_limit,
                      seed=run.seed, weights=run.weights, locked_numbers=numbers, actor=actor,
                      student_scope=run.student_scope, bed_ids=list(run.bed_ids or []))


def start_job(run: AllocationRun) -> None:
    """Solve in a worker: it can be cancelled, and cannot take the web server down. Runs once the caller commits."""
    run.job = jobs.enqueue("allocation.run", {"run": run.id})


def cancel_run(run: AllocationRun) -> None:
    if not run.is_active:
        raise ServiceError(_("This run is not running."))
    if run.job is not None and run.job.is_active:
        # The solver's next progress report sees it; nothing it found is kept. The job's on_stop marks the run,
        # or refuses if the proposal was stored first.
        jobs.cancel(run.job)
        db.session.refresh(run)
    elif db.session.execute(sa.update(AllocationRun).where(
            AllocationRun.id == run.id, AllocationRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING))).values(
            status=RunStatus.CANCELLED, finished_at=utcnow())).rowcount != 1:
        raise ServiceError(_("This run is not running."))
    audit.record("allocation.cancel", run=run.id)


def execute_run(run_id: int, report=None) -> AllocationRun:
    """The solver's job: read, solve (reporting progress, also to ``report(percent, stage)``), store the
    proposal. Commits as it goes; the proposal commits in one transaction."""
    run = db.session.get(AllocationRun, run_id)
    if run is None or run.status != RunStatus.QUEUED:
        raise ServiceError(f"run {run_id} is not queued")
    run.status, run.started_at, run.stage, run.pid = RunStatus.RUNNING, utcnow(), "reading", os.getpid()
    db.session.commit()
    try:
        if is_postgresql():  # read the whole campus as of one moment
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        if run.mode == RunMode.REQUESTS:
            _propose_requests_round(run)
        else:
            _propose_allocation(run, report)
        run.stage, run.progress, run.finished_at = "done", 1.0, utcnow()
        db.session.flush()
        # A cancel from the page may have come in meanwhile: it wins.
        finished = db.session.execute(sa.update(AllocationRun).where(
            AllocationRun.id == run.id, AllocationRun.status == RunStatus.RUNNING).values(status=RunStatus.DONE))
        if finished.rowcount != 1:
            raise _Cancelled
        db.session.commit()
        db.session.refresh(run)
    except _Cancelled:
        db.session.rollback()
    except Exception as error:  # the run page must say why, whatever broke
        db.session.rollback()
        failed = db.session.execute(sa.update(AllocationRun).where(
            AllocationRun.id == run.id, AllocationRun.status == RunStatus.RUNNING).values(
            status=RunStatus.FAILED, error=f"{type(error).__name__}: {error}", finished_at=utcnow()))
        db.session.commit()
        if failed.rowcount == 1:
            raise
        # Cancelled meanwhile: what broke was the run's own write meeting the cancel (a serialization failure
        # of its REPEATABLE READ transaction), and the cancel stands.
        db.session.refresh(run)
    return run


def _propose_allocation(run: AllocationRun, report=None) -> None:
    instance, snapshot, inactive = build_instance(run)

    def progress(stage: str, fraction: float) -> None:
        # A cancel from the web page wins: stop writing.
        db.session.refresh(run, ["status"])
        if run.status == RunStatus.CANCELLED:
            raise _Cancelled
        run.stage, run.progress = stage, round(fraction, 3)
        db.session.commit()
        if report:
            report(round(fraction * 100), stage)

    solution = solve(instance, time_limit=run.time_limit, seed=run.seed, progress=progress,
                     work_rate=current_app.config.get("ALLOCATION_WORK_RATE"), cancelled=_cancel_check(run.id))
    current = {s.id: s.current_room for s in instance.students if s.current_room}
    run.snapshot = snapshot
    run.objective, run.greedy_objective = solution.objective, solution.greedy_objective
    now = score(instance, current) if current else None
    run.current_objective = now.objective if now else None
    run.bound, run.terms = solution.bound, solution.terms
    # The counts behind the weighted terms (students, moves, rooms), which is what the page shows.
    counts = {"proposal": solution.counts, "greedy": solution.greedy_counts, **({"current": now.counts} if now else {})}
    run.baseline_terms = {"greedy": solution.greedy_terms, **({"current": now.terms} if now else {}), "counts": counts}
    run.explanations = [finding.as_dict() for finding in solution.explanations]
    _store_moves(run, instance, solution.assignments, inactive)


def _propose_requests_round(run: AllocationRun) -> None:
    proposal = requests_round.propose(set(run.locked_student_ids or []))
    run.snapshot = {str(student_id): bed_id for student_id, bed_id in proposal.beds.items()}
    for student_id, from_bed_id, to_bed_id in proposal.moves:
        run.moves.append(AllocationMove(student_id=student_id, from_bed_id=from_bed_id, to_bed_id=to_bed_id,
                                        reason=MoveReason.REQUESTED.value))
    run.request_outcomes = {str(request_id): outcome.value for request_id, outcome in proposal.outcomes.items()}
    run.terms = proposal.stats


class _Cancelled(Exception):
    pass


def _cancel_check(run_id: int):
    """Whether staff cancelled the run, as committed now: read over a connection of its own, outside the
    run's REPEATABLE READ transaction (which would not see it). The search asks while it solves."""
    engine = db.engine

    def cancelled() -> bool:
        with engine.connect() as connection:
            return connection.scalar(sa.select(AllocationRun.status).where(AllocationRun.id == run_id)) \
                == RunStatus.CANCELLED

    return cancelled


def _store_moves(run: AllocationRun, instance: Instance, assignments: dict[str, str],
                 inactive: list[Student]) -> None:
    """Turn rooms into beds: who stays keeps their bed, newcomers take free beds in label order."""
    rooms = {room.id: room for room in _rooms_in_scope(run)}
    current = _current_beds()
    # A bed stays taken unless its occupant leaves the room in this proposal (moves, or is
    # inactive and vacates); people outside the proposal keep theirs.
    leaving = {student.id for student in inactive}
    for student in instance.students:
        assignment = current.get(int(student.id))
        target = assignments.get(student.id)
        if assignment is not None and target is not None and int(target) != assignment.bed.room_id:
            leaving.add(int(student.id))  # an unplaced resident keeps their bed
    taken = {a.bed_id for sid, a in current.items() if sid not in leaving}
    notes = _move_notes(instance, assignments)
    usable = _usable_beds(run, current)
    free = {room_id: [bed for bed in room.active_beds if bed.id not in taken and usable(bed)]
            for room_id, room in rooms.items()}
    for student in sorted(instance.students, key=lambda s: (s.current_room is not None, int(s.id))):
        assignment = current.get(int(student.id))
        target = assignments.get(student.id)
        if assignment is not None and target is not None and int(target) == assignment.bed.room_id:
            continue
        if target is None:
            run.moves.append(AllocationMove(student_id=int(student.id), reason=MoveReason.UNPLACED.value,
                                            from_bed_id=assignment.bed_id if assignment else None))
            continue
        if not free[int(target)]:
            run.moves.append(AllocationMove(student_id=int(student.id), reason=MoveReason.UNPLACED.value,
                                            from_bed_id=assignment.bed_id if assignment else None))
            continue
        bed = free[int(target)].pop(0)
        old_room = assignment.bed.room if assignment else None
        if old_room is None:
            reason = MoveReason.NEW
        elif not old_room.is_open:
            reason = MoveReason.ROOM_CLOSED
        elif old_room.declared_gender is not None and old_room.declared_gender.value != student.gender:
            reason = MoveReason.ROOM_GENDER
        else:
            reason = MoveReason.IMPROVED
        run.moves.append(AllocationMove(student_id=int(student.id), from_bed_id=assignment.bed_id if assignment else None,
                                        to_bed_id=bed.id, reason=reason.value, notes=notes[student.id]))
    for student in inactive:
        run.moves.append(AllocationMove(student_id=student.id, from_bed_id=current[student.id].bed_id,
                                        to_bed_id=None, reason=MoveReason.INACTIVE.value))


def _move_notes(instance: Instance, assignments: dict[str, str]) -> dict[str, dict]:
    """Per placed student: classmates in the new room, a mutual roommate request met, the building's rank."""
    by_room: dict[str, list[ProblemStudent]] = defaultdict(list)
    for student in instance.students:
        if student.id in assignments:
            by_room[assignments[student.id]].append(student)
    building = {room.id: room.building for room in instance.rooms}
    wants = {s.id: set(s.roommates) for s in instance.students}
    notes = {}
    for student in instance.students:
        room = assignments.get(student.id)
        if room is None:
            continue
        mates = [m for m in by_room[room] if m.id != student.id]
        note = {"classmates": sum(1 for m in mates if m.class_ and m.class_ == student.class_),
                "roommate": any(m.id in wants[student.id] and student.id in wants[m.id] for m in mates)}
        if building[room] in student.preferences:
            note["preference"] = student.preferences.index(building[room]) + 1
        notes[student.id] = note
    return notes


# --- applying and rolling back ---------------------------------------------------------------


def changes_since(run: AllocationRun) -> list[str]:
    """What changed in who-lives-where since the run read the campus (empty: nothing)."""
    current = {str(sid): a.bed_id for sid, a in _current_beds().items()}
    changed = sorted(set(run.snapshot) ^ set(current) | {sid for sid in run.snapshot.keys() & current.keys()
                                                         if run.snapshot[sid] != current[sid]}, key=int)
    if run.building_ids:
        # A run for some buildings cares about their beds and its own students, not the rest of campus.
        beds_in_scope = {bed.id for room in _rooms_in_scope(run) for bed in room.beds}
        in_run = {str(m.student_id) for m in run.moves}
        changed = [sid for sid in changed if sid in in_run or run.snapshot.get(sid) in beds_in_scope
                   or current.get(sid) in beds_in_scope]
    if not changed:
        return []
    students = {s.id: s for s in db.session.scalars(sa.select(Student).where(Student.id.in_([int(c) for c in changed[:10]])))}
    return [students[int(sid)].display if int(sid) in students else sid for sid in changed[:10]] + (
        [_("and %(count)d more", count=len(changed) - 10)] if len(changed) > 10 else [])


def apply_run(run: AllocationRun, actor=None) -> int:
    """Write the proposal, all of it or nothing; returns how many students changed bed."""
    db.session.refresh(run, with_for_update=True)  # a second click waits, then sees it applied
    if run.status != RunStatus.DONE:
        raise ServiceError(_("Only a finished proposal can be applied."))
    changed = changes_since(run)
    if changed:
        raise ServiceError(_("Rooms changed since this run read the campus (%(who)s); run it again.",
                             who=", ".join(changed)))
    changed = requests_round.requests_changed_since(run.request_outcomes or {})
    if changed:
        raise ServiceError(_("Requests changed since this round ran (%(what)s); run it again.",
                             what=", ".join(changed)))
    reason = _("Allocation run #%(id)d", id=run.id)
    moves = [m for m in run.moves if m.reason != MoveReason.UNPLACED.value]
    current = _current_beds()
    clashes = _avoid_clashes(moves, current)
    if clashes:
        raise ServiceError(_("Students who must not room together would share a room (%(who)s); run it again.",
                             who=", ".join(clashes)))
    relocations = residence.relocate(
        [residence.Relocation(m.student, current.get(m.student_id), to_bed=m.to_bed) for m in moves],
        reason=reason, actor=actor)
    _refuse_if_any(relocations)
    for move, relocation in zip(moves, relocations):
        move.assignment_id = relocation.assignment.id if relocation.assignment else None
    requests_round.settle(run.id, run.request_outcomes or {})
    run.status, run.applied_at = RunStatus.APPLIED, utcnow()
    run.applied_by = actor or audit.current_actor()
    audit.record("allocation.apply", run=run.id, moves=len(moves), reason=reason)
    return len(moves)


def _avoid_clashes(moves: list[AllocationMove], current: dict[int, Assignment]) -> list[str]:
    """"Do not room with" as it stands now, checked on the rooms the moves fill (it may have been added since)."""
    room_of_bed = dict(db.session.execute(sa.select(Bed.id, Bed.room_id).where(
        Bed.id.in_([m.to_bed_id for m in moves if m.to_bed_id]))).all())
    arriving: dict[int, set[int]] = defaultdict(set)
    for move in moves:
        if move.to_bed_id:
            arriving[room_of_bed[move.to_bed_id]].add(move.student_id)
    if not arriving:
        return []
    moving = {m.student_id for m in moves}
    final = {room_id: set(ids) for room_id, ids in arriving.items()}
    for student_id, assignment in current.items():
        if student_id not in moving and assignment.bed.room_id in final:
            final[assignment.bed.room_id].add(student_id)
    everyone = set().union(*final.values())
    pairs = db.session.execute(sa.select(RoommateRequest.student_id, RoommateRequest.other_id).where(
        RoommateRequest.kind == RequestKind.AVOID, RoommateRequest.student_id.in_(everyone),
        RoommateRequest.other_id.in_(everyone))).all()
    room_of = {student_id: room_id for room_id, ids in final.items() for student_id in ids}
    clashing = sorted({frozenset(p) for p in pairs if room_of[p[0]] == room_of[p[1]]
                       and (p[0] in arriving[room_of[p[0]]] or p[1] in arriving[room_of[p[0]]])}, key=sorted)
    names = {s.id: s.display for s in db.session.scalars(sa.select(Student).where(
        Student.id.in_({i for pair in clashing for i in pair})))}
    return [" / ".join(names[i] for i in sorted(pair)) for pair in clashing[:5]]


def _refuse_if_any(relocations) -> None:
    problems = [p for r in relocations for p in r.problems]
    if problems:
        raise ServiceError(" ".join(problems[:5]))


def _ended_by_apply(run: AllocationRun, moves: list[AllocationMove]) -> dict[int, Assignment]:
    """Per student the run moved out of a bed: the assignment its apply ended there (one query)."""
    leaving = {m.student_id: m.from_bed_id for m in moves if m.from_bed_id is not None}
    if not leaving or run.applied_at is None:
        return {}
    rows = db.session.scalars(
        sa.select(Assignment).where(Assignment.student_id.in_(leaving), Assignment.ended_at.is_not(None),
                                    Assignment.ended_at <= run.applied_at)
        .order_by(Assignment.ended_at, Assignment.id))
    # The latest one at the bed the run took them from (ordered, so later rows win).
    return {a.student_id: a for a in rows if a.bed_id == leaving[a.student_id]}


def rollback_run(run: AllocationRun, actor=None) -> int:
    """Put everyone back where the run found them, while nothing newer depends on the run."""
    db.session.refresh(run, with_for_update=True)
    if run.status != RunStatus.APPLIED:
        raise ServiceError(_("Only an applied run can be rolled back."))
    moves = [m for m in run.moves if m.reason != MoveReason.UNPLACED.value]
    current = _current_beds()
    for move in moves:
        now = current.get(move.student_id)
        if (now.id if now else None) != move.assignment_id:
            raise ServiceError(_("%(student)s has moved since this run was applied; it cannot be rolled back.",
                                 student=move.student.display))
    requests_round.reopen(run.id)
    reason = _("Rollback of allocation run #%(id)d", id=run.id)
    ended = _ended_by_apply(run, moves)
    # With what each student goes back to, the leaving rule puts back the check-ins the apply closed.
    _refuse_if_any(residence.relocate(
        [residence.Relocation(m.student, current.get(m.student_id), to_bed=m.from_bed,
                              returning=ended.get(m.student_id)) for m in moves],
        reason=reason, actor=actor, restoring=True))
    run.status, run.rolled_back_at = RunStatus.ROLLED_BACK, utcnow()
    audit.record("allocation.rollback", run=run.id, moves=len(moves), reason=reason)
    return len(moves)
