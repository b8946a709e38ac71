"""Selection day: windows and their seeded order, holds and confirmations, refusals, and claims racing for beds."""
from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorms.core.clock import utcnow
from dorms.core.enums import Gender, GenderPolicy, RequestKind, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.selection import services as selection
from dorms.selection.models import EventStatus, PickStatus, SelectionEvent, SelectionParticipant, SelectionPick
from dorms.students.models import Student
from dorms.students import roommate_requests


@pytest.fixture
def app_config(app_config):
    """Connections enough for the race's threads, each claiming over its own."""
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 40, "max_overflow": 5}}


@pytest.fixture
def hall(create_building, create_room):
    men = create_building("M1", gender_policy=GenderPolicy.MALE)
    women = create_building("W1", gender_policy=GenderPolicy.FEMALE)
    return {"men": [create_room(men, f"{n}", capacity=4) for n in (101, 102)],
            "women": [create_room(women, "101", capacity=4)]}


def _event(hall, students, *, starts_in=timedelta(minutes=-1), **settings):
    """An open event over every bed of ``hall``, one window for everyone."""
    now = utcnow()
    event = selection.create_event("2026 秋季选宿", closes_at=now + timedelta(hours=2), seed="published-seed",
                                   **settings)
    selection.add_window(event, "everyone", starts_at=now + starts_in)
    selection.add_participants(event, students)
    selection.offer_beds(event, [bed for rooms in hall.values() for room in rooms for bed in room.beds])
    selection.open_event(event)
    db.session.commit()
    return event


def _ids(beds) -> list[int]:
    return [bed.bed_id for bed in beds]


def _bed(hall, building="men", room=0, bed=0):
    return hall[building][room].beds[bed]


@pytest.mark.backends("sqlite", "postgresql")
def test_a_student_holds_confirms_and_the_bed_is_gone_for_everyone_else(app, hall, create_student):
    first, second = create_student(), create_student()
    event = _event(hall, [first, second])
    bed = _bed(hall)
    assert bed.id in _ids(selection.available_beds(event, first))
    selection.hold(event, first, bed.id)
    db.session.commit()
    with pytest.raises(ServiceError, match="taken a moment ago"):
        selection.hold(event, second, bed.id)
    db.session.rollback()
    assert bed.id not in _ids(selection.available_beds(event, second))
    selection.confirm(event, first)
    db.session.commit()
    assert selection.live_picks(event, first, utcnow())[PickStatus.CONFIRMED].bed_id == bed.id
    with pytest.raises(ServiceError, match="can no longer be changed"):
        selection.hold(event, first, _bed(hall, bed=1).id)
    assert selection.invariant_problems(event) == []


@pytest.mark.backends("sqlite", "postgresql")
def test_one_hold_at_a_time_a_hold_runs_out_and_a_refused_switch_keeps_the_first(app, hall, create_student):
    student, other = create_student(), create_student()
    event = _event(hall, [student, other], hold_seconds=60)
    first, second, third = (_bed(hall, bed=n) for n in range(3))
    selection.hold(event, student, first.id)
    selection.hold(event, other, third.id)
    db.session.commit()
    selection.hold(event, student, second.id)  # the first hold is given up for the second
    db.session.commit()
    assert {p.bed_id: p.status for p in db.session.scalars(sa.select(SelectionPick).where(
        SelectionPick.student_id == student.id))} == {first.id: PickStatus.CANCELLED, second.id: PickStatus.HELD}
    with pytest.raises(ServiceError, match="taken a moment ago"):
        selection.hold(event, student, third.id)
    db.session.rollback()
    assert selection.live_picks(event, student, utcnow())[PickStatus.HELD].bed_id == second.id

    later = utcnow() + timedelta(seconds=61)  # the other's hold ran out: the bed is anyone's
    assert third.id in _ids(selection.available_beds(event, student, later))
    selection.hold(event, student, third.id, now=later)
    db.session.commit()
    with pytest.raises(ServiceError, match="hold no bed, or your hold ran out"):
        selection.confirm(event, other, now=later)
    assert selection.expire_holds(event, later + timedelta(seconds=61)) == 1
    assert selection.expire_holds(event, later + timedelta(seconds=61)) == 0  # once
    assert selection.invariant_problems(event) == []


