"""Curfew reports: each resident's status for a night, from the events, the rules and the permissions.

The rules (curfew.py) are pure; this module gathers their inputs with a few set-based queries, so a
counselor's 600 students cost the same handful of queries as one student.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..auth.models import User
from ..campus.models import Bed, Building, Room
from ..core.clock import campus_zone
from ..core.enums import Gender, Role
from ..core.kept import kept
from ..extensions import db
from ..notifications import notify_each
from ..residence.models import Assignment
from ..students.models import CounselorScope, Student, Term
from . import curfew, rollup
from .curfew import Direction, Event, Leave, Night, Status
from .models import (
    AccessDevice,
    AccessEvent,
    CurfewRule,
    NightFeed,
    NightStatus,
    NoCurfewNight,
    Permission,
    PermissionKind,
    PermissionStatus,
)
from .zkteco import codes

# Without a rule (docs/curfew.md): Sunday-Thursday nights 23:00, Friday and Saturday nights 23:30.
DEFAULT_CURFEW = {False: time(23), True: time(23, 30)}


@dataclass
class ReportRow:
    student_id: int
    student_number: str
    name: str
    class_name: str
    college: str
    building: str
    status: Status
    time: datetime | None  # local: the first entry after curfew, for late statuses
    last_seen: datetime | None  # local: the student's last event up to the cutoff, any door
    last_door: str


def settings() -> dict:
    config = current_app.config
    return {"cutoff": time.fromisoformat(config.get("CURFEW_CUTOFF", "06:00")),
            "grace": timedelta(minutes=int(config.get("CURFEW_LATE_GRACE_MINUTES", 30)))}


def has_curfew(night: date) -> bool:
    """Holidays and nights outside every term have no curfew and no status."""
    if db.session.get(NoCurfewNight, night) is not None:
        return False
    return db.session.scalar(sa.select(sa.func.count()).select_from(Term).where(
        Term.starts_on <= night, Term.ends_on >= night)) > 0


def nights_between(first: date, last: date) -> list[date]:
    """Every night from ``first`` to ``last``, both included."""
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def curfew_nights(first: date, last: date) -> list[date]:
    """The nights from ``first`` to ``last`` that have a curfew (in a term, not a holiday)."""
    holidays = set(db.session.scalars(sa.select(NoCurfewNight.night).where(NoCurfewNight.night.between(first, last))))
    terms = db.session.execute(sa.select(Term.starts_on, Term.ends_on).where(
        Term.starts_on <= last, Term.ends_on >= first)).all()
    return [day for day in nights_between(first, last) if day not in holidays and any(start <= day <= end for start, end in terms)]


def curfew_rules() -> dict[tuple, time]:
    """Every curfew rule, keyed (building id, gender, weekend) for curfew_for."""
    return {(r.building_id, r.gender, r.weekend): r.curfew for r in db.session.scalars(sa.select(CurfewRule))}


def curfew_for(rules: dict, building_id: int | None, gender: Gender, night: date) -> time:
    """The most specific rule: building and gender, building, gender, campus; then the default."""
    weekend = night.weekday() in (4, 5)  # Friday and Saturday nights
    for key in ((building_id, gender, weekend), (building_id, None, weekend), (None, gender, weekend),
                (None, None, weekend)):
        if key in rules:
            return rules[key]
    return DEFAULT_CURFEW[weekend]


def night_report(night: date, scope: sa.ColumnElement[bool] | None = None, *, live: bool = False) -> list[ReportRow]:
    """The statuses of night ``night`` for the residents ``scope`` selects (a WHERE clause on Student).

    Read from the rolled-up statuses (rollup.py), unless ``live``; a finished night not rolled up yet is
    rolled up by this read (rollup.keep_unkept), for every resident, and read from its rows thereafter."""
    if not has_curfew(night):
        return []
    if not live and night in readable_nights([night]):
        return [row for _night, row in _kept_rows([night], scope)]
    return _live_report(night, scope)


def _live_report(night: date, scope: sa.ColumnElement[bool] | None) -> list[ReportRow]:
    """Night ``night``'s statuses computed from the events, the rules and the permissions (a curfew night)."""
    zone, options = campus_zone(), settings()
    night_start = datetime.combine(night, time(12), tzinfo=zone)
    residents = db.session.execute(
        sa.select(Student.id, Student.student_number, Student.name, Student.class_name, Student.college,
                  Student.gender, Building.id.label("building_id"), Building.code)
        .join(Assignment, Assignment.student_id == Student.id).join(Bed, Bed.id == Assignment.bed_id)
        .join(Room, Room.id == Bed.room_id).join(Building, Building.id == Room.building_id)
        .where(Assignment.started_at <= night_start,
               sa.or_(Assignment.ended_at.is_(None), Assignment.ended_at > night_start),
               sa.true() if scope is None else scope)
        .order_by(Student.student_number)).all()
    if not residents:
        return []
    rules = curfew_rules()
    cutoff = datetime.combine(night + timedelta(days=1), options["cutoff"])
    with_data = set(feed_counts([night])[night])
    ids = [r.id for r in residents]
    events = _events(ids, night_start - curfew.LOOK_BACK, cutoff.replace(tzinfo=zone), zone)
    leave = _leave(ids, night, options["grace"])
    rows = []
    for resident in residents:
        the_night = Night.of(night, curfew_for(rules, resident.building_id, resident.gender, night), options["cutoff"])
        own = events.get(resident.id, [])
        if resident.code.upper() not in with_data:  # the doors sent nothing: no status can be told, permissions or not
            outcome = curfew.Outcome(Status.NO_DATA)
        else:
            deciding = [Event(at, Direction(direction)) for at, direction, building, _door, granted in own
                        if granted and building.upper() == resident.code.upper()]  # a door system may write "a1"
            outcome = curfew.night_status(the_night, deciding, _leave_for(leave.get(resident.id, {}), the_night))
        seen = own[-1] if own else None
        rows.append(ReportRow(resident.id, resident.student_number, resident.name, resident.class_name,
                              resident.college, resident.code, outcome.status, outcome.time,
                              seen[0] if seen else None, seen[3] if seen else ""))
    return rows


