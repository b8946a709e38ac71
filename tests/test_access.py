"""Door events, cards and permissions in through the command line, and the curfew report out of it."""
from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from dorms.access.models import (
    AccessDevice,
    AccessEvent,
    ApiToken,
    Card,
    CurfewRule,
    NightStatus,
    Permission,
    PermissionStatus,
)
from dorms.access.reports import curfew_alerts, last_finished_night
from dorms.audit.models import AuditEntry
from dorms.campus.models import Building
from dorms.core.enums import Gender, GenderPolicy, Role
from dorms.extensions import db
from dorms.notifications.models import Notification
from dorms.notifications.outbox import render
from dorms.residence.services import assign
from dorms.students.models import Term

from .language_walk import visible_text
from .planner_statistics import analyzed_afresh, times_analyzed

SHARED = Path(os.environ.get("DORMS_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "curfew"
NIGHT = "2026-09-07"  # a Monday: curfew 23:00


@pytest.fixture
def campus(app, create_building, create_room, create_student):
    """Nine residents of building D1 since September 1st, in the autumn term; another building D2."""
    db.session.add(Term(code="2026-2027-1", name="Autumn 2026", starts_on=date(2026, 9, 1),
                        ends_on=date(2027, 1, 20)))
    home = create_building("D1", gender_policy=GenderPolicy.FEMALE)
    create_building("D2")
    rooms = [create_room(home, f"10{i}", capacity=4, gender=Gender.FEMALE) for i in range(3)]
    students = {}
    for i in range(1, 10):
        student = create_student(f"S{i}", name=f"学生{i}", gender=Gender.FEMALE)
        assignment = assign(student, rooms[(i - 1) // 4].beds[(i - 1) % 4], reason="test")
        assignment.started_at = datetime(2026, 9, 1, 8, tzinfo=UTC)
        students[f"S{i}"] = student
    db.session.commit()
    return students


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


CARDS = """card,student_number
1001,S1
1002,S2
0x3EB,S3
1004,S4
1005,S5
1006,S6
1007,S7
1008,S8
1009,S9
"""

EVENTS = """event_id,card,building,door,time,direction,result,reader_note
e1,1001,D1,D1-G1,2026-09-07T13:00:00+08:00,out,granted,
e2,1001,D1,D1-G1,2026-09-07T21:00:00+08:00,in,granted,
e3,1002,D1,D1-G1,2026-09-07T13:00:00+08:00,out,granted,
e4,1002,D1,D1-G2,2026-09-08T00:40:00+08:00,in,granted,
e5,1003,D1,D1-G1,2026-09-07T13:00:00+08:00,out,,
e6,1003,D1,D1-G1,2026-09-08T00:20:00+08:00,in,,
e7,1004,D1,D1-G1,2026-09-07T20:00:00+08:00,in,granted,
e8,1004,D1,D1-G1,2026-09-07T23:40:00+08:00,out,granted,
e9,1005,D1,D1-G1,2026-09-07T13:00:00+08:00,out,granted,
e10,1005,D1,D1-G1,2026-09-07T21:00:00+08:00,in,denied,tailgating?
e11,1005,D2,D2-G1,2026-09-07 21:30:00,in,granted,
e12,1007,D1,D1-G1,2026-09-07T13:00:00+08:00,out,granted,
e13,1008,D1,D1-G1,2026-09-07T21:00:00+08:00,in,granted,
e14,1009,D1,D1-G1,2026-09-07T13:00:00+08:00,out,granted,
e15,777,D1,D1-G1,2026-09-07T21:00:00+08:00,in,granted,
e2,1001,D1,D1-G1,2026-09-07T21:00:00+08:00,in,granted,
"""

PERMISSIONS = """student_number,kind,first_night,last_night,expected_return,status
S3,late,2026-09-07,2026-09-07,00:00,approved
S2,late,2026-09-07,2026-09-07,00:10,rejected
S7,overnight,2026-09-07,2026-09-08,,approved
S8,overnight,2026-09-06,2026-09-07,,approved
S9,overnight,2026-09-07,2026-09-07,,pending
"""


def report(runner, night=NIGHT) -> dict[str, dict]:
    result = runner.invoke(args=["access", "report", "--night", night, "--format", "csv"])
    assert result.exit_code == 0, result.output
    return {row["student_number"]: row for row in csv.DictReader(io.StringIO(result.stdout))}


def test_the_report_says_what_spec_md_says_for_each_student(app, campus, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["access", "import-cards", write(tmp_path, "cards.csv", CARDS)]).exit_code == 0
    imported = runner.invoke(args=["access", "import", write(tmp_path, "events.csv", EVENTS)])
    assert imported.exit_code == 0, imported.output
    assert "16 rows: 15 events stored, 1 already there, 1 of unknown cards" in imported.output
    assert runner.invoke(args=["access", "import-permissions",
                               write(tmp_path, "permissions.csv", PERMISSIONS)]).exit_code == 0
    rows = report(runner)
    assert {n: (r["status"], r["time"]) for n, r in rows.items()} == {
        "S1": ("in", ""),
        "S2": ("late", "2026-09-08T00:40"),  # its late-return request was rejected
        "S3": ("excused_late", "2026-09-08T00:20"),  # expected 00:00, within the 30 minutes' grace
        "S4": ("absent_left_after_curfew", ""),
        "S5": ("absent_left", ""),  # a denied swipe and a visit to D2 do not count...
        "S6": ("absent_no_events", ""),
        "S7": ("excused", ""),
        "S8": ("returned_despite_leave", ""),
        "S9": ("absent_left", ""),  # a pending request changes nothing
    }
    assert (rows["S5"]["last_seen"], rows["S5"]["last_door"]) == ("2026-09-07T21:30", "D2-G1")  # ...but show
    event = db.session.scalar(sa.select(AccessEvent).where(AccessEvent.event_id == "file:e10"))
    assert (event.granted, event.extra) == (False, {"reader_note": "tailgating?"})


@pytest.mark.backends("sqlite", "postgresql")
def test_importing_again_changes_nothing_and_a_later_card_matches_earlier_events(app, campus, tmp_path):
    runner = app.test_cli_runner()
    events = write(tmp_path, "events.csv", EVENTS)
    runner.invoke(args=["access", "import", events])
    again = runner.invoke(args=["access", "import", events])
    assert "0 events stored, 16 already there" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 15
    cards = runner.invoke(args=["access", "import-cards", write(tmp_path, "cards.csv", CARDS)])
    assert "9 cards created" in cards.output and "14 earlier events matched" in cards.output
    assert "0 cards created, 0 handed on, 9 unchanged; 0 earlier events matched" in runner.invoke(
        args=["access", "import-cards", write(tmp_path, "cards.csv", CARDS)]).output
    assert db.session.scalar(sa.select(Card.student_id).where(Card.number == "1003")) == campus["S3"].id
    # An event stored while its card was being imported has no student yet: importing the cards again mends it.
    db.session.execute(sa.update(AccessEvent).where(AccessEvent.card == "1003").values(student_id=None))
    db.session.commit()
    mended = runner.invoke(args=["access", "import-cards", write(tmp_path, "cards.csv", CARDS)]).output
    mended_count = db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent).where(
        AccessEvent.card == "1003", AccessEvent.student_id == campus["S3"].id))
    assert mended_count > 0 and f"9 unchanged; {mended_count} earlier events matched" in mended
    permissions = write(tmp_path, "permissions.csv", PERMISSIONS)
    runner.invoke(args=["access", "import-permissions", permissions])
    assert "0 created, 0 updated, 5 unchanged" in runner.invoke(
        args=["access", "import-permissions", permissions]).output
    changed = write(tmp_path, "changed.csv", PERMISSIONS.replace("pending", "approved"))
    assert "0 created, 1 updated, 4 unchanged" in runner.invoke(args=["access", "import-permissions", changed]).output
    assert db.session.scalar(sa.select(Permission.status).where(Permission.student_id == campus["S9"].id)) \
        == PermissionStatus.APPROVED


@pytest.mark.commits
@pytest.mark.backends("postgresql")
def test_a_large_file_of_events_is_followed_by_analyze_and_a_small_one_is_not(app, campus, tmp_path):
    runner = app.test_cli_runner()
    before = analyzed_afresh("access_events")
    assert runner.invoke(args=["access", "import", write(tmp_path, "events.csv", EVENTS)]).exit_code == 0
    assert times_analyzed("access_events") == before
    header = EVENTS.splitlines()[0]
    many = "\n".join([header] + [f"m{i},1001,D1,D1-G1,2026-09-07T{12 + i // 60}:{i % 60:02d}:00+08:00,in,granted,"
                                  for i in range(150)])
    imported = runner.invoke(args=["access", "import", write(tmp_path, "many.csv", many + "\n")])
    assert imported.exit_code == 0 and "150 events stored" in imported.output, imported.output
    assert times_analyzed("access_events") == before + 1


@pytest.mark.parametrize(("name", "text", "problems"), [
    ("events.csv", ("event_id,card,building,door,time,direction,result\n"
                   "x1,1001,D1,,2026-09-07T13:00:00+08:00,out,granted\n"
                   "x2,1001,D1,,yesterday,sideways,granted\n"
                   "x3,not-a-card,D1,,2026-09-07T13:00:00+08:00,in,maybe\n"),
     ["row 2, time: 'yesterday' is not an ISO 8601 time", "row 2, direction: 'sideways' is not in, out or unknown",
      "row 3, card: 'not-a-card' is not a card number or PIN", "row 3, result: 'maybe' is not granted or denied"]),
    ("events.csv", "card,time\n1001,2026-09-07T13:00:00\n", ["header: no column 'event_id'"]),
    ("cards.csv", "card,student_number\n1001,S1\n1002,NOBODY\n1001,S2\n",
     ["row 2, student_number: no student 'NOBODY'", "row 3, card: 1001 is listed for two students"]),
    ("permissions.csv", ("student_number,kind,first_night,last_night,expected_return,status\n"
                        "S1,late,2026-09-07,2026-09-07,,approved\nS2,holiday,2026-09-09,2026-09-08,,maybe\n"),
     ["row 1, expected_return: a late return needs its expected time", "row 2, kind: 'holiday' is not late",
      "row 2, status: 'maybe' is not approved", "row 2, last_night: before first_night"]),
])
def test_a_bad_file_is_refused_whole_naming_row_and_column(app, campus, tmp_path, name, text, problems):
    command = {"events.csv": "import", "cards.csv": "import-cards", "permissions.csv": "import-permissions"}[name]
    result = app.test_cli_runner().invoke(args=["access", command, write(tmp_path, name, text)])
    assert result.exit_code != 0 and "nothing imported" in result.output
    for problem in problems:
        assert problem in result.output
    for model in (AccessEvent, Card, Permission):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_event_files_are_read_as_every_upload_is_utf8_or_gbk(app, campus, tmp_path):
    runner = app.test_cli_runner()
    (tmp_path / "gbk.csv").write_bytes(EVENTS.replace("tailgating?", "尾随进入").encode("gbk"))
    assert runner.invoke(args=["access", "import", str(tmp_path / "gbk.csv")]).exit_code == 0
    event = db.session.scalar(sa.select(AccessEvent).where(AccessEvent.event_id == "file:e10"))
    assert event.extra == {"reader_note": "尾随进入"}
    (tmp_path / "binary.csv").write_bytes(b"event_id,card\n\x81\xff\x00\xfe\n")
    result = runner.invoke(args=["access", "import", str(tmp_path / "binary.csv")])
    assert result.exit_code != 0 and "file: The file is neither UTF-8 nor GBK text (unreadable bytes on line 2)" \
        in result.output


def test_no_curfew_outside_the_term(app, campus):
    result = app.test_cli_runner().invoke(args=["access", "report", "--night", "2026-08-20"])
    assert result.exit_code == 0 and result.stdout.strip() == "student_number,status,time,name,class,college," \
                                                              "building,last_seen,last_door"
    assert "no curfew that night" in result.stderr


@pytest.mark.backends("sqlite", "postgresql")
def test_a_generated_fortnight_goes_in_and_reports(app, campus, tmp_path):
    """The feed of the curfew kit's generator, $DORMS_SHARED/curfew/gen.py: out of order, resent, unknown cards,
    denied swipes, visits."""
    students = tmp_path / "students.csv"
    students.write_text("student_number,gender,building\n" + "".join(f"S{i},F,D1\n" for i in range(1, 10)))
    subprocess.run([sys.executable, str(SHARED / "gen.py"), "--students", str(students), "--start", "2026-09-07",
                    "--nights", "14", "--out", str(tmp_path / "feed"), "--seed", "3"], check=True,
                   capture_output=True)
    runner = app.test_cli_runner()
    for command, name in (("import-cards", "cards.csv"), ("import", "events.csv"),
                          ("import-permissions", "permissions.csv")):
        outcome = runner.invoke(args=["access", command, str(tmp_path / "feed" / name)])
        assert outcome.exit_code == 0, outcome.output
    assert "0 events stored" in runner.invoke(args=["access", "import", str(tmp_path / "feed" / "events.csv")]).output
    statuses = [row["status"] for night in range(7, 21) for row in report(runner, f"2026-09-{night:02d}").values()]
    assert len(statuses) == 14 * 9
    assert set(statuses) <= {"in", "late", "excused_late", "absent_left", "absent_left_after_curfew",
                             "absent_no_events", "excused", "returned_despite_leave"}
    assert statuses.count("in") > len(statuses) * 0.7  # gen.py's students are mostly back in time


# --- the HTTP endpoint -------------------------------------------------------------------


def _token(app, name="east gate") -> str:
    outcome = app.test_cli_runner().invoke(args=["access", "token", "create", name])
    assert outcome.exit_code == 0, outcome.output
    return outcome.stdout.split(": ", 1)[1].strip()


def _events(*rows) -> list[dict]:
    keys = ("event_id", "card", "building", "door", "time", "direction", "result")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def test_an_integration_posts_events_with_its_token(app, campus, client):
    token = _token(app)
    assert token.startswith("dak_")
    assert db.session.scalar(sa.select(ApiToken.token_hash)) != token  # only the hash is kept
    batch = {"events": _events(("a1", "1001", "D1", "D1-G1", "2026-09-07T21:00:00+08:00", "in", "granted"),
                               ("a2", "0x3E9", "D1", "D1-G1", "2026-09-07T22:00:00+08:00", "out", "granted"))}
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/access/events", json=batch, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json == {"received": 2, "stored": 2, "duplicates": 0, "unmatched": 2}
    # Resent after a timeout: stored once.
    assert client.post("/api/access/events", json=batch, headers=headers).json["duplicates"] == 2
    assert db.session.scalars(sa.select(AccessEvent.card)).all() == ["1001", "1001"]


def test_the_endpoint_refuses_without_a_live_token_and_a_bad_batch_whole(app, campus, client):
    event = _events(("a1", "1001", "D1", "", "2026-09-07T21:00:00+08:00", "in", "granted"))
    assert client.post("/api/access/events", json={"events": event}).status_code == 401
    assert client.post("/api/access/events", json={"events": event},
                       headers={"Authorization": "Bearer dak_guessed"}).status_code == 401
    token = _token(app)
    headers = {"Authorization": f"Bearer {token}"}
    bad = _events(("a1", "1001", "D1", "", "2026-09-07T21:00:00+08:00", "in", "granted"),
                  ("a2", "1001", "D1", "", "tomorrow", "in", "granted"))
    response = client.post("/api/access/events", json={"events": bad}, headers=headers)
    assert response.status_code == 400
    assert response.json["errors"] == [{"event": 2, "field": "time", "message": "'tomorrow' is not an ISO 8601 time"}]
    assert client.post("/api/access/events", json={"events": []}, headers=headers).status_code == 400
    assert client.post("/api/access/events", json={"events": event * 10_001}, headers=headers).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 0
    token_id = db.session.scalar(sa.select(ApiToken.id))
    assert app.test_cli_runner().invoke(args=["access", "token", "revoke", str(token_id)]).exit_code == 0
    assert client.post("/api/access/events", json={"events": event}, headers=headers).status_code == 401


# --- the pages ---------------------------------------------------------------------------


@pytest.fixture
def imported(app, campus, tmp_path):
    runner = app.test_cli_runner()
    for command, name, text in (("import-cards", "cards.csv", CARDS), ("import", "events.csv", EVENTS),
                                ("import-permissions", "permissions.csv", PERMISSIONS)):
        assert runner.invoke(args=["access", command, write(tmp_path, name, text)]).exit_code == 0
    return campus


def _statuses(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-student="([^"]+)"[^>]*>.*?data-status="([a-z_]+)"', page, re.DOTALL))


def test_a_counselor_sees_the_night_for_their_students_only(app, imported, client, login, create_user):
    for i in (1, 2, 3):
        imported[f"S{i}"].class_name = "护理2401"
    db.session.commit()
    login(create_user(role=Role.COUNSELOR, classes=["护理2401"]))
    page = client.get(f"/curfew/?night={NIGHT}").get_data(as_text=True)
    assert _statuses(page) == {"S2": "late", "S3": "excused_late", "S1": "in"}
    assert list(_statuses(page)) == ["S2", "S3", "S1"]  # what needs attention first
    assert 'data-testid="trend"' in page and "<svg" in page
    exported = client.get(f"/curfew/export.csv?night={NIGHT}").get_data(as_text=True)
    assert [line.split(",")[0] for line in exported.splitlines()[1:]] == ["S1", "S2", "S3"]
    assert client.get(f"/curfew/export.xlsx?night={NIGHT}").status_code == 200
    assert client.get(f"/curfew/students/{imported['S4'].id}").status_code == 404  # not theirs
    assert client.get(f"/curfew/students/{imported['S2'].id}", headers=OPENED_HERE).status_code == 200
    assert db.session.scalar(sa.select(AuditEntry.student_id).where(
        AuditEntry.action == "access.history.view")) == imported["S2"].id


# A browser's fetch metadata when someone opens a page from a link or form of this app.
OPENED_HERE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}


