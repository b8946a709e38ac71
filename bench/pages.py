#!/usr/bin/env python3
"""Pages under load (issue 18): each role's most used pages, served by gunicorn and driven by wrk, beside a static
file and the sign-in page measured in the same run (bench/README.md says what each row opens).

Two measures: how many requests a second each row can be answered (wrk's closed loop, at each connection count),
and how long a reader waits at a fixed rate (bench/load.py's open loop, at the first connection count): by
default a tenth of the sign-in page's closed-loop rate, the rate the pages are asked to sustain. A closed loop's
latencies are its own queue (32 connections wait 32 ÷ the rate on average, whatever the page), so only the open
loop says what a page costs its reader at a given load.

Seeds `dorms_pages` on PostgreSQL (dropped first; kept with --reuse once seeded) with `dorms demo --students N`,
gives 50 students accounts, starts gunicorn, signs in through the /login form, checks that every page answers 200
with its cookie, then runs wrk (a closed loop: each connection waits for its answer) once per row and connection
count, rotating over the row's pages and users. Errors: answers of 400 and above, socket errors, wrk's timeouts
(answers slower than 5 s, which are left out of the percentiles; requests unanswered when a run ends count nowhere).

    .venv/bin/python bench/pages.py                                  # 20,000 students, 10 s a row
    .venv/bin/python bench/pages.py --students 900 --duration 3      # the plain demo campus, quick
    .venv/bin/python bench/pages.py --reuse --connections 1,32,128   # the same database, one more load

Needs wrk (Debian's `wrk`), gunicorn and aiohttp (the `bench` extra).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder comes first on the path, and bench/queue.py would shadow the standard `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.access import recreate_database  # noqa: E402
from bench.load import measure  # noqa: E402
from dorms import create_app  # noqa: E402
from dorms.access.reports import last_finished_night  # noqa: E402
from dorms.auth.models import User  # noqa: E402
from dorms.auth.services import create_user  # noqa: E402
from dorms.campus.models import Bed  # noqa: E402
from dorms.config import normalise_database_url  # noqa: E402
from dorms.core.enums import Role  # noqa: E402
from dorms.extensions import db  # noqa: E402
from dorms.residence.models import Assignment  # noqa: E402
from dorms.students.models import Student  # noqa: E402
from dorms.students.scopes import visible_students_clause  # noqa: E402

STAFF, COUNSELOR_PASSWORD, STUDENT_PASSWORD = ("admin", "dorms-admin"), "dorms-counselor", "dorms-student"
STUDENT_ACCOUNTS, COUNSELORS, DRAIN_SECONDS = 50, 20, 15
# gunicorn's and the dorms commands' settings, as README's "Running on PostgreSQL with gunicorn" has them but for
# TLS and a proxy; the instance folder is made a temporary one in main.
REDIS = os.environ.get("DORMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
ENVIRONMENT = {"DORMS_SECRET_KEY": "bench-pages-fixed-secret", "PYTHONPATH": str(ROOT),
               "DORMS_RATELIMIT_STORAGE_URI": REDIS, "DORMS_REDIS_URL": REDIS}
DORMS = [sys.executable, "-c", "from dorms.cli import main; main()"]

# Each wrk thread rotates over the targets from an offset of its own; done() prints the line the bench reads.
LUA = """local targets = %s
local counter, threads = 0, 0
function setup(thread) thread:set("offset", threads * 7919); threads = threads + 1 end
function request()
  counter = counter + 1
  local target = targets[(counter + (offset or 0)) %% #targets + 1]
  return wrk.format("GET", target[1], target[2] ~= "" and {Cookie = target[2]} or {})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%.0f %%.0f %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def seed(url: str, students: int, reuse: bool) -> None:
    environment = {**os.environ, **ENVIRONMENT, "DORMS_DATABASE_URL": url}
    found = subprocess.run(["psql", url, "-tAc", "SELECT count(*) FROM buildings"], capture_output=True, text=True)
    if reuse and found.returncode == 0 and found.stdout.strip() != "0":
        print("reusing the seeded database")
        return
    scales = "--students" in subprocess.run([*DORMS, "demo", "--help"], env=environment, check=True,
                                            capture_output=True, text=True).stdout
    if not scales and students != 900:  # 900: the demo campus of before `dorms demo --students`
        sys.exit("this dorms has no `dorms demo --students` yet: run with --students 900")
    recreate_database(url)
    forget_kept(REDIS, url)
    subprocess.run([*DORMS, "db", "upgrade"], env=environment, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*DORMS, "demo", *(["--students", str(students)] if scales else [])], env=environment, check=True)