# What a kept row reads as a ReportRow, the night first.
_KEPT_COLUMNS = (NightStatus.night, NightStatus.student_id, Student.student_number, Student.name, Student.class_name,
                 Student.college, NightStatus.building, NightStatus.status, NightStatus.time, NightStatus.last_seen,
                 NightStatus.last_door)


def _kept_rows(nights, scope: sa.ColumnElement[bool] | None, *where) -> list[tuple[date, ReportRow]]:
    """The rolled-up rows of ``nights`` for the students ``scope`` selects, by night and student number: one
    query whatever the number of nights."""
    if not nights:
        return []
    result = db.session.execute(
        sa.select(*_KEPT_COLUMNS).join(Student, Student.id == NightStatus.student_id)
        .where(NightStatus.night.in_(sorted(nights)), sa.true() if scope is None else scope, *where)
        .order_by(NightStatus.night, Student.student_number))
    return [(night, ReportRow(student_id, number, name, class_name, college, building, Status(status), at,
                              last_seen, last_door))
            for night, student_id, number, name, class_name, college, building, status, at, last_seen, last_door
            in result]


def _with_rows(nights) -> set[date]:
    """Those of ``nights`` that have rolled-up rows: an index probe per night, in one row of answers. (Ordered
    by status to read the (night, status) index: for a bare LIMIT 1, or EXISTS, PostgreSQL would scan the table
    in the hope of an early row, where a night's rows are stored together, the latest last.)"""
    ordered, found = sorted(set(nights)), set()
    for start in range(0, len(ordered), 100):
        chunk = ordered[start:start + 100]
        probes = [sa.select(NightStatus.night).where(NightStatus.night == night).order_by(NightStatus.status)
                  .limit(1).scalar_subquery() for night in chunk]
        answers = db.session.execute(sa.select(*probes)).one()
        found.update(night for night, answer in zip(chunk, answers, strict=True) if answer is not None)
    return found


def readable_nights(nights) -> set[date]:
    """Which of ``nights`` (curfew nights) reports read from their rolled-up rows: those rolled up already, and
    the finished ones this read rolls up now, once for everyone (rollup.keep_unkept). The others (nights not
    over yet, or left for a later read) are computed live."""
    rolled = _with_rows(nights)
    finished = last_finished_night()
    if any(night not in rolled and night <= finished for night in nights):
        rollup.keep_unkept([night for night in nights if night not in rolled])
        rolled = _with_rows(nights)
    return rolled


def _events(student_ids: list[int], since: datetime, until: datetime, zone) -> dict[int, list[tuple]]:
    """Each student's events in [since, until], oldest first, as (local time, direction, building, door, granted)."""
    by_student: dict[int, list[tuple]] = defaultdict(list)
    for start in range(0, len(student_ids), 1000):
        chunk = student_ids[start:start + 1000]
        result = db.session.execute(
            sa.select(AccessEvent.student_id, AccessEvent.occurred_at, AccessEvent.direction, AccessEvent.building,
                      AccessEvent.door, AccessEvent.granted)
            .where(AccessEvent.student_id.in_(chunk), AccessEvent.occurred_at >= since.astimezone(UTC),
                   AccessEvent.occurred_at <= until.astimezone(UTC))
            .order_by(AccessEvent.student_id, AccessEvent.occurred_at, AccessEvent.id))  # same second: as stored
        for student_id, at, direction, building, door, granted in result:
            by_student[student_id].append((at.astimezone(zone).replace(tzinfo=None), direction, building, door,
                                           granted))
    return by_student


