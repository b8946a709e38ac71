"""Selection day's waiting room: students let in in the order they came, at a rate, on a line kept in Redis."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from dorms.core import kept
from dorms.core.clock import utcnow
from dorms.core.enums import GenderPolicy, Role
from dorms.core.errors import ServiceError
from dorms.extensions import db
from dorms.selection import services as selection
from dorms.selection import traffic, waiting_room

from .conftest import redis_for_test

REDIS_URL = os.environ.get("DORMS_TEST_SELECTION_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "REDIS_URL": REDIS_URL, "DORMS_SELECTION_ADMIT_PER_SECOND": 2.0,
            "DORMS_SELECTION_ADMIT_BURST": 2}


@pytest.fixture
def line(app):
    with redis_for_test(REDIS_URL, f"dorms:*:{kept.database_digest()}:*") as client:  # this worker's database
        yield client


@pytest.fixture
def event(app, create_building, create_room, create_student, open_selection):
    room = create_room(create_building("M1", gender_policy=GenderPolicy.MALE), "101", capacity=6)
    students = [create_student() for _ in range(5)]
    return open_selection(students, room.beds), students, room.beds


def test_students_are_let_in_in_the_order_they_came_at_the_rate(line, event):
    event, students, beds = event
    start = utcnow()
    place = lambda n, seconds: selection.in_line(  # noqa: E731
        event, selection.participant(event, students[n]), start + timedelta(seconds=seconds))
    assert [place(n, 0).admitted for n in range(2)] == [True, True]  # the burst
    assert [(place(n, 0).ahead, place(n, 0).seconds) for n in (2, 3)] == [(1, 1), (2, 1)]
    with pytest.raises(ServiceError, match="waiting room: 2 students before you"):
        selection.hold(event, students[3], beds[0].id, now=start)
    assert place(3, 1).admitted and place(2, 1).admitted  # two a second
    assert place(4, 1).ahead == 1  # came last, waits its turn
    assert place(0, 1).admitted  # once in, in
    assert place(4, 2).admitted
    selection.hold(event, students[3], beds[0].id, now=start + timedelta(seconds=2))


def test_the_api_shows_the_place_in_line(line, event, client, login, create_user):
    event, students, _beds = event
    later = utcnow() + timedelta(hours=1)  # the line last moved then: asked before, it lets nobody more in
    for n in range(2):
        selection.in_line(event, selection.participant(event, students[n]), later)
    login(create_user("s3", role=Role.STUDENT, student=students[2]))
    me = client.get(f"/api/selection/{event.id}/me").get_json()
    assert not me["may_act"] and me["waiting"] == {"ahead": 1, "seconds": 1}
    assert me["refusal"] == "You are in the waiting room: 1 student before you, about 1 s."
    assert client.get(f"/api/selection/{event.id}/beds").get_json() == {"floors": [], "beds": []}
    assert client.post(f"/api/selection/{event.id}/hold", json={"bed_id": _beds[0].id}).status_code == 409


def test_without_a_rate_there_is_no_waiting_room(app, event):
    event, students, beds = event
    app.config["DORMS_SELECTION_ADMIT_PER_SECOND"] = 0
    assert all(selection.in_line(event, selection.participant(event, s), utcnow()).admitted for s in students)


def test_a_student_still_in_line_is_answered_without_the_database(line, event, client, login, create_user,
                                                                   count_queries):
    event, students, _beds = event
    later = utcnow() + timedelta(hours=1)  # the line last moved then: asked before, it lets nobody more in
    for n in range(2):
        selection.in_line(event, selection.participant(event, students[n]), later)
    user = create_user("s3", role=Role.STUDENT, student=students[2])
    user.locale = "zh_CN"
    login(user)
    me, page_address = f"/api/selection/{event.id}/me", f"/selection/{event.id}"
    first = client.get(me).get_json()  # keeps the event's line view
    with count_queries() as queries:
        answered = client.get(me)
        page = client.get(page_address)
    again = answered.get_json()
    assert answered.headers["Cache-Control"] == "no-store" and "frame-ancestors" in answered.headers[
        "Content-Security-Policy"]
    # The page reads only what every page does: the account and its unread notifications.
    assert len(queries) == 2, "\n\n".join(queries)
    assert again == {**first, "now": again["now"]}
    assert again["waiting"] == {"ahead": 1, "seconds": 1} and not again["may_act"]
    assert again["refusal"] == "你在等候队列中：前面还有 1 位同学，约 1 秒。"
    assert again["opens_at"] == selection.participant(event, students[2]).opens_at.isoformat()
    assert again["held"] is None and again["changes_left"] == event.change_limit
    assert "你在等候队列中：前面还有 1 位同学" in page.get_data(as_text=True)


def test_who_is_not_waiting_in_line_is_answered_from_the_database(line, event, client, login, create_user):
    event, students, beds = event
    selection.in_line(event, selection.participant(event, students[0]), utcnow())  # let in: the burst
    login(create_user("s1", role=Role.STUDENT, student=students[0]))
    assert client.post(f"/api/selection/{event.id}/hold", json={"bed_id": beds[0].id}).status_code == 200
    me = client.get(f"/api/selection/{event.id}/me").get_json()
    assert me["may_act"] and me["held"]["bed_id"] == beds[0].id
    selection.pause(event)
    db.session.commit()  # the kept line view ends with the event's change: nobody is told to wait now
    me = client.get(f"/api/selection/{event.id}/me").get_json()
    assert me["status"] == "paused" and me["waiting"] is None and me["refusal"].startswith("The selection is paused")


def test_a_student_before_their_window_takes_no_ticket(line, event, client, login, create_user):
    event, students, _beds = event
    waiting = selection.participant(event, students[4])
    waiting.opens_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    login(create_user("s5", role=Role.STUDENT, student=students[4]))
    me = client.get(f"/api/selection/{event.id}/me").get_json()
    assert me["refusal"] == "It is not your window yet." and me["waiting"] is None
    assert not any(line.hexists(key, students[4].id) for key in line.scan_iter("dorms:selection:*:tickets"))


def test_a_cookie_not_signed_by_the_app_is_not_answered_from_the_line(line, event, app, client):
    event, students, _beds = event
    for n in range(2):  # the burst taken: a signed session of students[4] would be told to wait
        selection.in_line(event, selection.participant(event, students[n]), utcnow() + timedelta(hours=1))
    forged = app.session_interface.get_signing_serializer(app)
    forged.secret_keys = [b"not the app's key"]  # the same form, signed with another key
    client.set_cookie(app.config["SESSION_COOKIE_NAME"],
                      forged.dumps({"_user_id": "1:1", "student_id": students[4].id}))
    assert client.get(f"/api/selection/{event.id}/me").status_code == 401  # on to the app, which knows no one


def test_a_failure_in_front_of_the_app_leaves_the_answer_to_the_app(line, event, client, login, create_user,
                                                                     monkeypatch):
    event, students, _beds = event
    for n in range(2):
        selection.in_line(event, selection.participant(event, students[n]), utcnow() + timedelta(hours=1))
    login(create_user("s3", role=Role.STUDENT, student=students[2]))

    def broken(*args):
        raise RuntimeError("the kept event cannot be read")
    monkeypatch.setattr(selection, "line_view", broken)
    me = client.get(f"/api/selection/{event.id}/me")
    assert me.status_code == 200 and me.get_json()["waiting"] == {"ahead": 1, "seconds": 1}  # the app's answer


def _commands(client) -> list[str]:
    """Every command the app's Redis client sends from now on (a pipeline counts as one round trip)."""
    sent = []
    send = client.execute_command
    client.execute_command = lambda *args, **options: sent.append(args[0]) or send(*args, **options)
    pipeline = client.pipeline
    client.pipeline = lambda *args, **options: sent.append("pipeline") or pipeline(*args, **options)
    return sent


