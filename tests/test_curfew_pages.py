"""The night report at the size of a campus: rows a page at a time, totals and alerts over everyone, nights rolled
up by the first read that needs them, and as many queries for a large campus as for a small one.

A page keeps nights in transactions of its own, on connections of their own: these tests commit for real, as
production does (in a test's one rolled-back transaction, what a page kept would go with the page's own).
"""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dorms.access import reports, rollup
from dorms.access.ingest import IncomingEvent, Report, store_events
from dorms.access.models import Card, NightFeed, NightStatus
from dorms.core import kept
from dorms.core.enums import Role
from dorms.extensions import db
from dorms.residence.services import assign
from dorms.students.models import Student, Term

NIGHT = date(2026, 9, 7)  # a Monday: curfew 23:00
CLASSES = ("计科2401", "计科2402", "软工2401")
ZONE = ZoneInfo("Asia/Shanghai")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


@pytest.fixture
def grow(app, create_building, create_room, create_student):
    """``grow(n)``: the campus has ``n`` residents of D1 since August 31st, each with a card and a week of
    swipes: every tenth went out at one and never came back (absent), the next back at 00:30 (late) every
    night, the others in by 21:00. The term runs from September to past today."""
    db.session.add(Term(code="2026-2027-1", name="Autumn 2026", starts_on=date(2026, 9, 1),
                        ends_on=max(date(2027, 1, 20), date.today() + timedelta(days=30))))
    home = create_building("D1")
    beds = []

    def grown(n: int) -> list[Student]:
        students = list(db.session.scalars(sa.select(Student).order_by(Student.student_number)))
        events = []
        for i in range(len(students), n):
            if not beds:
                beds.extend(create_room(home, f"{100 + i // 4}", capacity=4).beds)
            student = create_student(f"S{i:04d}", name=f"学生{i}", class_name=CLASSES[i % 3])
            assign(student, beds.pop(0), reason="test").started_at = datetime(2026, 8, 31, 8, tzinfo=UTC)
            db.session.add(Card(number=str(10_000 + i), student_id=student.id))
            students.append(student)
            for day in (NIGHT - timedelta(days=k) for k in range(7)):
                if i % 10 == 0:
                    swipes = [(local(day, 13), "out")]
                elif i % 10 == 1:
                    swipes = [(local(day, 13), "out"), (local(day + timedelta(days=1), 0, 30), "in")]
                else:
                    swipes = [(local(day, 13), "out"), (local(day, 21), "in")]
                events += [IncomingEvent(f"g{i}:{day}:{n}", str(10_000 + i), "D1", "D1-G1", at, direction, True)
                           for n, (at, direction) in enumerate(swipes)]
        db.session.flush()
        store_events(events, Report())
        db.session.commit()
        return students

    return grown


pytestmark = pytest.mark.commits


def _statuses(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-student="([^"]+)"[^>]*>.*?data-status="([a-z_]+)"', page, re.DOTALL)


def _kept_nights() -> set[date]:
    return set(db.session.scalars(sa.select(NightStatus.night).distinct()))


@pytest.mark.backends("sqlite", "postgresql")
def test_a_finished_night_is_rolled_up_by_its_first_view_and_again_after_a_change(app, grow, client, login,
                                                                                 create_user):
    students = grow(12)
    login(create_user(role=Role.STAFF))
    assert not _kept_nights()
    page = client.get(f"/curfew/?night={NIGHT}").get_data(as_text=True)
    assert dict(_statuses(page))["S0000"] == "absent_left"
    week = {NIGHT - timedelta(days=k) for k in range(7)}
    assert _kept_nights() == week  # the night viewed and the week its alerts and trend read
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NightStatus)) == 7 * 12
    kept_feed = set(db.session.scalars(sa.select(NightFeed.night).where(NightFeed.building == "")))
    assert kept_feed >= {NIGHT - timedelta(days=k) for k in range(15)}  # the door data's usual volume too
    # A late swipe reopens the night: the next view computes it again, once, and keeps it again.
    store_events([IncomingEvent("back", "10000", "D1", "D1-G1", local(NIGHT, 22), "in", True)], Report())
    db.session.commit()
    assert NIGHT not in _kept_nights()
    page = client.get(f"/curfew/?night={NIGHT}").get_data(as_text=True)
    assert dict(_statuses(page))["S0000"] == "in"
    assert db.session.scalar(sa.select(NightStatus.status).where(
        NightStatus.night == NIGHT, NightStatus.student_id == students[0].id)) == "in"
    # So does a change of rules, for every night.
    rollup.invalidate()
    db.session.commit()
    assert not _kept_nights()
    client.get(f"/curfew/?night={NIGHT}")
    assert _kept_nights() == week


def test_swipes_of_a_night_not_over_leave_the_finished_nights_and_their_page_kept(app, grow, client, login,
                                                                                 create_user, count_queries):
    grow(5)
    login(create_user(role=Role.STAFF))
    last = reports.last_finished_night()
    client.get("/curfew/")  # rolls up the week to last night
    client.get("/curfew/")  # reads it back, and keeps the page
    with count_queries() as kept_page:
        client.get("/curfew/")
    # The doors send swipes all day: of the night not over yet, after last night's cutoff.
    store_events([IncomingEvent("now", "10001", "D1", "D1-G1", datetime.now(UTC) - timedelta(minutes=1), "in",
                                True)], Report())
    db.session.commit()
    assert last in _kept_nights()
    with count_queries() as after_swipes:
        client.get("/curfew/")
    assert len(after_swipes) == len(kept_page) <= 4  # still kept: nothing the page read was written