def _leave(student_ids: list[int], night: date, grace: timedelta) -> dict[int, dict]:
    """Approved permissions covering the night, per student: {"overnight": True, "late": [times]}."""
    leave: dict[int, dict] = defaultdict(lambda: {"overnight": False, "late": []})
    for start in range(0, len(student_ids), 1000):
        chunk = student_ids[start:start + 1000]
        for permission in db.session.scalars(sa.select(Permission).where(
                Permission.student_id.in_(chunk), Permission.status == PermissionStatus.APPROVED,
                Permission.first_night <= night, Permission.last_night >= night)):
            if permission.kind == PermissionKind.OVERNIGHT:
                leave[permission.student_id]["overnight"] = True
            else:
                leave[permission.student_id]["late"].append(permission.expected_return)
    return {k: {**v, "grace": grace} for k, v in leave.items()}


def _leave_for(granted: dict, night: Night) -> Leave:
    if not granted:
        return Leave()
    late = [curfew.expected_return(night, t, granted["grace"]) for t in granted["late"]]
    return Leave(overnight=granted["overnight"], late_until=max(late) if late else None)


# --- door data: what each building's doors sent on a night ------------------------------------


def _window(night: date) -> tuple[datetime, datetime]:
    """The span of night ``night`` whose events decide statuses, d 12:00 to the cutoff K, in UTC."""
    zone = campus_zone()
    return (datetime.combine(night, time(12), tzinfo=zone).astimezone(UTC),
            datetime.combine(night + timedelta(days=1), settings()["cutoff"], tzinfo=zone).astimezone(UTC))


def feed_counts(nights: list[date], *, live: bool = False) -> dict[date, dict[str, tuple[int, datetime]]]:
    """Per night, per building code: how many events its doors recorded from d 12:00 to the cutoff (any card,
    granted or denied, unknown cards included) and the latest of them (local time). A building absent from a
    night's dict recorded nothing. Codes are upper-cased: a door system may write "a1" for A1. Kept nights
    (NightFeed, rollup.py) are read from their rows unless ``live``; finished nights without them are kept by
    this read (rollup.keep_unkept), the others counted from the events, one query per month of nights reading
    those nights' events once."""
    return _feed_counts(nights, live=live)[0]


def _feed_counts(nights: list[date], *, live: bool = False) -> tuple[dict[date, dict[str, tuple[int, datetime]]], bool]:
    """feed_counts, and whether every night was read from its kept counts."""
    found: dict[date, dict[str, tuple[int, datetime]]] = {night: {} for night in nights}
    if not live and nights:
        missing = _read_kept_feeds(set(nights), found)
        if any(night <= last_finished_night() for night in missing):
            rollup.keep_unkept([], feed_nights=list(missing))
            missing = _read_kept_feeds(missing, found)
        nights = [night for night in nights if night in missing]
    zone, ordered = campus_zone(), sorted(set(nights))
    for start in range(0, len(ordered), 31):
        windows = [(night, *_window(night)) for night in ordered[start:start + 31]]
        bucket = sa.case(*((sa.and_(AccessEvent.occurred_at >= begins, AccessEvent.occurred_at < ends), index)
                           for index, (_night, begins, ends) in enumerate(windows)))
        events = (sa.select(bucket.label("bucket"), sa.func.upper(AccessEvent.building).label("building"),
                            AccessEvent.occurred_at)
                  .where(AccessEvent.occurred_at >= windows[0][1], AccessEvent.occurred_at < windows[-1][2])
                  .subquery())
        for index, building, count, latest in db.session.execute(
                sa.select(events.c.bucket, events.c.building, sa.func.count(), sa.func.max(events.c.occurred_at))
                .where(events.c.bucket.is_not(None)).group_by(events.c.bucket, events.c.building)):
            if latest.tzinfo is None:  # SQLite, read through a subquery, keeps no offset: stored as UTC
                latest = latest.replace(tzinfo=UTC)
            found[windows[index][0]][building] = (count, latest.astimezone(zone).replace(tzinfo=None))
    return found, not ordered


def _read_kept_feeds(nights: set[date], found: dict) -> set[date]:
    """Fill ``found`` with the kept counts of ``nights``; returns the nights that have none."""
    kept = set()
    for night, building, events, last in db.session.execute(
            sa.select(NightFeed.night, NightFeed.building, NightFeed.events, NightFeed.last_event)
            .where(NightFeed.night.in_(nights))):
        kept.add(night)
        if building:
            found[night][building] = (events, last)
    return nights - kept


@dataclass
class Feed:
    """How much one building's doors sent on a night against its usual volume: ``state`` is ``no_data`` (nothing
    at all: its residents get no status), ``low`` (far below usual: statuses stand, staff are warned) or ``ok``."""

    building: str
    night: date
    events: int
    usual: int | None  # the median of recent nights with data; None with too few of them to say
    last_event: datetime | None  # local: the latest event at the building in the nights looked at
    state: str
    devices: list[AccessDevice] = field(default_factory=list)  # registered here, with when each was last heard