@pytest.mark.backends("sqlite", "postgresql")
def test_a_confirmed_choice_changes_only_as_often_as_allowed(app, hall, create_student):
    student = create_student()
    event = _event(hall, [student], change_limit=1)
    for n in range(2):
        selection.hold(event, student, _bed(hall, bed=n).id)
        selection.confirm(event, student)
        db.session.commit()
    assert selection.live_picks(event, student, utcnow())[PickStatus.CONFIRMED].bed_id == _bed(hall, bed=1).id
    with pytest.raises(ServiceError, match="can no longer be changed"):
        selection.hold(event, student, _bed(hall, bed=2).id)
    assert db.session.scalar(sa.select(SelectionParticipant.changes_used)) == 1


@pytest.mark.backends("sqlite", "postgresql")
def test_every_refusal_says_why(app, hall, create_student):
    early, woman, avoider, avoided, outsider = (
        create_student(), create_student(gender=Gender.FEMALE), create_student(), create_student(), create_student())
    event = _event(hall, [woman, avoider, avoided])
    refused = lambda student, bed: pytest.raises(ServiceError, match=bed)  # noqa: E731
    with refused(outsider, "do not take part"):
        selection.hold(event, outsider, _bed(hall).id)
    with refused(woman, "houses male students"):
        selection.hold(event, woman, _bed(hall).id)
    assert {bed.building for bed in selection.available_beds(event, woman)} == {"W1"}
    assert [(b, n) for b, _floor, n in selection.free_by_floor(event, woman)] == [("W1", 4)]
    roommate_requests.add_request(avoider, avoided.student_number, RequestKind.AVOID)
    selection.hold(event, avoided, _bed(hall, bed=0).id)
    db.session.commit()
    with refused(avoider, "asked not to room with"):
        selection.hold(event, avoider, _bed(hall, bed=1).id)
    selection.hold(event, avoider, _bed(hall, room=1).id)  # another room is fine

    later = _event(hall, [early], starts_in=timedelta(minutes=5))
    with refused(early, "not your window yet"):
        selection.hold(later, early, _bed(hall).id)
    selection.pause(event)
    db.session.commit()
    with refused(woman, "paused"):
        selection.hold(event, woman, _bed(hall, "women").id)