@pytest.mark.backends("sqlite", "postgresql")
def test_opening_a_curfew_record_is_logged_only_when_opened_from_the_app(app, imported, client, login,
                                                                         create_user):
    """A cross-site link, image or frame must not write "viewed" into the log in a counselor's name."""
    login(create_user(role=Role.STAFF))
    url = f"/curfew/students/{imported['S2'].id}"
    views = sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "access.history.view")
    for elsewhere in ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
                      {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"},  # another site of the campus
                      {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},  # an <img>
                      {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"},  # a script's fetch
                      {"Referer": "https://evil.example/"}, {}):  # a browser without fetch metadata
        page = client.get(url, headers=elsewhere).get_data(as_text=True)
        assert 'data-testid="history"' not in page, elsewhere  # not shown, so not logged ...
        assert f'href="{url}"' in page  # ... but one tap away
    assert db.session.scalar(views) == 0
    for here in (OPENED_HERE, {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"},  # typed or bookmarked
                 {"Referer": "http://localhost/curfew/"}):  # a browser without fetch metadata, from a page here
        assert 'data-testid="history"' in client.get(url, headers=here).get_data(as_text=True), here
    assert db.session.scalar(views) == 3


def test_staff_see_everyone_and_students_only_their_own_record(app, imported, client, login, create_user):
    login(create_user(role=Role.STAFF))
    page = client.get(f"/curfew/?night={NIGHT}&status=absent_left").get_data(as_text=True)
    assert set(_statuses(page)) == {"S5", "S9"}
    client.post("/logout")
    student_user = create_user(role=Role.STUDENT, student=imported["S4"])
    login(student_user)
    assert client.get(f"/curfew/?night={NIGHT}").status_code == 403
    assert client.get(f"/curfew/export.csv?night={NIGHT}").status_code == 403
    assert client.get(f"/curfew/students/{imported['S4'].id}").status_code == 403
    assert client.get("/curfew/me").status_code == 200


def test_alerts_name_students_not_seen_for_two_nights(app, imported, client, login, create_user, tmp_path):
    # The doors of D1 recorded something on the 8th (a denied swipe of a card nobody holds): a night with data.
    app.test_cli_runner().invoke(args=["access", "import", write(tmp_path, "e.csv", (
        "event_id,card,building,door,time,direction,result\nd8,4242,D1,D1-G1,2026-09-08T21:00:00+08:00,in,denied\n"))])
    login(create_user(role=Role.STAFF))
    page = client.get("/curfew/?night=2026-09-08").get_data(as_text=True)
    alerts = page.split('data-testid="alerts"')[1].split("</div>")[0]
    # No events at all since term began for S6, but D1's doors sent nothing before the 7th: those nights count
    # for nothing. S7's leave covers the 7th and the 8th, so no alert for her.
    assert "S6 学生6</a> (计科2401):\n    not seen for 2 nights in a row" in alerts
    assert "S7 学生7</a>" not in alerts and "S1 学生1</a>" not in alerts


def test_each_counselor_is_told_the_mornings_alerts_about_their_students(app, imported, create_user, tmp_path):
    app.test_cli_runner().invoke(args=["access", "import", write(tmp_path, "e.csv", (
        "event_id,card,building,door,time,direction,result\nd8,4242,D1,D1-G1,2026-09-08T21:00:00+08:00,in,denied\n"))])
    mine = create_user(role=Role.COUNSELOR, classes=["计科2401"])
    create_user(role=Role.COUNSELOR, classes=["历史2401"])  # no student of theirs has an alert: told nothing
    assert curfew_alerts(date(2026, 9, 8)) == 1
    [told] = db.session.scalars(sa.select(Notification)).all()
    assert told.user_id == mine.id
    title, body = render(told, "en")
    assert title == "Curfew alerts for the night of 2026-09-08" and body.startswith("Absent: S4 学生4 (2), S5 学生5 (2)")
    assert "S6 学生6 (2)" in body and body.endswith("Late: none.")
    title, body = render(told, "zh_CN")
    assert title == "2026-09-08 夜间查寝预警" and body.startswith("未归：S4 学生4 (2)") and "晚归：" in body


def test_the_counselor_dashboard_opens_on_last_night(app, campus, client, login, create_user):
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    page = client.get("/").get_data(as_text=True)
    # No door event at all yet: nobody is absent, the night has no door data.
    assert 'data-testid="last-night"' in page and 'data-status="no_data"' in page
    assert 'data-status="absent_no_events"' not in page


# --- late-return and overnight requests --------------------------------------------------


def test_a_student_asks_and_their_counselor_decides(app, imported, client, login, create_user):
    app.config["CURFEW_REQUEST_DAYS_AFTER"] = 1000  # the fixture's nights are in September
    student = create_user(role=Role.STUDENT, student=imported["S2"])
    login(student)
    form = {"kind": "late", "first_night": NIGHT, "expected_return": "00:50", "reason": "实验课晚结束"}
    assert client.post("/curfew/requests", data=form).status_code == 302
    refused = client.post("/curfew/requests", data={**form, "kind": "overnight", "first_night": "2026-09-20",
                                                    "last_night": "2026-09-21"}, follow_redirects=True)
    assert "needs the destination and an emergency contact" in refused.get_data(as_text=True)
    twice = client.post("/curfew/requests", data=form, follow_redirects=True).get_data(as_text=True)
    assert "You already asked for these nights" in twice
    permission = db.session.scalar(sa.select(Permission).where(Permission.student_id == imported["S2"].id,
                                                               Permission.status == PermissionStatus.PENDING))
    assert permission.after_the_fact  # the night of September 7th is long past
    client.post("/logout")

    other = create_user(role=Role.COUNSELOR, classes=["其他班"])
    login(other)
    assert "S2" not in visible_text(client.get("/curfew/requests/review").get_data(as_text=True))  # not a token's
    assert client.post(f"/curfew/requests/{permission.id}/approve").status_code == 404
    client.post("/logout")
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    review = client.get("/curfew/requests/review").get_data(as_text=True)
    assert f'data-request="{permission.id}"' in review and "asked after the fact" in review
    client.post(f"/curfew/requests/{permission.id}/approve", data={"comment": "下次提前报备"})
    db.session.refresh(permission)
    assert permission.status == PermissionStatus.APPROVED and permission.comment == "下次提前报备"
    again = client.post(f"/curfew/requests/{permission.id}/reject", follow_redirects=True).get_data(as_text=True)
    assert "already decided" in again
    # The approved late return excuses the 00:40 entry (back by 00:50).
    assert _statuses(client.get(f"/curfew/?night={NIGHT}").get_data(as_text=True))["S2"] == "excused_late"
    client.post("/logout")
    login(student)
    mine = client.get("/curfew/requests").get_data(as_text=True)
    assert 'data-status="approved"' in mine and "下次提前报备" in mine
    assert client.get("/curfew/requests/review").status_code == 403


def test_a_request_for_a_night_long_past_is_refused(app, imported, client, login, create_user):
    login(create_user(role=Role.STUDENT, student=imported["S2"]))
    page = client.post("/curfew/requests", data={"kind": "late", "first_night": NIGHT, "expected_return": "00:50",
                                                 "reason": "忘了"}, follow_redirects=True).get_data(as_text=True)
    assert "more than 7 days ago go to your counselor directly" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Permission)) == 5  # the imported ones


