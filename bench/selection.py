#!/usr/bin/env python3
"""Selection day under load (issue 19): cohorts choosing beds through the students' JSON API, served by gunicorn
on PostgreSQL with Redis, beside a static file asked for at the same rate, and the static file and the sign-in
page asked for as a cohort's first requests arrive (bench/README.md has the figures).

Seeds `dorms_selection` (dropped first; --database-url names another): men's and women's buildings of rooms of
four with a tenth of the beds spare, --students students (half each) with accounts, and an open event offering
every bed to everyone. --cohorts N splits the students into N colleges, C1 to CN (men and women in each), each
with a window of its own, --cohort-gap seconds after the one before; by default one window for everyone. The
event is paused while gunicorn starts (bench/pages.py's, 4 sync workers; --servers 2: two behind HAProxy) and
every student signs in through POST /api/session, then resumed, which moves every window on by the pause: the
first opens a few seconds later. Each cohort arrives from its window's start, --admit students a second (open
loop: a student arrives when due, however the server is doing). Each student reads /me ("arrive"; in the waiting room,
--waiting-room: again when their turn should come; told their window has not opened, which only clock skew could
cause: counted, and again at its start), then, --browse times for each claim, looks for beds (where beds are free,
then floors chosen at random), holds a bed of the last floor at random and confirms it; a hold refused (the bed
went a moment ago) goes back to browsing, up to 5 claims. A step is due --think seconds after the answer before
it, and its latency counts from when it was due. With cohorts, a few students of the second one try /me, /beds
and a hold halfway through the gap before their window, and must be refused. At the end: every student's outcome,
per cohort and in all, services.invariant_problems on the stored picks, and the stored choices against what the
students were told.

    .venv/bin/python bench/selection.py                           # 2,000 students, 15 arriving a second
    .venv/bin/python bench/selection.py --admit 2000 --waiting-room 15   # all at once, through the waiting room
    .venv/bin/python bench/selection.py --students 6000 --cohorts 3 --cohort-gap 360 --admit 2000 --waiting-room 6
    .venv/bin/python bench/selection.py --students 300 --admit 20 # quick
    .venv/bin/python bench/selection.py --students 300 --cohorts 3 --cohort-gap 20 --admit 20   # quick, cohorts

Needs gunicorn and aiohttp (the `bench` extra), Redis at 127.0.0.1:6379 (database 7; --redis-db another), and for
--servers 2 Debian's `haproxy`. Of Redis it clears only what the app kept for the bench's own database.
Sign-in is not what this measures (bench/pages.py has the sign-in page): the bench's accounts carry a cheap
password hash, so 6,000 sign-ins before the window take a minute, not an hour of scrypt.
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
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench.access import recreate_database  # noqa: E402
from bench.load import measure, percentile  # noqa: E402
from bench.pages import ENVIRONMENT, REDIS, Gunicorn, forget_kept, get  # noqa: E402
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
TAB_SECONDS = 5.0  # how often a student's other tabs read the page again
LEAD = 5.0  # seconds from resuming the event to its first window: the resume moves every student's start
PROBES = 4  # students of the second cohort who try to choose before their window
NOT_YET = "It is not your window yet."  # the refusal, in English (the probes ask for it)


def student_numbers(students: int, cohorts: int) -> list[list[str]]:
    """Each cohort's student numbers, men and women in turn, in the order they arrive: the n-th man and the n-th
    woman are in the same cohort, which takes a consecutive run of n."""
    half = students // 2
    return [[f"2099{g}{n:05d}" for n in range(half) if n * cohorts // half == c for g in (0, 1)]
            for c in range(cohorts)]


def seed(url: str, students: int, cohorts: int, gap: float, redis_url: str) -> tuple[int, dict[str, int]]:
    """The campus, the students with accounts, and an event over every bed with a window per cohort (one for
    everyone, or one per college), opened and paused at once: resume() moves the windows on to when the students
    are signed in. Returns the event's id and, by the digit of the student numbers' gender, a bed it offers."""
    recreate_database(url)
    environment = {**os.environ, **ENVIRONMENT, "DORMS_DATABASE_URL": url}
    subprocess.run([sys.executable, "-c", "from dorms.cli import main; main()", "db", "upgrade"], env=environment,
                   check=True, stdout=subprocess.DEVNULL)
    forget_kept(redis_url, url)
    cheap = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    colleges = ["本科生院"] if cohorts == 1 else [f"C{c + 1}" for c in range(cohorts)]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        campus = Campus(code="B", name="Bench")
        db.session.add(campus)
        half, beds_needed = students // 2, students * 11 // 10 // 2
        everyone, last_rooms = [], {}
        for gender, policy in ((Gender.MALE, GenderPolicy.MALE), (Gender.FEMALE, GenderPolicy.FEMALE)):
            floors = [Floor(building=building, number=f)
                      for b in range(-(-beds_needed // (ROOM_BEDS * FLOORS * ROOMS_A_FLOOR)))
                      for building in [Building(campus=campus, code=f"{gender.value}{b + 1}",
                                                name=f"{gender.value}{b + 1}", gender_policy=policy)]
                      for f in range(1, FLOORS + 1)]
            db.session.add_all(floors)
            db.session.flush()  # a room names its floor and building by id (one key for both)
            rooms = [Room(building_id=floor.building_id, floor_id=floor.id, number=f"{floor.number}{r:02d}",
                          beds=[Bed(label=str(n)) for n in range(1, ROOM_BEDS + 1)])
                     for floor in floors for r in range(1, ROOMS_A_FLOOR + 1)]
            db.session.add_all(rooms)
            last_rooms[f"{gender.value == 'F':d}"] = rooms[-1]
            for n in range(half):
                number = f"2099{gender.value == 'F':d}{n:05d}"
                everyone.append(Student(student_number=number, name=f"学生{number[-5:]}", gender=gender,
                                        class_name=f"班{n // 30:03d}", college=colleges[n * cohorts // half],
                                        status=StudentStatus.ACTIVE))
        db.session.add_all(everyone)
        db.session.flush()
        db.session.add_all(User(username=s.student_number, role=Role.STUDENT, student=s, display_name=s.name,
                                password_hash=cheap) for s in everyone)
        now = utcnow()
        event = selection.create_event("bench", closes_at=now + timedelta(hours=6), hold_seconds=120,
                                       seed="bench-seed")
        for c, college in enumerate(colleges):
            selection.add_window(event, "everyone" if cohorts == 1 else college,
                                 starts_at=now + timedelta(seconds=LEAD + c * gap),
                                 college=None if cohorts == 1 else college)
        selection.add_participants(event, everyone)
        selection.offer_beds(event, db.session.scalars(sa.select(Bed)).all())
        selection.open_event(event)
        selection.pause(event, now)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        return event.id, {digit: room.beds[-1].id for digit, room in last_rooms.items()}


def resume(url: str, event_id: int) -> list[datetime]:
    """Resume the event (every window moves on by the pause: the first opens LEAD seconds from now); returns
    each cohort's window start."""
    with create_app({"SQLALCHEMY_DATABASE_URI": url}).app_context():
        event = db.session.get(SelectionEvent, event_id)
        selection.resume(event)
        db.session.commit()
        return [window.starts_at for window in sorted(event.windows, key=lambda w: w.id)]


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