@pytest.mark.backends("sqlite", "postgresql")
def test_the_order_comes_from_the_published_seed_and_batches_follow_it(app, create_student, hall):
    now = utcnow()
    students = [create_student(f"20269{n:05d}") for n in range(7)]
    event = selection.create_event("order", closes_at=now + timedelta(hours=3), seed="s33d")
    window = selection.add_window(event, "all", starts_at=now, batch_size=3, batch_minutes=10)
    selection.add_participants(event, students)
    selection.offer_beds(event, [bed for room in hall["men"] for bed in room.beds])
    assert selection.arrange(event) == []
    redone = sorted(students, key=lambda s: hashlib.sha256(f"s33d:{s.student_number}".encode()).hexdigest())
    rows = db.session.scalars(sa.select(SelectionParticipant).order_by(SelectionParticipant.position)).all()
    assert [row.student_id for row in rows] == [s.id for s in redone]
    assert [(row.opens_at - window.starts_at) // timedelta(minutes=10) for row in rows] == [0, 0, 0, 1, 1, 1, 2]

    selection.open_event(event)
    db.session.commit()
    selection.pause(event, now=now + timedelta(minutes=5))
    selection.resume(event, now=now + timedelta(minutes=12))  # seven minutes later
    assert [row.opens_at - now for row in db.session.scalars(
        sa.select(SelectionParticipant).order_by(SelectionParticipant.position))] == \
        [timedelta(0)] * 3 + [timedelta(minutes=17)] * 3 + [timedelta(minutes=27)]
    assert db.session.get(type(event), event.id).status == EventStatus.OPEN


@pytest.mark.backends("sqlite", "postgresql")
def test_an_event_does_not_open_with_overlaps_students_without_a_window_or_beds_nobody_may_take(
        app, create_student, create_building, create_room, hall):
    now = utcnow()
    chemist, physicist, stranger = (create_student(college="化学院"), create_student(college="物理学院"),
                                    create_student(college="数学院", gender=Gender.FEMALE))
    event = selection.create_event("checks", closes_at=now + timedelta(hours=3))
    selection.add_window(event, "chemists", starts_at=now, college="化学院")
    selection.add_window(event, "men", starts_at=now, gender=Gender.MALE)
    selection.add_window(event, "physics", starts_at=now, tier=2, college="物理学院")
    selection.add_participants(event, [chemist, physicist, stranger])
    mixed = create_room(create_building("X1"), "101")  # a room of no one gender
    occupied = _bed(hall)
    residence.assign(create_student(), occupied, reason="lives there")
    selection.offer_beds(event, [occupied, _bed(hall, bed=1), *mixed.beds])
    problems = selection.arrange(event)
    kinds = sorted(p.kind for p in problems)
    assert kinds == ["no_window", "overlap", "unusable_bed", *["unusable_bed"] * len(mixed.beds)], problems
    assert chemist.display in next(p.message for p in problems if p.kind == "overlap")  # two windows of tier 1
    assert stranger.display in next(p.message for p in problems if p.kind == "no_window")
    # The physicist is in "men" (tier 1) and "physics" (tier 2): the earlier tier takes him.
    assert db.session.scalar(sa.select(SelectionParticipant.window_id).where(
        SelectionParticipant.student_id == physicist.id)) == event.windows[1].id
    with pytest.raises(ServiceError):
        selection.open_event(event)


@pytest.mark.commits
def test_two_hundred_claims_racing_for_twenty_beds_leave_exactly_twenty_holds(
        app, create_student, create_room, hall, backend):
    """Ten students for every bed, each claim in a thread over a connection of its own, all let go at once."""
    if backend != "postgresql":
        pytest.skip("the race is PostgreSQL's: SQLite lets one writer at a time")
    building = hall["men"][0].building
    rooms = [*hall["men"], *(create_room(building, number) for number in ("103", "104", "105"))]
    beds = [bed for room in rooms for bed in room.beds]
    students = [create_student(f"20268{n:05d}") for n in range(200)]
    event = selection.create_event("race", closes_at=utcnow() + timedelta(hours=1))
    selection.add_window(event, "all", starts_at=utcnow() - timedelta(minutes=1))
    selection.add_participants(event, students)
    selection.offer_beds(event, beds)
    selection.open_event(event)
    db.session.commit()
    claims = [(student.id, beds[n % len(beds)].id) for n, student in enumerate(students)]
    threads = 40
    # A thread that cannot start (no connection left, say) breaks the barrier: the test fails, never hangs.
    start, won, broke = threading.Barrier(threads, timeout=120), [], []

    def claim(share: list[tuple[int, int]]) -> None:
        with app.app_context():
            try:
                mine = db.session.get(SelectionEvent, event.id)
                db.session.commit()  # its connection back to the pool: every thread takes one after the barrier
                start.wait()
                for student_id, bed_id in share:
                    try:
                        selection.hold(mine, db.session.get(Student, student_id), bed_id)
                        db.session.commit()
                        won.append(bed_id)
                    except ServiceError:
                        db.session.rollback()
            except Exception as error:  # noqa: BLE001 (told below, with what it was)
                broke.append(repr(error))
                start.abort()
            finally:
                db.session.remove()

    workers = [threading.Thread(target=claim, args=(claims[n::threads],)) for n in range(threads)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        db.engine.pool.dispose()  # the threads' connections, idle now: closed, not kept for the session
    assert not broke, broke[:3]
    assert len(beds) == 20 and sorted(won) == sorted(bed.id for bed in beds)  # every bed once
    db.session.expire_all()
    holds = db.session.scalars(sa.select(SelectionPick.student_id).where(SelectionPick.status == PickStatus.HELD))
    assert len(set(holds.all())) == 20
    assert selection.invariant_problems(event) == []


# --- the JSON API -------------------------------------------------------------------------------------------


def test_the_students_steps_through_the_json_api(app, client, hall, create_student, create_user):
    student, other = create_student(), create_student()
    create_user("2026s1", role=Role.STUDENT, student=student, password="pass-word-1")
    event = _event(hall, [student, other])
    bed = _bed(hall)
    assert client.get(f"/api/selection/{event.id}/me").status_code == 401
    assert client.post("/api/session", json={"username": "2026s1", "password": "wrong"}).status_code == 401
    assert client.post("/api/session", json={"username": "2026s1", "password": "pass-word-1"}).status_code == 200

    me = client.get(f"/api/selection/{event.id}/me").get_json()
    assert me["may_act"] and me["held"] is None and me["status"] == "open"
    floors = client.get(f"/api/selection/{event.id}/beds").get_json()["floors"]
    assert [(f["building"], f["free"]) for f in floors] == [("M1", 8)]  # two rooms of four, for men
    listed = client.get(f"/api/selection/{event.id}/beds?building=M1&floor={floors[0]['floor']}").get_json()["beds"]
    assert bed.id in [b["bed_id"] for b in listed] and len(listed) == 8 and listed[0]["bed"] == bed.code
    assert client.post(f"/api/selection/{event.id}/hold", data={"bed_id": bed.id}).status_code == 415
    held = client.post(f"/api/selection/{event.id}/hold", json={"bed_id": bed.id})
    assert held.status_code == 200 and held.get_json()["pick"]["status"] == "held"
    assert client.post(f"/api/selection/{event.id}/hold", json={"bed_id": "x"}).status_code == 409
    confirmed = client.post(f"/api/selection/{event.id}/confirm", json={}).get_json()["pick"]
    assert confirmed == {"bed_id": bed.id, "bed": bed.code, "room": bed.room.code, "status": "confirmed",
                         "held_until": None}
    refused = client.post(f"/api/selection/{event.id}/cancel", json={})
    assert refused.status_code == 409 and refused.get_json()["error"] == "You hold no bed."
    client.post("/language/zh_CN")
    refused = client.post(f"/api/selection/{event.id}/hold", json={"bed_id": _bed(hall, bed=1).id})
    assert refused.status_code == 409 and "不能再更改" in refused.get_json()["error"]


def test_the_api_is_for_students_who_take_part(app, client, login, hall, create_student, create_user):
    event = _event(hall, [create_student()])
    login(create_user("staff"))
    assert client.get(f"/api/selection/{event.id}/me").status_code == 403
    client.post("/logout")
    login(create_user("2026s2", role=Role.STUDENT, student=create_student()))
    assert client.get(f"/api/selection/{event.id + 1}/me").status_code == 404
    me = client.get(f"/api/selection/{event.id}/me").get_json()
    assert not me["may_act"] and me["refusal"] == "You do not take part in this selection."
    assert client.get(f"/api/selection/{event.id}/beds").get_json() == {"floors": [], "beds": []}


@pytest.mark.backends("sqlite", "postgresql")
def test_a_rehearsal_copies_the_set_up_runs_apart_and_is_thrown_away(app, hall, create_student):
    student, other = create_student(), create_student()
    now = utcnow()
    real = selection.create_event("real", closes_at=now + timedelta(days=3), seed="same-order")
    selection.add_window(real, "first", starts_at=now + timedelta(days=2))
    selection.add_window(real, "second", starts_at=now + timedelta(days=2, hours=1), tier=2)
    selection.add_participants(real, [student, other])
    bed = _bed(hall)
    selection.offer_beds(real, [bed, _bed(hall, bed=1)])
    selection.offer_beds(real, [_bed(hall, bed=2)], reserved=True)
    rehearsal = selection.rehearse(real, starts_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=2))
    assert [w.starts_at - rehearsal.windows[0].starts_at for w in rehearsal.windows] == [timedelta(0),
                                                                                         timedelta(hours=1)]
    assert rehearsal.is_rehearsal and rehearsal.seed == real.seed
    selection.open_event(rehearsal)
    selection.hold(rehearsal, student, bed.id)
    selection.confirm(rehearsal, student)
    db.session.commit()
    assert selection.participant(real, student).opens_at is None  # the real event is untouched
    with pytest.raises(ServiceError, match="not offered"):
        selection.hold(rehearsal, other, _bed(hall, bed=2).id)  # reserved in the copy too
    with pytest.raises(ServiceError, match="Only a rehearsal"):
        selection.discard(real)
    selection.discard(rehearsal)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionPick)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionParticipant)) == 2