# --- rules and calendar ------------------------------------------------------------------


def test_staff_set_curfews_by_building_and_gender_and_the_most_specific_wins(app, imported, client, login,
                                                                              create_user):
    login(create_user(role=Role.STAFF))
    home = db.session.scalar(sa.select(Building).where(Building.code == "D1"))
    assert client.post("/curfew/rules", data={"nights": "weeknight", "building": "", "gender": "",
                                              "curfew": "00:30"}).status_code == 302
    # Campus-wide 00:30: S2's 00:40 is still late, S4's 23:40 exit is before curfew (absent: went out).
    rows = report(app.test_cli_runner())
    assert (rows["S2"]["status"], rows["S4"]["status"]) == ("late", "absent_left")
    client.post("/curfew/rules", data={"nights": "weeknight", "building": str(home.id), "gender": "F",
                                       "curfew": "22:30"})
    rows = report(app.test_cli_runner())
    assert rows["S1"]["status"] == "in"  # back at 21:00
    assert rows["S4"]["status"] == "absent_left_after_curfew"
    bad = client.post("/curfew/rules", data={"nights": "weekend", "building": "", "gender": "", "curfew": "15:00"},
                      follow_redirects=True).get_data(as_text=True)
    assert "A curfew is in the evening or after midnight, not at 15:00" in bad
    page = client.get("/curfew/rules").get_data(as_text=True)
    assert "D1 Building D1" in page and "22:30" in page and "00:30" in page