def feed_settings() -> dict:
    config = current_app.config
    return {"history": int(config.get("CURFEW_FEED_HISTORY_NIGHTS", 14)),
            "share": float(config.get("CURFEW_FEED_LOW_SHARE", 0.25)),
            "min_usual": int(config.get("CURFEW_FEED_MIN_USUAL", 20))}


def _assess(counts: dict, night: date, building: str, options: dict, stated: bool | None = None) -> Feed:
    """The feed of ``building`` on ``night`` from ``counts`` (feed_counts of the night and the nights before).

    ``stated``: whether the night's statuses say the building had data (rolled-up nights whose events were
    purged keep their statuses, not their events); None to go by the events alone."""
    code = building.upper()  # as feed_counts keys it
    events = counts.get(night, {}).get(code, (0, None))[0]
    history = [night - timedelta(days=k) for k in range(1, options["history"] + 1)]
    past = [counts[day][code][0] for day in history if code in counts.get(day, {})]
    usual = round(median(past)) if len(past) >= 3 else None  # three nights at least: one odd night is no habit
    heard = [counts[day][code][1] for day in [night, *history] if code in counts.get(day, {})]
    if stated is False or (stated is None and not events):
        state = "no_data"
    elif not events:
        state = "ok"  # statuses were told from events since purged: nothing left to measure
    elif usual is not None and usual >= options["min_usual"] and events < usual * options["share"]:
        state = "low"
    else:
        state = "ok"
    return Feed(building, night, events, usual, max(heard) if heard else None, state)


def _with_devices(feeds: list[Feed]) -> list[Feed]:
    by_building: dict[str, list[AccessDevice]] = defaultdict(list)
    for device in db.session.scalars(sa.select(AccessDevice).where(AccessDevice.active.is_(True))
                                     .order_by(AccessDevice.serial_number)):
        by_building[device.building].append(device)
    for feed in feeds:
        feed.devices = by_building.get(feed.building, [])
    return feeds


def with_devices(feeds: list[Feed]) -> list[Feed]:
    """Copies of ``feeds`` (kept ones, say) with the devices registered at each building; no query without any."""
    return _with_devices([replace(feed, devices=[]) for feed in feeds]) if feeds else []


def feed_health(night: date, rows: list[ReportRow]) -> list[Feed]:
    """The door data of each building of ``rows`` (a night's report) on ``night``, by building code."""
    with_status: dict[str, bool] = {}
    for row in rows:
        with_status[row.building] = with_status.get(row.building, False) or row.status != Status.NO_DATA
    return _with_devices(_feed_health(night, with_status)[0])


def _feed_health(night: date, with_status: dict[str, bool]) -> tuple[list[Feed], bool]:
    """The door data of each building of ``with_status`` (whether any of its residents had a status) without the
    devices, and whether it was all read from kept counts."""
    options = feed_settings()
    counts, from_kept = _feed_counts([night - timedelta(days=k) for k in range(options["history"] + 1)])
    return [_assess(counts, night, building, options, stated)
            for building, stated in sorted(with_status.items())], from_kept


def feed_warnings(feeds: list[Feed]) -> list[Feed]:
    """The buildings staff must be told about: no door data first, then low door data."""
    return sorted((f for f in feeds if f.state != "ok"), key=lambda f: (f.night, f.state != "no_data", f.building))


def group_feeds(feeds: list[Feed]) -> list[tuple[tuple[str, str], list[Feed]]]:
    """Warnings over several nights, by building and state (no data first), each with its nights in order."""
    groups: dict[tuple[str, str], list[Feed]] = defaultdict(list)
    for feed in feeds:
        groups[feed.building, feed.state].append(feed)
    return sorted(((key, sorted(group, key=lambda f: f.night)) for key, group in groups.items()),
                  key=lambda item: (item[0][0], item[0][1] != "no_data"))


# --- summaries, alerts, trend ------------------------------------------------------------


def last_finished_night(now: datetime | None = None) -> date:
    """The night a counselor checks in the morning: the latest whose cutoff has passed."""
    local = (now or datetime.now(UTC)).astimezone(campus_zone()).replace(tzinfo=None)
    cutoff = settings()["cutoff"]
    return local.date() - timedelta(days=1 if local.time() >= cutoff else 2)


@dataclass
class Summary:
    group: str
    counts: dict[Status, int]

    @property
    def total(self) -> int:
        """Residents with a status: those without door data are counted apart (``no_data``)."""
        return sum(n for s, n in self.counts.items() if s != Status.NO_DATA)

    @property
    def no_data(self) -> int:
        return self.counts.get(Status.NO_DATA, 0)

    @property
    def exceptions(self) -> int:
        """Students the counselor should look at: late or absent, not excused."""
        return sum(n for s, n in self.counts.items() if s == Status.LATE or s.is_absent)


