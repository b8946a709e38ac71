"""Taking in door events, cards and permissions: all of a file or batch, or none of it, and never twice.

Bad input is refused whole with an error per row and column; storing the same event again does
nothing (the source's event id is unique); events of unknown cards are kept unmatched and matched
when their card is imported.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ..core.clock import campus_zone, utcnow
from ..core.database import UNSTORABLE_TEXT, is_postgresql, note_bulk_write
from ..core.forms import EARLIEST_DATE, date_range_message, in_date_range
from ..core.tables import TableError, decode_text
from ..extensions import db
from ..students.models import Student
from . import cards as card_numbers
from .models import AccessEvent, Card, Permission, PermissionKind, PermissionStatus
from .rollup import invalidate, nights_touched

BATCH = 5_000
MAX_ERRORS = 200  # a file this broken needs fixing at the source; more would only be noise
MAX_BATCH = 10_000  # events in one API call
EVENT_COLUMNS = ("event_id", "card", "building", "door", "time", "direction", "result")
REQUIRED_EVENT_COLUMNS = ("event_id", "card", "building", "time")
DIRECTIONS = {"in": "in", "out": "out", "unknown": "unknown", "": "unknown", "进": "in", "出": "out"}
RESULTS = {"granted": True, "": True, "denied": False}
EVENT_ID_LENGTH = AccessEvent.__table__.c.event_id.type.length  # the source's prefix included
LENGTHS = {name: AccessEvent.__table__.c[name].type.length for name in ("building", "door")}
# A door event happens after 2000 and no later than a day from now (a clock a little ahead): any other
# time is a wrong clock or a typo, and years like 0001 or 9999 cannot even be placed in UTC.
EARLIEST_EVENT = datetime.combine(EARLIEST_DATE, time(), UTC) - timedelta(hours=14)  # 2000-01-01 in every zone
CLOCK_SLACK = timedelta(days=1)

# Column maps: our field -> the file's column. "generic" is the event CSV of docs/curfew.md.
PRESETS = {
    "generic": {name: name for name in EVENT_COLUMNS},
}


@dataclass
class RowError:
    row: int  # 1 = the first line after the header (0: the file as a whole)
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}" if self.row else f"{self.column}: {self.message}"


class Rejected(Exception):
    """Nothing was stored; ``errors`` says why, row by row."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(map(str, errors[:5])))
        self.errors = errors


@dataclass
class Report:
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0  # stored events whose card nobody has yet
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    matched: int = 0  # earlier unmatched events matched to a student by new cards
    extra: dict = field(default_factory=dict)


# --- events ----------------------------------------------------------------------------------


class IncomingEvent(NamedTuple):
    """A validated door event on its way into ``access_events``."""

    event_id: str
    card: str
    building: str
    door: str
    occurred_at: datetime
    direction: str
    granted: bool
    extra: dict | None = None
    pin: str | None = None  # the PIN a card swipe also carries