def test_a_waiting_student_is_answered_in_one_round_trip_to_redis(line, event, client, login, create_user):
    event, students, _beds = event
    for n in range(2):  # the burst taken
        selection.in_line(event, selection.participant(event, students[n]), utcnow() + timedelta(hours=1))
    login(create_user("s3", role=Role.STUDENT, student=students[2]))
    me = f"/api/selection/{event.id}/me"
    client.get(me)  # this process reads the event
    sent = _commands(kept.redis_client())
    assert client.get(me).get_json()["waiting"] == {"ahead": 1, "seconds": 1}
    assert sent == ["EVAL"]  # the event's generations, the line and the traffic count in one script
    assert traffic.last_minute(event.id).requests == 2


def test_a_change_to_the_event_since_this_process_read_it_is_seen_before_anyone_is_told_to_wait(
        line, event, client, login, create_user):
    event, students, _beds = event
    for n in range(2):
        selection.in_line(event, selection.participant(event, students[n]), utcnow() + timedelta(hours=1))
    login(create_user("s3", role=Role.STUDENT, student=students[2]))
    me = f"/api/selection/{event.id}/me"
    assert client.get(me).get_json()["waiting"]  # this process read the event open
    selection.pause(event)
    db.session.commit()
    answer = client.get(me).get_json()
    assert answer["status"] == "paused" and answer["waiting"] is None
    assert traffic.last_minute(event.id).requests == 2  # once in the line, once by the app: never both


def test_the_line_moves_only_while_the_event_is_as_the_caller_read_it(line, event):
    event, students, _beds = event
    now = utcnow()
    for n in range(2):
        selection.in_line(event, selection.participant(event, students[n]), now)
    count = traffic.counted(event.id, 200, 1.0, now.timestamp())
    read_before = waiting_room.Unchanged(selection.LINE_TABLES, (b"0", b"0"))  # generations gone by
    assert waiting_room.place(event.id, students[2].id, now, unchanged=read_before, count=count) is None
    assert not line.hexists(waiting_room.key_prefix(event.id) + "tickets", students[2].id)
    assert not line.exists(count.key)  # nothing counted either
    current = waiting_room.Unchanged(selection.LINE_TABLES, kept.generations_of(selection.LINE_TABLES))
    place = waiting_room.place(event.id, students[2].id, now, unchanged=current, count=count)
    assert (place.admitted, place.ahead) == (False, 1)
    assert line.hget(count.key, "requests") == b"1" and 0 < line.ttl(count.key) <= traffic.KEPT_SECONDS
    admitted = waiting_room.place(event.id, students[0].id, now + timedelta(seconds=1), unchanged=current,
                                  count=count)
    assert admitted.admitted and line.hget(count.key, "requests") == b"1"  # let in: the app counts it
