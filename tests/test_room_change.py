"""Swap and move requests: asking, confirming, refusals, and the requests round from proposal to rollback."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorms.allocation import services as allocation
from dorms.allocation.models import MoveReason, RunMode, RunStatus
from dorms.campus.codes import find_bed, find_room
from dorms.core.enums import Gender, GenderPolicy, RequestKind, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.roomchange import services
from dorms.roomchange.models import ChangeKind, ChangeOutcome, ChangeStatus, RoomChangeRequest
from dorms.roomchange.services import Choice
from dorms.students import roommate_requests


@pytest.fixture
def campus(create_building, create_room, create_student, create_user):
    """Men's building A1 with three full two-bed rooms (101-103) and one empty room (104); B1 for women."""
    a1 = create_building("A1", gender_policy=GenderPolicy.MALE)
    b1 = create_building("B1", gender_policy=GenderPolicy.FEMALE)
    rooms = {n: create_room(a1, n, capacity=2, room_type="double") for n in ("101", "102", "103")}
    rooms["104"] = create_room(a1, "104", capacity=2, room_type="suite")
    rooms["B101"] = create_room(b1, "101", capacity=2)
    people = {}
    for n, room in enumerate(("101", "101", "102", "102", "103", "103")):
        student = create_student(f"20240000{n}", name=f"学生{n}")
        residence.assign(student, rooms[room].beds[n % 2], reason="intake")
        people[n] = student
    people["newcomer"] = create_student("2026000001", name="新生")
    people["woman"] = create_student("2024000100", name="女生", gender=Gender.FEMALE)
    residence.assign(people["woman"], rooms["B101"].beds[0], reason="intake")
    db.session.commit()
    return {"rooms": rooms, "a1": a1, "b1": b1, "people": people,
            "staff": create_user("staff"),
            "counselor": create_user("counselor", role=Role.COUNSELOR, classes=["计科2401"]),
            **{f"account{n}": create_user(people[n].student_number, role=Role.STUDENT, student=people[n])
               for n in range(3)}}


def _bed(student):
    return residence.current_assignment(student).bed


def _round() -> "allocation.AllocationRun":
    run = allocation.create_run(mode=RunMode.REQUESTS, building_ids=[], time_limit=2)
    db.session.commit()
    return allocation.execute_run(run.id)


def _move(student, *rooms, reason="closer to the lab"):
    return services.ask_to_move(student, [Choice("room", code) for code in rooms], reason)


# --- asking ---------------------------------------------------------------------------------------


def test_rooms_and_beds_are_found_by_their_codes_in_any_letter_case(create_building, create_room):
    room = create_room(create_building("Nan-3"), "201b", capacity=2)
    db.session.commit()
    for code in ("Nan-3-201b", "NAN-3-201B", " nan-3-201b "):
        assert find_room(code) == room
        assert find_bed(f"{code.strip()}-2") == room.beds[1]
    assert find_room("Nan-3-202") is None and find_room("201b") is None and find_room(None) is None
    assert find_bed("Nan-3-201b-9") is None and find_bed("Nan-3-201b") is None


def test_rooms_that_differ_only_in_case_are_told_apart_by_the_code_as_written(create_building, create_room):
    building = create_building("B7")
    lower, upper = create_room(building, "101a"), create_room(building, "101A")
    db.session.commit()
    assert (find_room("B7-101a"), find_room("B7-101A")) == (lower, upper)
    assert find_room("b7-101a") is None  # names both, neither exactly: no guess
    assert find_bed("B7-101A-1") == upper.beds[0]


def test_a_room_typed_in_small_letters_is_the_room(campus):
    request = _move(campus["people"][0], "a1-104")
    assert [c.label for c in request.choices] == ["Room A1-104"]


def test_a_move_request_names_ranked_places(campus):
    p = campus["people"]
    request = services.ask_to_move(p[0], [Choice("room", "A1-104"), Choice("building", str(campus["a1"].id)),
                                          Choice("type", "double")], "quiet")
    assert [c.label for c in request.choices] == ["Room A1-104", f"Building A1 {campus['a1'].name}",
                                                  "Room type double"]
    assert request.status == ChangeStatus.OPEN


