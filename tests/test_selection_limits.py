"""Selection day's claim limit: one student's holds, confirmations and cancels, counted per student."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dorms.core.clock import utcnow
from dorms.core.enums import GenderPolicy, Role
from dorms.extensions import db
from dorms.selection import services as selection


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "DORMS_SELECTION_CLAIM_LIMIT": "3 per minute"}


def test_a_student_claiming_faster_than_a_person_is_told_to_wait_and_others_are_not(
        app, client, login, create_building, create_room, create_student, create_user, open_selection):
    room = create_room(create_building("M1", gender_policy=GenderPolicy.MALE), "101", capacity=4)
    fast, calm = create_student(), create_student()
    event = open_selection([fast, calm], room.beds)
    hold = lambda n: client.post(f"/api/selection/{event.id}/hold", json={"bed_id": room.beds[n].id})  # noqa: E731

    login(create_user("fast", role=Role.STUDENT, student=fast))
    assert [hold(n).status_code for n in range(3)] == [200, 200, 200]
    refused = hold(3)
    assert refused.status_code == 429 and refused.is_json
    assert client.get(f"/api/selection/{event.id}/me").status_code == 200  # reading is not limited
    client.post("/logout")
    login(create_user("calm", role=Role.STUDENT, student=calm))
    assert hold(3).status_code == 200


def test_while_an_event_is_under_way_a_second_sign_in_ends_the_first(
        app, client, create_building, create_room, create_student, create_user):
    # ``client`` makes app.test_client() the conftest's: each request in an app context of its own, so no
    # signed-in user is carried over from one request to the next.
    room = create_room(create_building("M1", gender_policy=GenderPolicy.MALE), "101", capacity=4)
    student, bystander = create_student(), create_student()
    create_user("s1", role=Role.STUDENT, student=student, password="pass-word-1")
    create_user("s2", role=Role.STUDENT, student=bystander, password="pass-word-2")
    event = selection.create_event("one session", closes_at=utcnow() + timedelta(hours=1))
    selection.add_window(event, "all", starts_at=utcnow() - timedelta(minutes=1))
    selection.add_participants(event, [student])
    selection.offer_beds(event, room.beds)
    db.session.commit()

    def signed_in(username: str, password: str):
        client = app.test_client()
        assert client.post("/api/session", json={"username": username, "password": password}).status_code == 200
        return client

    def still_in(client) -> bool:
        return client.get(f"/api/selection/{event.id}/me").status_code == 200

    laptop = signed_in("s1", "pass-word-1")
    phone = signed_in("s1", "pass-word-1")
    assert still_in(laptop) and still_in(phone)  # a draft event: nothing under way yet
    selection.open_event(event)
    db.session.commit()
    tablet = signed_in("s1", "pass-word-1")
    assert still_in(tablet) and not still_in(laptop) and not still_in(phone)
    others = [signed_in("s2", "pass-word-2") for _ in range(2)]  # not taking part: as many as they like
    assert all(still_in(client) for client in others)