def forget_kept(redis_url: str, database_url: str) -> None:
    """What the app kept in Redis for this database before it was dropped (kept values, waiting rooms), and not
    another database's: benches and others may share the Redis database. Named as core.kept and the waiting room
    name them, by the database's address."""
    database = hashlib.sha256(normalise_database_url(database_url).encode()).hexdigest()[:12]
    kept = redis.Redis.from_url(redis_url)
    for pattern in (f"dorms:kept:{database}:*", f"dorms:selection:{database}:*"):
        for key in kept.scan_iter(pattern, count=1000):
            kept.delete(key)


def spread(rows: list, count: int) -> list:
    """`count` of the rows, evenly spaced: across the campus rather than its first building or class."""
    return rows[::max(1, len(rows) // count)][:count]


def who_and_what(url: str) -> dict:
    """Whom to sign in as and which pages they open; student accounts are added up to STUDENT_ACCOUNTS."""
    with create_app({"SQLALCHEMY_DATABASE_URI": url}).app_context():
        housed = sa.select(Assignment.student_id).where(Assignment.ended_at.is_(None))
        students = lambda: db.session.scalars(  # noqa: E731
            sa.select(User).where(User.role == Role.STUDENT).order_by(User.id)).all()
        missing = STUDENT_ACCOUNTS - len(students())
        if missing > 0:
            without = db.session.scalars(sa.select(Student).where(Student.id.in_(housed), Student.id.not_in(
                sa.select(User.student_id).where(User.student_id.is_not(None)))).order_by(Student.id)).all()
            for student in spread(without, missing):
                create_user(student.student_number, role=Role.STUDENT, password=STUDENT_PASSWORD, student=student)
            db.session.commit()
        counselors = spread(db.session.scalars(sa.select(User).where(
            User.role == Role.COUNSELOR, User.username.like("counselor%")).order_by(User.id)).all(), COUNSELORS)
        sample = spread(db.session.scalars(sa.select(Student).where(Student.id.in_(housed))
                                           .order_by(Student.id)).all(), 40)
        rooms = db.session.scalars(sa.select(Bed.room_id).join(Assignment, Assignment.bed_id == Bed.id)
                                   .where(Assignment.ended_at.is_(None)).distinct().order_by(Bed.room_id)).all()
        last = last_finished_night()
        return {
            "students": [(u.username, u.student_id) for u in spread(students(), STUDENT_ACCOUNTS)],
            "counselors": [(u.username, db.session.scalars(sa.select(Student.id).where(
                visible_students_clause(u), Student.id.in_(housed)).order_by(Student.id).limit(8)).all())
                for u in counselors],
            "rooms": spread(rooms, 50),
            # What the office types: a surname, a whole name, a student number.
            "searches": [s.name[:1] for s in sample[:10]] + [s.name for s in sample[10:25]]
            + [s.student_number for s in sample[25:]],
            "nights": [(last - timedelta(days=k)).isoformat() for k in range(7)],
            "count": db.session.scalar(sa.select(sa.func.count()).select_from(Student)),
        }


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None  # a redirect is an answer to look at: an HTTPError with its Location


def get(base: str, path: str, cookie: str = "", form: dict | None = None, opener=None, timeout: float = 300):
    """(status, Location, body) of one request; redirects are not followed."""
    opener = opener or urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(base + path, data=urllib.parse.urlencode(form).encode() if form else None,
                                     headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, None, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location"), error.read().decode(errors="replace")


def sign_in(base: str, username: str, password: str) -> str:
    """The cookies of a sign-in through the /login form, as a Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', get(base, "/login", opener=opener)[2]).group(1)
    status, location, _ = get(base, "/login", form={"username": username, "password": password, "csrf_token": token},
                              opener=opener)
    if status != 302 or "/login" in (location or ""):
        sys.exit(f"signing in as {username} failed: {status} {location or ''}")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def page_groups(base: str, found: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """(row name, [(path, Cookie header)]) for each row, baselines first."""
    student = {name: sign_in(base, name, STUDENT_PASSWORD) for name, _id in found["students"]}
    counselor = {name: sign_in(base, name, COUNSELOR_PASSWORD) for name, _ids in found["counselors"]}
    staff = sign_in(base, *STAFF)
    students = lambda path: [(path, cookie) for cookie in student.values()]  # noqa: E731
    return [
        ("baseline: static file", [("/static/dorms.css", "")]),
        ("baseline: sign-in page", [("/login", "")]),
        (f"student: own page ({len(student)} students)",
         [(f"/students/{student_id}", student[name]) for name, student_id in found["students"]]),
        ("student: room change", students("/room-change/mine")),
        ("student: curfew requests", students("/curfew/requests")),
        ("student: own curfew record", students("/curfew/me")),
        (f"counselor: night report ({len(counselor)} counselors)", [("/curfew/", c) for c in counselor.values()]),
        ("counselor: the past 7 nights", [(f"/curfew/?night={night}", cookie) for night in found["nights"]
                                          for cookie in counselor.values()]),
        ("counselor: a student's page", [(f"/students/{student_id}", counselor[name])
                                         for name, ids in found["counselors"] for student_id in ids]),
        ("staff: dashboard", [("/", staff)]),
        (f"staff: room page ({len(found['rooms'])} rooms)", [(f"/rooms/{room}", staff) for room in found["rooms"]]),
        ("staff: student search", [("/students/?q=" + urllib.parse.quote(q), staff) for q in found["searches"]]),
        ("staff: curfew night report", [("/curfew/", staff)]),
        ("staff: repairs", [("/repairs", staff)]),
        ("staff: hygiene rankings", [("/hygiene/", staff)]),
    ]


class Gunicorn:
    """The app under gunicorn's sync workers on a free port of 127.0.0.1, production settings."""

    def __init__(self, url: str, workers: int, log: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base, self.log, self.workers, self.process = f"http://127.0.0.1:{port}", log, workers, None
        self.command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                        "--chdir", str(ROOT), "wsgi:app"]
        self.environment = {**os.environ, **ENVIRONMENT, "DORMS_DATABASE_URL": url}

    def start(self) -> None:
        with open(self.log, "a") as log:  # workers stopped at once print tracebacks: into the log with the rest
            self.process = subprocess.Popen(self.command, env=self.environment, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(120):
            if self.process.poll() is not None:
                sys.exit(f"gunicorn stopped:\n{self.log.read_text()}")
            with contextlib.suppress(OSError):
                if get(self.base, "/login", timeout=5)[0] == 200:
                    return
            time.sleep(0.5)
        sys.exit(f"gunicorn did not answer in a minute:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # at once, not after the requests it holds
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def drain(self) -> None:
        """gunicorn still serves what wrk left queued (a request a connection), and answers a probe after it: the
        next row starts on an idle server. If that takes over DRAIN_SECONDS, a restart drops the queue instead."""
        with contextlib.suppress(OSError):
            get(self.base, "/static/dorms.css", timeout=DRAIN_SECONDS)
            return
        print("  (gunicorn restarted to drop what wrk left queued)", file=sys.stderr, flush=True)
        self.stop()
        self.start()


def run_wrk(server: Gunicorn, targets: list[tuple[str, str]], connections: int, seconds: int, lua: Path) -> dict:
    lua.write_text(LUA % ("{" + ", ".join(f"{{{json.dumps(p)}, {json.dumps(c)}}}" for p, c in targets) + "}"))

    def wrk(connections: int, seconds: int) -> list[str]:
        output = subprocess.run(["wrk", "-t", str(min(os.cpu_count() or 1, connections)), "-c", str(connections),
                                 "-d", f"{seconds}s", "--timeout", "5s", "--latency", "-s", str(lua), server.base],
                                capture_output=True, text=True, check=True).stdout
        server.drain()
        return next(line.split()[1:] for line in output.splitlines() if line.startswith("RESULT "))

    wrk(server.workers, 1)  # not counted: every worker opens the row's pages once (imports, templates) beforehand
    answered, microseconds, p50, p99, status, *socket_errors, timeouts = (float(n) for n in wrk(connections, seconds))
    return {"rate": answered / microseconds * 1e6, "p50": p50 / 1000, "p99": p99 / 1000, "status": int(status),
            "socket": int(sum(socket_errors)), "timeouts": int(timeouts)}


def row(name: str, connections: int, r: dict, sign_in_rate: float) -> str:
    errors = r["status"] + r["socket"] + r["timeouts"]
    detail = f" ({r['status']} ≥ 400, {r['socket']} socket, {r['timeouts']} timeouts)" if errors else ""
    ratio = f"{r['rate'] / sign_in_rate:.2f}" if sign_in_rate else "—"
    p50, p99 = (f"{r['p50']:,.0f}", f"{r['p99']:,.0f}") if r["p99"] else ("—", "—")  # none answered within 5 s
    return f"| {name} | {connections} | {r['rate']:,.1f} | {ratio} | {p50} | {p99} | {errors}{detail} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20_000, help="the demo campus's size (default 20,000)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run (default 10)")
    parser.add_argument("--connections", default="32,128", help="wrk connections, comma-separated (default 32,128)")
    parser.add_argument("--share", type=float, default=0.10,
                        help="the open loop's rate, as a share of the sign-in page's closed-loop rate (default 0.10)")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it is already seeded")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/dorms_pages")
    args = parser.parse_args()
    levels = [int(n) for n in args.connections.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # unwinds as Ctrl-C does: gunicorn is stopped

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        ENVIRONMENT["DORMS_INSTANCE_PATH"] = os.environ["DORMS_INSTANCE_PATH"] = str(folder / "instance")
        seed(args.database_url, args.students, args.reuse)
        found = who_and_what(args.database_url)
        server = Gunicorn(args.database_url, args.workers, folder / "gunicorn.log")
        try:
            server.start()
            groups = [(name, targets) for name, targets in page_groups(server.base, found) if targets]
            results, skipped = {}, {}
            for name, targets in groups:  # a redirect to /login is a sign-in that did not hold
                for path, cookie in targets:
                    try:
                        status, location, _ = get(server.base, path, cookie)
                    except OSError as error:  # gunicorn ends a request at its worker timeout, 30 s
                        skipped[name] = f"not loaded: {path} gave no answer ({error})"
                        break
                    if status != 200:
                        sys.exit(f"{path} answered {status} {location or ''}; not loading it")
            for level in levels:
                for name, targets in groups:
                    if name in skipped:
                        continue
                    results[name, level] = run_wrk(server, targets, level, args.duration, folder / "pages.lua")
                    print(f"{name}, {level} connections: {results[name, level]['rate']:,.1f} requests/s",
                          file=sys.stderr, flush=True)
            rate = args.share * results["baseline: sign-in page", levels[0]]["rate"]
            bounded = {}
            for name, targets in groups:
                if name not in skipped:
                    measure(server.base, targets, rate, 1, server.workers)  # not counted, as with wrk
                    bounded[name] = measure(server.base, targets, rate, args.duration, levels[0])
                    server.drain()
                    print(f"{name}, {rate:,.1f} requests/s: p99 {bounded[name]['p99']:,.0f} ms",
                          file=sys.stderr, flush=True)
        finally:
            server.stop()

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"\n{found['count']:,} students; {os.cpu_count()} cores (nproc); commit {commit.stdout.strip()}; "
          f"gunicorn, {args.workers} sync workers; wrk, {args.duration} s a row, 5 s timeout\n")
    print("| page | connections | requests/s | × sign-in | p50 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for level in levels:
        for name, _targets in groups:
            print(f"| {name} | {level} | {skipped[name]} | | | | |" if name in skipped else
                  row(name, level, results[name, level], results["baseline: sign-in page", level]["rate"]))
    print(f"\nAt a fixed rate: {rate:,.1f} requests/s ({args.share:.2f} × the sign-in page's rate at {levels[0]} "
          f"connections), open loop over at most {levels[0]} connections, {args.duration} s a row; latency from when "
          f"each request was due\n")
    print("| page | answered/s | p50 ms | p99 ms | max ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, _targets in groups:
        if name in skipped:
            print(f"| {name} | {skipped[name]} | | | | |")
            continue
        b = bounded[name]
        errors = b["status"] + b["socket"] + b["timeouts"]
        print(f"| {name} | {b['rate']:,.1f} | {b['p50']:,.0f} | {b['p99']:,.0f} | {b['max']:,.0f} | {errors} |")


if __name__ == "__main__":
    main()