def test_every_bad_choice_is_named_by_its_row(campus):
    p = campus["people"]
    with pytest.raises(ServiceError) as error:
        services.ask_to_move(p[0], [Choice("room", "A1-104"), Choice("room", "A1-101"), Choice("room", "Z9-1"),
                                    Choice("building", str(campus["b1"].id)), Choice("room", "A1-104")], "x")
    message = str(error.value)
    assert "Choice 2: A1-101 is your own room" in message
    assert "Choice 3: there is no room Z9-1" in message
    assert "Choice 4: no open room there can house you" in message
    assert "Choice 5: named twice" in message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RoomChangeRequest)) == 0


def test_only_residents_ask_and_only_one_request_at_a_time(campus):
    p = campus["people"]
    with pytest.raises(ServiceError, match="has no bed"):
        _move(p["newcomer"], "A1-104")
    _move(p[0], "A1-104")
    with pytest.raises(ServiceError, match="already has a request waiting"):
        _move(p[0], "A1-103")
    with pytest.raises(ServiceError, match="cannot be named"):  # already busy: not said why, to a student
        services.ask_to_swap(p[2], p[0].student_number, "x", discreet=True)


def test_the_database_refuses_a_second_live_request(campus):
    p = campus["people"]
    _move(p[0], "A1-104")
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.add(RoomChangeRequest(student=p[0], kind="move", status=ChangeStatus.OPEN, reason="again"))
        db.session.flush()
    db.session.rollback()


def test_a_swap_waits_for_the_other_student(campus):
    p = campus["people"]
    request = services.ask_to_swap(p[0], p[2].student_number, "same class as him", discreet=True)
    assert request.status == ChangeStatus.AWAITING_PARTNER
    assert [offer for offer, _bed in services.swap_offers_to(p[2])] == [request]
    with pytest.raises(ServiceError, match="no such swap"):
        services.answer_swap(p[4], request.id, accept=True)
    services.answer_swap(p[2], request.id, accept=True)
    assert request.status == ChangeStatus.OPEN
    with pytest.raises(ServiceError, match="no such swap"):
        services.answer_swap(p[2], request.id, accept=False)


@pytest.mark.parametrize("who, discreet_message, staff_message", [
    ("woman", "only between students of the same gender", "gender or status"),
    ("1", "lives in your own room", "no bed in another room"),  # a roommate
    ("newcomer", "cannot be named", "no bed in another room"),
    ("accessible", "cannot be named", "needs an accessible room"),
])
def test_bad_swaps_are_refused_saying_no_more_than_the_asker_may_know(campus, who, discreet_message, staff_message):
    p = campus["people"]
    if who == "accessible":  # a private need of theirs must not show through the refusal
        p[2].needs_accessible = True
        who = "2"
    other = p[int(who)] if who.isdigit() else p[who]
    with pytest.raises(ServiceError, match=discreet_message) as error:
        services.ask_to_swap(p[0], other.student_number, "x", discreet=True)
    assert other.name not in str(error.value)
    with pytest.raises(ServiceError, match=staff_message):
        services.ask_to_swap(p[0], other.student_number, "x")


def test_a_swap_with_yourself_says_so(campus):
    p = campus["people"]
    with pytest.raises(ServiceError, match="cannot swap with yourself"):
        services.ask_to_swap(p[0], p[0].student_number, "x", discreet=True)


def test_a_swap_that_breaks_do_not_room_with_is_refused(campus):
    p = campus["people"]
    roommate_requests.add_request(p[3], p[0].student_number, RequestKind.AVOID)
    with pytest.raises(ServiceError, match="cannot be named"):  # to a student: not a word on whose rule
        services.ask_to_swap(p[0], p[2].student_number, "x", discreet=True)
    with pytest.raises(ServiceError, match="must not share A1-102"):
        services.ask_to_swap(p[0], p[2].student_number, "x")


