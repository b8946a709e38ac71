#!/usr/bin/env python3
"""The start-of-term check-in desk under load, beside looking the same students up without it.

Builds a campus whose every resident is assigned and expected (rooms of four, each with an
air conditioner, a water heater and a network point on its inventory), signs in as staff and,
for ``--checkins`` students in a row, does what the desk clerk does: search the student number
(GET /checkin/desk?q=…), check the student in with a room key and an access card (POST), and
land back on the desk showing them checked in (GET). In the same run, the baseline: the same
students looked up the way staff did before the desk (student search, then the student's page).
Prints per-student server time (median, 95th percentile), what that allows per hour, and the
SQL statements per student — which must not grow with the number of students expected.

    .venv/bin/python bench/checkin.py                                       # SQLite, 4,000 expected
    .venv/bin/python bench/checkin.py --database-url postgresql://postgres@127.0.0.1:5432/dorms_bench
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from access import recreate_database  # bench/access.py, beside this file

from dorms import create_app
from dorms.auth.services import create_user
from dorms.campus.models import Building, Room
from dorms.campus.services import get_or_create_campus, get_or_create_floor
from dorms.core.clock import utcnow
from dorms.core.enums import Gender, GenderPolicy, Role, RoomStatus
from dorms.extensions import db
from dorms.facilities.models import Condition, ConditionChange, InventoryItem, ItemKind
from dorms.residence.models import Assignment
from dorms.residence.occupancy import set_capacity
from dorms.students.models import Student

PASSWORD = "bench-password"
ROOMS_PER_FLOOR, BEDS_PER_ROOM = 20, 4


def seed(students: int) -> list[Student]:
    """Buildings of 400 beds, every bed taken by an assigned student who has not checked in."""
    campus = get_or_create_campus("main", "主校区")
    people, now = [], utcnow()
    rooms_needed = (students + BEDS_PER_ROOM - 1) // BEDS_PER_ROOM
    building = None
    for r in range(rooms_needed):
        if r % (ROOMS_PER_FLOOR * 5) == 0:
            building = Building(campus=campus, code=f"B{r // 100 + 1:02d}", name=f"Bench {r // 100 + 1}",
                                gender_policy=GenderPolicy.MIXED)
            db.session.add(building)
        floor = get_or_create_floor(building, r % 100 // ROOMS_PER_FLOOR + 1)
        room = Room(building=building, floor=floor, number=f"{floor.number}{r % ROOMS_PER_FLOOR + 1:02d}",
                    room_type="standard", gender=Gender.MALE, status=RoomStatus.OPEN, note="")
        set_capacity(room, BEDS_PER_ROOM)
        db.session.add(room)
        for kind in (ItemKind.AIR_CONDITIONER, ItemKind.WATER_HEATER, ItemKind.NETWORK_POINT):
            item = InventoryItem(room=room, kind=kind, description="", condition=Condition.GOOD)
            item.changes.append(ConditionChange(old=None, new=Condition.GOOD))
            db.session.add(item)
        for bed in room.beds:
            if len(people) == students:
                break
            student = Student(student_number=f"2026{len(people):06d}", name=f"学生{len(people)}", gender=Gender.MALE,
                              class_name=f"班{len(people) // 30}", college="学院")
            db.session.add(student)
            db.session.add(Assignment(student=student, bed=bed, started_at=now, start_reason="bench"))
            people.append(student)
    create_user("clerk", role=Role.STAFF, password=PASSWORD)
    db.session.commit()
    return people


class StatementCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


def timed(flow, students, counter) -> tuple[list[float], list[int]]:
    seconds, statements = [], []
    for student in students:
        counter.count = 0
        started = time.perf_counter()
        flow(student)
        seconds.append(time.perf_counter() - started)
        statements.append(counter.count)
    return seconds, statements


def report(name: str, seconds: list[float], statements: list[int]) -> None:
    median, p95 = statistics.median(seconds), sorted(seconds)[int(len(seconds) * 0.95) - 1]
    print(f"{name:<42} {median * 1000:8.1f} ms {p95 * 1000:8.1f} ms {3600 / median:10,.0f}/h "
          f"{min(statements):5d}–{max(statements):d} statements")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4000, help="students assigned and expected")
    parser.add_argument("--checkins", type=int, default=300, help="students the clerk checks in")
    parser.add_argument("--database-url", help="PostgreSQL database to drop and recreate (default: SQLite)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="dorms-bench-checkin-")
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    if url.startswith("postgresql"):
        recreate_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "BABEL_DEFAULT_LOCALE": "zh_CN"},
                     instance_path=folder)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        started = time.perf_counter()
        students = seed(args.students)
        print(f"{db.engine.dialect.name}: {len(students):,} students assigned and expected "
              f"(seeded in {time.perf_counter() - started:.1f} s); the clerk checks in {args.checkins}.")
        counter = StatementCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        client = app.test_client()
        signed_in = client.post("/login", data={"username": "clerk", "password": PASSWORD})
        assert signed_in.status_code == 302, signed_in.data
        queue = students[:: max(1, len(students) // args.checkins)][: args.checkins]
        keys = {"key_kind": ["room_key", "access_card"]}

        def look_up(student):
            assert client.get(f"/students/?q={student.student_number}").status_code == 200
            assert client.get(f"/students/{student.id}").status_code == 200

        def check_in(student):
            found = client.get(f"/checkin/desk?q={student.student_number}")
            assert found.status_code == 200 and f"/checkin/students/{student.id}/check-in" in found.text
            done = client.post(f"/checkin/students/{student.id}/check-in", follow_redirects=True,
                               data={**keys, "key_label": [f"{student.student_number}-门", f"卡{student.id}"]})
            assert done.status_code == 200 and "已入住" in done.text, done.text[:2000]

        print(f"{'per student':<42} {'median':>11} {'p95':>11} {'per hour':>12}  SQL")
        report("baseline: student search + student page", *timed(look_up, queue, counter))
        report("desk: search, check in, back to the desk", *timed(check_in, queue, counter))
        expected = db.session.scalar(sa.text("SELECT count(*) FROM assignments")) - db.session.scalar(
            sa.text("SELECT count(*) FROM check_ins"))
        checked_in = db.session.scalar(sa.text("SELECT count(*) FROM check_ins"))
        assert checked_in == len(queue), checked_in
        print(f"checked in: {checked_in}; still expected: {expected:,}")


if __name__ == "__main__":
    main()
