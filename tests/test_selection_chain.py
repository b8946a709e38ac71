"""Selection day with residents choosing again: a bed whose resident takes part may be offered, and is free for
others once they confirm another; who chooses nothing keeps theirs. Chains of moves are applied at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorms.core.clock import utcnow
from dorms.core.enums import RequestKind, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.selection import services as selection
from dorms.selection.models import PickStatus, SelectionEvent, SelectionPick
from dorms.students import roommate_requests
from dorms.students.models import Student

from .racing import run_at_once
from .test_selection import _bed, _event, _ids, app_config, create_student_in, hall  # noqa: F401 (fixtures)

TAKEN = "This bed is taken: whoever lives in it keeps it"
TAKEN_JUST_NOW = "taken a moment ago"


def _lives_in(student, bed) -> None:
    residence.assign(student, bed, reason="last year")


def _choose(event, student, bed) -> None:
    selection.hold(event, student, bed.id)
    selection.confirm(event, student)
    db.session.commit()


def _bed_of(student) -> int | None:
    current = residence.current_assignment(student)
    return current.bed_id if current else None


@pytest.mark.backends("sqlite", "postgresql")
def test_a_residents_bed_is_theirs_in_the_lists_and_holds_until_they_confirm_another(app, hall, create_student):
    resident, newcomer = create_student(), create_student()
    home, elsewhere = _bed(hall), _bed(hall, room=1)
    _lives_in(resident, home)
    event = _event(hall, [resident, newcomer], change_limit=1)
    # Taken for everyone else; the resident sees it, theirs to take back.
    assert home.id not in _ids(selection.available_beds(event, newcomer))
    assert home.id in _ids(selection.available_beds(event, resident))
    assert selection.free_by_floor(event, newcomer) == [("M1", 1, 7)]
    assert selection.free_by_floor(event, resident) == [("M1", 1, 8)]
    with pytest.raises(ServiceError, match=TAKEN):
        selection.hold(event, newcomer, home.id)
    db.session.rollback()

    selection.hold(event, resident, elsewhere.id)  # held, not confirmed: still theirs
    db.session.commit()
    assert home.id not in _ids(selection.available_beds(event, newcomer))
    with pytest.raises(ServiceError, match=TAKEN):
        selection.hold(event, newcomer, home.id)
    db.session.rollback()

    selection.confirm(event, resident)  # gives it up: free for others now
    db.session.commit()
    assert home.id in _ids(selection.available_beds(event, newcomer))
    assert selection.free_by_floor(event, newcomer) == [("M1", 1, 7)]  # one bed freed, one chosen
    selection.hold(event, newcomer, home.id)
    db.session.commit()
    with pytest.raises(ServiceError, match=TAKEN_JUST_NOW):  # held by someone else: not theirs to take back
        selection.hold(event, resident, home.id)
    db.session.rollback()
    assert selection.invariant_problems(event) == []


@pytest.mark.backends("sqlite", "postgresql")
def test_the_office_counts_a_residents_bed_free_once_they_confirmed_another(app, hall, create_student):
    from dorms.selection.staff_views import _beds_left
    resident = create_student()
    _lives_in(resident, _bed(hall))
    event = _event(hall, [resident])
    runner = app.test_cli_runner()

    def free() -> tuple[str, int]:
        status = runner.invoke(args=["selection", "status", str(event.id)]).output
        return (next(line.strip() for line in status.splitlines() if line.strip().startswith("M1:")),
                next(row.left for row in _beds_left(event, utcnow()) if row.building == "M1"))

    assert free() == ("M1: 7 of 8 beds free", 7)  # the resident's, theirs still
    selection.hold(event, resident, _bed(hall, room=1).id)
    db.session.commit()
    assert free() == ("M1: 6 of 8 beds free", 6)  # and the one they hold
    selection.confirm(event, resident)
    db.session.commit()
    assert free() == ("M1: 7 of 8 beds free", 7)  # theirs given up for the one they confirmed


@pytest.mark.backends("sqlite", "postgresql")
def test_a_resident_takes_their_bed_back_while_nobody_else_holds_it(app, hall, create_student):
    resident, newcomer = create_student(), create_student()
    home = _bed(hall)
    _lives_in(resident, home)
    event = _event(hall, [resident, newcomer], change_limit=1)
    _choose(event, resident, _bed(hall, room=1))
    _choose(event, resident, home)  # changed their mind: back to their own bed, theirs again
    assert home.id not in _ids(selection.available_beds(event, newcomer))
    with pytest.raises(ServiceError, match=TAKEN):
        selection.hold(event, newcomer, home.id)
    db.session.rollback()
    assert selection.invariant_problems(event) == []


@pytest.mark.backends("sqlite", "postgresql")
def test_a_group_takes_its_leaders_bed_for_the_leader_and_never_a_staying_residents(app, hall, create_student):
    leader, friend, other, third, neighbour = (create_student() for _ in range(5))
    for member in (friend, other, third):
        for a, b in ((leader, member), (member, leader)):
            roommate_requests.add_request(a, b.student_number, RequestKind.WANT)
    room = hall["men"][0]
    _lives_in(leader, room.beds[3])
    _lives_in(neighbour, room.beds[0])  # takes part, chooses nothing: keeps it
    event = _event(hall, [leader, friend, other, third, neighbour])
    with pytest.raises(ServiceError, match="has 3 free beds; your group needs 4"):
        selection.hold_group(event, leader, room.id, [friend.id, other.id, third.id])
    db.session.rollback()
    picks = selection.hold_group(event, leader, room.id, [friend.id, other.id])
    db.session.commit()
    assert {p.student_id: p.bed_id for p in picks}[leader.id] == room.beds[3].id
    assert room.beds[0].id not in {p.bed_id for p in picks}
    assert selection.invariant_problems(event) == []


@pytest.mark.backends("sqlite", "postgresql")
def test_a_group_hold_asks_the_residents_again_behind_a_list_kept_a_moment_ago(
        app, hall, create_student, monkeypatch):
    leader, friend, neighbour = create_student(), create_student(), create_student()
    for a, b in ((leader, friend), (friend, leader)):
        roommate_requests.add_request(a, b.student_number, RequestKind.WANT)
    room = hall["men"][0]
    others = [create_student(), create_student()]
    for resident, bed in zip([neighbour, *others], room.beds):
        _lives_in(resident, bed)  # taking part, choosing nothing: one bed of the room is free
    event = _event({"men": [room]}, [leader, friend, neighbour, *others])
    assert _ids(selection.available_beds(event, leader)) == [room.beds[3].id]
    stale = [selection.FreeBed(bed.id, bed.label, room.id, room.number, "M1", 1, room.room_type)
             for bed in (room.beds[0], room.beds[3])]  # as if kept while the neighbour's bed looked free
    monkeypatch.setattr(selection, "available_beds", lambda *args, **kwargs: stale)
    with pytest.raises(ServiceError, match=TAKEN_JUST_NOW):
        selection.hold_group(event, leader, room.id, [friend.id])
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionPick)) == 0


@pytest.mark.backends("sqlite", "postgresql")
def test_a_chain_of_residents_is_confirmed_and_applied_in_one_change_ending_in_a_free_bed(
        app, hall, create_student):
    first, second, third, newcomer, idle = (create_student() for _ in range(5))
    a, b, c, free = _bed(hall), _bed(hall, bed=1), _bed(hall, room=1), _bed(hall, room=1, bed=1)
    for student, bed in ((first, a), (second, b), (third, c)):
        _lives_in(student, bed)
    event = _event(hall, [first, second, third, newcomer, idle])
    with pytest.raises(ServiceError, match=TAKEN):  # nobody has moved yet: the chain starts at its free end
        selection.hold(event, second, c.id)
    db.session.rollback()
    _choose(event, third, free)  # third leaves c for a free bed,
    _choose(event, second, c)    # second takes c, leaving b,
    _choose(event, first, b)     # first takes b, leaving a,
    _choose(event, newcomer, a)  # and a newcomer takes a.
    assert selection.invariant_problems(event) == []
    selection.close(event)
    assert selection.apply_choices(event) == 4
    db.session.commit()
    assert [_bed_of(s) for s in (first, second, third, newcomer)] == [b.id, c.id, free.id, a.id]
    assert _bed_of(idle) is None
    assert selection.invariant_problems(event) == []
    assert selection.place_the_rest(event, time_limit=5).student_scope == {"students": [idle.id]}


@pytest.mark.backends("sqlite", "postgresql")
def test_two_residents_swap_beds_through_a_change(app, hall, create_student):
    first, second = create_student(), create_student()
    a, b, free = _bed(hall), _bed(hall, room=1), _bed(hall, bed=1)
    _lives_in(first, a)
    _lives_in(second, b)
    event = _event(hall, [first, second], change_limit=1)
    _choose(event, first, free)  # a is free for second once first chose elsewhere,
    _choose(event, second, a)
    _choose(event, first, b)     # then b for first: free is given up again
    selection.close(event)
    assert selection.apply_choices(event) == 2
    db.session.commit()
    assert (_bed_of(first), _bed_of(second)) == (b.id, a.id)
    assert residence.current_occupant(free) is None


@pytest.mark.backends("sqlite", "postgresql")
def test_a_resident_who_chooses_nothing_keeps_their_bed(app, hall, create_student):
    resident, *others = (create_student() for _ in range(8))
    home = _bed(hall)
    _lives_in(resident, home)
    event = _event({"men": hall["men"][:1]}, [resident, *others])
    beds = [bed for bed in hall["men"][0].beds if bed.id != home.id]
    for student, bed in zip(others, beds):
        _choose(event, student, bed)
    for student in others[len(beds):]:  # the room is full for them: their own bed is all the resident sees
        assert selection.available_beds(event, student) == []
        with pytest.raises(ServiceError, match=TAKEN):
            selection.hold(event, student, home.id)
        db.session.rollback()
    assert _ids(selection.available_beds(event, resident)) == [home.id]
    selection.close(event)
    assert selection.apply_choices(event) == len(beds)
    db.session.commit()
    assert _bed_of(resident) == home.id
    assert resident.id not in selection.place_the_rest(event, time_limit=5).student_scope["students"]


@pytest.mark.backends("sqlite", "postgresql")
def test_the_pre_flight_check_refuses_the_bed_of_a_resident_who_does_not_take_part(app, hall, create_student):
    outsider, insider, newcomer = create_student(name="局外人"), create_student(), create_student()
    theirs, ours = _bed(hall), _bed(hall, bed=1)
    _lives_in(outsider, theirs)
    _lives_in(insider, ours)
    event = selection.create_event("residents", closes_at=utcnow() + timedelta(hours=1))
    selection.add_window(event, "all", starts_at=utcnow())
    selection.add_participants(event, [insider, newcomer])
    offerable = selection.offerable_beds(event, selection.OfferPlace([hall["men"][0].building.id]))
    assert theirs not in offerable.beds and ours in offerable.beds and offerable.lived_in == 1
    db.session.commit()
    offered = app.test_cli_runner().invoke(args=["selection", "offer", str(event.id), "--building", "M1"]).output
    assert "7 beds offered (7 new)." in offered and "1 of them is lived in by a student taking part" in offered
    selection.offer_beds(event, [theirs])  # past the command, which leaves it out
    problems = selection.arrange(event)
    assert [(p.kind, p.message) for p in problems] == [("unusable_bed", (
        f"Bed {theirs.code} cannot be chosen: {outsider.display} lives there and does not take part in the "
        "selection. Add them, or withdraw the bed."))]
    selection.add_participants(event, [outsider])
    assert selection.arrange(event) == []


@pytest.mark.backends("sqlite", "postgresql")
def test_the_invariant_check_finds_a_pick_of_a_bed_whose_resident_has_not_moved(app, hall, create_student):
    resident, newcomer = create_student(), create_student()
    home = _bed(hall)
    _lives_in(resident, home)
    event = _event(hall, [resident, newcomer])
    forged = SelectionPick(event_id=event.id, bed_id=home.id, student_id=newcomer.id, status=PickStatus.HELD,
                           held_until=utcnow() + timedelta(minutes=5), created_at=utcnow())
    db.session.add(forged)  # written past hold(), which would refuse it
    db.session.flush()
    assert selection.invariant_problems(event) == [
        f"Bed {home.id} is picked, yet student {resident.id}, who lives there, has confirmed no other bed."]
    db.session.add(SelectionPick(event_id=event.id, bed_id=_bed(hall, room=1).id, student_id=resident.id,
                                 status=PickStatus.CONFIRMED, created_at=utcnow(), confirmed_at=utcnow()))
    db.session.flush()
    assert selection.invariant_problems(event) == []  # moved on: the bed is free for others


# --- the student's page -------------------------------------------------------------------------------------


def test_the_page_tells_a_resident_what_choosing_does_to_their_bed_and_refuses_it_to_others_in_chinese(
        app, client, login, hall, create_student, create_user):
    from .test_selection_pages import _flashed, _page
    resident, newcomer = create_student(), create_student()
    home = _bed(hall)
    _lives_in(resident, home)
    event = _event(hall, [resident, newcomer])
    login(create_user(role=Role.STUDENT, student=resident))
    page = " ".join(_page(client, f"/selection/{event.id}").split())
    assert (f"You live in bed {home.code}, which this selection offers. If you choose another bed, yours goes to "
            "whoever chooses it; if you choose nothing, you keep it.") in page
    assert f'name="bed_id" value="{home.id}"' in page  # theirs to hold
    client.post("/language/zh_CN")
    assert f"你现在住的床位 {home.code} 也在这次选宿中开放" in _page(client, f"/selection/{event.id}")
    client.post(f"/selection/{event.id}/hold", data={"bed_id": _bed(hall, room=1).id})
    client.post(f"/selection/{event.id}/confirm")
    assert f"你已选了别的床位：你现在的床位 {home.code} 留给选它的人。" in _page(client, f"/selection/{event.id}")

    client.post("/logout")
    login(create_user(role=Role.STUDENT, student=newcomer))
    client.post("/language/zh_CN")
    selection.hold(event, create_student_in(event, create_student), home.id)  # someone took it meanwhile
    db.session.commit()
    refused = client.post(f"/selection/{event.id}/hold", data={"bed_id": home.id}, follow_redirects=True)
    assert _flashed(refused) == ["这个床位刚刚被别人选走了，请选择其他床位。"]
    stays = _bed(hall, bed=1)
    _lives_in(create_student_in(event, create_student), stays)  # a resident taking part who has not moved
    db.session.commit()
    refused = client.post(f"/selection/{event.id}/hold", data={"bed_id": stays.id}, follow_redirects=True)
    assert _flashed(refused) == ["这个床位已有人住：住户没有另选床位之前，床位仍归其所有。请选择其他床位。"]


# --- races -------------------------------------------------------------------------------------------------


def _postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("the race is PostgreSQL's: SQLite lets one writer at a time")


@pytest.mark.commits
def test_a_residents_bed_wanted_by_two_while_they_confirm_elsewhere_goes_to_exactly_one(
        app, hall, create_room, create_student, backend):
    """Five residents confirm their hold on another bed while two students each ask for their bed, over and over
    until the resident is done, and five others give their hold up instead: every thread at once, over a
    connection of its own. A confirming resident's bed goes to exactly one of the two, the other told "taken a
    moment ago"; the bed of one who gave their hold up to nobody ("taken"). Every refusal is a sentence."""
    _postgresql_only(backend)
    building = hall["men"][0].building
    rooms = [create_room(building, f"2{n:02d}", floor=2) for n in range(5)]
    beds = [bed for room in rooms for bed in room.beds]
    homes, targets = beds[:10], beds[10:]  # where the residents live, and what they hold
    residents = [create_student() for _ in homes]
    for resident, home in zip(residents, homes):
        _lives_in(resident, home)
    wanting = [create_student() for _ in range(2 * len(homes))]
    event = _event({"men": [*hall["men"], *rooms]}, [*residents, *wanting])
    for resident, target in zip(residents, targets):
        selection.hold(event, resident, target.id)
    db.session.commit()
    confirming = residents[:5]
    done = [threading.Event() for _ in residents]  # set once the resident's step is committed

    def resident_step(n: int):
        def attempt():
            step = selection.confirm if residents[n] in confirming else selection.cancel
            step(db.session.get(SelectionEvent, event.id), db.session.get(Student, residents[n].id))
            db.session.commit()
            done[n].set()
        return attempt

    def ask_until_the_resident_is_done(n: int, student_id: int):
        """A student asking for resident n's bed again while told it is theirs still, until the resident's step
        was committed before they asked: then the answer stands."""
        def attempt():
            while True:
                finished = done[n].is_set()
                try:
                    selection.hold(db.session.get(SelectionEvent, event.id), db.session.get(Student, student_id),
                                   homes[n].id)
                    return
                except ServiceError as refused:
                    if finished or TAKEN not in str(refused) or not done[n].wait(30):
                        raise
                    db.session.rollback()
        return attempt

    attempts = {}
    for n in range(len(residents)):
        attempts[("resident", n)] = resident_step(n)
        for k in (0, 1):
            attempts[("wants", n, k)] = ask_until_the_resident_is_done(n, wanting[2 * n + k].id)
    try:
        outcomes = run_at_once(app, attempts, refused=ServiceError)
    finally:
        db.engine.pool.dispose()  # the threads' connections, idle now: closed, not kept for the session
    assert set(outcomes) == set(attempts), "an attempt failed with an error, not a refusal"
    assert all(outcomes[("resident", n)] == "won" for n in range(len(residents)))
    for n in range(len(residents)):
        asked = sorted(str(outcomes[("wants", n, k)]) for k in (0, 1))
        if n < len(confirming):
            assert asked[1] == "won" and TAKEN_JUST_NOW in asked[0], asked
        else:
            assert all(TAKEN in answer for answer in asked), asked

    db.session.rollback()  # read what the threads committed
    live = db.session.execute(sa.select(SelectionPick.bed_id, SelectionPick.student_id).where(
        SelectionPick.status.in_(["held", "confirmed"]), SelectionPick.bed_id.in_([h.id for h in homes]))).all()
    assert sorted(live) == sorted((homes[n].id, wanting[2 * n + k].id) for n in range(len(confirming)) for k in (0, 1)
                                  if outcomes[("wants", n, k)] == "won")
    assert selection.invariant_problems(db.session.get(SelectionEvent, event.id)) == []