def test_withdrawing(campus):
    p = campus["people"]
    request = services.ask_to_swap(p[0], p[2].student_number, "x")
    with pytest.raises(ServiceError, match="no such request"):
        services.withdraw(request.id, by=p[4])
    services.withdraw(request.id, by=p[2])  # the partner may call it off: before agreeing, that is declining
    assert request.status == ChangeStatus.DECLINED
    with pytest.raises(ServiceError, match="can no longer be withdrawn"):
        services.withdraw(request.id, by=None)
    agreed = services.ask_to_swap(p[0], p[2].student_number, "again")
    services.answer_swap(p[2], agreed.id, accept=True)
    services.withdraw(agreed.id, by=p[2])  # after agreeing: withdrawing
    assert agreed.status == ChangeStatus.WITHDRAWN
    _move(p[0], "A1-104")  # free to ask again


# --- the round ---------------------------------------------------------------------------------


@pytest.mark.commits
def test_a_round_finds_a_three_way_trade_that_pairs_cannot(campus):
    p = campus["people"]
    _move(p[0], "A1-102")
    _move(p[2], "A1-103")
    _move(p[4], "A1-101")
    before = {n: _bed(p[n]) for n in range(6)}
    run = _round()
    assert run.status == RunStatus.DONE
    assert run.terms["granted"] == 3 and run.terms["students_moved"] == 3
    assert run.terms["pairs_only_students"] == run.terms["pairs_only_requests"] == 0
    assert run.terms["longest_trade"] == 3
    assert {m.student_id: m.to_bed.room.number for m in run.moves} == {p[0].id: "102", p[2].id: "103",
                                                                      p[4].id: "101"}
    assert all(m.reason == MoveReason.REQUESTED.value for m in run.moves)
    # Each takes the bed of whoever leaves: nobody who did not ask moves.
    assert {m.to_bed_id for m in run.moves} == {before[0].id, before[2].id, before[4].id}

    allocation.apply_run(run)
    db.session.commit()
    assert _bed(p[0]) == before[2] and _bed(p[2]) == before[4] and _bed(p[4]) == before[0]
    assert all(_bed(p[n]) == before[n] for n in (1, 3, 5))
    statuses = {r.student_id: (r.status, r.outcome) for r in db.session.scalars(sa.select(RoomChangeRequest))}
    assert set(statuses.values()) == {(ChangeStatus.GRANTED, ChangeOutcome.GRANTED)}

    allocation.rollback_run(run)
    db.session.commit()
    assert all(_bed(p[n]) == before[n] for n in range(6))
    assert {r.status for r in db.session.scalars(sa.select(RoomChangeRequest))} == {ChangeStatus.OPEN}


@pytest.mark.commits
def test_a_chain_ends_in_a_free_bed_and_a_swap_is_a_two_way_trade(campus):
    p = campus["people"]
    before = {n: _bed(p[n]) for n in range(6)}
    _move(p[0], "A1-102")  # 0 takes the bed 2 leaves, 2 takes a free bed in 104
    _move(p[2], "A1-104")
    swap = services.ask_to_swap(p[1], p[4].student_number, "x")
    services.answer_swap(p[4], swap.id, accept=True)
    run = _round()
    moved = {m.student_id: m.to_bed for m in run.moves}
    assert moved[p[0].id] == before[2] and moved[p[2].id].room.number == "104"
    assert moved[p[1].id] == before[4] and moved[p[4].id] == before[1]
    assert set(run.request_outcomes.values()) == {"granted"}
    # Pairs alone: the swap, and 2 into the free bed (0 then has nothing to swap with).
    assert (run.terms["pairs_only_requests"], run.terms["granted"]) == (2, 3)