@pytest.mark.backends("sqlite", "postgresql")
def test_applying_a_closed_events_choices_gives_everyone_their_bed_at_once(app, hall, create_student):
    resident, newcomer, idle = create_student(), create_student(), create_student()
    home = _bed(hall, room=1)
    residence.assign(resident, home, reason="last year")
    event = _event({"men": hall["men"][:1]}, [resident, newcomer, idle])  # the offered beds are free ones
    for student, n in ((resident, 2), (newcomer, 3)):
        selection.hold(event, student, _bed(hall, bed=n).id)
        selection.confirm(event, student)
    with pytest.raises(ServiceError, match="Close the selection"):
        selection.apply_choices(event)
    selection.close(event)
    assert selection.apply_choices(event) == 2
    db.session.commit()
    assert [residence.current_assignment(s).bed_id for s in (resident, newcomer)] == \
        [_bed(hall, bed=2).id, _bed(hall, bed=3).id]
    assert residence.current_assignment(idle) is None  # who did not choose is placed by an allocation run
    assert residence.current_occupant(home) is None
    with pytest.raises(ServiceError, match="applied already"):
        selection.apply_choices(event)


@pytest.mark.backends("sqlite", "postgresql")
def test_students_are_reminded_once_before_their_window_and_told_what_they_chose(
        app, hall, create_student, create_user):
    from dorms.notifications.models import Notification
    early, late = create_student(), create_student()
    accounts = {s.id: create_user(role=Role.STUDENT, student=s) for s in (early, late)}
    now = utcnow().replace(second=0, microsecond=0)
    event = selection.create_event("reminders", closes_at=now + timedelta(hours=3))
    selection.add_window(event, "all", starts_at=now + timedelta(minutes=32), batch_size=1, batch_minutes=20)
    selection.add_participants(event, [early, late])
    selection.offer_beds(event, [bed for room in hall["men"] for bed in room.beds])
    selection.open_event(event)
    slots = [now + timedelta(minutes=5 * n) for n in range(12)]  # an hour of five-minute slots
    assert [selection.remind_windows(slot) for slot in slots] == [0, 1, 0, 0, 0, 1] + [0] * 6
    reminded = db.session.scalars(sa.select(Notification.user_id).where(
        Notification.kind == "selection_window_soon")).all()
    assert sorted(reminded) == sorted(a.id for a in accounts.values())

    first = min((early, late), key=lambda s: selection.participant(event, s).opens_at)
    at = selection.participant(event, first).opens_at
    selection.hold(event, first, _bed(hall).id, now=at)
    selection.confirm(event, first, now=at)
    told = db.session.scalar(sa.select(Notification).where(Notification.kind == "selection_confirmed"))
    assert told.user_id == accounts[first.id].id and told.params["bed"] == _bed(hall).code


