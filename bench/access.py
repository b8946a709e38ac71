#!/usr/bin/env python3
"""Door-event ingest and curfew reports at semester scale, on PostgreSQL, beside PostgreSQL's own COPY.

Generates a semester with the benchmark kit's gen.py ($DORMS_SHARED/curfew; its files are in the formats of
docs/curfew.md): 20,000 students, 120 nights, about 9 million events. Seeds a campus for those students
(20 buildings, classes of 30, colleges of 2,000), then times:

- `dorms access import events.csv` (our CSV ingest: validation, card normalisation, dedup, matching)
  and, in the same run, COPY of the same file into a bare table of text columns: rows per second;
- a counselor's one-night report for 600 students and a college's 30-night summary (2,000 students),
  median of 5, with EXPLAIN of the event query showing the index it uses.

    .venv/bin/python bench/access.py                                   # 20,000 students, 120 nights
    .venv/bin/python bench/access.py --students 2000 --nights 30       # quick
The database named by --database-url is dropped and recreated.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("DORMS_SHARED", ROOT.parent / "shared")) / "curfew"

from dorms import create_app
from dorms.access import ingest, reports, rollup
from dorms.extensions import db
from dorms.students.models import Student

START = date(2026, 9, 7)
PER_BUILDING, CLASS_SIZE, COLLEGE_SIZE = 1000, 30, 2000


def recreate_database(url: str) -> None:
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def seed_campus(students: int) -> None:
    """Buildings, rooms of four, students in the order gen.py numbers them, their beds since before term."""
    buildings = (students + PER_BUILDING - 1) // PER_BUILDING
    connection = db.session.connection()
    connection.execute(sa.text("INSERT INTO campuses (id, code, name) VALUES (1, 'main', 'Main campus')"))
    for b in range(buildings):
        gender = "M" if b % 2 == 0 else "F"  # as gen.py's synthetic students
        connection.execute(sa.text("INSERT INTO buildings (id, campus_id, code, name, gender_policy) "
                                   "VALUES (:id, 1, :code, :code, :g)"), {"id": b + 1, "code": f"B{b + 1:02d}",
                                                                          "g": gender})
        connection.execute(sa.text("INSERT INTO floors (id, building_id, number) VALUES (:id, :id, 1)"),
                           {"id": b + 1})
    rooms, beds, people, stays = [], [], [], []
    moved_in = datetime.combine(START - timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    for i in range(students):
        b, room = i // PER_BUILDING, i // 4 + 1
        if i % 4 == 0:
            rooms.append({"id": room, "building_id": b + 1, "floor_id": b + 1, "number": str(room),
                          "gender": "M" if b % 2 == 0 else "F"})
        beds.append({"id": i + 1, "room_id": room, "label": str(i % 4 + 1)})
        people.append({"id": i + 1, "student_number": f"2026{i:06d}", "name": f"学生{i}",
                       "gender": "M" if b % 2 == 0 else "F", "class_name": f"C{i // CLASS_SIZE:04d}",
                       "college": f"K{i // COLLEGE_SIZE:02d}"})
        stays.append({"student_id": i + 1, "bed_id": i + 1, "started_at": moved_in})
    connection.execute(sa.text("INSERT INTO rooms (id, building_id, floor_id, number, room_type, gender, accessible,"
                               " status, note) VALUES (:id, :building_id, :floor_id, :number, 'standard', :gender,"
                               " false, 'open', '')"), rooms)
    connection.execute(sa.text("INSERT INTO beds (id, room_id, label, bed_type, active) "
                               "VALUES (:id, :room_id, :label, 'loft', true)"), beds)
    now = datetime.now(UTC)
    connection.execute(sa.text("INSERT INTO students (id, student_number, name, gender, college, major, class_name,"
                               " phone, status, needs_accessible, created_at, updated_at) VALUES (:id,"
                               " :student_number, :name, :gender, :college, '', :class_name, '', 'active', false,"
                               " :now, :now)"), [{**p, "now": now} for p in people])
    connection.execute(sa.text("INSERT INTO assignments (student_id, bed_id, started_at, start_reason) "
                               "VALUES (:student_id, :bed_id, :started_at, 'bench')"), stays)
    connection.execute(sa.text("INSERT INTO terms (code, name, starts_on, ends_on) "
                               "VALUES ('bench', 'Bench term', :s, :e)"), {"s": START - timedelta(days=7),
                                                                            "e": START + timedelta(days=200)})
    db.session.commit()


def time_copy(url: str, events: Path) -> float:
    """Seconds for PostgreSQL's COPY of the file into a bare table (psql's \\copy, the client side)."""
    subprocess.run(["psql", url, "-qc", ("DROP TABLE IF EXISTS copy_baseline; CREATE TABLE copy_baseline ("
                    "event_id text, card text, building text, door text, time text, direction text, result text)")],
                   check=True)
    started = time.perf_counter()
    subprocess.run(["psql", url, "-qc", f"\\copy copy_baseline FROM '{events}' WITH (FORMAT csv, HEADER true)"],
                   check=True)
    return time.perf_counter() - started


def time_indexed_copy(url: str, scratch: Path) -> float:
    """Seconds for COPY of the stored events, already typed, into a table like access_events (same indexes)."""
    subprocess.run(["psql", url, "-qc", ("\\copy (SELECT event_id, card, student_id, building, door, occurred_at, "
                    f"direction, granted FROM access_events) TO '{scratch}' WITH (FORMAT csv)")], check=True)
    subprocess.run(["psql", url, "-qc", ("DROP TABLE IF EXISTS copy_indexed; "
                    "CREATE TABLE copy_indexed (LIKE access_events INCLUDING ALL)")], check=True)
    started = time.perf_counter()
    subprocess.run(["psql", url, "-qc", ("\\copy copy_indexed (event_id, card, student_id, building, door, "
                    f"occurred_at, direction, granted) FROM '{scratch}' WITH (FORMAT csv)")], check=True)
    seconds = time.perf_counter() - started
    subprocess.run(["psql", url, "-qc", "DROP TABLE copy_indexed"], check=True)
    scratch.unlink()
    return seconds


def median_ms(action, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--nights", type=int, default=120)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/dorms_bench")
    parser.add_argument("--feed", type=Path, help="a folder gen.py already wrote (default: generate one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        feed = args.feed or Path(temporary) / "feed"
        if args.feed is None:
            started = time.perf_counter()
            subprocess.run([sys.executable, str(SHARED / "gen.py"), "--synthetic", str(args.students), "--start",
                            START.isoformat(), "--nights", str(args.nights), "--out", str(feed)], check=True)
            print(f"generated in {time.perf_counter() - started:.0f} s")
        events = feed / "events.csv"
        with open(events, encoding="utf-8") as lines:
            rows = sum(1 for _ in lines) - 1
        print(f"{rows:,} events, {events.stat().st_size / 2**20:.0f} MiB")

        recreate_database(args.database_url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench"},
                         instance_path=str(Path(temporary) / "instance"))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            seed_campus(args.students)
            for action, name in ((ingest.import_cards, "cards.csv"), (ingest.import_permissions, "permissions.csv")):
                action((feed / name).read_bytes())
                db.session.commit()

            copy_seconds = time_copy(args.database_url, events)
            started = time.perf_counter()
            report = ingest.import_events(events.read_bytes())
            db.session.commit()
            ours = time.perf_counter() - started
            print(f"{'':<34} {'seconds':>8} {'rows/s':>10}")
            print(f"{'PostgreSQL COPY (bare table)':<34} {copy_seconds:>8.1f} {rows / copy_seconds:>10,.0f}")
            print(f"{'dorms access import':<34} {ours:>8.1f} {rows / ours:>10,.0f}   "
                  f"{rows / ours / (rows / copy_seconds):.2f} x COPY's rate; {report.stored:,} stored, "
                  f"{report.duplicates:,} duplicates, {report.unmatched:,} of unknown cards")
            indexed = time_indexed_copy(args.database_url, Path(temporary) / "typed.csv")
            print(f"{'COPY of typed rows, our indexes':<34} {indexed:>8.1f} {report.stored / indexed:>10,.0f}   "
                  f"{report.stored / indexed / (rows / copy_seconds):.2f} x: the ceiling for any ingest into a "
                  "table with the indexes reports need")
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()

            night = START + timedelta(days=min(args.nights, 60) - 1)
            counselor = Student.class_name.in_([f"C{c:04d}" for c in range(600 // CLASS_SIZE)])
            college = Student.college == "K00"
            live = median_ms(lambda: reports.night_report(night, counselor, live=True))
            started = time.perf_counter()
            rollup.rollup([night - timedelta(days=k) for k in range(30)])
            db.session.commit()
            rolled_seconds = time.perf_counter() - started
            db.session.execute(sa.text("ANALYZE night_statuses"))
            db.session.commit()
            one_night = median_ms(lambda: reports.night_report(night, counselor))
            thirty = median_ms(lambda: reports.counts_over(night - timedelta(days=29), night, college))
            students = len(reports.night_report(night, counselor))
            per_night = len(reports.night_report(night, college))
            print(f"counselor's one-night report, {students} students, from the events: {live:.0f} ms (median of 5)")
            print(f"rolling up 30 nights for all {args.students:,} residents: {rolled_seconds:.1f} s "
                  f"({rolled_seconds / 30:.1f} s a night, the morning job's work)")
            print(f"counselor's one-night report from the rollup: {one_night:.0f} ms (median of 5)")
            print(f"college's 30-night summary, {per_night} students a night: {thirty:.0f} ms (median of 5)")
            explain(sa.text(
                "SELECT student_id, occurred_at, direction, building, door, granted FROM access_events "
                "WHERE student_id = ANY(:ids) AND occurred_at >= :since AND occurred_at <= :until "
                "ORDER BY student_id, occurred_at"), "the one-night report's event query",
                {"ids": [i for (i,) in db.session.execute(sa.select(Student.id).where(counselor))],
                 "since": datetime.combine(night - timedelta(days=7), datetime.min.time(), tzinfo=UTC),
                 "until": datetime.combine(night + timedelta(days=2), datetime.min.time(), tzinfo=UTC)})
            explain(sa.text(
                "SELECT n.night, n.status, count(*) FROM night_statuses n JOIN students s ON s.id = n.student_id "
                "WHERE n.night BETWEEN :first AND :last AND s.college = 'K00' GROUP BY n.night, n.status"),
                "the 30-night summary's query", {"first": night - timedelta(days=29), "last": night})


def explain(statement, title: str, parameters: dict) -> None:
    print(f"EXPLAIN ANALYZE of {title}:")
    for (line,) in db.session.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + statement.text), parameters):
        if len(line) > 160:
            line = line[:157] + "..."
        print("   ", line)


if __name__ == "__main__":
    main()