@pytest.mark.commits
def test_nobody_is_made_worse_off_and_everyone_hears_why(campus):
    p = campus["people"]
    _move(p[0], "A1-102")  # 102's residents stay: nothing can be had
    services.ask_to_move(p[4], [Choice("type", "suite")], "x")
    services.ask_to_move(p[5], [Choice("type", "suite")], "x")  # 104 has two beds, both go
    services.ask_to_move(p[1], [Choice("type", "suite")], "x")  # third: none left
    run = _round()
    outcomes = {int(k): ChangeOutcome(v) for k, v in run.request_outcomes.items()}
    by_student = {r.student_id: outcomes[r.id] for r in db.session.scalars(sa.select(RoomChangeRequest))}
    assert by_student == {p[0].id: ChangeOutcome.TAKEN, p[4].id: ChangeOutcome.GRANTED,
                          p[5].id: ChangeOutcome.GRANTED, p[1].id: ChangeOutcome.TAKEN}
    assert {m.student_id for m in run.moves} == {p[4].id, p[5].id}

    allocation.apply_run(run)
    db.session.commit()
    request = services.requests_of(p[1])[0]
    assert request.status == ChangeStatus.NOT_GRANTED and "asked earlier" in request.outcome.label


@pytest.mark.commits
def test_two_who_must_not_meet_do_not_arrive_in_the_same_room(campus):
    p = campus["people"]
    roommate_requests.add_request(p[4], p[0].student_number, RequestKind.AVOID)
    _move(p[0], "A1-104")
    _move(p[4], "A1-104")  # later: gives way
    run = _round()
    assert [m.student_id for m in run.moves] == [p[0].id]
    assert run.terms["granted"] == 1


@pytest.mark.commits
def test_an_empty_room_of_no_gender_takes_one_gender(campus, create_building, create_room, create_student):
    mixed = create_building("C1", gender_policy=GenderPolicy.MIXED)
    create_room(mixed, "201", capacity=2)
    p = campus["people"]
    services.ask_to_move(p["woman"], [Choice("room", "C1-201")], "x")
    _move(p[0], "C1-201")
    run = _round()
    assert [m.student_id for m in run.moves] == [p["woman"].id]


@pytest.mark.commits
def test_locked_students_and_those_without_a_bed_stay_out(campus):
    p = campus["people"]
    _move(p[0], "A1-104")
    _move(p[2], "A1-104")
    residence.vacate(p[2], reason="left for a term abroad")
    run = allocation.create_run(mode=RunMode.REQUESTS, building_ids=[], time_limit=2,
                                locked_numbers=[p[0].student_number])
    db.session.commit()
    run = allocation.execute_run(run.id)
    assert run.moves == []
    assert sorted(run.request_outcomes.values()) == ["locked", "no_bed"]


@pytest.mark.commits
def test_a_round_is_stale_once_a_request_in_it_is_withdrawn(campus):
    p = campus["people"]
    request = _move(p[0], "A1-104")
    run = _round()
    services.withdraw(request.id, by=p[0])
    db.session.commit()
    with pytest.raises(ServiceError, match=r"Requests changed since.*#\d+ \(202400000 学生0\) is now withdrawn"):
        allocation.apply_run(run)
    db.session.rollback()
    assert _bed(p[0]).room.number == "101"


# --- pages and who may use them ---------------------------------------------------------------


@pytest.mark.commits
def test_a_student_asks_from_their_page_and_sees_the_outcome(campus, login):
    p = campus["people"]
    client = login(campus["account0"])
    page = client.get("/room-change/mine").get_data(as_text=True)
    assert "A1-101" in page and "Ask to move" in page
    response = client.post("/room-change/move", data={
        "choices-0-target": "room", "choices-0-room": "A1-104",
        "choices-1-target": f"building:{campus['a1'].id}", "reason": "closer to the lab"})
    assert response.status_code == 302
    request = services.live_request_of(p[0])
    assert [c.label for c in request.choices] == ["Room A1-104", f"Building A1 {campus['a1'].name}"]
    run = _round()
    allocation.apply_run(run)
    db.session.commit()
    page = client.get("/room-change/mine").get_data(as_text=True)
    assert "Granted" in page and "A1-104" in page