@pytest.mark.backends("sqlite", "postgresql")
def test_a_curfew_for_a_building_that_does_not_exist_is_refused_not_made_campus_wide(app, campus, client, login,
                                                                                   create_user):
    login(create_user(role=Role.STAFF))
    gone = db.session.scalar(sa.select(sa.func.max(Building.id))) + 1  # deleted since the page was shown
    for building in (str(gone), "D1", "99999999999999999999"):
        answer = client.post("/curfew/rules", data={"nights": "weeknight", "building": building, "gender": "",
                                                     "curfew": "21:00"}, follow_redirects=True)
        assert answer.status_code == 200 and "There is no such building." in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CurfewRule)) == 0


def test_holidays_and_terms_decide_which_nights_have_a_curfew(app, imported, client, login, create_user):
    login(create_user(role=Role.STAFF))
    client.post("/curfew/holidays", data={"night": NIGHT, "name": "中秋节"})
    assert report(app.test_cli_runner()) == {}
    client.post(f"/curfew/holidays/{NIGHT}/delete")
    assert len(report(app.test_cli_runner())) == 9
    overlap = client.post("/curfew/terms", data={"code": "x", "starts_on": "2026-12-01", "ends_on": "2027-02-01"},
                          follow_redirects=True).get_data(as_text=True)
    assert "It overlaps the term 2026-2027-1" in overlap
    client.post("/curfew/terms", data={"code": "2026-summer", "starts_on": "2026-07-01", "ends_on": "2026-08-31"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Term)) == 2
    client.post("/logout")
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    assert client.get("/curfew/rules").status_code == 403
    assert client.post("/curfew/holidays", data={"night": NIGHT}).status_code == 403


