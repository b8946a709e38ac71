"""Swap and move requests: asking, confirming, refusals, and the requests round from proposal to rollback."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorms.allocation import services as allocation
from dorms.allocation.models import MoveReason, RunMode, RunStatus
from dorms.core.enums import Gender, GenderPolicy, RequestKind, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.roomchange import services
from dorms.roomchange.models import ChangeOutcome, ChangeStatus, RoomChangeRequest
from dorms.roomchange.services import Choice
from dorms.students import requests as roommate_requests


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
    ("woman", "cannot be named", "gender or status"),
    ("1", "cannot be named", "no bed in another room"),  # a roommate
    ("newcomer", "cannot be named", "no bed in another room"),
])
def test_bad_swaps_are_refused_saying_no_more_than_the_asker_may_know(campus, who, discreet_message, staff_message):
    p = campus["people"]
    other = p[int(who)] if who.isdigit() else p[who]
    with pytest.raises(ServiceError, match=discreet_message) as error:
        services.ask_to_swap(p[0], other.student_number, "x", discreet=True)
    assert other.name not in str(error.value)
    with pytest.raises(ServiceError, match=staff_message):
        services.ask_to_swap(p[0], other.student_number, "x")


def test_a_swap_that_breaks_do_not_room_with_is_refused(campus):
    p = campus["people"]
    roommate_requests.add_request(p[3], p[0].student_number, RequestKind.AVOID)
    with pytest.raises(ServiceError, match="housing rule"):
        services.ask_to_swap(p[0], p[2].student_number, "x", discreet=True)
    with pytest.raises(ServiceError, match="must not share A1-102"):
        services.ask_to_swap(p[0], p[2].student_number, "x")


def test_withdrawing(campus):
    p = campus["people"]
    request = services.ask_to_swap(p[0], p[2].student_number, "x")
    with pytest.raises(ServiceError, match="no such request"):
        services.withdraw(request.id, by=p[4])
    services.withdraw(request.id, by=p[2])  # the partner may call it off too
    assert request.status == ChangeStatus.WITHDRAWN
    with pytest.raises(ServiceError, match="can no longer be withdrawn"):
        services.withdraw(request.id, by=None)
    _move(p[0], "A1-104")  # free to ask again


# --- the round ---------------------------------------------------------------------------------


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


def test_two_who_must_not_meet_do_not_arrive_in_the_same_room(campus):
    p = campus["people"]
    roommate_requests.add_request(p[4], p[0].student_number, RequestKind.AVOID)
    _move(p[0], "A1-104")
    _move(p[4], "A1-104")  # later: gives way
    run = _round()
    assert [m.student_id for m in run.moves] == [p[0].id]
    assert run.terms["granted"] == 1


def test_an_empty_room_of_no_gender_takes_one_gender(campus, create_building, create_room, create_student):
    mixed = create_building("C1", gender_policy=GenderPolicy.MIXED)
    create_room(mixed, "201", capacity=2)
    p = campus["people"]
    services.ask_to_move(p["woman"], [Choice("room", "C1-201")], "x")
    _move(p[0], "C1-201")
    run = _round()
    assert [m.student_id for m in run.moves] == [p["woman"].id]


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


def test_a_rollback_waits_if_the_student_asked_again(campus):
    p = campus["people"]
    _move(p[0], "A1-104")
    run = _round()
    allocation.apply_run(run)
    db.session.commit()
    _move(p[0], "A1-103")
    db.session.commit()
    with pytest.raises(ServiceError, match="has asked for another change since"):
        allocation.rollback_run(run)
    db.session.rollback()
    assert _bed(p[0]).room.number == "104"


# --- pages and who may use them ---------------------------------------------------------------


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