def test_a_student_confirms_a_swap_from_their_page(campus, login):
    p = campus["people"]
    request = services.ask_to_swap(p[0], p[2].student_number, "same class")
    db.session.commit()
    client = login(campus["account2"])
    page = client.get("/room-change/mine").get_data(as_text=True)
    assert "学生0" in page and "you would take bed A1-101-1" in page
    client.post(f"/room-change/{request.id}/answer", data={"answer": "accept"})
    assert request.status == ChangeStatus.OPEN


def test_who_may_see_and_do_what(campus, login, client):
    p = campus["people"]
    request = _move(p[0], "A1-104")
    db.session.commit()
    student = login(campus["account1"])
    assert student.get("/room-change/").status_code == 403  # the staff list
    student.post(f"/room-change/{request.id}/withdraw")  # not theirs
    assert request.status == ChangeStatus.OPEN
    assert "There is no such request" in student.get("/room-change/mine").get_data(as_text=True)
    student.post(f"/room-change/{request.id}/answer", data={"answer": "accept"})
    assert request.status == ChangeStatus.OPEN
    client.post("/logout")

    counselor = login(campus["counselor"])
    assert counselor.get("/room-change/mine").status_code == 403
    assert counselor.get("/room-change/").status_code == 403
    assert counselor.post(f"/room-change/{request.id}/withdraw").status_code == 403
    assert "Room change requests" not in counselor.get(f"/students/{p[0].id}").get_data(as_text=True)
    client.post("/logout")

    staff = login(campus["staff"])
    listing = staff.get("/room-change/?status=open").get_data(as_text=True)
    assert "202400000 学生0" in listing and "Room A1-104" in listing
    assert "Room change requests" in staff.get(f"/students/{p[0].id}").get_data(as_text=True)
    staff.post(f"/room-change/{request.id}/withdraw")
    assert request.status == ChangeStatus.WITHDRAWN


def test_the_staff_list_loads_in_a_fixed_number_of_queries(campus, login, count_queries):
    p = campus["people"]
    for n in (0, 2, 4):
        _move(p[n], "A1-104")
    services.ask_to_swap(p[1], p[3].student_number, "x")
    db.session.commit()
    staff = login(campus["staff"])
    with count_queries() as few:
        staff.get("/room-change/")
    for n in (5,):
        services.ask_to_move(p[n], [Choice("type", "suite"), Choice("building", str(campus["a1"].id))], "x")
    db.session.commit()
    with count_queries() as more:
        staff.get("/room-change/")
    assert len(more) == len(few)


# --- what the review found: agreements, rankings and rules hold until the round is applied -----------------


@pytest.mark.commits
def test_a_swap_is_of_the_beds_agreed_not_of_wherever_the_two_are_now(campus):
    p = campus["people"]
    swap = services.ask_to_swap(p[0], p[2].student_number, "x")
    services.answer_swap(p[2], swap.id, accept=True)
    residence.move(p[0], campus["rooms"]["104"].beds[0], reason="staff moved him")
    run = _round()
    assert run.moves == [] and run.request_outcomes == {str(swap.id): "swap_changed"}


@pytest.mark.commits
def test_a_move_never_goes_down_the_students_own_ranking(campus):
    p = campus["people"]
    request = _move(p[0], "A1-104", "A1-103")
    residence.move(p[0], campus["rooms"]["104"].beds[0], reason="staff moved him to his first choice")
    _move(p[4], "A1-101")  # frees a bed in 103, his second choice
    run = _round()
    assert p[0].id not in {m.student_id for m in run.moves}
    assert run.request_outcomes[str(request.id)] == "already_there"


@pytest.mark.commits
def test_apply_checks_do_not_room_with_as_it_stands_then(campus):
    p = campus["people"]
    resident = p[1]
    residence.move(resident, campus["rooms"]["104"].beds[1], reason="x")
    _move(p[4], "A1-104")
    run = _round()
    assert [m.student_id for m in run.moves] == [p[4].id]
    roommate_requests.add_request(resident, p[4].student_number, RequestKind.AVOID)  # added after the round
    db.session.commit()
    with pytest.raises(ServiceError, match="must not room together.*202400001 学生1 / 202400004 学生4"):
        allocation.apply_run(run)
    db.session.rollback()