# --- ZKTeco PUSH (ADMS) ------------------------------------------------------------------


def test_a_zkteco_terminal_pushes_attendance_lines(app, imported, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["access", "device", "add", "CQZ7231560", "--building", "D1", "--door", "D1-N",
                               "--timezone", "Asia/Shanghai", "--network", "127.0.0.0/8"]).exit_code == 0
    assert client.get("/iclock/cdata?SN=UNKNOWN&options=all").status_code == 403
    handshake = client.get("/iclock/cdata?SN=CQZ7231560&options=all&pushver=2.4.1")
    assert handshake.status_code == 200 and "GET OPTION FROM: CQZ7231560" in handshake.get_data(as_text=True)
    # S6 (card 1006) comes back at 22:10 local time and S1 (1001) leaves after curfew.
    body = "1006\t2026-09-07 22:10:00\t0\t1\t0\t0\t0\n1001\t2026-09-07 23:20:05\t1\t1\t0\t0\t0\n"
    response = client.post("/iclock/cdata?SN=CQZ7231560&table=ATTLOG&Stamp=9999", data=body)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "OK: 2")
    assert client.post("/iclock/cdata?SN=CQZ7231560&table=ATTLOG", data=body).status_code == 200  # resent
    # Some firmware labels its body a form: it is still read whole, not taken for a form and lost.
    late = "1002\t2026-09-07 23:40:00\t0\t1\t0\t0\t0\n"
    labelled = client.post("/iclock/cdata?SN=CQZ7231560&table=ATTLOG", data=late,
                           content_type="application/x-www-form-urlencoded")
    assert (labelled.status_code, labelled.get_data(as_text=True)) == (200, "OK: 1")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent).where(
        AccessEvent.event_id.like("zk:%"))) == 3
    rows = report(runner)
    assert (rows["S6"]["status"], rows["S1"]["status"]) == ("in", "absent_left_after_curfew")
    assert client.get("/iclock/getrequest?SN=CQZ7231560").get_data(as_text=True) == "OK"


