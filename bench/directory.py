#!/usr/bin/env python3
"""Directory sync benchmark: our LDAP sync beside `ldapsearch` dumping the same entries, in one run.

Starts its own OpenLDAP slapd (tests/ldap_server.py; server size limit 500, so every search pages),
loads N students with slapadd, then times on the same server:

- `ldapsearch` (OpenLDAP's C client) dumping the students with the attributes the sync asks for,
  paged 500 at a time, to /dev/null: the baseline;
- `dorms directory sync --full` on an empty database (creates every student), and again (no change);
- an incremental sync with nothing changed.

    .venv/bin/python bench/directory.py                        # 50,000 students, SQLite and PostgreSQL
    .venv/bin/python bench/directory.py --students 5000 --databases sqlite
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dorms import create_app
from dorms.directory import sync
from dorms.directory.models import SyncKind
from dorms.directory.settings import DirectorySettings
from dorms.extensions import db
from dorms.students.models import Student
from tests.ldap_server import (
    SERVICE_DN,
    SERVICE_PASSWORD,
    STUDENTS,
    Slapd,
    find_tool,
    many_students,
)

POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/test"


def campus(count: int):
    """The students, last changed over the past year (oldest first), as a directory's entries would be:
    an incremental sync then reads only the newest second's entries again."""
    now = datetime.now(UTC).replace(microsecond=0)
    for index, (dn, attributes) in enumerate(many_students(count)):
        changed = now - timedelta(seconds=(count - index) * 365 * 86400 // count)
        yield dn, {**attributes, "modifyTimestamp": changed.strftime("%Y%m%d%H%M%SZ")}


def time_ldapsearch(server: Slapd, attributes: list[str], runs: int = 3) -> tuple[float, int]:
    """Median seconds of `ldapsearch` dumping the students, and how many entries it printed."""
    times, count = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        output = subprocess.run(
            [find_tool("ldapsearch") or "ldapsearch", "-x", "-LLL", "-H", server.url, "-D", SERVICE_DN,
             "-w", SERVICE_PASSWORD, "-b", STUDENTS, "-E", "pr=500/noprompt", "(objectClass=inetOrgPerson)",
             *attributes], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
        count = output.stdout.count(b"\ndn: ") + output.stdout.startswith(b"dn: ")
    return statistics.median(times), count


def timed_sync(kind: SyncKind) -> tuple[float, object]:
    started = time.perf_counter()
    run = sync.create_run(kind)
    db.session.commit()
    run = sync.execute_run(run, DirectorySettings.from_config())
    return time.perf_counter() - started, run


def reset_postgresql(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgresql-url", default=POSTGRESQL, help="its public schema is dropped and recreated")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        server = Slapd(root / "slapd", size_limit=500)
        server.start()
        try:
            server.seed_base()
            started = time.perf_counter()
            server.load_offline(campus(args.students))
            print(f"slapd: {args.students:,} students loaded with slapadd in {time.perf_counter() - started:.1f} s")
            settings = {"LDAP_URL": server.url, "LDAP_BIND_DN": SERVICE_DN, "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
                        "LDAP_BASE_DN": STUDENTS, "LDAP_PAGE_SIZE": 500}
            attributes = DirectorySettings.from_config({**settings}).attributes.attributes()
            baseline, dumped = time_ldapsearch(server, attributes)
            print(f"ldapsearch: {dumped:,} entries in {baseline:.2f} s (median of 3)")
            started = time.perf_counter()
            read = sync._read_students(DirectorySettings.from_config(settings), None)
            seconds = time.perf_counter() - started
            print(f"ldap3 alone (the sync's read, no database): {len(read):,} entries in {seconds:.2f} s, "
                  f"{seconds / baseline:.1f} x ldapsearch")
            del read
            print(f"{'database':<11} {'run':<26} {'seconds':>8} {'x ldapsearch':>12} {'read':>7} {'created':>8} "
                  f"{'updated':>8} {'unchanged':>9}")
            for database in args.databases.split(","):
                if database == "postgresql":
                    reset_postgresql(args.postgresql_url)
                    url = args.postgresql_url
                else:
                    url = f"sqlite:///{root / 'bench.sqlite3'}"
                app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", **settings},
                                 instance_path=str(root / f"instance-{database}"))
                with app.app_context():
                    from flask_migrate import upgrade

                    upgrade()
                    for label, kind in (("full, empty database", SyncKind.FULL), ("full, no change", SyncKind.FULL),
                                        ("incremental, no change", SyncKind.INCREMENTAL)):
                        seconds, run = timed_sync(kind)
                        assert run.status.value == "succeeded", run.error
                        print(f"{database:<11} {label:<26} {seconds:>8.2f} {seconds / baseline:>12.2f} "
                              f"{run.entries:>7,} {run.created:>8,} {run.updated:>8,} {run.unchanged:>9,}",
                              flush=True)
                    assert db.session.scalar(sa.select(sa.func.count()).select_from(Student)) == args.students
                    db.session.remove()
                    db.engine.dispose()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