def test_reminding_fifty_students_takes_the_queries_reminding_five_takes(
        app, hall, create_student, create_user, count_queries):
    from dorms.notifications.models import Contact, Delivery, Notification
    app.config["SMTP_HOST"] = "mail.example.edu.cn"  # each reminder has an email to write too
    few = [create_student(class_name="早班") for _ in range(5)]
    many = [create_student(class_name="晚班") for _ in range(50)]
    for student in few + many:
        account = create_user(role=Role.STUDENT, student=student)
        db.session.add(Contact(user_id=account.id, email=f"{student.student_number}@example.edu.cn"))
    now = utcnow().replace(second=0, microsecond=0)
    event = selection.create_event("reminders", closes_at=now + timedelta(hours=3))
    selection.add_window(event, "early", class_name="早班", starts_at=now + timedelta(minutes=32))
    selection.add_window(event, "late", class_name="晚班", starts_at=now + timedelta(minutes=62))
    selection.add_participants(event, few + many)
    selection.offer_beds(event, [bed for room in hall["men"] for bed in room.beds])
    selection.open_event(event)
    db.session.commit()

    def queries_to_remind(slot) -> tuple[int, int]:
        with count_queries() as statements:
            reminded = selection.remind_windows(slot)
        return reminded, len(statements)

    (five, for_five), (fifty, for_fifty) = queries_to_remind(now + timedelta(minutes=5)), \
        queries_to_remind(now + timedelta(minutes=35))
    assert (five, fifty) == (5, 50) and for_fifty == for_five
    told = db.session.execute(sa.select(Notification.user_id, Delivery.channel).join(Delivery)).all()
    assert len(told) == 55 and {channel for _user, channel in told} == {"email"}