def parse_time(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 with or without an offset (without: campus time), as an aware datetime."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def parse_event(values: tuple[str, ...], extra: dict | None, number: int, zone: ZoneInfo,
                errors: list[RowError], source: str) -> IncomingEvent | None:
    """One event from its EVENT_COLUMNS values (text), or None with its problems appended to ``errors``.

    Its id is kept as ``source:id``: two systems may number alike."""
    event_id, card, building, door, when, direction, result = (v.strip() for v in values)
    before = len(errors)
    for name, value in (("event_id", event_id), ("card", card), ("building", building), ("time", when)):
        if not value:
            errors.append(RowError(number, name, "missing"))
    for name, value in (*zip(EVENT_COLUMNS, values), *(extra or {}).items()):
        if UNSTORABLE_TEXT.search(name + value):
            errors.append(RowError(number, UNSTORABLE_TEXT.sub("?", name),
                                   "contains a NUL character or a lone surrogate"))
    if len(errors) > before:
        return None
    if len(building) > 32 or len(door) > 64:
        errors.append(RowError(number, "building" if len(building) > 32 else "door", "too long"))
    try:
        # The common case first: a plain decimal card number costs no more than this.
        card = (card.lstrip("0") or "0") if card.isascii() and card.isdigit() and len(card) <= 32 \
            else card_numbers.normalise(card)
    except ValueError as error:
        errors.append(RowError(number, "card", str(error)))
    try:
        moment = datetime.fromisoformat(when)
        occurred_at = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    except ValueError:
        errors.append(RowError(number, "time", f"{when!r} is not an ISO 8601 time"))
    if (direction := DIRECTIONS.get(direction.lower())) is None:
        errors.append(RowError(number, "direction", f"{values[5].strip()!r} is not in, out or unknown"))
    if (granted := RESULTS.get(result.lower())) is None:
        errors.append(RowError(number, "result", f"{values[6].strip()!r} is not granted or denied"))
    if len(errors) > before:
        return None
    return storable(IncomingEvent(f"{source}:{event_id}", card, building, door, occurred_at, direction, granted,
                                  extra or None), number, errors, prefix=f"{source}:")


def storable(event: IncomingEvent, number: int, errors: list[RowError], prefix: str = "") -> IncomingEvent | None:
    """The event if the database can hold it, else None with why appended to ``errors``.

    ``prefix`` is what was put before the source's own event id (``api3:``): the id has the room it leaves."""
    before = len(errors)
    if len(event.event_id) > EVENT_ID_LENGTH:
        errors.append(RowError(number, "event_id", f"longer than {EVENT_ID_LENGTH - len(prefix)} characters"))
    if not EARLIEST_EVENT <= event.occurred_at <= utcnow() + CLOCK_SLACK:
        errors.append(RowError(number, "time", "not between 2000-01-01 and tomorrow (is a clock wrong?)"))
    for name, value in (("building", event.building), ("door", event.door)):
        if len(value) > LENGTHS[name]:
            errors.append(RowError(number, name, f"{value[:40]!r}… is longer than {LENGTHS[name]} characters"))
    return event if len(errors) == before else None


def event_from_row(row: dict, number: int, zone: ZoneInfo, errors: list[RowError],
                   source: str) -> IncomingEvent | None:
    """An event from a mapping of our column names (the JSON API); other keys are kept as extra."""
    values = tuple(row.get(name) or "" for name in EVENT_COLUMNS)
    extra = {k: v for k, v in row.items() if k not in EVENT_COLUMNS and k is not None}
    return parse_event(values, extra, number, zone, errors, source)


def store_events(events: Iterable[IncomingEvent], report: Report) -> None:
    """Store events; the same event_id again is skipped, and cards are matched to their students.

    ``events`` may be a generator, but it must not query the database (on PostgreSQL it is consumed
    while the connection is busy copying)."""
    seen: list[datetime] = []  # the earliest and latest event: the nights they can change

    def tracked():
        for event in events:
            if not seen:
                seen.extend((event.occurred_at, event.occurred_at))
            elif event.occurred_at < seen[0]:
                seen[0] = event.occurred_at
            elif event.occurred_at > seen[1]:
                seen[1] = event.occurred_at
            yield event

    stored_before = report.stored
    if is_postgresql():
        _copy_events(tracked(), report)
    else:
        _insert_events(tracked(), report)
    note_bulk_write(AccessEvent.__tablename__, report.stored - stored_before)
    if seen and report.stored:
        invalidate(*nights_touched(*seen), events=True)


# Copied into a temporary table, then moved with one INSERT that matches cards and skips event ids
# already stored (or twice in the batch): ten times the speed of row-by-row inserts.
_STAGING = ("CREATE TEMP TABLE IF NOT EXISTS incoming_events (event_id text, card text, building text, "
            "door text, occurred_at timestamptz, direction text, granted boolean, extra json, pin text) "
            "ON COMMIT DELETE ROWS")
