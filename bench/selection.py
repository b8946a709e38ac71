#!/usr/bin/env python3
"""Selection day under load (issue 19): a cohort choosing beds through the students' JSON API, served by gunicorn
on PostgreSQL with Redis, beside a static file asked for at the same rate (bench/README.md has the figures).

Seeds `dorms_selection` (dropped first): men's and women's buildings of rooms of four with a tenth of the beds
spare, --students students (half each) with accounts, and an open event offering every bed, one window for
everyone. Starts gunicorn (bench/pages.py's, 4 sync workers; --servers 2: two behind HAProxy), signs every student
in through POST /api/session, then lets the cohort arrive: --admit students a second (open loop: a student
arrives when due, however the server is doing). Each student reads /me (in the waiting room, --waiting-room: again
when their turn should come), then, --browse times for each claim, looks for beds (where beds are free, then
floors chosen at random), holds a bed of the last floor at random and confirms it; a hold refused (the bed went a
moment ago) goes back to browsing, up to 5 claims. A step is due --think seconds after the answer before it, and
its latency counts from when it was due. At the end: every student's outcome, services.invariant_problems on the
stored picks, and the stored choices against what the students were told.

    .venv/bin/python bench/selection.py                           # 2,000 students, 15 arriving a second
    .venv/bin/python bench/selection.py --admit 2000 --waiting-room 15   # all at once, through the waiting room
    .venv/bin/python bench/selection.py --students 300 --admit 20 # quick

Needs gunicorn and aiohttp (the `bench` extra), Redis at 127.0.0.1:6379 (database 7), and for --servers 2 Debian's
`haproxy`.
Sign-in is not what this measures (bench/pages.py has the sign-in page): the bench's accounts carry a cheap
password hash, so 2,000 sign-ins before the window take seconds, not minutes of scrypt.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench.access import recreate_database  # noqa: E402
from bench.load import measure, percentile  # noqa: E402
from bench.pages import ENVIRONMENT, REDIS, Gunicorn, get  # noqa: E402
from dorms import create_app  # noqa: E402
from dorms.auth.models import User  # noqa: E402
from dorms.campus.models import Bed, Building, Campus, Floor, Room  # noqa: E402
from dorms.core.clock import utcnow  # noqa: E402
from dorms.core.enums import Gender, GenderPolicy, Role, StudentStatus  # noqa: E402
from dorms.extensions import db  # noqa: E402
from dorms.selection import services as selection  # noqa: E402
from dorms.selection.models import PickStatus, SelectionEvent, SelectionPick  # noqa: E402
from dorms.students.models import Student  # noqa: E402

PASSWORD = "bench-selection"
ROOM_BEDS, FLOORS, ROOMS_A_FLOOR = 4, 6, 20
TRIES = 5


def seed(url: str, students: int) -> int:
    """The campus, the students with accounts, and an open event over every bed; returns the event's id."""
    recreate_database(url)
    environment = {**os.environ, **ENVIRONMENT, "DORMS_DATABASE_URL": url}
    subprocess.run([sys.executable, "-c", "from dorms.cli import main; main()", "db", "upgrade"], env=environment,
                   check=True, stdout=subprocess.DEVNULL)
    kept = redis.Redis.from_url(REDIS)
    for pattern in ("dorms:kept:*", "dorms:selection:*"):  # kept values and waiting rooms of the database dropped
        for key in kept.scan_iter(pattern):
            kept.delete(key)
    cheap = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        campus = Campus(code="B", name="Bench")
        db.session.add(campus)
        beds_needed = students * 11 // 10 // 2
        everyone = []
        for gender, policy in ((Gender.MALE, GenderPolicy.MALE), (Gender.FEMALE, GenderPolicy.FEMALE)):
            for b in range(-(-beds_needed // (ROOM_BEDS * FLOORS * ROOMS_A_FLOOR))):
                building = Building(campus=campus, code=f"{gender.value}{b + 1}", name=f"{gender.value}{b + 1}",
                                    gender_policy=policy)
                db.session.add(building)
                for f in range(1, FLOORS + 1):
                    floor = Floor(building=building, number=f)
                    db.session.add(floor)
                    db.session.flush()
                    for r in range(1, ROOMS_A_FLOOR + 1):
                        room = Room(building_id=building.id, floor_id=floor.id, number=f"{f}{r:02d}")
                        room.beds = [Bed(label=str(n)) for n in range(1, ROOM_BEDS + 1)]
                        db.session.add(room)
            for n in range(students // 2):
                number = f"2099{gender.value == 'F':d}{n:05d}"
                student = Student(student_number=number, name=f"学生{number[-5:]}", gender=gender,
                                  class_name=f"班{n // 30:03d}", college="本科生院", status=StudentStatus.ACTIVE)
                db.session.add(student)
                everyone.append(student)
        db.session.flush()
        db.session.add_all(User(username=s.student_number, role=Role.STUDENT, student=s, display_name=s.name,
                                password_hash=cheap) for s in everyone)
        now = utcnow()
        event = selection.create_event("bench", closes_at=now + timedelta(hours=6), hold_seconds=120,
                                       seed="bench-seed")
        selection.add_window(event, "everyone", starts_at=now)
        selection.add_participants(event, everyone)
        selection.offer_beds(event, db.session.scalars(sa.select(Bed)).all())
        selection.open_event(event)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        return event.id


async def sign_in_all(base: str, numbers: list[str]) -> dict[str, aiohttp.CookieJar]:
    jars: dict[str, aiohttp.CookieJar] = {}
    gate = asyncio.Semaphore(16)

    async def one(number: str) -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        async with gate, aiohttp.ClientSession(base, cookie_jar=jar) as session:
            async with session.post("/api/session", json={"username": number, "password": PASSWORD}) as response:
                if response.status != 200:
                    sys.exit(f"signing in as {number}: {response.status} {await response.text()}")
        jars[number] = jar

    await asyncio.gather(*(one(n) for n in numbers))
    return jars


async def cohort(base: str, event_id: int, jars: dict[str, aiohttp.CookieJar], admit: float, browse: int,
                 think: float, timeout: float) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: Counter = Counter()
    outcomes: Counter = Counter()
    confirmed: dict[str, int] = {}
    unanswered: set[str] = set()
    waited: dict[str, int] = {}  # the most students a student saw before them in the waiting room
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    # One connection pool for the cohort; each student's steps go one after another, so a student never has
    # more than one request out (bounded: at most the students let in and not done).
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base, connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:

        async def step(kind: str, due: float, method: str, path: str, cookie: str, body=None):
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                async with asyncio.timeout_at(due + timeout):
                    async with session.request(method, path, json=body, headers={"Cookie": cookie}) as response:
                        payload = await response.json(content_type=None)
                        status = response.status
            except TimeoutError:
                errors[f"{kind}: timeout"] += 1
                return None, None, loop.time()
            except (aiohttp.ClientError, ValueError) as error:
                errors[f"{kind}: {type(error).__name__}"] += 1
                return None, None, loop.time()
            done = loop.time()
            latencies[kind].append(done - due)
            if status >= 500:
                errors[f"{kind}: {status}"] += 1
            return status, payload, done

        async def student(index: int, number: str) -> None:
            cookie = "; ".join(f"{c.key}={c.value}" for c in jars[number])
            due = start + index / admit
            status, me, done = await step("me", due, "GET", f"/api/selection/{event_id}/me", cookie)
            while status == 200 and me.get("waiting"):  # in the waiting room: back when their turn should come
                waited[number] = max(waited.get(number, 0), me["waiting"]["ahead"])
                status, me, done = await step("me", done + me["waiting"]["seconds"], "GET",
                                              f"/api/selection/{event_id}/me", cookie)
            if status != 200:
                outcomes["could not read their window"] += 1
                return
            for _try in range(TRIES):
                # Where beds are free, then floors of it, as a student looks through buildings and floors.
                status, listed, done = await step("browse", done + think, "GET",
                                                  f"/api/selection/{event_id}/beds", cookie)
                floors = [f for f in (listed or {}).get("floors", []) if f["free"]] if status == 200 else []
                beds = []
                for _ in range(browse - 1):
                    if not floors:
                        break
                    where = random.choice(floors)
                    status, listed, done = await step(
                        "browse", done + think, "GET",
                        f"/api/selection/{event_id}/beds?building={where['building']}&floor={where['floor']}", cookie)
                    beds = (listed or {}).get("beds", []) if status == 200 else beds
                if not beds:
                    outcomes["saw no free bed"] += 1
                    return
                bed = random.choice(beds)["bed_id"]
                status, held, done = await step("hold", done + think, "POST", f"/api/selection/{event_id}/hold",
                                                cookie, {"bed_id": bed})
                if status == 409:
                    continue  # taken a moment ago: browse again
                if status != 200:
                    outcomes[f"hold answered {status}"] += 1
                    return
                status, picked, done = await step("confirm", done + think, "POST",
                                                  f"/api/selection/{event_id}/confirm", cookie, {})
                if status == 200 and picked["pick"]["status"] == "confirmed":
                    confirmed[number] = picked["pick"]["bed_id"]
                    outcomes["confirmed"] += 1
                elif status is None:
                    unanswered.add(number)  # stored or not: the check below reads which
                    outcomes["confirm not answered in time"] += 1
                else:
                    outcomes[f"confirm answered {status}"] += 1
                return
            outcomes[f"refused {TRIES} times"] += 1

        began = loop.time()
        await asyncio.gather(*(student(i, number) for i, number in enumerate(jars)))
        elapsed = loop.time() - began
    requests = sum(len(v) for v in latencies.values())
    return {"latencies": {k: sorted(v) for k, v in latencies.items()}, "errors": errors, "outcomes": outcomes,
            "confirmed": confirmed, "unanswered": unanswered, "waited": waited, "elapsed": elapsed,
            "rate": requests / elapsed}


def check(url: str, event_id: int, confirmed: dict[str, int], unanswered: set[str]) -> list[str]:
    """The stored picks against the invariants and against what the students were told: every confirmation
    answered is stored as told, and nothing else is stored but confirmations whose answer did not come in time."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        event = db.session.get(SelectionEvent, event_id)
        problems = selection.invariant_problems(event)
        stored = dict(db.session.execute(
            sa.select(Student.student_number, SelectionPick.bed_id).join(Student, Student.id == SelectionPick.student_id)
            .where(SelectionPick.event_id == event_id, SelectionPick.status == PickStatus.CONFIRMED)).all())
        lost = {n for n in confirmed if stored.get(n) != confirmed[n]}
        unknown = set(stored) - set(confirmed) - unanswered
        if lost or unknown:
            problems.append(f"{len(lost)} confirmed picks told to students differ from the stored ones; "
                            f"{len(unknown)} stored that no student asked for")
        return problems


class RoundRobin:
    """Debian's HAProxy on a free port of 127.0.0.1, handing requests to the app servers in turn."""

    def __init__(self, servers: list[Gunicorn], folder: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base, self.process = f"http://127.0.0.1:{self.port}", None
        self.config = folder / "haproxy.cfg"
        backends = "\n".join(f"    server app{n} {server.base.removeprefix('http://')}"
                              for n, server in enumerate(servers))
        self.config.write_text(f"""global
    maxconn 8000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend selection
    bind 127.0.0.1:{self.port}
    default_backend apps
backend apps
    balance roundrobin
{backends}
""")

    def start(self) -> None:
        self.log = self.config.with_suffix(".log")
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(["haproxy", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        for _ in range(50):
            with contextlib.suppress(OSError):
                if get(self.base, "/login", timeout=5)[0] == 200:
                    return
            time.sleep(0.2)
        sys.exit(f"HAProxy did not answer:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--admit", type=float, default=15,
                        help="students arriving a second (default 15; their whole number: all at once)")
    parser.add_argument("--browse", type=int, default=10, help="bed lists read for each claim (default 10)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a student's steps (default 1)")
    parser.add_argument("--waiting-room", type=float, default=0,
                        help="students the waiting room lets in a second (DORMS_SELECTION_ADMIT_PER_SECOND; "
                             "default 0: none)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers a server (default 4)")
    parser.add_argument("--servers", type=int, default=1,
                        help="app servers; more than one behind HAProxy, round robin (default 1)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/dorms_selection")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    random.seed(7)
    with tempfile.TemporaryDirectory() as temporary:
        ENVIRONMENT["DORMS_INSTANCE_PATH"] = os.environ["DORMS_INSTANCE_PATH"] = str(Path(temporary) / "instance")
        ENVIRONMENT["DORMS_SELECTION_CLAIM_LIMIT"] = "1000 per minute"  # the bench's students are scripts
        ENVIRONMENT["DORMS_SELECTION_ADMIT_PER_SECOND"] = str(args.waiting_room)
        ENVIRONMENT["DORMS_SELECTION_ADMIT_BURST"] = str(int(args.waiting_room * 2))
        started = time.monotonic()
        event_id = seed(args.database_url, args.students)
        print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        servers = [Gunicorn(args.database_url, args.workers, Path(temporary) / f"gunicorn{n}.log")
                   for n in range(args.servers)]
        proxy = RoundRobin(servers, Path(temporary)) if args.servers > 1 else None
        try:
            for server in servers:
                server.start()
            if proxy:
                proxy.start()
            base = proxy.base if proxy else servers[0].base
            numbers = [f"2099{g}{n:05d}" for n in range(args.students // 2) for g in (0, 1)]
            jars = asyncio.run(sign_in_all(base, numbers))
            print(f"{len(jars)} signed in", file=sys.stderr, flush=True)
            result = asyncio.run(cohort(base, event_id, jars, args.admit, args.browse, args.think, args.timeout))
            baseline = measure(base, [("/static/dorms.css", "")], result["rate"], 10, 64)
        finally:
            if proxy:
                proxy.stop()
            for server in servers:
                server.stop()
        problems = check(args.database_url, event_id, result["confirmed"], result["unanswered"])

    commit = os.popen(f"git -C {ROOT} rev-parse --short HEAD").read().strip()
    room = f"; a waiting room letting in {args.waiting_room:g} a second" if args.waiting_room else ""
    where = (f"{args.servers} gunicorn servers of {args.workers} sync workers behind HAProxy (round robin)"
             if args.servers > 1 else f"gunicorn, {args.workers} sync workers")
    print(f"\n{args.students:,} students let in at {args.admit:g} a second; {args.browse} bed lists a claim, "
          f"{args.think:g} s between steps{room}; {where}; {os.cpu_count()} cores; commit {commit}\n")
    print(f"{result['rate']:,.1f} requests a second over {result['elapsed']:,.0f} s\n")
    print("| requests | answered | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind in ("me", "browse", "hold", "confirm"):
        values = result["latencies"].get(kind, [])
        print(f"| {kind} | {len(values):,} | {percentile(values, 50) * 1000:,.0f} | "
              f"{percentile(values, 99) * 1000:,.0f} | {(values[-1] if values else 0) * 1000:,.0f} |")
    print(f"| baseline: static file at {baseline['offered']:,.1f}/s | {baseline['answered']:,} | "
          f"{baseline['p50']:,.0f} | {baseline['p99']:,.0f} | {baseline['max']:,.0f} |")
    if result["waited"]:
        print(f"\nwaiting room: {len(result['waited']):,} students waited, the last with "
              f"{max(result['waited'].values()):,} before them")
    print(f"\nerrors: {dict(result['errors']) or 'none'}")
    print(f"outcomes: {dict(result['outcomes'])}")
    print(f"invariants and stored picks: {problems or 'nothing wrong'}")


if __name__ == "__main__":
    main()