def test_an_access_panel_pushes_rtlog_and_a_bad_line_is_shown_not_retried_forever(app, imported, client):
    app.test_cli_runner().invoke(args=["access", "device", "add", "DDG7030067", "--building", "D1", "--door", "D1-S",
                                       "--network", "127.0.0.1"])
    line = "time=2026-09-08 00:05:00\tpin=0\tcardno=1006\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=1\tindex=85"
    denied = line.replace("index=85", "index=86").replace("event=0", "event=27")
    alarm = "time=2026-09-08 00:06:00\tpin=0\tcardno=0\teventaddr=1\tevent=200\tinoutstatus=2\tindex=87"
    bad = line.replace("index=85", "index=88").replace("2026-09-08 00:05:00", "yesterday")
    answer = client.post("/iclock/cdata?SN=DDG7030067&table=rtlog", data=f"{line}\n{denied}\n{alarm}\n{bad}")
    assert answer.get_data(as_text=True) == "OK"  # acknowledged: the device would resend the bad line forever
    zk_events = sa.select(AccessEvent.event_id, AccessEvent.granted, AccessEvent.door).where(
        AccessEvent.event_id.like("zk:%")).order_by(AccessEvent.event_id)
    assert db.session.execute(zk_events).all() == [("zk:DDG7030067:rt:85:1006:20260908000500:1", True, "D1-S#1"),
                                                   ("zk:DDG7030067:rt:86:1006:20260908000500:1", False, "D1-S#1")]
    assert "row 4, line" in db.session.scalar(sa.select(AccessDevice.last_error))
    row = report(app.test_cli_runner())["S6"]
    assert (row["status"], row["time"]) == ("late", "2026-09-08T00:05")
    # Only from its network: the serial number printed on the panel proves nothing.
    assert client.post("/iclock/cdata?SN=DDG7030067&table=rtlog", data=line,
                       environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 403


def test_zkteco_attendance_exports_import_with_the_preset(app, imported, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["access", "device", "add", "CQZ7231560", "--building", "D1", "--door", "D1-N",
                        "--network", "127.0.0.1"])
    export = ("人员编号,姓名,部门,打卡时间,打卡状态,验证方式,设备序列号,设备名称,卡号\n"
              "1006,学生6,计科,2026-09-07 22:10:00,签到,刷卡,CQZ7231560,北门,\n"
              "9999,学生9,计科,2026-09-07 21:00:00,签到,刷卡,CQZ7231560,北门,1009\n")
    path = write(tmp_path, "zk.csv", export)
    outcome = runner.invoke(args=["access", "import", path, "--preset", "zkteco"])
    assert outcome.exit_code == 0, outcome.output
    assert "2 rows: 2 events stored" in outcome.output
    assert "0 events stored, 2 already there" in runner.invoke(args=["access", "import", path,
                                                                     "--preset", "zkteco"]).output
    rows = report(runner)
    assert rows["S6"]["status"] == "in" and rows["S9"]["status"] == "in"  # S9: card 1009, not the PIN
    assert rows["S6"]["last_door"] == "D1-N"


# --- events the database cannot hold: refused one by one, never a 500 ----------------------


@pytest.mark.backends("sqlite", "postgresql")
def test_the_api_refuses_an_event_the_database_cannot_hold_naming_event_and_field(app, campus, client):
    """An id is stored with its source's prefix (``api<token id>:``): its room is what the prefix leaves."""
    headers = {"Authorization": f"Bearer {_token(app)}"}
    room = 80 - len(f"api{db.session.scalar(sa.select(ApiToken.id))}:")
    at = "2026-09-07T21:00:00+08:00"
    batch = _events(("x" * room, "1001", "D1", "", at, "in", "granted"),
                    ("y" * (room + 1), "1001", "D1", "", at, "in", "granted"),
                    ("a3", "1001", "D1", "", "0001-01-01T00:00:00", "in", "granted"),
                    ("a4", "1001", "D1", "", "9999-12-31T23:59:59-08:00", "in", "granted"),
                    ("a5", "1001", "D1\x00", "", at, "in", "granted"),
                    ("a6", "1001", "D1", "\ud800", at, "in", "granted"))
    batch.append({**batch[2], "event_id": "a7", "time": at, "note": "\x00"})  # kept as extra: it must fit too
    response = client.post("/api/access/events", json={"events": batch}, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert [(e["event"], e["field"]) for e in response.json["errors"]] == [
        (2, "event_id"), (3, "time"), (4, "time"), (5, "building"), (6, "door"), (7, "note")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 0
    assert client.post("/api/access/events", json={"events": batch[:1]}, headers=headers).json["stored"] == 1


@pytest.mark.backends("sqlite", "postgresql")
def test_a_file_event_id_is_measured_with_its_source_prefix(app, campus, tmp_path):
    text = ("event_id,card,building,door,time,direction,result\n"
            f"{'e' * 75},1001,D1,,2026-09-07T21:00:00+08:00,in,\n"  # 80 characters, but 90 as east-gate:…
            "e2,1001,D1,,9999-12-31T23:00:00,in,\n")
    result = app.test_cli_runner().invoke(args=["access", "import", write(tmp_path, "e.csv", text),
                                                "--source", "east-gate"])
    assert result.exit_code != 0 and "nothing imported" in result.output
    assert "row 1, event_id: longer than 70 characters" in result.output and "row 2, time" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 0


@pytest.mark.backends("sqlite", "postgresql")
def test_a_device_line_the_database_cannot_hold_is_kept_aside_and_the_others_stored(app, imported, client):
    runner = app.test_cli_runner()
    for serial in ("CQZ7231560", "DDG7030067"):
        assert runner.invoke(args=["access", "device", "add", serial, "--building", "D1", "--door", "D1-N",
                                   "--network", "127.0.0.1"]).exit_code == 0
    attlog = "1006\t0001-01-01 00:00:00\t0\t1\n1006\t2026-09-07 22:10:00\t0\t1\n1001\t9999-12-31 23:59:59\t1\t1\n"
    answer = client.post("/iclock/cdata?SN=CQZ7231560&table=ATTLOG", data=attlog)
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "OK: 3")  # the queue moves on
    line = "time=2026-09-08 00:05:00\tpin=0\tcardno=1002\teventaddr=1\tevent=0\tinoutstatus=0\tindex=85"
    rtlog = "\n".join([line.replace("index=85", "index=" + "9" * 60), line,
                       line.replace("eventaddr=1", "eventaddr=\x00")])
    answer = client.post("/iclock/cdata?SN=DDG7030067&table=rtlog", data=rtlog)
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "OK")
    stored = sa.select(AccessEvent.event_id).where(AccessEvent.event_id.like("zk:%")).order_by(AccessEvent.event_id)
    assert db.session.scalars(stored).all() == ["zk:CQZ7231560:1006:20260907221000",
                                                "zk:DDG7030067:rt:85:1002:20260908000500:1"]
    errors = dict(db.session.execute(sa.select(AccessDevice.serial_number, AccessDevice.last_error)).all())
    assert "row 1, time" in errors["CQZ7231560"] and "row 3, time" in errors["CQZ7231560"]
    assert "row 1, event_id" in errors["DDG7030067"] and "row 3, line" in errors["DDG7030067"]


@pytest.mark.backends("sqlite", "postgresql")
def test_the_api_answers_every_error_as_json_deep_nesting_included(app, campus, client, monkeypatch):
    headers = {"Authorization": f"Bearer {_token(app)}"}
    deep = '{"events": ' + "[" * 100_000 + "]" * 100_000 + "}"
    answers = {
        "deeply nested": client.post("/api/access/events", data=deep, content_type="application/json",
                                     headers=headers),
        "not JSON": client.post("/api/access/events", data="{", content_type="application/json", headers=headers),
        "no token": client.post("/api/access/events", json={"events": []}),
        "another token's scope": client.get("/api/access/entitlements", headers=headers),
        "no such endpoint": client.get("/api/access/nothing-here", headers=headers),
        "the wrong method": client.get("/api/access/events", headers=headers),
    }
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    answers["too large"] = client.post("/api/access/events", json={"events": ["x" * 2048]}, headers=headers)
    assert {why: (answer.status_code, answer.is_json and bool(answer.json["error"]))
            for why, answer in answers.items()} == {
        "deeply nested": (400, True), "not JSON": (400, True), "no token": (401, True),
        "another token's scope": (401, True), "no such endpoint": (404, True), "the wrong method": (405, True),
        "too large": (413, True)}
    assert "nested" in answers["deeply nested"].json["error"]
    page = client.get("/curfew/nothing-here")  # pages keep their HTML error pages
    assert page.status_code == 404 and not page.is_json


# --- doors and rooms ---------------------------------------------------------------------


def test_staff_see_who_may_enter_where_and_where_logs_and_rooms_disagree(app, campus, client, login, create_user,
                                                                         tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["access", "import-cards", write(tmp_path, "cards.csv", CARDS.replace("1009,S9\n", ""))])
    recent = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    token = _token(app)
    batch = _events(("r1", "1005", "D2", "D2-G1", recent, "in", "granted"),
                    ("r2", "1005", "D2", "D2-G1", recent, "in", "denied"),
                    ("r3", "1001", "D1", "D1-G1", recent, "in", "granted"),
                    ("r4", "4242", "D1", "D1-G1", recent, "in", "granted"))
    assert client.post("/api/access/events", json={"events": batch},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
    login(create_user(role=Role.STAFF))
    page = client.get("/curfew/doors").get_data(as_text=True)
    visits = page.split('data-testid="visits"')[1].split("</table>")[0]
    assert "S5 学生5" in visits and "S1 学生1" not in visits
    assert "S9 学生9 · D1" in page.split('data-testid="without-card"')[1].split("</p>")[0]
    assert "<td>4242</td>" in page
    exported = client.get("/curfew/entitlements.csv").get_data(as_text=True)
    assert "S3,学生3,D1,1003" in exported and "S9,学生9,D1," in exported
    client.post("/logout")
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    assert client.get("/curfew/doors").status_code == 403
    assert client.get("/curfew/entitlements.csv").status_code == 403


def test_the_door_system_reads_entitlements_with_a_read_token_only(app, imported, client):
    poster = _token(app)
    assert client.get("/api/access/entitlements", headers={"Authorization": f"Bearer {poster}"}).status_code == 401
    outcome = app.test_cli_runner().invoke(args=["access", "token", "create", "door system", "--scope",
                                                 "residents:read"])
    reader = outcome.stdout.split(": ", 1)[1].strip()
    answer = client.get("/api/access/entitlements", headers={"Authorization": f"Bearer {reader}"})
    assert answer.headers["Cache-Control"] == "no-store"  # students and their cards: kept by no cache
    body = answer.json
    assert {"student_number": "S3", "building": "D1", "cards": ["1003"], "pins": []} in body["residents"]
    assert len(body["residents"]) == 9
    assert client.post("/api/access/events", json={"events": []},
                       headers={"Authorization": f"Bearer {reader}"}).status_code == 401


# --- retention ---------------------------------------------------------------------------


def test_purging_old_events_keeps_every_nights_statuses(app, imported):
    runner = app.test_cli_runner()
    before = {night: report(runner, night) for night in (NIGHT, "2026-09-08")}
    dry = runner.invoke(args=["access", "purge", "--days", "30", "--dry-run"])  # the shortest allowed
    assert dry.exit_code == 0 and "15 would be deleted" in dry.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 15
    declined = runner.invoke(args=["access", "purge", "--days", "30"], input="n\n")  # asks first, with the numbers
    assert declined.exit_code != 0 and "Delete 15 door events" in declined.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 15
    purged = runner.invoke(args=["access", "purge", "--days", "30"], input="y\n")
    assert purged.exit_code == 0 and "15 deleted" in purged.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 0
    assert {night: report(runner, night) for night in before} == before
    assert "0 deleted; 0 nights" in runner.invoke(args=["access", "purge", "--days", "30", "--yes"]).output
    assert runner.invoke(args=["access", "purge", "--days", "20", "--yes"]).exit_code != 0  # requests reach a week back


@pytest.mark.backends("sqlite", "postgresql")
def test_rolled_up_nights_read_the_same_and_late_news_reopens_them(app, imported, client, tmp_path):
    runner = app.test_cli_runner()
    live = report(runner)
    rolled = runner.invoke(args=["access", "rollup", "--since", "2026-09-01", "--until", "2026-09-10"])
    assert rolled.exit_code == 0 and "10 nights looked at, 81 statuses kept" in rolled.output
    assert report(runner) == live
    # (no one lived there yet on the night of September 1st: the beds were taken at 16:00)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NightStatus)) == 81
    # S9's pending overnight request is approved in the old system: the night is computed again.
    runner.invoke(args=["access", "import-permissions",
                        write(tmp_path, "p.csv", PERMISSIONS.replace("pending", "approved"))])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NightStatus).where(
        NightStatus.night == date(2026, 9, 7))) == 0
    assert report(runner)["S9"]["status"] == "excused"
    # A late event (S6 back at 22:00 on the 7th) reopens the nights it can change, and only those.
    late = "event_id,card,building,door,time,direction,result\nlate1,1006,D1,D1-G1,2026-09-07T22:00:00+08:00,in,\n"
    runner.invoke(args=["access", "import", write(tmp_path, "late.csv", late)])
    remaining = set(db.session.scalars(sa.select(NightStatus.night).distinct()))
    assert remaining == {date(2026, 9, day) for day in range(2, 7)}  # the 6th ended before 22:00 on the 7th
    assert report(runner)["S6"]["status"] == "in"
    # The morning job fills in what is missing and leaves the rest.
    assert "statuses kept" in runner.invoke(args=["access", "rollup"]).output
    assert report(runner)["S6"]["status"] == "in"


