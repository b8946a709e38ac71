"""Nights without door data (SPEC.md "No door data", status no_data), low door data, and the doors report
against the bed held at the time of each event."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from dorms.access.ingest import IncomingEvent, Report, store_events
from dorms.access.models import AccessEvent, Card, NightFeed, NightStatus
from dorms.campus.models import Building
from dorms.core.enums import Gender, Role
from dorms.extensions import db
from dorms.residence.models import Assignment
from dorms.residence.services import assign, move
from dorms.students.models import Student

from .test_access import NIGHT, campus, imported, write  # noqa: F401

HEADER = "event_id,card,building,door,time,direction,result\n"


def cli_report(runner, night: str):
    result = runner.invoke(args=["access", "report", "--night", night])
    assert result.exit_code == 0, result.output
    return {row["student_number"]: row["status"] for row in csv.DictReader(io.StringIO(result.stdout))}, result.stderr


def statuses(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-student="([^"]+)"[^>]*>.*?data-status="([a-z_]+)"', page, re.DOTALL))


@pytest.fixture
def two_buildings(app, imported, create_building, create_room):
    """Imported's nine D1 residents, and S10 in D3 since September 1st with card 1010; D3's doors sent nothing."""
    d3 = create_building("D3")
    student = create_student_in(imported, create_room(d3, "301", capacity=2, gender=Gender.FEMALE))
    db.session.add(Card(number="1010", student_id=student.id))
    db.session.commit()
    return imported


def create_student_in(students, room):
    student = Student(student_number="S10", name="学生10", gender=Gender.FEMALE, class_name="计科2401",
                      college="计算机学院")
    db.session.add(student)
    db.session.flush()
    assign(student, room.beds[0], reason="test").started_at = datetime(2026, 9, 1, 8, tzinfo=UTC)
    students["S10"] = student
    return student


def test_a_night_before_the_feed_began_has_no_door_data_nobody_absent_no_alerts(app, imported, client, login,
                                                                                  create_user):
    runner = app.test_cli_runner()
    rows, warnings = cli_report(runner, "2026-09-05")  # in term, before the first event
    assert set(rows.values()) == {"no_data"} and len(rows) == 9
    assert "warning: 2026-09-05 D1: no door data" in warnings
    login(create_user(role=Role.STAFF))
    page = client.get("/curfew/?night=2026-09-05").get_data(as_text=True)
    assert set(statuses(page).values()) == {"no_data"}
    assert 'data-testid="alerts"' not in page
    assert re.search(r'data-building="D1" data-night="2026-09-05" data-state="no_data"', page)
    summary = page.split('data-testid="summaries"')[1]
    # By building: no resident with a status, none late or absent, nine without door data.
    assert re.search(r"<td>D1</td><td class=\"text-end\">0</td><td class=\"text-end\">0</td>"
                     r"<td class=\"text-end\">9</td>", summary)
    exported = list(csv.DictReader(io.StringIO(client.get("/curfew/export.csv?night=2026-09-05")
                                               .get_data(as_text=True).lstrip("\ufeff"))))
    assert {(r["Status"], r["Door data"]) for r in exported} == {("No door data", "No door data")}  # the reader's words
    # Permissions do not change it: S7's approved overnight leave covers the 8th, which D1's doors left empty.
    assert cli_report(runner, "2026-09-08")[0]["S7"] == "no_data"
    # The night of the events (the 7th) is told as before.
    assert cli_report(runner, NIGHT)[0]["S6"] == "absent_no_events"


@pytest.mark.backends("sqlite", "postgresql")
def test_one_building_with_data_and_one_without_and_a_denied_unknown_card_is_data(app, two_buildings, tmp_path):
    runner = app.test_cli_runner()
    rows, warnings = cli_report(runner, NIGHT)
    assert rows["S10"] == "no_data" and rows["S1"] == "in" and rows["S6"] == "absent_no_events"
    assert "D3: no door data" in warnings and "D1:" not in warnings
    # Kept by the rollup as no_data ...
    assert runner.invoke(args=["access", "rollup", "--since", NIGHT, "--until", NIGHT]).exit_code == 0
    kept = dict(db.session.execute(sa.select(NightStatus.student_id, NightStatus.status).where(
        NightStatus.night == date(2026, 9, 7))).all())
    assert kept[two_buildings["S10"].id] == "no_data" and len(kept) == 10
    assert cli_report(runner, NIGHT)[0] == rows
    # ... until a late event arrives: one denied swipe of a card nobody holds is door data for D3.
    late = HEADER + "late9,999999,D3,D3-G1,2026-09-07T22:00:00+08:00,in,denied\n"
    assert runner.invoke(args=["access", "import", write(tmp_path, "late.csv", late)]).exit_code == 0
    rows, warnings = cli_report(runner, NIGHT)
    assert rows["S10"] == "absent_no_events" and "no door data" not in warnings
    runner.invoke(args=["access", "rollup", "--since", NIGHT, "--until", NIGHT])
    assert db.session.scalar(sa.select(NightFeed.events).where(NightFeed.night == date(2026, 9, 7),
                                                               NightFeed.building == "D3")) == 1
    assert db.session.scalar(sa.select(NightStatus.status).where(
        NightStatus.night == date(2026, 9, 7), NightStatus.student_id == two_buildings["S10"].id)) \
        == "absent_no_events"


def test_no_data_nights_neither_count_nor_break_the_not_seen_run(app, imported, client, login, create_user,
                                                                 tmp_path):
    # D1's doors recorded something (other people's swipes) on the 5th, the 7th and the 8th; nothing on the 6th.
    others = HEADER + ("o5,4242,D1,D1-G1,2026-09-05T21:00:00+08:00,in,granted\n"
                       "o8,4242,D1,D1-G1,2026-09-08T21:00:00+08:00,in,granted\n")
    app.test_cli_runner().invoke(args=["access", "import", write(tmp_path, "o.csv", others)])
    login(create_user(role=Role.STAFF))
    page = client.get("/curfew/?night=2026-09-08").get_data(as_text=True)
    alerts = page.split('data-testid="alerts"')[1].split("</div>")[0]
    assert "S6 学生6</a> (计科2401):\n    not seen for 3 nights in a row" in alerts  # the 5th, 7th, 8th
    assert 'data-testid="alerts"' not in client.get("/curfew/?night=2026-09-06").get_data(as_text=True)


def test_the_range_counts_no_data_nights_apart_and_names_them(app, imported, client, login, create_user):
    staff = create_user(role=Role.STAFF)
    staff.locale = "zh_CN"
    db.session.commit()
    login(staff)
    page = client.get("/curfew/range?first=2026-09-03&last=2026-09-07").get_data(as_text=True)
    tally = page.split(f'data-student="S6"')[1].split("</tr>")[0]
    assert 'data-absent="1"' in tally and 'data-no-data="4"' in tally  # absent on the 7th only
    assert ">1</td>" in tally.split('data-absent')[0]  # one night with a status
    warned = page.split('data-building="D1" data-state="no_data"')[1].split("</li>")[0]
    assert re.findall(r'data-night="([\d-]+)" data-state="no_data"', warned) \
        == ["2026-09-03", "2026-09-04", "2026-09-05", "2026-09-06"]
    assert "无门禁数据" in page  # the word is the reader's
    runner = app.test_cli_runner()
    runner.invoke(args=["access", "rollup", "--since", "2026-09-03", "--until", "2026-09-05"])
    again = client.get("/curfew/range?first=2026-09-03&last=2026-09-07").get_data(as_text=True)
    assert again.split('data-testid="door-data"')[1] == page.split('data-testid="door-data"')[1]  # partly rolled up
    staff.locale = "en"  # the download's columns in English words
    db.session.commit()
    exported = list(csv.DictReader(io.StringIO(client.get("/curfew/range.csv?first=2026-09-03&last=2026-09-07")
                                               .get_data(as_text=True).lstrip("\ufeff"))))
    s6 = next(r for r in exported if r["Student number"] == "S6")
    assert (s6["Nights"], s6["Absent"], s6["No door data"], s6["Absent: no card events"]) == ("1", "1", "4", "1")


def _busy(nights: range, per_night: int) -> None:
    """``per_night`` swipes of cards nobody holds at D1 on each of the September ``nights``."""
    events = [IncomingEvent(f"busy:{day}:{n}", f"9{n:04d}", "D1", "D1-G1",
                            datetime(2026, 9, day, 13, tzinfo=UTC) + timedelta(minutes=n), "in", True)
              for day in nights for n in range(per_night)]
    store_events(events, Report())
    db.session.commit()


@pytest.mark.backends("sqlite", "postgresql")
def test_a_night_far_below_the_usual_volume_is_told_as_low_door_data(app, imported, client, login, create_user):
    _busy(range(1, 7), 80)  # about 80 events a night before; the 7th has 14 at D1
    runner = app.test_cli_runner()
    rows, warnings = cli_report(runner, NIGHT)
    assert rows["S1"] == "in" and rows["S6"] == "absent_no_events"  # statuses stand: a warning only
    assert "warning: 2026-09-07 D1: low door data, 14 events against about 80" in warnings
    login(create_user(role=Role.STAFF))
    page = client.get(f"/curfew/?night={NIGHT}").get_data(as_text=True)
    assert re.search(r'data-building="D1" data-night="2026-09-07" data-state="low"', page)
    assert "14 events, usually about 80" in page
    exported = client.get(f"/curfew/export.csv?night={NIGHT}").get_data(as_text=True)
    assert {r["Door data"] for r in csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))} == {"Low door data"}
    range_page = client.get("/curfew/range?first=2026-09-06&last=2026-09-07").get_data(as_text=True)
    assert 'data-building="D1" data-state="low"' in range_page
    assert re.search(r'data-night="2026-09-07" data-state="low" title="14 events, usually about 80"', range_page)
    # A usual night is no warning.
    assert 'data-testid="door-data"' not in client.get("/curfew/?night=2026-09-06").get_data(as_text=True)
    # The rollup keeps each night's counts: the usual volume is read from them, not from weeks of events.
    assert runner.invoke(args=["access", "rollup", "--since", "2026-09-01", "--until", NIGHT]).exit_code == 0
    kept = dict(db.session.execute(sa.select(NightFeed.building, NightFeed.events).where(
        NightFeed.night == date(2026, 9, 7))).all())
    assert kept == {"": 15, "D1": 14, "D2": 1}  # "": the whole campus
    db.session.execute(sa.delete(AccessEvent).where(AccessEvent.event_id.like("busy:%")))
    db.session.commit()
    assert "low door data, 14 events against about 80" in cli_report(runner, NIGHT)[1]


@pytest.mark.backends("sqlite", "postgresql")
def test_the_doors_report_compares_each_event_with_the_bed_held_then(app, campus, client, login, create_user,
                                                                     create_room):
    d2 = db.session.scalar(sa.select(Building).where(Building.code == "D2"))
    room = create_room(d2, "201", capacity=2, gender=Gender.FEMALE)
    mover = campus["S1"]
    moved_at = datetime.now(UTC) - timedelta(days=2)
    move(mover, room.beds[0], reason="test")
    db.session.flush()
    old, new = db.session.scalars(sa.select(Assignment).where(Assignment.student_id == mover.id)
                                  .order_by(Assignment.started_at)).all()
    old.ended_at = new.started_at = moved_at
    db.session.add(Card(number="1001", student_id=mover.id))
    db.session.flush()
    store_events([IncomingEvent("m1", "1001", "D1", "D1-G1", moved_at - timedelta(days=1), "in", True),  # lived there
                  IncomingEvent("m2", "1001", "D2", "D2-G1", moved_at + timedelta(hours=2), "in", True),  # lives here
                  IncomingEvent("m3", "1001", "D1", "D1-G1", moved_at + timedelta(days=1), "in", True)],  # a visit
                 Report())
    db.session.commit()
    login(create_user(role=Role.STAFF))
    page = client.get("/curfew/doors").get_data(as_text=True)
    visits = page.split('data-testid="visits"')[1].split("</table>")[0]
    assert re.findall(r"<tr><td>S1 学生1</td><td>(\w+)</td><td>(\w+)</td><td class=\"text-end\">(\d+)</td>",
                      visits) == [("D2", "D1", "1")]
