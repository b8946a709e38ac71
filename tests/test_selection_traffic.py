"""Selection day's traffic on the office's dashboard: the students' requests counted per event in Redis (rate,
latency percentiles from fixed buckets, errors and refusals), the waiting room's line, and without Redis the
requests going on as before and the dashboard saying why it has no figures."""
from __future__ import annotations

import math
import os
import time
from datetime import timedelta

import pytest

from dorms.core import kept
from dorms.core.clock import utcnow
from dorms.core.enums import GenderPolicy, Role
from dorms.selection import services as selection
from dorms.selection import traffic, waiting_room

from .conftest import redis_for_test
from .factories import PASSWORD

REDIS_URL = os.environ.get("DORMS_TEST_SELECTION_REDIS_URL", "redis://127.0.0.1:6379/13")
NOBODY_LISTENING = "redis://127.0.0.1:1/13"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "REDIS_URL": REDIS_URL, "DORMS_SELECTION_ADMIT_PER_SECOND": 2.0,
            "DORMS_SELECTION_ADMIT_BURST": 2}


@pytest.fixture
def redis(app):
    # This database's keys only: other test runs may share the Redis database.
    with redis_for_test(REDIS_URL, f"dorms:*:{kept.database_digest()}:*") as client:
        yield client


@pytest.fixture
def event(app, create_building, create_room, create_student, open_selection):
    room = create_room(create_building("M1", gender_policy=GenderPolicy.MALE), "101", capacity=6)
    students = [create_student() for _ in range(5)]
    return open_selection(students, room.beds), students


@pytest.fixture
def student(event, client, login, create_user):
    return login(create_user("s1", role=Role.STUDENT, student=event[1][0]))


@pytest.fixture
def office(app, create_user):
    """The staff's own browser, beside the student's."""
    staff = app.test_client()
    create_user("wang01", role=Role.STAFF)
    assert staff.post("/login", data={"username": "wang01", "password": PASSWORD}).status_code == 302
    return staff


# 50 requests within 5 ms, 40 within 10 ms, 10 within 25 ms.
KNOWN = (50, 40, 10) + (0,) * (len(traffic.LATENCY_BOUNDS_MS) - 2)


def test_percentiles_are_read_from_the_buckets():
    assert traffic.percentile(KNOWN, 0.5) == 5.0  # the 50th of 100 is the last of the first bucket
    assert traffic.percentile(KNOWN, 0.99) == pytest.approx(23.5)  # 9 of the 10 in 10–25 ms
    assert traffic.percentile(KNOWN, 0.9) == 10.0
    assert traffic.percentile((0, 4) + (0,) * 14, 0.5) == 7.5  # halfway through 5–10 ms
    assert traffic.percentile((0,) * 15 + (3,), 0.5) == math.inf  # slower than the last bound
    assert traffic.percentile((0,) * 16, 0.5) is None
    assert [traffic.latency_bucket(ms) for ms in (0.2, 5, 5.01, 10000, 10001)] == [0, 0, 1, 14, 15]
    shown = traffic.Traffic(100, 0, 0, KNOWN)
    assert (shown.milliseconds(0.5), shown.milliseconds(0.99), shown.per_second) == ("5", "24", 100 / 60)
    assert traffic.Traffic(3, 0, 0, (0,) * 15 + (3,)).milliseconds(0.99) == "> 10000"
    assert traffic.Traffic(0, 0, 0, (0,) * 16).milliseconds(0.5) == "–"


def test_the_last_minute_is_read_from_the_seconds_recorded(redis, app):
    now = time.time()
    for milliseconds, count in ((3, 50), (8, 40), (20, 10)):
        for _ in range(count):
            traffic.record(7, 200, milliseconds, now - 30)
    traffic.record(7, 503, 4, now - 59)  # the window's first second
    traffic.record(7, 409, None, now)  # refused before it was timed
    traffic.record(7, 500, 4000, now - 60)  # a second too old
    traffic.record(8, 500, 4000, now)  # another event
    minute = traffic.last_minute(7, now)
    assert (minute.requests, minute.errors, minute.refused) == (102, 1, 1)
    assert sum(minute.latency_counts) == 101
    assert minute.milliseconds(0.5) == "5" and minute.milliseconds(0.99) == "23"  # 51, 40 and 10 now
    assert 0 < redis.ttl(f"{waiting_room.key_prefix(7)}traffic:{int(now)}") <= traffic.KEPT_SECONDS


