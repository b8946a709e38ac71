"""`dorms selection`: an event set up, checked, opened, watched, paused and closed from the command line, and
what it refuses."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from dorms.audit import SYSTEM_ACTOR
from dorms.audit.models import AuditEntry
from dorms.core.clock import campus_zone, utcnow
from dorms.core.enums import Gender, GenderPolicy
from dorms.extensions import db
from dorms.residence import services as residence
from dorms.selection import services as selection
from dorms.selection.models import EventStatus, SelectionEvent, SelectionOffer, SelectionParticipant


def _campus(moment) -> str:
    return moment.astimezone(campus_zone()).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args, expect=0, **kwargs):
        result = runner.invoke(args=["selection", *map(str, args)], **kwargs)
        assert result.exit_code == expect, (result.exit_code, result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit)  # a message, no traceback
        return result.output
    return invoke


@pytest.fixture
def campus(create_building, create_room, create_student):
    men, women = (create_building("M1", gender_policy=GenderPolicy.MALE),
                  create_building("W1", gender_policy=GenderPolicy.FEMALE))
    rooms = {"men": [create_room(men, "101"), create_room(men, "201", floor=2)], "women": [create_room(women, "101")],
             "mixed": create_room(create_building("X1"), "101", capacity=2)}
    students = {"men": [create_student(f"2026000{n}", name=f"男{n}") for n in range(3)],
                "women": [create_student(f"2026100{n}", name=f"女{n}", gender=Gender.FEMALE) for n in range(2)],
                "other": create_student("20262000", class_name="软工2401")}
    db.session.commit()
    return rooms, students


def test_a_selection_from_set_up_to_close(app, run, campus):
    rooms, students = campus
    out = run("create", "2026 秋季选宿", "--closes", _campus(utcnow() + timedelta(days=2)), "--seed", "published")
    event_id = int(re.search(r"Event (\d+),", out).group(1))
    assert "Seed published" in out
    event = db.session.get(SelectionEvent, event_id)
    assert (event.status, event.hold_seconds, event.change_limit) == (EventStatus.DRAFT, 300, 0)

    # The men's window opened an hour ago (so that they can choose below); the women's is forgotten at first.
    out = run("window", event_id, "men", "--gender", "M", "--starts", _campus(utcnow() - timedelta(hours=1)),
              "--batch-size", 2, "--batch-minutes", 10)
    assert "men (tier 1)" in out and "Male" in out and "2 students every 10 minutes" in out
    assert "5 students added; 5 take part" in run("students", event_id, "--class-name", "计科2401")
    assert "0 students added; 5 take part" in run("students", event_id, "--class-name", "计科2401")  # once each
    assert "12 free beds offered (12 new)" in run("offer", event_id, "--building", "m1", "--building", "W1")
    assert "2 free beds offered (2 new)" in run("offer", event_id, "--building", "X1")  # a room of no one gender

    out = run("check", event_id, expect=1)
    assert out.count("no_window:") == 2 and "20261000 女0 is in no window" in out
    assert out.count("unusable_bed:") == 2 and "X1-101-1" in out and "4 problems: the event cannot open yet." in out
    run("open", event_id, expect=1)  # refused while anything is wrong, the services' sentence as it is
    assert db.session.get(SelectionEvent, event_id).status == EventStatus.DRAFT

    run("window", event_id, "women", "--gender", "F", "--starts", _campus(utcnow() + timedelta(hours=1)))
    rooms["mixed"].gender = Gender.MALE  # as the office would settle it on the room's page
    db.session.commit()
    assert "No problem: the event may open." in run("check", event_id)

    lines = run("order", event_id).splitlines()
    assert "Seed published" in lines[0] and lines[2].split("\t") == [
        "window", "place", "start", "student number", "student name", "order key"]
    rows = [line.split("\t") for line in lines[3:]]
    men = sorted(students["men"], key=lambda s: hashlib.sha256(f"published:{s.student_number}".encode()).hexdigest())
    assert [(r[0], r[1], r[3]) for r in rows[:3]] == [("men", str(n + 1), s.student_number) for n, s in enumerate(men)]
    assert [r[5] for r in rows[:3]] == [hashlib.sha256(f"published:{s.student_number}".encode()).hexdigest()
                                        for s in men]
    assert rows[0][2] == rows[1][2] != rows[2][2]  # batches of two, ten minutes apart
    assert {r[0] for r in rows[3:]} == {"women"} and len(rows) == 5

    assert "is open" in run("open", event_id)
    assert "under way" in run("window", event_id, "late", "--starts", _campus(utcnow()), expect=1)
    first = men[0]
    event = db.session.get(SelectionEvent, event_id)
    selection.hold(event, first, rooms["men"][0].beds[0].id)
    selection.confirm(event, first)
    selection.hold(event, men[1], rooms["men"][0].beds[1].id)
    db.session.commit()
    out = run("status", event_id)
    assert f"({EventStatus.OPEN.label})" in out and "Taking part: 5, in a window: 5." in out
    assert "Beds offered: 14 (reserved for the office: 0); held now: 1; confirmed: 1." in out
    assert "M1: 6 of 8 beds free" in out and "W1: 4 of 4 beds free" in out and "X1: 2 of 2 beds free" in out
    assert "Invariants hold." in out

    assert "paused" in run("pause", event_id)
    assert f"is {EventStatus.PAUSED.label} now, not {EventStatus.OPEN.label}" in run("pause", event_id, expect=1)
    assert "open again" in run("resume", event_id)
    assert "closed" in run("close", event_id)
    out = run("status", event_id)
    assert f"({EventStatus.CLOSED.label})" in out and "held now: 0; confirmed: 1." in out
    assert "only an event being set up is checked" in run("check", event_id, expect=1)

    assert f"Apply event {event_id}: 1 confirmed choice becomes a bed?" in run("apply", event_id, input="n\n",
                                                                               expect=1)
    assert residence.current_assignment(first) is None
    assert "1 student changed bed" in run("apply", event_id, "--yes")
    db.session.expire_all()
    assert residence.current_assignment(first).bed_id == rooms["men"][0].beds[0].id
    assert "applied already" in run("apply", event_id, "--yes", expect=1)


def test_a_rehearsal_is_a_copy_to_throw_away(app, run, campus):
    rooms, students = campus
    now = utcnow()
    event = selection.create_event("real", closes_at=now + timedelta(days=3), seed="s")
    selection.add_window(event, "men", starts_at=now + timedelta(days=2), gender=Gender.MALE)
    selection.add_participants(event, students["men"])
    selection.offer_beds(event, rooms["men"][0].beds)
    db.session.commit()
    assert "later than now" in run("rehearse", event.id, "--starts", _campus(now), "--closes", _campus(now),
                                   expect=2)
    out = run("rehearse", event.id, "--starts", _campus(now), "--closes", _campus(now + timedelta(hours=1)))
    rehearsal_id = int(re.search(r"Rehearsal (\d+) of event", out).group(1))
    assert "No problem" in run("check", rehearsal_id)
    assert "open" in run("open", rehearsal_id)
    out = run("status", rehearsal_id)
    assert "real (rehearsal)" in out and "Taking part: 3, in a window: 3." in out and "seed s." in out
    run("close", rehearsal_id)
    assert "never applied" in run("apply", rehearsal_id, "--yes", expect=1)
    assert "cannot itself be rehearsed" in run("rehearse", rehearsal_id, "--starts", _campus(now), "--closes",
                                               _campus(now + timedelta(hours=1)), expect=1)
    assert "thrown away" in run("discard", rehearsal_id)
    assert db.session.get(SelectionEvent, rehearsal_id) is None
    assert "Only a rehearsal can be thrown away." in run("discard", event.id, expect=1)


def test_reserved_beds_and_floors(app, run, campus):
    event = selection.create_event("e", closes_at=utcnow() + timedelta(days=1))
    db.session.commit()
    assert "4 free beds offered, reserved for the office (4 new)" in run(
        "offer", event.id, "--building", "M1", "--floor", 2, "--reserved")
    assert "4 free beds offered (0 new)" in run("offer", event.id, "--building", "M1", "--floor", 2)
    assert "No free bed there, nor one a student taking part lives in." in run(
        "offer", event.id, "--building", "W1", "--floor", 9, expect=2)


def test_rooms_offered_and_withdrawn(app, run, campus):
    rooms, _students = campus
    event = selection.create_event("e", closes_at=utcnow() + timedelta(days=1))
    db.session.commit()
    assert "4 free beds offered (4 new)" in run("offer", event.id, "--building", "m1", "--room", "101")
    assert "4 free beds offered, reserved for the office (4 new)" in run(
        "offer", event.id, "--building", "M1", "--room", "201", "--reserved")
    assert "4 beds no longer offered." in run("withdraw", event.id, "--building", "M1", "--floor", 2)
    offered = set(db.session.scalars(sa.select(SelectionOffer.bed_id).where(SelectionOffer.event_id == event.id)))
    assert offered == {bed.id for bed in rooms["men"][0].beds}
    assert "M1 has no room 999." in run("offer", event.id, "--building", "M1", "--room", "999", expect=2)
    assert "Give one building with --room." in run("withdraw", event.id, "--room", "101", expect=2)
    assert "No bed is offered there." in run("withdraw", event.id, "--building", "W1", expect=2)
    assert set(db.session.scalars(sa.select(SelectionOffer.bed_id))) == offered  # refusals changed nothing


@pytest.fixture
def audited(app):
    """The selection entries recorded since the last call, as (action, details), each checked to be by "system"
    (the command line's, no one being signed in); times in the details read back as datetimes."""
    last = [0]

    def new() -> list[tuple[str, dict]]:
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("selection.%"),
                                                                 AuditEntry.id > last[0]).order_by(AuditEntry.id)).all()
        last[0] = max([last[0], *(entry.id for entry in entries)])
        assert all(entry.actor_id is None and entry.actor_name == SYSTEM_ACTOR for entry in entries)
        return [(entry.action, {key: datetime.fromisoformat(value) if key in ("starts_at", "closes_at") else value
                                for key, value in entry.details.items()}) for entry in entries]
    return new