_MOVE = """
WITH stored AS (
    INSERT INTO access_events (event_id, card, pin, student_id, building, door, occurred_at, direction, granted,
                               extra)
    SELECT i.event_id, i.card, i.pin, coalesce(c.student_id, p.student_id), i.building, i.door, i.occurred_at,
           i.direction, i.granted, i.extra
    FROM incoming_events i
    LEFT JOIN access_cards c ON upper(c.number) = upper(i.card)
    LEFT JOIN access_cards p ON upper(p.number) = upper(i.pin)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING student_id)
SELECT count(*), count(*) FILTER (WHERE student_id IS NULL) FROM stored
"""


def _copy_events(events: Iterable[IncomingEvent], report: Report) -> None:
    raw = db.session.connection().connection.driver_connection  # psycopg, in the session's transaction
    received = 0
    with raw.cursor() as cursor:
        cursor.execute(_STAGING)
        cursor.execute("TRUNCATE incoming_events")
        with cursor.copy("COPY incoming_events FROM STDIN") as copy:
            for event in events:
                copy.write_row(event if event.extra is None else event._replace(extra=json.dumps(event.extra)))
                received += 1
        cursor.execute(_MOVE)
        stored, unmatched = cursor.fetchone()
        cursor.execute("TRUNCATE incoming_events")
    report.stored += stored
    report.unmatched += unmatched
    report.duplicates += received - stored


def _insert_events(events: Iterable[IncomingEvent], report: Report) -> None:
    """SQLite: batches of multi-row INSERTs with RETURNING, cards matched from a dictionary."""
    owners = {card_numbers.key(number): student_id
              for number, student_id in db.session.execute(sa.select(Card.number, Card.student_id))}
    statement = sqlite.insert(AccessEvent.__table__).on_conflict_do_nothing(index_elements=["event_id"]).returning(
        AccessEvent.__table__.c.student_id)
    batch: list[dict] = []

    def flush():
        if batch:
            stored = db.session.execute(statement, batch).all()
            report.stored += len(stored)
            report.unmatched += sum(1 for (student_id,) in stored if student_id is None)
            report.duplicates += len(batch) - len(stored)
            batch.clear()

    for event in events:
        owner = owners.get(card_numbers.key(event.card))
        if owner is None and event.pin:
            owner = owners.get(card_numbers.key(event.pin))
        batch.append({**event._asdict(), "student_id": owner})
        if len(batch) >= BATCH:
            flush()
    flush()


def read_csv(data: bytes) -> tuple[list[str], Iterator[dict]]:
    text = _decode(data)
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames:
        reader.fieldnames = [h.strip() for h in reader.fieldnames]  # "card, student_number" is fine
    return list(reader.fieldnames or []), reader


def _decode(data: bytes) -> str:
    """The file as text, read as every upload is (tables.decode_text); unreadable, it is refused as a whole."""
    try:
        text, _encoding = decode_text(data)
    except TableError as error:
        raise Rejected([RowError(0, "file", str(error))]) from None
    return text


