"""The student's selection pages: their events, their window and countdown, holding and confirming a bed by
forms, the refusals as sentences (never a 500), who may open them, their queries and their Chinese."""
from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest

from dorms.core import kept
from dorms.core.clock import utcnow
from dorms.core.enums import GenderPolicy, Lifestyle, Role
from dorms.core.kept import forget_all
from dorms.extensions import db
from dorms.selection import services as selection
from dorms.selection.models import PickStatus


@pytest.fixture
def hall(create_building, create_room):
    """A men's building: two rooms of four on the first floor, one on the second."""
    building = create_building("M1", gender_policy=GenderPolicy.MALE, name="男生一号楼")
    return [create_room(building, "101", capacity=4), create_room(building, "102", capacity=4),
            create_room(building, "201", capacity=4, floor=2)]


def _event(beds, students, *, starts_in=timedelta(minutes=-1), **settings):
    """An open event over ``beds``, one window for everyone."""
    now = utcnow()
    event = selection.create_event("2026 秋季选宿", closes_at=now + timedelta(hours=2), **settings)
    selection.add_window(event, "everyone", starts_at=now + starts_in)
    selection.add_participants(event, students)
    selection.offer_beds(event, beds)
    selection.open_event(event)
    db.session.commit()
    return event


def _beds(rooms):
    return [bed for room in rooms for bed in room.beds]


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _flashed(response) -> list[str]:
    return [re.sub(r"\s+", " ", text).strip() for text in
            re.findall(r'<div class="alert alert-\w+ alert-dismissible" role="alert">(.*?)<button',
                       response.get_data(as_text=True), re.S)]


def test_a_student_holds_confirms_and_sees_their_bed(student_client, hall):
    event = _event(_beds(hall), [student_client.student])
    bed = hall[0].beds[1]
    listing = student_client.get("/selection/")
    assert listing.status_code == 302 and listing.location.endswith(f"/selection/{event.id}")  # their one event
    page = _page(student_client, f"/selection/{event.id}")
    assert 'data-testid="refusal"' not in page and 'href="/selection/"' in page  # the menu's link
    assert page.count('name="bed_id"') == 8  # the first floor's beds; the second is a link away
    second_floor = f"/selection/{event.id}?building=M1&amp;floor=2"
    assert f'href="{second_floor}"' in page
    upstairs = _page(student_client, second_floor.replace("&amp;", "&"))
    assert upstairs.count('name="bed_id"') == 4 and hall[2].code in upstairs and hall[0].code not in upstairs
    for hostile in ("?building=M1&floor=9", "?building=%3Cscript%3E&floor=x", "?floor=99999999999999999999"):
        assert _page(student_client, f"/selection/{event.id}{hostile}").count('name="bed_id"') == 8, hostile
    back = student_client.post(f"/selection/{event.id}/hold",
                               data={"bed_id": hall[2].beds[0].id, "building": "M1", "floor": "2"})
    assert back.location.endswith(f"/selection/{event.id}?building=M1&floor=2")  # back on the floor it was sent from

    held = student_client.post(f"/selection/{event.id}/hold", data={"bed_id": bed.id}, follow_redirects=True)
    assert any(f"Bed {bed.code} is kept for you until" in text for text in _flashed(held)), _flashed(held)
    page = held.get_data(as_text=True)
    assert 'data-testid="held"' in page and "Confirm this bed" in page
    assert page.count('name="bed_id"') == 7  # the held bed is no longer offered to hold

    confirmed = student_client.post(f"/selection/{event.id}/confirm", follow_redirects=True)
    assert _flashed(confirmed) == [f"Bed {bed.code} is yours."]
    page = confirmed.get_data(as_text=True)
    assert 'data-testid="confirmed"' in page and 'data-testid="held"' not in page
    assert "Your choice can no longer be changed." in page and 'name="bed_id"' not in page
    assert 'class="card border-success mb-3 selection-print"' in page and "男生一号楼" in page
    assert selection.live_picks(event, student_client.student, utcnow())[PickStatus.CONFIRMED].bed_id == bed.id

    refused = student_client.post(f"/selection/{event.id}/cancel", follow_redirects=True)
    assert _flashed(refused) == ["You hold no bed."]