def _typed(text: str) -> datetime:
    """A time as the command line reads it, in campus time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=campus_zone())


def test_every_change_leaves_the_audit_entry_the_pages_do(app, run, campus, audited, tmp_path):
    """The services record them, so the command line's are the office pages' (the same actions and details),
    by "system"; a refusal leaves none."""
    rooms, students = campus
    closes = _campus(utcnow() + timedelta(days=2))
    out = run("create", "2026 秋季选宿", "--closes", closes, "--seed", "published", "--hold-minutes", 3,
              "--changes", 1, "--show-names")
    event_id = int(re.search(r"Event (\d+),", out).group(1))
    assert audited() == [("selection.create", {
        "event": event_id, "name": "2026 秋季选宿", "closes_at": _typed(closes), "hold_seconds": 180,
        "change_limit": 1, "seed": "published", "roommate_names": True})]

    starts = _campus(utcnow() - timedelta(hours=1))
    run("window", event_id, "men", "--gender", "M", "--class-name", "计科2401", "--starts", starts,
        "--batch-size", 2, "--batch-minutes", 10, "--zone", "MAIN")
    later = _campus(utcnow() + timedelta(hours=1))
    run("window", event_id, "women", "--gender", "F", "--starts", later, "--tier", 2, "--college", "计算机学院")
    assert audited() == [
        ("selection.window", {"event": event_id, "name": "men", "starts_at": _typed(starts), "tier": 1,
                              "college": None, "classes": "计科2401", "grade": None, "gender": "M", "batch_size": 2,
                              "batch_minutes": 10, "zone": "main"}),
        ("selection.window", {"event": event_id, "name": "women", "starts_at": _typed(later), "tier": 2,
                              "college": "计算机学院", "classes": None, "grade": None, "gender": "F",
                              "batch_size": 0, "batch_minutes": 0, "zone": None})]

    run("area", event_id, "外语学院", "--building", "m1", "--floor", 2)
    assert audited() == [("selection.area", {"event": event_id, "college": "外语学院", "building": "M1",
                                             "floor": 2})]

    run("students", event_id, "--class-name", "计科2401")
    numbers = tmp_path / "numbers.txt"
    numbers.write_text(f"{students['men'][0].student_number}\n", encoding="utf-8")
    run("students", event_id, "--file", numbers)
    assert audited() == [
        ("selection.participants", {"event": event_id, "students": 5, "added": 5, "college": None,
                                    "classes": "计科2401", "grade": None}),
        ("selection.participants", {"event": event_id, "students": 1, "added": 0, "college": None,
                                    "classes": None, "grade": None})]

    run("offer", event_id, "--building", "W1", "--building", "m1")
    run("offer", event_id, "--building", "X1", "--room", "101", "--reserved")
    run("withdraw", event_id, "--building", "X1")
    run("withdraw", event_id, "--building", "X1", expect=2)  # nothing offered there: refused, not recorded
    run("offer", event_id, "--floor", 2)  # every building's second floor: offered already
    assert audited() == [
        ("selection.offer", {"event": event_id, "building": "M1, W1", "floor": None, "rooms": None, "beds": 12,
                             "added": 12, "reserved": False}),
        ("selection.offer", {"event": event_id, "building": "X1", "floor": None, "rooms": "101", "beds": 2,
                             "added": 2, "reserved": True}),
        ("selection.withdraw", {"event": event_id, "building": "X1", "floor": None, "rooms": None, "beds": 2}),
        ("selection.offer", {"event": event_id, "building": None, "floor": 2, "rooms": None, "beds": 4,
                             "added": 0, "reserved": False})]

    def step(action: str, status: EventStatus) -> tuple[str, dict]:
        return action, {"event": event_id, "name": "2026 秋季选宿", "status": status.value}

    run("open", event_id)
    event = db.session.get(SelectionEvent, event_id)
    first = students["men"][0]
    selection.hold(event, first, rooms["men"][0].beds[0].id)
    selection.confirm(event, first)
    db.session.commit()
    run("pause", event_id)
    run("pause", event_id, expect=1)
    run("resume", event_id)
    run("close", event_id)
    run("apply", event_id, "--yes")
    run("apply", event_id, "--yes", expect=1)
    assert audited() == [step("selection.open", EventStatus.OPEN), step("selection.pause", EventStatus.PAUSED),
                         step("selection.resume", EventStatus.OPEN), step("selection.close", EventStatus.CLOSED),
                         ("selection.apply", {"event": event_id, "name": "2026 秋季选宿", "moves": 1})]

    rehearsal_starts, rehearsal_closes = _campus(utcnow()), _campus(utcnow() + timedelta(hours=1))
    out = run("rehearse", event_id, "--starts", rehearsal_starts, "--closes", rehearsal_closes)
    rehearsal_id = int(re.search(r"Rehearsal (\d+) of event", out).group(1))
    run("discard", rehearsal_id)
    run("discard", event_id, expect=1)
    assert audited() == [
        ("selection.rehearse", {"event": event_id, "rehearsal": rehearsal_id, "starts_at": _typed(rehearsal_starts),
                                "closes_at": _typed(rehearsal_closes)}),
        ("selection.discard", {"event": rehearsal_id, "name": "2026 秋季选宿 (rehearsal)"})]


def test_bad_input_is_a_sentence_and_exit_code_2(app, run, campus, tmp_path):
    _rooms, students = campus
    assert "There is no selection event 99." in run("status", 99, expect=2)
    assert "There is no selection event 99." in run("students", 99, "--grade", 2026, expect=2)
    assert "not a time" in run("create", "x", "--closes", "tomorrow", expect=2)
    assert "not a time" in run("create", "x", "--closes", "2026-13-01 10:00", expect=2)
    assert "has passed" in run("create", "x", "--closes", "2020-01-01 10:00", expect=2)
    assert db.session.scalar(sa.select(sa.func.count(SelectionEvent.id))) == 0
    event = selection.create_event("e", closes_at=utcnow() + timedelta(days=1))
    db.session.commit()
    assert "not a time" in run("window", event.id, "w", "--starts", "9:00", expect=2)
    assert "before the window would start" in run(
        "window", event.id, "w", "--starts", _campus(utcnow() + timedelta(days=3)), expect=2)
    assert "go together" in run("window", event.id, "w", "--starts", _campus(utcnow()), "--batch-size", 5,
                                expect=2)
    assert "There is no building ZZ9." in run("offer", event.id, "--building", "M1", "--building", "ZZ9", expect=2)
    assert "Say who" in run("students", event.id, expect=2)
    # Numbers and names the database could not hold are refused before it is asked.
    run("status", 2**40, expect=2)
    run("students", event.id, "--grade", 2**40, expect=2)
    assert "1 to 120 characters" in run("window", event.id, "w", "--starts", _campus(utcnow()), "--college", "院" * 121,
                                        expect=2)
    assert "No active student matches." in run("students", event.id, "--class-name", "计科9999", expect=2)

    numbers = tmp_path / "numbers.txt"
    numbers.write_text(f"\ufeff{students['men'][0].student_number}\n\n 2099999 \n"
                       f"{students['women'][0].student_number}\n", encoding="utf-8")
    out = run("students", event.id, "--file", numbers, expect=2)
    assert f"{numbers} line 3: no student 2099999." in out and "Nothing added." in out
    assert db.session.scalar(sa.select(sa.func.count(SelectionParticipant.id))) == 0
    numbers.write_text("20260000\n2026\x000000\n", encoding="utf-8")
    assert "line 2: no student" in run("students", event.id, "--file", numbers, expect=2)
    numbers.write_text("20260000\n20261000\n20260000\n", encoding="utf-8")  # a number twice is taken once
    assert "2 students added; 2 take part" in run("students", event.id, "--file", numbers)
    numbers.write_bytes("20260000\n张三\n".encode("gbk"))
    assert "is not UTF-8 text" in run("students", event.id, "--file", numbers, expect=2)
    assert "not both" in run("students", event.id, "--file", numbers, "--grade", 2026, expect=2)


@pytest.mark.backends("sqlite")
def test_the_demo_leaves_a_selection_to_rehearse(app):
    """A smaller campus than the demo's: the event is made the same way."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "--students", "100"]).exit_code == 0
    event = db.session.scalar(sa.select(SelectionEvent).where(SelectionEvent.name == "演示选宿"))
    assert event.status == EventStatus.DRAFT and [w.gender for w in event.windows] == [Gender.MALE, Gender.FEMALE]
    assert _campus(event.windows[0].starts_at).endswith("09:00")
    result = runner.invoke(args=["selection", "check", str(event.id)])
    assert result.exit_code == 0 and "No problem" in result.output, result.output
    result = runner.invoke(args=["selection", "status", str(event.id)])
    assert "Invariants hold." in result.output


def test_messages_follow_the_default_language(app, run, campus):
    """On the command line the language is DORMS_DEFAULT_LOCALE's (Chinese unless set), the services' too."""
    event = selection.create_event("e", closes_at=utcnow() + timedelta(days=1))
    db.session.commit()
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    assert "没有编号为 99 的选宿活动。" in run("status", 99, expect=2)
    assert "不是时间" in run("window", event.id, "w", "--starts", "明天", expect=2)
    assert "设置中" in run("pause", event.id, expect=1)  # the services' refusal, as they word it
    out = run("students", event.id, "--class-name", "计科2401")
    assert "已添加 5 名学生" in out
    assert "时间段\t名次\t开始时间\t学号\t姓名\t排序键" in run("order", event.id)