def import_events(data: bytes, *, columns: dict[str, str] | None = None, source: str = "file") -> Report:
    """A CSV of door events: the generic format of docs/curfew.md, or any layout with ``columns`` mapping our
    names to the file's (ZKTeco's exports have their own reader: zkteco/files.py).

    Event ids are the source system's, kept as ``source:id``: two systems may number alike."""
    text = _decode(data)
    columns = columns or PRESETS["generic"]
    rows = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(rows, [])]
    missing = [ours for ours in REQUIRED_EVENT_COLUMNS if columns.get(ours) not in header]
    if missing:
        raise Rejected([RowError(0, "header", f"no column {columns.get(m, m)!r} (for {m})") for m in missing])
    # Where each of our columns is in the file (-1: absent, read as empty), and the other columns.
    positions = [header.index(columns[ours]) if columns.get(ours) in header else -1 for ours in EVENT_COLUMNS]
    extras = [(i, name) for i, name in enumerate(header) if i not in positions]
    zone, errors, report = campus_zone(), [], Report()
    width = len(header)

    def events():
        for number, row in enumerate(rows, start=1):
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            report.rows += 1
            if len(row) < width:
                row = list(row) + [""] * (width - len(row))
            values = tuple(row[i] if i >= 0 else "" for i in positions)
            extra = {name: row[i] for i, name in extras if row[i]} if extras else None
            if len(row) > width:  # cells beyond the header are kept too
                extra = {**(extra or {}), **{f"column_{i + 1}": cell for i, cell in enumerate(row[width:], width)
                                             if cell}}
            event = parse_event(values, extra, number, zone, errors, source)
            if len(errors) >= MAX_ERRORS:
                raise Rejected(errors)
            if event is not None and not errors:
                yield event

    # Errors stop the storing but not the reading, so that every problem is listed; the caller's
    # transaction then rolls back whatever was stored before the first error.
    store_events(events(), report)
    if errors:
        raise Rejected(errors)
    return report


def import_event_batch(items: list, source: str) -> Report:
    """A JSON batch from an access-control integration: objects with the generic CSV's columns (docs/curfew.md).

    Event ids are kept as ``source:id`` (the integration's token by default): two systems may number
    alike. A system that also sends CSV exports can name the same source for both."""
    if not isinstance(items, list) or not items:
        raise Rejected([RowError(0, "events", "a non-empty list of events is required")])
    if len(items) > MAX_BATCH:
        raise Rejected([RowError(0, "events", f"at most {MAX_BATCH} events per request")])
    zone, errors, events = campus_zone(), [], []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(RowError(number, "event", "not an object"))
            continue
        row = {k: "" if v is None else str(v) for k, v in item.items()}
        event = event_from_row(row, number, zone, errors, source)
        if event is not None:
            events.append(event)
    if errors:
        raise Rejected(errors)
    report = Report(rows=len(items))
    store_events(events, report)
    return report


# --- cards -----------------------------------------------------------------------------------


# The card list's columns and the headers each may have (English or Chinese, any case): a row names a card, a
# PIN (the personnel number a face, fingerprint or password entry carries), or both.
CARD_COLUMNS = {"card": ["card", "卡号"], "pin": ["pin", "人员编号", "工号"],
                "student_number": ["student_number", "学号"]}


def import_cards(data: bytes) -> Report:
    """``card,pin,student_number`` (or ``卡号,人员编号,学号``; either identifier may be left out): who holds which
    card and PIN. Earlier unmatched events of these identifiers are matched."""
    header, reader = read_csv(data)
    aliases = {alias.lower(): name for name, names in CARD_COLUMNS.items() for alias in names}
    header = reader.fieldnames = [aliases.get(h.lower(), h) for h in header]
    missing = ["student_number"] if "student_number" not in header else []
    if "card" not in header and "pin" not in header:
        missing.insert(0, "card")
    if missing:
        raise Rejected([RowError(0, "header", f"no column {c!r}") for c in missing])
    students = dict(db.session.execute(sa.select(Student.student_number, Student.id)).all())
    errors, wanted, pins, report = [], {}, set(), Report()
    holders: dict[str, tuple[str, int]] = {}  # cards.key -> (the identifier as first written, student id)
    for number, row in enumerate(reader, start=1):
        report.rows += 1
        student_number = (row.get("student_number") or "").strip()
        found = []
        for column in ("card", "pin"):
            if not (raw := (row.get(column) or "").strip()):
                continue
            try:
                found.append((column, card_numbers.normalise(raw)))
            except ValueError as error:
                errors.append(RowError(number, column, str(error)))
        if not found and not any(e.row == number for e in errors):
            errors.append(RowError(number, "card", "missing: a row needs a card or a PIN"))
        if student_number not in students:
            errors.append(RowError(number, "student_number", f"no student {student_number!r}"))
            continue
        for column, identifier in found:
            written, holder = holders.setdefault(card_numbers.key(identifier), (identifier, students[student_number]))
            if holder != students[student_number]:
                errors.append(RowError(number, column, f"{identifier} is listed for two students"))
                continue
            wanted[written] = holder
            if column == "pin":
                pins.add(written)
    if errors:
        raise Rejected(errors)
    handed = card_numbers.hand_over(wanted, pins=pins, match_all=True)
    report.created, report.updated, report.unchanged, report.matched = \
        handed.created, handed.handed_on, handed.unchanged, handed.matched
    return report