def summarise(rows: list[ReportRow], key: str) -> list[Summary]:
    """Counts per status for each class, college or building (``key``: a ReportRow attribute)."""
    groups: dict[str, dict[Status, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        groups[getattr(row, key)][row.status] += 1
    return [Summary(group, dict(counts)) for group, counts in sorted(groups.items())]


@dataclass
class Alert:
    kind: str  # "not_seen" or "often_late"
    row: ReportRow  # the student's row on the night the alert is for
    nights: int  # how many nights in a row absent, or late in the window


def week(night: date, scope: sa.ColumnElement[bool] | None = None, days: int = 7) -> list[tuple[date, list]]:
    """The reports of the ``days`` nights ending with ``night``, oldest first: what alerts and trends read.
    The rolled-up nights in one query, whatever their number."""
    return _week(night, scope, days)[0]


def _week(night: date, scope: sa.ColumnElement[bool] | None, days: int) -> tuple[list[tuple[date, list]], bool]:
    """week(), and whether every night was read from rolled-up rows."""
    nights = nights_between(night - timedelta(days=days - 1), night)
    with_curfew = curfew_nights(nights[0], night)
    kept = readable_nights(with_curfew)
    found: dict[date, list[ReportRow]] = {day: [] for day in nights}
    for day, row in _kept_rows(kept, scope):
        found[day].append(row)
    for day in with_curfew:
        if day not in kept:
            found[day] = _live_report(day, scope)
    return list(found.items()), kept >= set(with_curfew)


# What a report read only from rolled-up rows and kept door-event counts depends on: the rows, the students'
# names, classes and colleges, whose students a counselor sees, and which nights have a curfew.
KEPT_REPORT_TABLES = ("night_statuses", "night_feeds", "students", "counselor_scopes", "terms", "no_curfew_nights")


def kept_while_rolled_up(name: str, compute, key: object, rolled_up_only) -> object:
    """``compute()``'s value, kept (core.kept) until the tables it read change, when it was read from rolled-up
    rows only (``rolled_up_only(value)``); a value partly computed from the events is computed every time."""
    return kept(name, compute, depends_on=KEPT_REPORT_TABLES, key=key, keep_if=rolled_up_only)


def kept_week(night: date, scope: sa.ColumnElement[bool] | None, scope_key: object, days: int = 7) -> list:
    """week(), kept for the students ``scope_key`` names (what ``scope`` selects) while its nights are rolled up."""
    return kept_while_rolled_up("access.week", lambda: _week(night, scope, days), (night, days, scope_key),
                                lambda value: value[1])[0]


def kept_night_overview(night: date, scope: sa.ColumnElement[bool] | None, scope_key: object) -> NightOverview:
    """night_overview(), kept for the students ``scope_key`` names while what it read is rolled up."""
    return kept_while_rolled_up("access.night_overview", lambda: night_overview(night, scope), (night, scope_key),
                                lambda value: value.from_kept)


def alerts(reports: list[tuple[date, list[ReportRow]]]) -> list[Alert]:
    """The alerts of docs/curfew.md on the last of ``reports``' nights: not seen N nights running, often late."""
    config = current_app.config
    not_seen_nights = int(config.get("CURFEW_ALERT_NOT_SEEN_NIGHTS", 2))
    late_more_than = int(config.get("CURFEW_ALERT_LATE_NIGHTS", 3))
    history: dict[int, list[Status]] = defaultdict(list)
    for _day, rows in reports:
        present = {row.student_id for row in rows}
        for student_id in list(history):
            if student_id not in present:  # no status that night (a holiday, moved out): the run is broken
                history[student_id].append(Status.IN)
        for row in rows:
            if row.status != Status.NO_DATA:  # a night the doors sent nothing says nothing: skipped, not a break
                history[row.student_id].append(row.status)
    found = []
    for row in reports[-1][1] if reports else []:
        if row.status == Status.NO_DATA:  # no alert on a night without door data
            continue
        statuses = history[row.student_id]
        if curfew.not_seen(statuses, not_seen_nights):
            run = next((i for i, s in enumerate(reversed(statuses)) if not s.is_absent), len(statuses))
            found.append(Alert("not_seen", row, run))
        if curfew.often_late(statuses, late_more_than):
            found.append(Alert("often_late", row, sum(s == Status.LATE for s in statuses[-7:])))
    return sorted(found, key=lambda a: (a.kind, a.row.student_number))


def status_totals(rows: list[ReportRow]) -> dict[Status, int]:
    """How many rows have each status (every status present, zero or not)."""
    totals = dict.fromkeys(Status, 0)
    for row in rows:
        totals[row.status] += 1
    return totals


def trend(reports: list[tuple[date, list[ReportRow]]]) -> list[tuple[date, dict[Status, int]]]:
    """Counts per status for each night of ``reports``."""
    return [(day, status_totals(rows)) for day, rows in reports]


@dataclass
class NightOverview:
    """What the night's page shows above its rows, over every student of the scope: plain data, so it can be
    kept until the rows it was read from change."""

    night: date
    has_curfew: bool
    totals: dict[Status, int]  # the night's
    trend: list[tuple[date, dict[Status, int]]]  # the week's, oldest first
    by_class: list[Summary]
    by_college: list[Summary]
    by_building: list[Summary]
    alerts: list[Alert]
    feeds: list[Feed]  # the night's door data warnings, without their devices (with_devices)
    night_kept: bool  # the night's rows are rolled up: night_rows reads a page of them
    from_kept: bool  # everything was read from rolled-up rows and kept door-event counts

    @property
    def count(self) -> int:
        return sum(self.totals.values())


def _students_of(scope: sa.ColumnElement[bool] | None) -> list[int] | None:
    """The ids of the students ``scope`` selects (one query), or None for everyone. A scope made of subqueries (a
    counselor's classes or colleges) leaves PostgreSQL guessing how many students it selects: it would read every
    row of the nights to join them, where by ids it reads theirs."""
    return None if scope is None else list(db.session.scalars(sa.select(Student.id).where(scope)))


def _joined_rows_of(ids: list[int] | None) -> tuple:
    """WHERE clauses for NightStatus rows joined to their students, of the students ``ids`` (None: everyone):
    both sides named, so the students are read by their key, not scanned to be joined."""
    return () if ids is None else (NightStatus.student_id.in_(ids), Student.id.in_(ids))


def night_overview(night: date, scope: sa.ColumnElement[bool] | None = None, days: int = 7) -> NightOverview:
    """The totals, summaries, trend, alerts and door data of night ``night`` for the students ``scope`` selects.

    Rolled-up nights are counted by the database (grouped queries: a campus of 20,000 costs what a class
    does); the alerts read the week of only the students who could have one. Nights computed live (not over,
    or not kept yet) are counted here."""
    nights = nights_between(night - timedelta(days=days - 1), night)
    with_curfew = curfew_nights(nights[0], night)
    kept = readable_nights(with_curfew)
    live = {day: _live_report(day, scope) for day in with_curfew if day not in kept}
    ids = _students_of(scope)
    theirs = _joined_rows_of(ids)

    counts = {day: dict.fromkeys(Status, 0) for day in nights}
    if kept:
        for day, status, n in db.session.execute(
                sa.select(NightStatus.night, NightStatus.status, sa.func.count())
                .where(NightStatus.night.in_(sorted(kept)), *theirs[:1])
                .group_by(NightStatus.night, NightStatus.status)):
            counts[day][Status(status)] = n
    for day, rows in live.items():
        counts[day] = status_totals(rows)

    groups = {key: defaultdict(lambda: defaultdict(int)) for key in ("class_name", "college", "building")}
    if night in kept:
        for class_name, college, building, status, n in db.session.execute(
                sa.select(Student.class_name, Student.college, NightStatus.building, NightStatus.status,
                          sa.func.count())
                .join(Student, Student.id == NightStatus.student_id)
                .where(NightStatus.night == night, *theirs)
                .group_by(Student.class_name, Student.college, NightStatus.building, NightStatus.status)):
            for key, group in (("class_name", class_name), ("college", college), ("building", building)):
                groups[key][group][Status(status)] += n
    else:
        for row in live.get(night, []):
            for key in groups:
                groups[key][getattr(row, key)][row.status] += 1
    by_class, by_college, by_building = (
        [Summary(group, dict(by_status)) for group, by_status in sorted(groups[key].items())]
        for key in ("class_name", "college", "building"))

    feeds, feeds_kept = _feed_health(night, {s.group: s.total > 0 for s in by_building}) if by_building \
        else ([], True)
    return NightOverview(night, night in with_curfew, counts[night], list(counts.items()), by_class, by_college,
                         by_building, _week_alerts(nights, kept, live, theirs), feed_warnings(feeds),
                         night in kept, not live and feeds_kept)


def _week_alerts(nights: list[date], kept: set[date], live: dict[date, list[ReportRow]], theirs: tuple) -> list[Alert]:
    """The alerts on the last of ``nights``. Only a student absent that night, or late on more nights of the week
    than the alert allows, can have one: their week is read, not everyone's."""
    night = nights[-1]
    if live:  # some nights computed live: the whole week, as alerts() reads it
        where = ()
    else:
        absent = [status.value for status in Status if status.is_absent]
        often_late = (sa.select(NightStatus.student_id)
                      .where(NightStatus.night.in_(sorted(kept)), NightStatus.status == Status.LATE.value)
                      .group_by(NightStatus.student_id)
                      .having(sa.func.count() > int(current_app.config.get("CURFEW_ALERT_LATE_NIGHTS", 3))))
        absent_now = sa.select(NightStatus.student_id).where(NightStatus.night == night,
                                                            NightStatus.status.in_(absent))
        where = (NightStatus.student_id.in_(sa.union(often_late, absent_now)),)
    found: dict[date, list[ReportRow]] = {day: [] for day in nights}
    for day, row in _kept_rows(kept, None, *theirs, *where) if night in kept or live else ():
        found[day].append(row)
    found.update(live)
    return alerts(list(found.items()))


def night_rows(overview: NightOverview, scope: sa.ColumnElement[bool] | None, order: list[Status],
               status: Status | None, page: int, per_page: int) -> list[ReportRow]:
    """Page ``page`` of the night's rows, ``status``'s only or all of them, by ``order`` of their statuses, then
    class and student number. A rolled-up night reads only the statuses that fall on the page."""
    wanted = [status] if status else order
    start = (page - 1) * per_page
    if not overview.night_kept:
        rank = {s: index for index, s in enumerate(order)}
        rows = sorted((row for row in (_live_report(overview.night, scope) if overview.has_curfew else [])
                       if row.status in wanted),
                      key=lambda row: (rank[row.status], row.class_name, row.student_number))
        return rows[start:start + per_page]
    on_page, skip, position = [], 0, 0
    for s in wanted:  # the statuses' rows follow each other in ``order``: the totals say which fall on the page
        n = overview.totals.get(s, 0)
        if n and position + n > start and position < start + per_page:
            if not on_page:
                skip = max(start - position, 0)
            on_page.append(s)
        position += n
    if not on_page:
        return []
    rank = sa.case({s.value: index for index, s in enumerate(order)}, value=NightStatus.status)
    result = db.session.execute(
        sa.select(*_KEPT_COLUMNS[1:]).join(Student, Student.id == NightStatus.student_id)
        .where(NightStatus.night == overview.night, NightStatus.status.in_([s.value for s in on_page]),
               *_joined_rows_of(_students_of(scope)))
        .order_by(rank, Student.class_name, Student.student_number).offset(skip).limit(per_page))
    return [ReportRow(student_id, number, name, class_name, college, building, Status(status), at, last_seen,
                      last_door)
            for student_id, number, name, class_name, college, building, status, at, last_seen, last_door in result]


def rolled_up(first: date, last: date) -> set[date]:
    """The nights from ``first`` to ``last`` whose statuses are kept (reports read those, not the events)."""
    return _with_rows(nights_between(first, last))


def counts_over(first: date, last: date, scope: sa.ColumnElement[bool] | None = None) -> dict[date, dict[Status, int]]:
    """How many students had each status, night by night: one grouped query over the rolled-up nights,
    and the live report for nights not rolled up yet."""
    counts: dict[date, dict[Status, int]] = defaultdict(lambda: defaultdict(int))
    nights = curfew_nights(first, last)
    rolled = db.session.execute(
        sa.select(NightStatus.night, NightStatus.status, sa.func.count())
        .join(Student, Student.id == NightStatus.student_id)
        .where(NightStatus.night.in_(nights), sa.true() if scope is None else scope)
        .group_by(NightStatus.night, NightStatus.status))
    for night, status, n in rolled:
        counts[night][Status(status)] = n
    rolled_nights = rolled_up(first, last)
    for night in nights:
        if night not in rolled_nights:
            for row in night_report(night, scope, live=True):
                counts[night][row.status] += 1
    return {night: dict(by_status) for night, by_status in sorted(counts.items())}


@dataclass
class StudentTally:
    student_id: int
    student_number: str
    name: str
    class_name: str
    college: str
    counts: dict[Status, int]

    @property
    def nights(self) -> int:
        """Nights with a status; nights without door data are counted apart (``no_data``)."""
        return sum(n for s, n in self.counts.items() if s != Status.NO_DATA)

    @property
    def no_data(self) -> int:
        return self.counts.get(Status.NO_DATA, 0)

    @property
    def late(self) -> int:
        return self.counts.get(Status.LATE, 0)

    @property
    def absent(self) -> int:
        return sum(n for s, n in self.counts.items() if s.is_absent)

    @property
    def excused(self) -> int:
        return sum(self.counts.get(s, 0) for s in (Status.EXCUSED, Status.EXCUSED_LATE))


def tally(first: date, last: date, scope: sa.ColumnElement[bool] | None = None) -> list[StudentTally]:
    """Each student's statuses counted over the nights from ``first`` to ``last``, the most absent first."""
    return range_report(first, last, scope).tallies


@dataclass
class RangeReport:
    tallies: list[StudentTally]
    feeds: list[Feed]  # the nights and buildings without door data, or with far less than usual


def range_report(first: date, last: date, scope: sa.ColumnElement[bool] | None = None) -> RangeReport:
    """Each student's statuses counted over the nights from ``first`` to ``last`` (the most absent first), and
    which buildings lacked door data on which nights, among the buildings of the students ``scope`` selects."""
    tallies: dict[int, StudentTally] = {}
    stated: dict[tuple[date, str], bool] = {}  # (night, building): whether any of its residents has a status

    def entry(student_id, number, name, class_name, college) -> StudentTally:
        if student_id not in tallies:
            tallies[student_id] = StudentTally(student_id, number, name, class_name, college, defaultdict(int))
        return tallies[student_id]

    def note(night: date, building: str, status: Status) -> None:
        stated[night, building] = stated.get((night, building), False) or status != Status.NO_DATA

    nights = curfew_nights(first, last)
    rolled = readable_nights(nights)
    for row in db.session.execute(
            sa.select(Student.id, Student.student_number, Student.name, Student.class_name, Student.college,
                      NightStatus.status, sa.func.count())
            .join(Student, Student.id == NightStatus.student_id)
            .where(NightStatus.night.in_(nights), sa.true() if scope is None else scope)
            .group_by(Student.id, Student.student_number, Student.name, Student.class_name, Student.college,
                      NightStatus.status)):
        entry(*row[:5]).counts[Status(row[5])] += row[6]
    for night, building, status in db.session.execute(
            sa.select(NightStatus.night, NightStatus.building, NightStatus.status).distinct()
            .join(Student, Student.id == NightStatus.student_id)
            .where(NightStatus.night.in_(nights), sa.true() if scope is None else scope)):
        note(night, building, Status(status))
    for night in nights:
        if night not in rolled:
            for r in night_report(night, scope, live=True):
                entry(r.student_id, r.student_number, r.name, r.class_name, r.college).counts[r.status] += 1
                note(night, r.building, r.status)
    options = feed_settings()
    looked_at = sorted({night - timedelta(days=k) for night in {n for n, _b in stated}
                        for k in range(options["history"] + 1)})
    counts = feed_counts(looked_at) if looked_at else {}
    feeds = [_assess(counts, night, building, options, has_status)
             for (night, building), has_status in sorted(stated.items())]
    return RangeReport(sorted(tallies.values(), key=lambda t: (-t.absent, -t.late, t.student_number)),
                       _with_devices(feed_warnings(feeds)))


# --- one student's door events on one night ---------------------------------------------------


@dataclass
class DoorEvent:
    """A door event as the student's night page shows it: what the door said, in the reader's language."""

    time: datetime  # local campus time
    building: str
    door: str
    direction: str
    granted: bool
    outcome: str  # "Opened", "Refused", or the panel's event ("Opened by fingerprint", "Unknown event code 77")
    verify: str  # how the person was verified, when the door said so


def night_events(student_id: int, night: date) -> list[DoorEvent]:
    """The student's events of night ``night`` (noon to the cutoff, any building), oldest first."""
    begins, ends = _window(night)
    zone, shown = campus_zone(), []
    for event in db.session.scalars(sa.select(AccessEvent).where(
            AccessEvent.student_id == student_id, AccessEvent.occurred_at >= begins, AccessEvent.occurred_at <= ends)
            .order_by(AccessEvent.occurred_at, AccessEvent.id)):
        extra = event.extra or {}
        # A panel's event code: other sources may have a column of that name meaning something else.
        code = extra.get("event") if event.event_id.startswith("zk:") else None
        if code is None:
            outcome = _("Opened") if event.granted else _("Refused")
        elif codes.event_kind(code) == codes.Kind.UNKNOWN:
            outcome = _("Unknown event code %(code)s: not counted as passing", code=code)
        else:
            outcome = codes.event_label(code)
        shown.append(DoorEvent(event.occurred_at.astimezone(zone).replace(tzinfo=None), event.building, event.door,
                               event.direction, event.granted, outcome,
                               codes.verify_label(str(extra.get("verify") or ""))))
    return shown


NONE = _l("none")  # an alert list without anyone on it, in the reader's language


def curfew_alerts(night: date) -> int:
    """Tell each counselor the morning's alerts about their students (absent N nights running, often late).

    The scheduler calls it once the night is over (after CURFEW_CUTOFF); flushes only. Returns how many
    counselors were told; a counselor without an alert is told nothing.
    """
    found = alerts(week(night))
    if not found:
        return 0
    scopes: dict[int, list[CounselorScope]] = defaultdict(list)
    for scope in db.session.scalars(sa.select(CounselorScope).join(User, CounselorScope.user_id == User.id)
                                    .where(User.active, User.role == Role.COUNSELOR)):
        scopes[scope.user_id].append(scope)
    counselors = {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(scopes)))}
    told = []
    for user_id, theirs in scopes.items():
        classes = {s.class_name for s in theirs if s.class_name}
        colleges = {s.college for s in theirs if s.college}
        mine = [a for a in found if a.row.class_name in classes or a.row.college in colleges]
        if not mine:
            continue

        def listed(kind: str) -> object:
            names = [f"{a.row.student_number} {a.row.name} ({a.nights})" for a in mine if a.kind == kind]
            return ", ".join(names) if names else NONE

        told.append(([counselors[user_id]], "curfew_alert",
                     {"night": night.isoformat(), "absent": listed("not_seen"), "late": listed("often_late")}))
    notify_each(told)
    return len(told)