@pytest.mark.backends("sqlite", "postgresql")
def test_roommates_who_want_each_other_choose_one_room_together_all_or_nothing(app, hall, create_student):
    leader, friend, other_friend = (create_student(class_name="早班"), create_student(class_name="晚班"),
                                    create_student(class_name="晚班"))
    stranger, early_friend = create_student(class_name="早班"), create_student(class_name="最早班")
    for a, b in ((leader, friend), (leader, other_friend), (stranger, early_friend)):
        roommate_requests.add_request(a, b.student_number, RequestKind.WANT)
        roommate_requests.add_request(b, a.student_number, RequestKind.WANT)
    roommate_requests.add_request(leader, stranger.student_number, RequestKind.WANT)  # not wanted back
    now = utcnow()
    event = selection.create_event("groups", closes_at=now + timedelta(hours=3))
    selection.add_window(event, "earliest", starts_at=now - timedelta(minutes=2), class_name="最早班")
    selection.add_window(event, "early", starts_at=now - timedelta(minutes=1), class_name="早班")
    selection.add_window(event, "late", starts_at=now + timedelta(minutes=2), class_name="晚班")
    selection.add_participants(event, [leader, friend, other_friend, stranger, early_friend])
    selection.offer_beds(event, [bed for room in hall["men"] for bed in room.beds])
    selection.open_event(event)
    room, crowded = hall["men"][0], hall["men"][1]
    selection.hold(event, create_student_in(event, create_student), crowded.beds[0].id)
    selection.hold(event, create_student_in(event, create_student), crowded.beds[1].id)
    db.session.commit()

    assert [s.id for s in selection.group_of(event, leader)] == sorted([friend.id, other_friend.id])
    with pytest.raises(ServiceError, match="want you back"):
        selection.hold_group(event, leader, room.id, [friend.id, stranger.id])
    with pytest.raises(ServiceError, match="has 2 free beds; your group needs 3"):
        selection.hold_group(event, leader, crowded.id, [friend.id, other_friend.id])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SelectionPick)
                             .where(SelectionPick.status == PickStatus.HELD)) == 2  # nothing held by the refusal
    with pytest.raises(ServiceError, match="whose window opens first"):
        selection.hold_group(event, stranger, room.id, [early_friend.id])

    picks = selection.hold_group(event, leader, room.id, [friend.id, other_friend.id])
    db.session.commit()
    assert {p.bed.room_id for p in picks} == {room.id} and len({p.group_id for p in picks}) == 1
    later = now + timedelta(minutes=3)  # the friends' own window, the hold still on: their bed is held for them
    with pytest.raises(ServiceError, match="Your group holds a bed for you"):
        selection.hold(event, friend, hall["men"][1].beds[3].id, now=later)
    selection.confirm(event, leader)
    db.session.commit()
    assert {selection.live_picks(event, s, utcnow())[PickStatus.CONFIRMED].bed.room_id
            for s in (leader, friend, other_friend)} == {room.id}
    assert selection.invariant_problems(event) == []  # picked before the friends' start, by the leader