@pytest.mark.commits
def test_a_resident_taking_their_bed_back_as_two_others_hold_it_leaves_one_of_the_three(
        app, hall, create_student, backend, monkeypatch):
    """The resident confirmed another bed, so their bed is free; all three read that, and only then does any of
    them write (a barrier between the read and the write): the unique index on live picks settles it."""
    _postgresql_only(backend)
    resident, first, second = create_student(), create_student(), create_student()
    home = _bed(hall)
    _lives_in(resident, home)
    event = _event(hall, [resident, first, second], change_limit=1)
    _choose(event, resident, _bed(hall, room=1))
    barrier = threading.Barrier(3, timeout=30)
    read = selection._residents_staying

    def read_then_wait(*args):
        found = read(*args)
        barrier.wait()
        return found

    monkeypatch.setattr(selection, "_residents_staying", read_then_wait)

    def take(student_id, then_confirm=False):
        def attempt():
            mine, student = db.session.get(SelectionEvent, event.id), db.session.get(Student, student_id)
            selection.hold(mine, student, home.id)
            if then_confirm:
                selection.confirm(mine, student)
        return attempt

    try:
        outcomes = run_at_once(app, {"resident": take(resident.id, then_confirm=True), "first": take(first.id),
                                     "second": take(second.id)}, refused=ServiceError)
    finally:
        db.engine.pool.dispose()
    assert len(outcomes) == 3 and list(outcomes.values()).count("won") == 1, outcomes
    assert all(TAKEN_JUST_NOW in o for o in outcomes.values() if o != "won"), outcomes
    db.session.rollback()
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    live = db.session.execute(sa.select(SelectionPick.student_id, SelectionPick.status).where(
        SelectionPick.bed_id == home.id, SelectionPick.status.in_(["held", "confirmed"]))).all()
    expected = {"resident": (resident.id, PickStatus.CONFIRMED), "first": (first.id, PickStatus.HELD),
                "second": (second.id, PickStatus.HELD)}[winner]
    assert [tuple(row) for row in live] == [expected]
    assert selection.invariant_problems(db.session.get(SelectionEvent, event.id)) == []