def test_a_student_gives_a_hold_up_and_changes_a_confirmed_choice_as_often_as_allowed(student_client, hall):
    event = _event(_beds(hall), [student_client.student], change_limit=1)
    first, second = hall[0].beds[0], hall[1].beds[0]
    student_client.post(f"/selection/{event.id}/hold", data={"bed_id": first.id})
    given_up = student_client.post(f"/selection/{event.id}/cancel", follow_redirects=True)
    assert _flashed(given_up)[-1] == "You gave the bed up; it is free for others again."
    for bed in (first, second):
        student_client.post(f"/selection/{event.id}/hold", data={"bed_id": bed.id}, follow_redirects=True)
        page = student_client.post(f"/selection/{event.id}/confirm", follow_redirects=True).get_data(as_text=True)
        if bed is first:
            assert "You may change your choice 1 more time." in page and 'name="bed_id"' in page
    assert f"Your bed: {second.code}" in page and "Your choice can no longer be changed." in page


def test_the_refusals_are_sentences_on_the_page_never_errors(student_client, hall, create_student):
    other = create_student()
    early = _event(_beds(hall[:1]), [student_client.student], starts_in=timedelta(minutes=12))
    page = _page(student_client, f"/selection/{early.id}")
    assert "Your window opens in 12 minutes." in page and 'data-countdown="' in page
    assert "It is not your window yet." in page and 'name="bed_id"' not in page
    refused = student_client.post(f"/selection/{early.id}/hold", data={"bed_id": hall[0].beds[0].id},
                                  follow_redirects=True)
    assert refused.status_code == 200 and _flashed(refused) == ["It is not your window yet."]

    event = _event(_beds(hall[1:]), [student_client.student, other])
    shown = _page(student_client, f"/selection/{event.id}")  # the bed is listed, then someone else takes it
    taken = hall[1].beds[0]
    assert f'value="{taken.id}"' in shown
    selection.hold(event, other, taken.id)
    db.session.commit()
    refused = student_client.post(f"/selection/{event.id}/hold", data={"bed_id": taken.id}, follow_redirects=True)
    assert _flashed(refused) == ["This bed was taken a moment ago. Choose another."]
    for bad in ("x", "", "-1", "0", "٣", "99999999999", str(hall[0].beds[0].id)):  # the last: a bed another event offers
        refused = student_client.post(f"/selection/{event.id}/hold", data={"bed_id": bad}, follow_redirects=True)
        assert refused.status_code == 200 and len(_flashed(refused)) == 1, bad
    assert student_client.post(f"/selection/{event.id}/confirm", follow_redirects=True).status_code == 200
    # Two events under way: the list, most recent first.
    page = _page(student_client, "/selection/")
    assert page.index(f'href="/selection/{event.id}"') < page.index(f'href="/selection/{early.id}"')
    selection.pause(early)  # no countdown while paused: resuming moves the window on
    db.session.commit()
    page = _page(student_client, f"/selection/{early.id}")
    assert "The selection is paused" in page and 'data-testid="countdown"' not in page


def test_a_room_shows_the_class_and_sleep_of_who_chose_there_never_their_name(
        student_client, hall, create_student):
    other = create_student(name="司马光", class_name="物理2402", lifestyle=Lifestyle.EARLY)
    event = _event(_beds(hall), [student_client.student, other])
    selection.hold(event, other, hall[0].beds[0].id)
    db.session.commit()
    page = _page(student_client, f"/selection/{event.id}")
    room = page.split(f'data-testid="room-{hall[0].code}"')[1].split('data-testid="room-')[0]
    assert "物理2402 · Early sleeper" in room and "司马光" not in page and other.student_number not in page
    assert "Nobody has chosen a bed here yet." in page.split(f'data-testid="room-{hall[1].code}"')[1]


def test_a_student_not_taking_part_is_told_so(student_client, hall, create_student):
    event = _event(_beds(hall), [create_student()])
    assert "There is no bed selection for you" in _page(student_client, "/selection/")
    page = _page(student_client, f"/selection/{event.id}")
    assert "You do not take part in this selection." in page and 'name="bed_id"' not in page
    refused = student_client.post(f"/selection/{event.id}/hold", data={"bed_id": hall[0].beds[0].id},
                                  follow_redirects=True)
    assert _flashed(refused) == ["You do not take part in this selection."]
    assert student_client.get(f"/selection/{event.id + 1}").status_code == 404
    assert student_client.post(f"/selection/{event.id + 1}/confirm").status_code == 404