def create_student_in(event, create_student):
    """One more participant of ``event``, added while it is open (as a test may)."""
    student = create_student()
    db.session.add(SelectionParticipant(event_id=event.id, student_id=student.id, opens_at=utcnow() - timedelta(
        minutes=1)))
    db.session.flush()
    return student


def test_a_group_chooses_through_the_json_api(app, client, login, hall, create_student, create_user):
    leader, friend = create_student(), create_student()
    for a, b in ((leader, friend), (friend, leader)):
        roommate_requests.add_request(a, b.student_number, RequestKind.WANT)
    event = _event(hall, [leader, friend])
    login(create_user("leader", role=Role.STUDENT, student=leader))
    assert client.get(f"/api/selection/{event.id}/group").get_json()["members"][0]["student_id"] == friend.id
    room = hall["men"][1]
    refused = client.post(f"/api/selection/{event.id}/hold-group", json={"room_id": room.id, "members": "all"})
    assert refused.status_code == 409 and "room_id" in refused.get_json()["error"]
    held = client.post(f"/api/selection/{event.id}/hold-group", json={"room_id": room.id, "members": [friend.id]})
    assert held.status_code == 200 and held.get_json()["pick"]["room"] == room.code
    assert client.post(f"/api/selection/{event.id}/confirm", json={}).status_code == 200
    db.session.expire_all()
    assert selection.live_picks(event, friend, utcnow())[PickStatus.CONFIRMED].bed.room_id == room.id


@pytest.mark.commits  # the run reads the campus in a transaction of its own, as its job does
def test_who_did_not_choose_is_placed_by_an_allocation_run_in_the_offered_beds_only(
        app, hall, create_student, create_room):
    from dorms.allocation import services as allocation
    from dorms.allocation.models import AllocationMove, RunStatus
    chooser, idle, also_idle = create_student(), create_student(), create_student()
    offered = hall["men"][0].beds[:2] + hall["men"][1].beds[:2]
    reserved = hall["men"][1].beds[2]  # the office's: nobody is placed there
    now = utcnow()
    event = selection.create_event("the rest", closes_at=now + timedelta(hours=1))
    selection.add_window(event, "all", starts_at=now - timedelta(minutes=1))
    selection.add_participants(event, [chooser, idle, also_idle])
    selection.offer_beds(event, offered)
    selection.offer_beds(event, [reserved], reserved=True)
    selection.open_event(event)
    selection.hold(event, chooser, offered[0].id)
    selection.confirm(event, chooser)
    selection.close(event)
    db.session.commit()
    with pytest.raises(ServiceError, match="Apply the event's choices first"):
        selection.place_the_rest(event)
    selection.apply_choices(event)
    run = selection.place_the_rest(event, time_limit=5)
    assert run.student_scope == {"students": sorted([idle.id, also_idle.id])}
    db.session.commit()
    allocation.execute_run(run.id)
    db.session.commit()
    assert db.session.get(type(run), run.id).status == RunStatus.DONE
    moves = db.session.scalars(sa.select(AllocationMove).where(AllocationMove.run_id == run.id)).all()
    assert sorted(m.student_id for m in moves) == sorted([idle.id, also_idle.id])
    assert {m.to_bed_id for m in moves} <= {bed.id for bed in offered[1:]}  # never reserved, taken or unoffered