@pytest.mark.commits
def test_settling_refuses_a_request_withdrawn_at_the_last_moment(campus):
    from dorms.core.errors import Conflict
    from dorms.roomchange import requests_round

    p = campus["people"]
    request = _move(p[0], "A1-104")
    run = _round()
    assert requests_round.requests_changed_since(run.request_outcomes) == []
    db.session.execute(sa.update(RoomChangeRequest).values(status=ChangeStatus.WITHDRAWN))  # another session's
    with pytest.raises(Conflict, match="changed while it was being applied"):
        requests_round.settle(run.id, run.request_outcomes)
    db.session.rollback()
    assert request.status == ChangeStatus.OPEN


def test_telling_a_round_of_fifty_takes_the_queries_a_round_of_five_takes(
        app, create_student, create_user, count_queries):
    from dorms.notifications.models import Contact, Notification
    from dorms.notifications.outbox import render
    from dorms.roomchange import requests_round

    app.config["SMTP_HOST"] = "mail.example.edu.cn"  # each outcome has an email to write too

    def asked(requests: int) -> dict[str, str]:
        """``requests`` open requests, the first a swap (its partner is told too), half granted: their outcomes."""
        people = [create_student() for _ in range(requests + 1)]
        for student in people:
            account = create_user(role=Role.STUDENT, student=student)
            db.session.add(Contact(user_id=account.id, email=f"{student.student_number}@example.edu.cn"))
        swap = RoomChangeRequest(student_id=people[0].id, partner_id=people[1].id, kind=ChangeKind.SWAP,
                                 status=ChangeStatus.OPEN)
        moves = [RoomChangeRequest(student_id=student.id, kind=ChangeKind.MOVE, status=ChangeStatus.OPEN)
                 for student in people[2:]]
        db.session.add_all([swap, *moves])
        db.session.flush()
        return {str(r.id): (ChangeOutcome.GRANTED if n % 2 else ChangeOutcome.NO_ELIGIBLE_BED).value
                for n, r in enumerate([swap, *moves])}

    def queries_to_settle(outcomes: dict[str, str]) -> int:
        run = allocation.create_run(mode=RunMode.REQUESTS, building_ids=[], time_limit=2)
        run.status = RunStatus.APPLIED  # as apply_run leaves it, so that the next round may be created
        db.session.flush()
        with count_queries() as statements:
            requests_round.settle(run.id, outcomes)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoomChangeRequest)
                                 .where(RoomChangeRequest.decided_run_id == run.id)) == len(outcomes)
        return len(statements)

    few, many = asked(5), asked(50)
    assert queries_to_settle(few) == queries_to_settle(many)
    told = db.session.scalars(sa.select(Notification).where(Notification.kind == "round_outcome")).all()
    assert len(told) == 5 + 1 + 50 + 1  # the swap's partner is told too
    assert sorted({render(n, "en")[0].split(": ")[1] for n in told}) == ["Granted", "Not granted"]
    assert [d.channel for n in told for d in n.deliveries] == ["email"] * len(told)


def test_the_partner_sees_an_agreed_swap_and_can_call_it_off(campus, login, client):
    p = campus["people"]
    swap = services.ask_to_swap(p[0], p[2].student_number, "x")
    db.session.commit()
    asker_page = login(campus["account0"]).get("/room-change/mine").get_data(as_text=True)
    assert "202400002" in asker_page and "学生2" not in asker_page  # not agreed yet: only the number typed
    services.answer_swap(p[2], swap.id, accept=True)
    db.session.commit()
    client.post("/logout")
    page = login(campus["account2"]).get("/room-change/mine").get_data(as_text=True)
    assert "asked by 202400000 学生0" in page and f"/room-change/{swap.id}/withdraw" in page
    assert "Ask to move" not in page