def test_several_nights_count_each_students_late_and_absent_nights(app, imported, client, login, create_user):
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    page = client.get("/curfew/range?first=2026-09-07&last=2026-09-08").get_data(as_text=True)
    tallies = dict(re.findall(r'<tr data-student="(S\d)"[^>]*>.*?data-absent="(\d+)"', page, re.DOTALL))
    # S6: no events on the 7th, and D1's doors sent nothing on the 8th; S1: in on the 7th; S7: excused.
    assert (tallies["S6"], tallies["S1"], tallies["S7"]) == ("1", "0", "0")
    assert 'data-student="S6"' in page and page.count('data-no-data="1"') == 9
    assert next(iter(tallies)) in {"S4", "S5", "S6", "S9"}  # the most absent first
    app.test_cli_runner().invoke(args=["access", "rollup", "--since", "2026-09-07", "--until", "2026-09-07"])
    assert client.get("/curfew/range?first=2026-09-07&last=2026-09-08").get_data(as_text=True).count(
        'data-absent="2"') == page.count('data-absent="2"')  # half rolled up, half live: the same
    exported = client.get("/curfew/range.csv?first=2026-09-07&last=2026-09-08").get_data(as_text=True)
    # A download from a page: its columns as the reader reads them (the command line keeps machine words).
    assert exported.splitlines()[0].lstrip("\ufeff").startswith("Student number,Full name,Class,College,Nights,Late")
    assert client.get("/curfew/range?first=2026-09-09&last=2026-09-01").status_code == 400
    client.post("/logout")
    login(create_user(role=Role.COUNSELOR, classes=["别的班"]))
    assert 'data-student="S' not in client.get("/curfew/range?first=2026-09-07&last=2026-09-08").get_data(
        as_text=True)