def test_students_requests_are_counted_per_event(redis, event, student, office):
    event, _students = event
    assert student.get(f"/api/selection/{event.id}/me").status_code == 200
    assert student.get(f"/api/selection/{event.id}/beds").status_code == 200
    assert student.get(f"/selection/{event.id}").status_code == 200
    assert student.post(f"/api/selection/{event.id}/hold", json={"bed_id": 0}).status_code == 409
    assert student.get(f"/api/selection/{event.id + 1000}/me").status_code == 404  # no such event: its own
    assert student.get("/selection/").status_code == 302  # no event in the address
    assert office.get(f"/selection-office/{event.id}").status_code == 200  # the office's own are not counted
    minute = traffic.last_minute(event.id)
    assert (minute.requests, minute.errors, minute.refused, sum(minute.latency_counts)) == (4, 0, 1, 4)
    assert traffic.last_minute(event.id + 1000).refused == 1


def test_an_unhandled_exception_counts_once_as_an_error(redis, app, event, student, monkeypatch):
    event, _students = event

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selection, "group_of", broken)
    with pytest.raises(RuntimeError):  # TESTING lets it through to the test
        student.get(f"/api/selection/{event.id}/group")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: an error page
    assert student.get(f"/api/selection/{event.id}/group").status_code == 500
    minute = traffic.last_minute(event.id)
    assert (minute.requests, minute.errors, minute.refused) == (2, 2, 0)


def test_the_dashboard_shows_the_traffic_and_the_waiting_room(redis, event, student, office):
    event, students = event
    later = utcnow() + timedelta(hours=1)  # the line last moved then: nobody more is let in before
    for taking_part in students:
        selection.in_line(event, selection.participant(event, taking_part), later)
    line = waiting_room.line(event.id, utcnow())
    assert (line.issued, line.admitted, line.waiting) == (5, 2, 3)
    assert waiting_room.line(event.id, later + timedelta(seconds=1)).waiting == 1  # two a second
    assert student.get(f"/api/selection/{event.id}/me").status_code == 200
    page = office.get(f"/selection-office/{event.id}").get_data(as_text=True)
    assert 'data-figure="in-line">3<' in page and "2 of 5 let in" in page
    assert 'data-figure="per-second">0.0<' in page  # 1 request in 60 s
    assert 'data-figure="errors">0' in page and "need Redis" not in page


def test_without_a_waiting_room_there_is_no_line(redis, app, event):
    app.config["DORMS_SELECTION_ADMIT_PER_SECOND"] = 0
    assert waiting_room.line(event[0].id, utcnow()) is None


@pytest.mark.parametrize("url", [None, NOBODY_LISTENING])
def test_without_redis_requests_go_on_and_the_dashboard_says_why(redis, app, event, student, office, url):
    event, _students = event
    app.config["REDIS_URL"] = url
    assert student.get(f"/api/selection/{event.id}/me").status_code == 200
    assert student.get(f"/selection/{event.id}").status_code == 200
    page = office.get(f"/selection-office/{event.id}").get_data(as_text=True)
    assert "The traffic figures need Redis" in page


@pytest.mark.browser
def test_the_traffic_panel_on_a_phone(redis, browser, live_server, event, create_user):
    from .browsing import signed_in_phone

    event, students = event
    later = utcnow() + timedelta(hours=1)
    for taking_part in students:
        selection.in_line(event, selection.participant(event, taking_part), later)
    create_user("wang01", role=Role.STAFF)
    phone = signed_in_phone(browser, live_server, "wang01")
    # Recorded just before the page reads the last minute: one page load, not the sign-in too, must fit in it.
    now = time.time()
    for milliseconds in (30, 40, 2000):
        traffic.record(event.id, 200, milliseconds, now)
    traffic.record(event.id, 500, 120, now)
    phone.goto(f"{live_server}/selection-office/{event.id}")
    figures = {name: phone.locator(f"[data-testid=traffic] [data-figure={name}]").inner_text()
               for name in ("per-second", "p50", "p99", "errors", "in-line")}
    # 2 requests in 25–50 ms, 1 in 100–150, 1 in 1500–2500: the 2nd of 4 at 50 ms, the 3.96th at 2460 ms.
    assert figures == {"per-second": "0.1", "p50": "50", "p99": "2460", "errors": "1 (0)", "in-line": "3"}
    assert phone.get_by_text("访问情况（最近一分钟）").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.context.close()