@pytest.mark.backends("sqlite", "postgresql")
def test_a_withdrawn_or_declined_swap_does_not_name_the_other_student(campus, login):
    """Asking with any number and withdrawing must not turn the number into a name."""
    p = campus["people"]
    withdrawn = services.ask_to_swap(p[0], p[2].student_number, "x", discreet=True)
    services.withdraw(withdrawn.id, by=p[0])
    declined = services.ask_to_swap(p[0], p[3].student_number, "x", discreet=True)
    services.answer_swap(p[3], declined.id, accept=False)
    agreed = services.ask_to_swap(p[0], p[4].student_number, "x", discreet=True)
    services.answer_swap(p[4], agreed.id, accept=True)
    db.session.commit()
    client = login(campus["account0"])
    page = client.get("/room-change/mine").get_data(as_text=True)
    assert "202400004 学生4" in page  # while the other student's yes stands, the asker sees who it is
    history = page[page.index('data-testid="request-history"'):]
    for other in (p[2], p[3]):
        assert other.name not in page and other.student_number not in page
    assert history.count("Withdrawn") == 1 and history.count("Declined by the other student") == 1
    client.post(f"/room-change/{agreed.id}/withdraw")
    page = client.get("/room-change/mine").get_data(as_text=True)
    assert "学生4" not in page and "202400004" not in page


def test_a_student_agrees_to_one_swap_at_a_time(campus):
    p = campus["people"]
    first = services.ask_to_swap(p[0], p[2].student_number, "x")
    second = RoomChangeRequest(student=p[4], kind="swap", partner=p[2], status=ChangeStatus.AWAITING_PARTNER,
                               reason="asked at the same moment", student_bed_id=_bed(p[4]).id)
    db.session.add(second)
    services.answer_swap(p[2], first.id, accept=True)
    with pytest.raises(ServiceError, match="another request waiting"):
        services.answer_swap(p[2], second.id, accept=True)
    db.session.commit()
    with pytest.raises(IntegrityError):  # the database holds the line too
        second.status = ChangeStatus.OPEN
        db.session.flush()
    db.session.rollback()


@pytest.mark.commits
def test_a_rollback_leaves_newer_requests_in_charge(campus):
    p = campus["people"]
    _move(p[0], "A1-104")
    _move(p[2], "A1-103")  # 103 is full and nobody leaves it: not granted
    run = _round()
    allocation.apply_run(run)
    db.session.commit()
    granted, refused = services.requests_of(p[0])[0], services.requests_of(p[2])[0]
    assert (granted.status, refused.status) == (ChangeStatus.GRANTED, ChangeStatus.NOT_GRANTED)
    _move(p[0], "A1-103")  # both ask again
    again = _move(p[2], "A1-104")
    allocation.rollback_run(run)
    db.session.commit()
    assert _bed(p[0]).room.number == "101"
    assert (granted.status, granted.outcome) == (ChangeStatus.NOT_GRANTED, ChangeOutcome.ROLLED_BACK)
    assert refused.status == ChangeStatus.NOT_GRANTED and again.status == ChangeStatus.OPEN