# --- permissions -----------------------------------------------------------------------------

PERMISSION_COLUMNS = ("student_number", "kind", "first_night", "last_night", "expected_return", "status")


def import_permissions(data: bytes) -> Report:
    """Approvals kept in an older system (the format in docs/curfew.md); re-importing updates."""
    header, reader = read_csv(data)
    missing = [c for c in PERMISSION_COLUMNS if c not in header and c != "expected_return"]
    if missing:
        raise Rejected([RowError(0, "header", f"no column {c!r}") for c in missing])
    students = dict(db.session.execute(sa.select(Student.student_number, Student.id)).all())
    errors, rows, report = [], {}, Report()
    for number, row in enumerate(reader, start=1):
        report.rows += 1
        values = _permission(row, number, students, errors)
        if values is not None:
            rows[(values["student_id"], values["kind"], values["first_night"], values["last_night"])] = values
    if errors:
        raise Rejected(errors)
    existing = {(p.student_id, p.kind, p.first_night, p.last_night): p
                for p in db.session.scalars(sa.select(Permission).where(
                    Permission.student_id.in_({key[0] for key in rows})))} if rows else {}

    for key, values in rows.items():
        permission = existing.get(key)
        if permission is None:
            db.session.add(Permission(**values))
            report.created += 1
        elif (permission.status, permission.expected_return) != (values["status"], values["expected_return"]):
            permission.status, permission.expected_return = values["status"], values["expected_return"]
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        invalidate(values["first_night"], values["last_night"])
    db.session.flush()
    return report


def _permission(row: dict, number: int, students: dict, errors: list[RowError]) -> dict | None:
    before = len(errors)
    student_number = (row.get("student_number") or "").strip()
    if student_number not in students:
        errors.append(RowError(number, "student_number", f"no student {student_number!r}"))
    kind = (row.get("kind") or "").strip().lower()
    if kind not in {k.value for k in PermissionKind}:
        errors.append(RowError(number, "kind", f"{kind!r} is not late or overnight"))
    status = (row.get("status") or "").strip().lower()
    if status not in {s.value for s in PermissionStatus}:
        errors.append(RowError(number, "status", f"{status!r} is not approved, pending or rejected"))
    nights = []
    for column in ("first_night", "last_night"):
        try:
            night = date.fromisoformat((row.get(column) or "").strip())
        except ValueError:
            errors.append(RowError(number, column, f"{row.get(column)!r} is not a date (YYYY-MM-DD)"))
            continue
        if in_date_range(night):
            nights.append(night)
        else:
            errors.append(RowError(number, column, date_range_message()))
    if len(nights) == 2 and nights[1] < nights[0]:
        errors.append(RowError(number, "last_night", "before first_night"))
    expected = None
    if (raw := (row.get("expected_return") or "").strip()):
        try:
            expected = time.fromisoformat(raw)
        except ValueError:
            errors.append(RowError(number, "expected_return", f"{raw!r} is not a time (HH:MM)"))
    elif kind == "late":
        errors.append(RowError(number, "expected_return", "a late return needs its expected time"))
    if len(errors) > before:
        return None
    return {"student_id": students[student_number], "kind": PermissionKind(kind), "first_night": nights[0],
            "last_night": nights[1], "expected_return": expected, "status": PermissionStatus(status)}