async def arriving(base: str, path: str, count: int, admit: float, timeout: float) -> tuple[list[float], int]:
    """``count`` GETs of ``path``, ``admit`` a second, on as many connections as that takes (as a cohort's):
    their latencies from when each was due (sorted), and how many failed or timed out."""
    loop = asyncio.get_running_loop()
    start, latencies, failed = loop.time() + 0.5, [], 0
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(index: int) -> None:
            nonlocal failed
            due = start + index / admit
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                async with asyncio.timeout_at(due + timeout):
                    async with session.get(path) as response:
                        await response.read()
                        if response.status >= 400:
                            failed += 1
                            return
            except (TimeoutError, aiohttp.ClientError):
                failed += 1
                return
            latencies.append(loop.time() - due)

        await asyncio.gather(*(one(i) for i in range(count)))
    return sorted(latencies), failed


def until_window(me: dict) -> float | None:
    """Seconds until the student's window opens, by the server's clock, when /me says it has not; else None."""
    if me.get("may_act") or me.get("waiting") or not me.get("opens_at"):
        return None
    ahead = (datetime.fromisoformat(me["opens_at"]) - datetime.fromisoformat(me["now"])).total_seconds()
    return ahead if ahead > 0 else None


async def selection_day(base: str, event_id: int, jars: dict[str, aiohttp.CookieJar], cohorts: list[list[str]],
                        opens: list[datetime], probe_beds: dict[str, int], admit: float, browse: int, think: float,
                        timeout: float, tabs: int = 1) -> dict:
    latencies: dict[tuple[int, str], list[float]] = defaultdict(list)  # (cohort, kind): seconds
    errors: dict[int, Counter] = defaultdict(Counter)
    outcomes: dict[int, Counter] = defaultdict(Counter)
    not_yet: Counter = Counter()  # per cohort: students arriving at their window's start told it had not opened
    finished: dict[int, float] = {}
    probes: list[str] = []  # what each early attempt was answered, "refused" when all of it was
    confirmed: dict[str, int] = {}
    unanswered: set[str] = set()
    waited: dict[str, int] = {}  # the most students a student saw before them in the waiting room
    loop = asyncio.get_running_loop()
    moment, clock = loop.time(), utcnow()
    starts = [moment + (opened - clock).total_seconds() for opened in opens]
    # One connection pool for the event; each student's steps go one after another, so a student never has
    # more than one request out (bounded: at most the students let in and not done).
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base, connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:

        async def step(c: int, kind: str, due: float, method: str, path: str, cookie: str, body=None):
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                async with asyncio.timeout_at(due + timeout):
                    async with session.request(method, path, json=body, headers={"Cookie": cookie}) as response:
                        payload = await response.json(content_type=None)
                        status = response.status
            except TimeoutError:
                errors[c][f"{kind}: timeout"] += 1
                return None, None, loop.time()
            except (aiohttp.ClientError, ValueError) as error:
                errors[c][f"{kind}: {type(error).__name__}"] += 1
                return None, None, loop.time()
            done = loop.time()
            latencies[c, kind].append(done - due)
            if status >= 500:
                errors[c][f"{kind}: {status}"] += 1
            return status, payload, done

        async def student(c: int, index: int, number: str) -> None:
            cookie = "; ".join(f"{k.key}={k.value}" for k in jars[number])
            due = starts[c] + index / admit
            status, me, done = await step(c, "arrive", due, "GET", f"/api/selection/{event_id}/me", cookie)
            while status == 200 and (me.get("waiting") or until_window(me)):
                if me.get("waiting"):  # in the waiting room: back when their turn should come
                    waited[number] = max(waited.get(number, 0), me["waiting"]["ahead"])
                    again = done + me["waiting"]["seconds"]
                else:  # arrived before their window by the server's clock: back at its start
                    not_yet[c] += 1
                    again = done + until_window(me)
                status, me, done = await step(c, "me", again, "GET", f"/api/selection/{event_id}/me", cookie)
            if status != 200:
                outcomes[c]["could not read their window"] += 1
                return
            for _try in range(TRIES):
                # Where beds are free, then floors of it, as a student looks through buildings and floors.
                status, listed, done = await step(c, "browse", done + think, "GET",
                                                  f"/api/selection/{event_id}/beds", cookie)
                floors = [f for f in (listed or {}).get("floors", []) if f["free"]] if status == 200 else []
                beds = []
                for _ in range(browse - 1):
                    if not floors:
                        break
                    where = random.choice(floors)
                    status, listed, done = await step(
                        c, "browse", done + think, "GET",
                        f"/api/selection/{event_id}/beds?building={where['building']}&floor={where['floor']}", cookie)
                    beds = (listed or {}).get("beds", []) if status == 200 else beds
                if not beds:
                    outcomes[c]["saw no free bed"] += 1
                    return
                bed = random.choice(beds)["bed_id"]
                status, held, done = await step(c, "hold", done + think, "POST", f"/api/selection/{event_id}/hold",
                                                cookie, {"bed_id": bed})
                if status == 409:
                    continue  # taken a moment ago: browse again
                if status != 200:
                    outcomes[c][f"hold answered {status}"] += 1
                    return
                status, picked, done = await step(c, "confirm", done + think, "POST",
                                                  f"/api/selection/{event_id}/confirm", cookie, {})
                if status == 200 and picked["pick"]["status"] == "confirmed":
                    confirmed[number] = picked["pick"]["bed_id"]
                    outcomes[c]["confirmed"] += 1
                elif status is None:
                    unanswered.add(number)  # stored or not: the check below reads which
                    outcomes[c]["confirm not answered in time"] += 1
                else:
                    outcomes[c][f"confirm answered {status}"] += 1
                return
            outcomes[c][f"refused {TRIES} times"] += 1

        async def other_tab(c: int, index: int, number: str, student_done: asyncio.Event) -> None:
            """Another tab the student opened on the event page, as they arrive: it reads /me then, again when
            their turn in the waiting room should come, then every TAB_SECONDS until the student is done."""
            cookie = "; ".join(f"{k.key}={k.value}" for k in jars[number])
            due = starts[c] + index / admit
            while not student_done.is_set():
                status, me, done = await step(c, "other tabs", due, "GET", f"/api/selection/{event_id}/me", cookie)
                waiting = status == 200 and me.get("waiting")
                due = done + (me["waiting"]["seconds"] if waiting else TAB_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(student_done.wait(), max(0.0, due - loop.time()))

        async def arrive(c: int, index: int, number: str) -> None:
            student_done = asyncio.Event()
            others = [asyncio.create_task(other_tab(c, index, number, student_done)) for _tab in range(tabs - 1)]
            try:
                await student(c, index, number)
            finally:
                student_done.set()
            await asyncio.gather(*others)
            finished[c] = max(finished.get(c, 0.0), loop.time())

        async def early(number: str, at: float) -> None:
            """Try what a student of the second cohort could, before their window: all of it must be refused."""
            headers = {"Cookie": "; ".join(f"{k.key}={k.value}" for k in jars[number]), "Accept-Language": "en"}
            await asyncio.sleep(max(0.0, at - loop.time()))
            answers = []
            try:
                async with asyncio.timeout(timeout):
                    async with session.get(f"/api/selection/{event_id}/me", headers=headers) as response:
                        me = await response.json(content_type=None)
                        answers.append("refused" if response.status == 200 and until_window(me)
                                       else f"/me: may act {me.get('may_act')}")
                    async with session.get(f"/api/selection/{event_id}/beds", headers=headers) as response:
                        listed = await response.json(content_type=None)
                        answers.append("refused" if response.status == 200 and listed == {"floors": [], "beds": []}
                                       else f"/beds: {response.status}, {len(listed.get('floors', []))} floors")
                    async with session.post(f"/api/selection/{event_id}/hold", headers=headers,
                                            json={"bed_id": probe_beds[number[4]]}) as response:
                        held = await response.json(content_type=None)
                        answers.append("refused" if response.status == 409 and held.get("error") == NOT_YET
                                       else f"hold: {response.status} {held}")
            except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                answers.append(f"no answer ({type(error).__name__})")
            late = " (answered after the window opened)" if loop.time() >= starts[1] else ""
            wrong = [a for a in answers if a != "refused"]
            probes.append(f"{number}: {'; '.join(wrong)}{late}" if wrong else "refused")

        # The last few of the second cohort, halfway through the gap: early enough to be answered before their
        # window opens however slow the first cohort's rush makes the server.
        tries = [early(n, starts[1] - (starts[1] - starts[0]) / 2) for n in cohorts[1][-PROBES:]] \
            if len(cohorts) > 1 else []
        await asyncio.gather(*(arrive(c, i, n) for c, numbers in enumerate(cohorts) for i, n in enumerate(numbers)),
                             *tries)
        elapsed = loop.time() - starts[0]
    requests = sum(len(v) for v in latencies.values())
    return {"latencies": {k: sorted(v) for k, v in latencies.items()}, "errors": errors, "outcomes": outcomes,
            "confirmed": confirmed, "unanswered": unanswered, "waited": waited, "not_yet": not_yet,
            "probes": probes, "elapsed": elapsed, "rate": requests / elapsed,
            "done_after": {c: finished[c] - starts[c] for c in finished}}


# The tables an event writes as it goes: thousands of picks (each held, then confirmed) in minutes.
WRITTEN = ("selection_picks", "selection_participants", "notifications")
AUTOVACUUM_EVERY = 30.0


@contextlib.contextmanager
def autovacuum_stand_in(url: str):
    """On a server with autovacuum off, VACUUM (ANALYZE) the tables the event writes every AUTOVACUUM_EVERY
    seconds while it runs, as autovacuum would in production (its default is on): without fresh statistics
    the planner takes the picks table for empty, and a bed list costs 2.5 times as much by the third cohort.
    Yields whether it stood in."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        off = connection.scalar(sa.text("SHOW autovacuum")) == "off"
    stop = threading.Event()

    def vacuum() -> None:
        with engine.connect() as connection:
            while not stop.wait(AUTOVACUUM_EVERY):
                connection.execute(sa.text(f"VACUUM (ANALYZE) {', '.join(WRITTEN)}"))

    worker = threading.Thread(target=vacuum, daemon=True) if off else None
    if worker:
        worker.start()
    try:
        yield off
    finally:
        stop.set()
        if worker:
            worker.join()
        engine.dispose()


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


class Proxy:
    """Debian's HAProxy on a free port of 127.0.0.1 in front of the app servers, configured as docs/haproxy.cfg
    says to run it on selection day (that file, its placeholders filled)."""

    def __init__(self, servers: list[Gunicorn], folder: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base, self.process = f"http://127.0.0.1:{self.port}", None
        self.config = folder / "haproxy.cfg"
        lines = "\n".join(f"    server app{n} {server.base.removeprefix('http://')} maxconn {server.workers}"
                           for n, server in enumerate(servers))
        template = (ROOT / "docs" / "haproxy.cfg").read_text()
        self.config.write_text(template.replace("${port}", f"127.0.0.1:{self.port}").replace("${servers}", lines))

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


def p50_p99(values: list[float]) -> str:
    return f"{percentile(values, 50) * 1000:,.0f} / {percentile(values, 99) * 1000:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--cohorts", type=int, default=1,
                        help="cohorts (colleges C1…CN), each with a window of its own (default 1: one for everyone)")
    parser.add_argument("--cohort-gap", type=float, default=120,
                        help="seconds between one cohort's window and the next (default 120); make it longer than a "
                             "cohort takes to be let in, at --admit or --waiting-room")
    parser.add_argument("--admit", type=float, default=15,
                        help="students of a cohort arriving a second from its window's start (default 15; the "
                             "cohort's whole number: all at once)")
    parser.add_argument("--browse", type=int, default=10, help="bed lists read for each claim (default 10)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a student's steps (default 1)")
    parser.add_argument("--tabs", type=int, default=1,
                        help="event pages each student has open (default 1; 3: Cornell's connections a student): "
                             "the others read /me as the student arrives, when their turn should come, and every "
                             f"{TAB_SECONDS:g} s until the student is done")
    parser.add_argument("--waiting-room", type=float, default=0,
                        help="students the waiting room lets in a second (DORMS_SELECTION_ADMIT_PER_SECOND; "
                             "default 0: none)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers a server (default 4)")
    parser.add_argument("--servers", type=int, default=1,
                        help="app servers; more than one behind HAProxy, as docs/haproxy.cfg (default 1)")
    parser.add_argument("--proxy", action="store_true",
                        help="HAProxy in front even of one server, as docs/haproxy.cfg: kept-alive connections, a "
                             "queue of its own in which students let in go first")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/dorms_selection")
    parser.add_argument("--redis-db", type=int, default=int(urllib.parse.urlsplit(REDIS).path.strip("/") or 0),
                        help=f"the Redis database of the app's limits, kept values and waiting room (default: "
                             f"{REDIS}'s)")
    args = parser.parse_args()
    if args.cohorts < 1 or args.students < 2 * args.cohorts:
        parser.error("--cohorts: at least one, and at least one man and one woman in each")
    if args.cohorts > 1 and args.cohort_gap <= 0:
        parser.error("--cohort-gap: cohorts' windows open one after another, some seconds apart")
    redis_url = urllib.parse.urlsplit(REDIS)._replace(path=f"/{args.redis_db}").geturl()
    # The code measured: read now, not after the run (a commit made meanwhile is not what ran).
    commit = os.popen(f"git -C {ROOT} describe --always --dirty").read().strip()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    random.seed(7)
    with tempfile.TemporaryDirectory() as temporary:
        ENVIRONMENT["DORMS_INSTANCE_PATH"] = os.environ["DORMS_INSTANCE_PATH"] = str(Path(temporary) / "instance")
        ENVIRONMENT["DORMS_RATELIMIT_STORAGE_URI"] = ENVIRONMENT["DORMS_REDIS_URL"] = redis_url
        ENVIRONMENT["DORMS_SELECTION_CLAIM_LIMIT"] = "1000 per minute"  # the bench's students are scripts
        ENVIRONMENT["DORMS_SELECTION_ADMIT_PER_SECOND"] = str(args.waiting_room)
        ENVIRONMENT["DORMS_SELECTION_ADMIT_BURST"] = str(int(args.waiting_room * 2))
        started = time.monotonic()
        event_id, probe_beds = seed(args.database_url, args.students, args.cohorts, args.cohort_gap, redis_url)
        print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        servers = [Gunicorn(args.database_url, args.workers, Path(temporary) / f"gunicorn{n}.log")
                   for n in range(args.servers)]
        proxy = Proxy(servers, Path(temporary)) if args.proxy or args.servers > 1 else None
        try:
            for server in servers:
                server.start()
            if proxy:
                proxy.start()
            base = proxy.base if proxy else servers[0].base
            cohorts = student_numbers(args.students, args.cohorts)
            started = time.monotonic()
            jars = asyncio.run(sign_in_all(base, [n for numbers in cohorts for n in numbers]))
            print(f"{len(jars)} signed in in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            opens = resume(args.database_url, event_id)
            with autovacuum_stand_in(args.database_url) as stood_in:
                result = asyncio.run(selection_day(base, event_id, jars, cohorts, opens, probe_beds, args.admit,
                                                   args.browse, args.think, args.timeout, args.tabs))
            baseline = measure(base, [("/static/dorms.css", "")], result["rate"], 10, 64)
            # The first requests against what answering them costs at the least: as many, arriving as they did.
            arrivals = {path: asyncio.run(arriving(base, path, len(cohorts[0]) * args.tabs, args.admit * args.tabs,
                                                   args.timeout))
                        for path in ("/static/dorms.css", "/login")}
        finally:
            if proxy:
                proxy.stop()
            for server in servers:
                server.stop()
        problems = check(args.database_url, event_id, result["confirmed"], result["unanswered"])

    room = f"; a waiting room letting in {args.waiting_room:g} a second" if args.waiting_room else ""
    where = (f"{args.servers} gunicorn server{'s' * (args.servers > 1)} of {args.workers} sync workers behind "
             f"HAProxy (docs/haproxy.cfg)" if args.proxy or args.servers > 1 else f"gunicorn, {args.workers} sync workers")
    split = (f" in {args.cohorts} cohorts, their windows {args.cohort_gap:g} s apart, each"
             if args.cohorts > 1 else "")
    split = f", {args.tabs} tabs each{split}" if args.tabs > 1 else split
    print(f"\n{args.students:,} students{split} let in at {args.admit:g} a second; {args.browse} bed lists a claim, "
          f"{args.think:g} s between steps{room}; {where}; {os.cpu_count()} cores; commit {commit}\n")
    if stood_in:
        print(f"autovacuum is off on this server: the bench vacuumed and analyzed {', '.join(WRITTEN)} every "
              f"{AUTOVACUUM_EVERY:g} s, as autovacuum would")
    print(f"{result['rate']:,.1f} requests a second over {result['elapsed']:,.0f} s\n")
    kinds = ("arrive", "me", "browse", "hold", "confirm") + (("other tabs",) if args.tabs > 1 else ())
    outcome = lambda counts: ", ".join(f"{n:,} {what}" for what, n in counts.most_common())  # noqa: E731
    if args.cohorts > 1:
        print("| cohort | students | window opens | all done after s | arrive p50 / p99 ms | `/me` again | "
              "browse p50 / p99 | hold p50 / p99 | confirm p50 / p99 | "
              + ("other tabs p50 / p99 | " if args.tabs > 1 else "") + "errors | outcome |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | " + "---: | " * (args.tabs > 1)
              + "---: | --- |")
        for c, numbers in enumerate(cohorts):
            figures = " | ".join(p50_p99(result["latencies"].get((c, kind), [])) for kind in kinds)
            print(f"| C{c + 1} | {len(numbers):,} | +{(opens[c] - opens[0]).total_seconds():,.0f} s | "
                  f"{result['done_after'].get(c, 0):,.0f} | {figures} | {sum(result['errors'][c].values()):,} | "
                  f"{outcome(result['outcomes'][c])} |")
        print()
    print("| requests | answered | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind in kinds:
        values = sorted(v for c in range(args.cohorts) for v in result["latencies"].get((c, kind), []))
        print(f"| {kind} | {len(values):,} | {percentile(values, 50) * 1000:,.0f} | "
              f"{percentile(values, 99) * 1000:,.0f} | {(values[-1] if values else 0) * 1000:,.0f} |")
    print(f"| baseline: static file at {baseline['offered']:,.1f}/s | {baseline['answered']:,} | "
          f"{baseline['p50']:,.0f} | {baseline['p99']:,.0f} | {baseline['max']:,.0f} |")
    for path, (values, failed) in arrivals.items():
        print(f"| baseline: {path}, {len(cohorts[0]) * args.tabs:,} arriving as a cohort's first requests did | "
              f"{len(values):,} | "
              f"{percentile(values, 50) * 1000:,.0f} | {percentile(values, 99) * 1000:,.0f} | "
              f"{(values[-1] if values else 0) * 1000:,.0f} |" + (f" ({failed:,} failed)" if failed else ""))
    if result["waited"]:
        print(f"\nwaiting room: {len(result['waited']):,} students waited, the last with "
              f"{max(result['waited'].values()):,} before them")
    errors = sum(result["errors"].values(), Counter())
    print(f"\nerrors: {dict(errors) or 'none'}")
    print(f"outcomes: {dict(sum(result['outcomes'].values(), Counter()))}")
    told = result["not_yet"]
    print("told 'not your window yet' arriving at their window's start (clock skew): "
          + (", ".join(f"C{c + 1}: {told[c]:,}" for c in sorted(told)) or "none"))
    if args.cohorts > 1:
        refused = result["probes"].count("refused")
        print(f"early attempts refused: {refused} of {len(result['probes'])}"
              + "".join(f"\n  not refused: {p}" for p in result["probes"] if p != "refused"))
    print(f"invariants and stored picks: {problems or 'nothing wrong'}")


if __name__ == "__main__":
    main()