@pytest.mark.commits
@pytest.mark.parametrize("seed", range(12))
def test_random_rounds_keep_every_rule(seed, create_building, create_room, create_student):
    """Random campuses and requests, then rooms close, beds go out of use, students leave; the round still holds."""
    import random
    from collections import defaultdict

    from dorms.campus.models import Bed
    from dorms.core.enums import RoomStatus, StudentStatus
    from dorms.residence.models import Assignment
    from dorms.roomchange.models import ChangeKind, RoomChangeChoice
    from dorms.students.models import RoommateRequest

    rng = random.Random(seed)
    men, mixed = create_building("M", gender_policy=GenderPolicy.MALE), create_building("X")
    rooms = [create_room(b, f"{n + 1}0{n}", capacity=rng.randint(1, 3), accessible=rng.random() < .3,
                         room_type=rng.choice(["a", "b"])) for b in (men, mixed) for n in range(rng.randint(2, 5))]
    students = []
    for room in rooms:
        gender = Gender.MALE if room.building is men else rng.choice([Gender.MALE, Gender.FEMALE])
        for bed in room.beds:
            if rng.random() < 0.7:
                student = create_student(f"S{seed}{len(students):04d}", gender=gender,
                                         needs_accessible=room.accessible and rng.random() < .3)
                residence.assign(student, bed, reason="x")
                students.append(student)
    for _ in range(len(students) // 3):
        a, b = rng.sample(students, 2)
        db.session.merge(RoommateRequest(student_id=a.id, other_id=b.id, other_number=b.student_number,
                                         kind=RequestKind.AVOID)) \
            if not roommate_requests.requests_of(a) else None
    asked: set[int] = set()
    for student in rng.sample(students, rng.randint(0, len(students))):
        if student.id in asked:
            continue
        others = [o for o in students if o.id != student.id and o.id not in asked]
        if rng.random() < 0.3 and others:
            other = rng.choice(others)
            asked |= {student.id, other.id}
            db.session.add(RoomChangeRequest(student=student, kind=ChangeKind.SWAP, partner=other, reason="r",
                                             status=ChangeStatus.OPEN, student_bed_id=_bed(student).id,
                                             partner_bed_id=_bed(other).id))
        else:
            asked.add(student.id)
            choices = [RoomChangeChoice(rank=rank, **rng.choice([{"room": rng.choice(rooms)},
                                                                 {"building": rng.choice([men, mixed])},
                                                                 {"room_type": rng.choice(["a", "b"])}]))
                       for rank in range(1, rng.randint(1, 3) + 1)]
            db.session.add(RoomChangeRequest(student=student, kind=ChangeKind.MOVE, status=ChangeStatus.OPEN,
                                             reason="r", choices=choices, student_bed_id=_bed(student).id))
    for room in rooms:  # the campus changes after the asking
        if rng.random() < .15:
            room.status = RoomStatus.CLOSED
        for bed in room.beds:
            bed.active = bed.active and rng.random() > .1
    for student in students:
        if rng.random() < .05:
            student.status = StudentStatus.GRADUATED
    db.session.commit()

    before = {a.student_id: a.bed_id for a in db.session.scalars(sa.select(Assignment).where(Assignment.ended_at.is_(None)))}
    run = _round()
    assert run.status == RunStatus.DONE, run.error
    requests = {r.id: r for r in db.session.scalars(sa.select(RoomChangeRequest))}
    after = {**before, **{m.student_id: m.to_bed_id for m in run.moves}}
    assert len(set(after.values())) == len(after)  # one bed, one student
    granted = [requests[int(i)] for i, o in run.request_outcomes.items() if o == "granted"]
    assert {m.student_id for m in run.moves} == {p for r in granted for p in (r.student_id, r.partner_id) if p}
    for r in granted:
        if r.kind == ChangeKind.SWAP:
            assert after[r.student_id] == before[r.partner_id] and after[r.partner_id] == before[r.student_id]
    bed_room = {b.id: b.room for b in db.session.scalars(sa.select(Bed))}
    beds = {b.id: b for b in db.session.scalars(sa.select(Bed))}
    by_id = {s.id: s for s in students}
    rooms_now = defaultdict(list)
    for student_id, bed_id in after.items():
        rooms_now[bed_room[bed_id].id].append(by_id[student_id])
    avoid = {(r.student_id, r.other_id) for r in db.session.scalars(sa.select(RoommateRequest))}
    for move in run.moves:
        room, student = bed_room[move.to_bed_id], by_id[move.student_id]
        assert room.is_open and beds[move.to_bed_id].active
        assert room.accessible or not student.needs_accessible
        assert len({o.gender for o in rooms_now[room.id]}) == 1
        assert not any((student.id, o.id) in avoid or (o.id, student.id) in avoid for o in rooms_now[room.id])
    allocation.apply_run(run)
    db.session.commit()
    allocation.rollback_run(run)
    db.session.commit()
    assert {a.student_id: a.bed_id for a in db.session.scalars(
        sa.select(Assignment).where(Assignment.ended_at.is_(None)))} == before