def test_staff_create_and_revoke_tokens_and_register_devices_on_a_page(app, campus, client, login, create_user):
    login(create_user(role=Role.STAFF))
    page = client.post("/curfew/integrations/tokens", data={"name": "东门闸机", "scope": "events:post"})
    token = re.search(r'<code class="user-select-all fs-6">(dak_[^<]+)</code>', page.get_data(as_text=True)).group(1)
    assert token not in client.get("/curfew/integrations").get_data(as_text=True)  # shown once
    event = _events(("p1", "1001", "D1", "", "2026-09-07T21:00:00+08:00", "in", "granted"))
    assert client.post("/api/access/events", json={"events": event},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
    token_id = db.session.scalar(sa.select(ApiToken.id))
    client.post(f"/curfew/integrations/tokens/{token_id}/revoke")
    assert client.post("/api/access/events", json={"events": event},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client.post("/curfew/integrations/devices", data={"serial_number": "CQZ1", "building": "D1", "door": "北门",
                                                      "networks": "127.0.0.1", "timezone": "Asia/Shanghai"})
    bad = client.post("/curfew/integrations/devices", data={"serial_number": "CQZ2", "building": "D1",
                                                            "networks": "127.0.0.1", "timezone": "Mars/Olympus"},
                      follow_redirects=True)
    assert "Mars/Olympus is not a time zone" in bad.get_data(as_text=True)
    assert client.get("/iclock/cdata?SN=CQZ1&options=all").status_code == 200
    assert client.get("/iclock/cdata?SN=CQZ2&options=all").status_code == 403
    client.post("/logout")
    login(create_user(role=Role.COUNSELOR, classes=["计科2401"]))
    assert client.get("/curfew/integrations").status_code == 403
    assert client.post("/curfew/integrations/tokens", data={"name": "x"}).status_code == 403


def test_two_systems_may_number_events_alike_and_blank_lines_are_skipped(app, imported, client, tmp_path):
    runner = app.test_cli_runner()
    same_id = "event_id,card,building,door,time,direction,result\n\ne1,1006,D1,,2026-09-07T22:00:00+08:00,in,\n\n"
    outcome = runner.invoke(args=["access", "import", write(tmp_path, "b.csv", same_id), "--source", "east-gate"])
    assert outcome.exit_code == 0 and "1 rows: 1 events stored" in outcome.output  # "e1" of another system
    assert report(runner)["S6"]["status"] == "in"
    token = _token(app)
    batch = _events(("e1", "1006", "D1", "", "2026-09-07T22:30:00+08:00", "in", ""))
    assert client.post("/api/access/events", json={"events": batch},
                       headers={"Authorization": f"Bearer {token}"}).json["stored"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent).where(
        AccessEvent.event_id.like("%:e1"))) == 3


def test_nights_not_over_yet_are_neither_shown_nor_counted(app, imported, client, login, create_user):
    login(create_user(role=Role.STAFF))
    ahead = (date.today() + timedelta(days=3)).isoformat()
    page = client.get(f"/curfew/?night={ahead}").get_data(as_text=True)
    assert f'name="night" value="{last_finished_night().isoformat()}"' in page
    assert f'value="{ahead}"' not in page
    assert client.get(f"/curfew/range?first={ahead}&last={ahead}").status_code == 400  # first after the last


def test_a_door_system_writing_building_codes_in_lower_case_is_read_alike(app, campus, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["access", "import-cards", write(tmp_path, "cards.csv", CARDS)])
    lower = "event_id,card,building,door,time,direction,result\ne1,1001,d1,d1-g1,2026-09-07T21:00:00+08:00,in,granted\n"
    assert runner.invoke(args=["access", "import", write(tmp_path, "events.csv", lower)]).exit_code == 0
    assert report(runner)["S1"]["status"] == "in"  # d1 is D1, as room codes are everywhere


def test_downloads_follow_the_reader_and_the_command_line_keeps_its_words_unless_asked(app, imported, client, login,
                                                                                         create_user):
    login(create_user(role=Role.STAFF))
    client.post("/language/zh_CN")
    rows = list(csv.reader(io.StringIO(client.get(f"/curfew/export.csv?night={NIGHT}").data.decode("utf-8-sig"))))
    assert rows[0][:6] == ["学号", "姓名", "班级", "学院", "楼栋", "状态"]
    statuses = {row[0]: row[5] for row in rows[1:]}
    assert statuses["S1"] != "in" and not re.search("[a-z]", "".join(statuses.values()))
    ranged = client.get(f"/curfew/range.csv?first={NIGHT}&last={NIGHT}").data.decode("utf-8-sig").splitlines()[0]
    assert not re.search("[a-z]", ranged), ranged
    doors = client.get("/curfew/entitlements.csv").data.decode("utf-8-sig").splitlines()[0]
    assert doors == "学号,姓名,楼栋,卡号,人员编号"

    runner = app.test_cli_runner()
    plain = runner.invoke(args=["access", "report", "--night", NIGHT]).stdout
    assert plain.splitlines()[0].startswith("student_number,status,time") and "S1,in," in plain
    chinese = runner.invoke(args=["access", "report", "--night", NIGHT, "--language", "zh"]).stdout
    assert chinese.splitlines()[0].startswith("学号,状态,时间") and "S1,in," not in chinese


def test_a_device_registered_for_a_building_in_lower_case_stands_in_that_building(app, campus):
    from dorms.access.devices import register_device

    assert register_device("ZK1", "d1", "10.0.0.0/8").building == "D1"
    assert register_device("ZK2", "Gate house", "10.0.0.0/8").building == "Gate house"  # not a building: as typed