@pytest.mark.parametrize("role", [Role.STAFF, Role.COUNSELOR, Role.AUDITOR])
def test_the_pages_are_the_students_own(client, login, create_user, create_student, hall, role):
    event = _event(_beds(hall), [create_student()])
    login(create_user("someone", role=role, classes=["计科2401"] if role == Role.COUNSELOR else ()))
    for url in ("/selection/", f"/selection/{event.id}"):
        assert client.get(url).status_code == 403, url
    for step in ("hold", "confirm", "cancel"):
        assert client.post(f"/selection/{event.id}/{step}", data={"bed_id": hall[0].beds[0].id}).status_code == 403
    assert 'href="/selection/"' not in client.get("/notifications/").get_data(as_text=True)
    client.post("/logout")
    assert client.get(f"/selection/{event.id}").status_code == 302  # to the sign-in


def test_a_step_without_the_pages_token_is_refused(app, student_client, hall, monkeypatch):
    event = _event(_beds(hall), [student_client.student])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert student_client.post(f"/selection/{event.id}/hold", data={"bed_id": hall[0].beds[0].id}).status_code == 400
    assert selection.live_picks(event, student_client.student, utcnow()) == {}
    page = _page(student_client, f"/selection/{event.id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    sent = student_client.post(f"/selection/{event.id}/hold", data={"bed_id": hall[0].beds[0].id, "csrf_token": token})
    assert sent.status_code == 302
    assert selection.live_picks(event, student_client.student, utcnow())[PickStatus.HELD].bed_id == hall[0].beds[0].id


def test_the_event_page_takes_the_same_queries_however_many_beds_and_choosers(
        student_client, create_building, create_room, create_student, count_queries):
    def counted(url: str) -> int:
        forget_all()
        db.session.expire_all()
        with count_queries() as statements:
            assert student_client.get(url).status_code == 200
        return len(statements)

    def event_over(rooms, choosers: int):
        others = [create_student() for _ in range(choosers)]
        event = _event(_beds(rooms), [student_client.student, *others])
        for other, bed in zip(others, _beds(rooms)):
            selection.hold(event, other, bed.id)
        selection.hold(event, student_client.student, rooms[-1].beds[-1].id)
        db.session.commit()
        return event

    small = create_building("S1", gender_policy=GenderPolicy.MALE)
    few = event_over([create_room(small, "101", capacity=4)], choosers=1)  # two beds left to choose
    buildings = [create_building(f"L{n}", gender_policy=GenderPolicy.MALE) for n in range(3)]
    many = event_over([create_room(building, f"{floor}0{n}", floor=floor, capacity=4)
                       for building in buildings for floor in (1, 2, 3) for n in range(4)], choosers=20)
    assert counted(f"/selection/{few.id}") == counted(f"/selection/{many.id}")
    selection.confirm(many, student_client.student)
    db.session.commit()
    assert counted(f"/selection/{many.id}") <= counted(f"/selection/{few.id}") + 3  # the confirmed bed, its room


def test_the_chinese_page_is_in_chinese(student_client, hall, create_student):
    early = _event(_beds(hall[:1]), [student_client.student], starts_in=timedelta(minutes=12))
    event = _event(_beds(hall[1:]), [student_client.student, create_student(lifestyle=Lifestyle.LATE)])
    student_client.post("/language/zh_CN")
    page = _page(student_client, f"/selection/{early.id}")
    assert "选宿" in page and "12 分钟" in page.replace("12分钟", "12 分钟") and "还没到你的选宿时间" in page
    page = _page(student_client, f"/selection/{event.id}")
    assert "可选床位" in page and "Hold bed" not in page and "Floor" not in page
    held = student_client.post(f"/selection/{event.id}/hold", data={"bed_id": hall[1].beds[0].id},
                               follow_redirects=True)
    assert "确认" in held.get_data(as_text=True) and "kept for you" not in held.get_data(as_text=True)


@pytest.mark.browser
def test_on_a_phone_the_page_opens_by_itself_when_the_window_does_and_a_bed_is_chosen_in_two_taps(
        browser, live_server, hall, create_student, create_user):
    """In Chinese, 390 px wide, with the app's own script only (CSP): the countdown runs, the page reloads
    when the window opens, and hold then confirm take a tap each."""
    from playwright.sync_api import expect

    from .browsing import sign_in

    student = create_student("2026000002", name="王小明")
    create_user("2026000002", role=Role.STUDENT, student=student)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    try:
        sign_in(phone, live_server, "2026000002")
        event = _event(_beds(hall), [student], starts_in=timedelta(seconds=4))
        phone.goto(f"{live_server}/selection/")
        expect(phone.locator("[data-testid=countdown] [data-countdown]")).to_have_text(re.compile(r"^0:0\d$"))
        expect(phone.locator("[data-testid=beds]")).to_be_visible(timeout=15_000)  # reloaded when the window opened
        bed = hall[0].beds[0]
        phone.get_by_role("button", name=f"保留床位 {bed.code}").click()
        expect(phone.locator("[data-testid=held]")).to_contain_text(bed.code)
        phone.get_by_role("button", name="确认此床位").click()
        expect(phone.locator("[data-testid=confirmed]")).to_contain_text(f"你的床位：{bed.code}")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert phone.url.endswith(f"/selection/{event.id}")
    finally:
        context.close()


def test_a_student_in_the_waiting_room_sees_their_place_and_waits(app, student_client, hall, create_student,
                                                                   monkeypatch):
    from .conftest import redis_for_test

    url = os.environ.get("DORMS_TEST_SELECTION_REDIS_URL", "redis://127.0.0.1:6379/13")
    with redis_for_test(url, f"dorms:*:{kept.database_digest()}:*"):  # this worker's database
        for key, value in (("REDIS_URL", url), ("DORMS_SELECTION_ADMIT_PER_SECOND", 2.0),
                           ("DORMS_SELECTION_ADMIT_BURST", 1)):
            monkeypatch.setitem(app.config, key, value)
        first = create_student()
        event = _event(_beds(hall), [first, student_client.student])
        # The first came first and took the one place of the burst; the line last moved an hour from now.
        selection.in_line(event, selection.participant(event, first), utcnow() + timedelta(hours=1))
        db.session.commit()
        page = _page(student_client, f"/selection/{event.id}")
        assert "You are in the waiting room: 1 student before you, about 1 s." in page
        assert 'data-countdown="1" data-reload-at-zero' in page and 'name="bed_id"' not in page
        refused = student_client.post(f"/selection/{event.id}/hold", data={"bed_id": hall[0].beds[0].id},
                                      follow_redirects=True)
        assert _flashed(refused)[-1].startswith("You are in the waiting room")


def test_roommates_take_a_room_together_from_the_page(app, client, login, create_user, create_student,
                                                     create_building, create_room, open_selection):
    from dorms.core.enums import RequestKind
    from dorms.students import roommate_requests
    room = create_room(create_building("G1", gender_policy=GenderPolicy.MALE), "101", capacity=4)
    leader, friend = create_student(), create_student()
    for a, b in ((leader, friend), (friend, leader)):
        roommate_requests.add_request(a, b.student_number, RequestKind.WANT)
    event = open_selection([leader, friend], room.beds)
    login(create_user("leader", role=Role.STUDENT, student=leader))
    page = client.get(f"/selection/{event.id}").get_data(as_text=True)
    assert 'data-testid="group-form"' in page and friend.name in page
    refused = client.post(f"/selection/{event.id}/hold-group", data={"room_id": room.id}, follow_redirects=True)
    assert "at least one roommate" in refused.get_data(as_text=True)
    held = client.post(f"/selection/{event.id}/hold-group", data={"room_id": room.id, "member": [friend.id]},
                       follow_redirects=True).get_data(as_text=True)
    assert f"A bed of room {room.code} is kept for each of you" in held
    client.post(f"/selection/{event.id}/confirm")
    db.session.expire_all()
    assert selection.live_picks(event, friend, utcnow())[PickStatus.CONFIRMED].bed.room_id == room.id