def test_a_night_not_over_yet_is_computed_but_never_kept(app, grow):
    grow(3)
    tonight = reports.last_finished_night() + timedelta(days=1)
    rows = reports.night_report(tonight)  # the swipes say nothing yet: the doors sent nothing tonight
    assert len(rows) == 3
    rollup.keep_unkept([tonight], feed_nights=[tonight])
    assert [day for day, _rows in reports.week(tonight)][-1] == tonight
    db.session.commit()
    assert tonight not in _kept_nights()
    assert reports.last_finished_night() in _kept_nights()  # the week's finished nights are
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NightFeed).where(NightFeed.night == tonight)) == 0


def test_staff_see_everyone_a_page_at_a_time_the_worst_first_and_download_them_all(app, grow, client, login,
                                                                                  create_user):
    grow(130)
    login(create_user(role=Role.STAFF))
    first = client.get(f"/curfew/?night={NIGHT}").get_data(as_text=True)
    rows = _statuses(first)
    assert len(rows) == 100
    # 13 absent, then 13 late, then the in, each by class and student number
    assert [status for _number, status in rows[:26]] == ["absent_left"] * 13 + ["late"] * 13
    absent = sorted((f"S{i:04d}" for i in range(0, 130, 10)), key=lambda n: (CLASSES[int(n[1:]) % 3], n))
    assert [number for number, _status in rows[:13]] == absent
    assert re.search(r'All <span class="badge text-bg-light">130</span>', first)
    assert 'data-testid="pages"' in first and "Students 1–100 of 130" in first
    # Alerts over everyone: every absent student not seen for seven nights, every late one late on seven.
    alerts = first.split('data-testid="alerts"')[1].split("</div>")[0]
    assert alerts.count("not seen for 7 nights in a row") == 13 and alerts.count("late on 7 nights") == 13
    summaries = first.split('data-testid="summaries"')[1]
    assert re.search(r"<td>D1</td><td class=\"text-end\">130</td><td class=\"text-end\">26</td>", summaries)
    following = re.search(r'<a class="page-link" href="([^"]+)">Next</a>', first).group(1).replace("&amp;", "&")
    second = client.get(following).get_data(as_text=True)
    assert len(_statuses(second)) == 30 and {status for _n, status in _statuses(second)} == {"in"}
    assert not set(dict(rows)) & set(dict(_statuses(second)))
    # One status at a time, paged alike.
    in_only = client.get(f"/curfew/?night={NIGHT}&status=in&page=2").get_data(as_text=True)
    assert len(_statuses(in_only)) == 4 and "Students 101–104 of 104" in in_only
    assert _statuses(client.get(f"/curfew/?night={NIGHT}&status=late").get_data(as_text=True)) == rows[13:26]
    assert not _statuses(client.get(f"/curfew/?night={NIGHT}&status=no_such").get_data(as_text=True))
    exported = list(csv.DictReader(io.StringIO(client.get(f"/curfew/export.csv?night={NIGHT}")
                                               .get_data(as_text=True).lstrip("\ufeff"))))
    assert len(exported) == 130


def _night_page_queries(client, count_queries, night: date) -> list[int]:
    """Queries of the night page: its first view (rolling the week up), read back from the rolled-up rows with
    nothing kept in memory, and with the page kept."""
    rollup.invalidate(events=True)
    db.session.commit()
    counts = []
    for forget in (True, True, False):
        if forget:
            kept.forget_all()
        with count_queries() as queries:
            assert client.get(f"/curfew/?night={night}").status_code == 200
        counts.append(len(queries))
    return counts


@pytest.mark.parametrize("role", [Role.STAFF, Role.COUNSELOR])
def test_the_night_page_takes_as_many_queries_for_a_large_campus_as_for_a_small_one(app, grow, client, login,
                                                                                    create_user, count_queries,
                                                                                    role):
    grow(4)
    login(create_user(role=role, classes=CLASSES if role == Role.COUNSELOR else ()))
    small = _night_page_queries(client, count_queries, NIGHT)
    grow(150)
    large = _night_page_queries(client, count_queries, NIGHT)
    assert large == small
    assert small[1] <= 12 and small[2] <= 4  # a handful; then the signed-in user and the bell


def test_a_students_fortnight_takes_as_many_queries_as_one_night(app, grow, client, login, create_user,
                                                                count_queries):
    students = grow(3)
    login(create_user(role=Role.STUDENT, student=students[1]))
    last = reports.last_finished_night()
    client.get("/curfew/me")  # rolls up the fortnight
    kept.forget_all()
    with count_queries() as fortnight:
        page = client.get("/curfew/me").get_data(as_text=True)
    assert page.count("data-status=") == 14
    db.session.add(Term(code="earlier", name="Earlier", starts_on=last - timedelta(days=400),
                        ends_on=last - timedelta(days=370)))
    term = db.session.scalar(sa.select(Term).where(Term.code == "2026-2027-1"))
    term.starts_on = last  # only last night is in term now
    db.session.commit()
    kept.forget_all()
    with count_queries() as one_night:
        page = client.get("/curfew/me").get_data(as_text=True)
    assert page.count("data-status=") == 1
    assert len(one_night) == len(fortnight)
