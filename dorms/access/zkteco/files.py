"""The files ZKTeco terminals and software export, read as door events (``dorms access import --preset zkteco``).

Layouts (LAYOUTS, in the order they are recognised):

- a terminal's USB download ``1_attlog.dat``: no header, tab-separated, the PIN right-aligned with spaces, then
  ``YYYY-MM-DD HH:MM:SS``, machine number, state, verify and work code. It names no building and no time zone:
  they come from the registered device (``device``) or are given (``building``, ``timezone``);
- ZKBio Time / BioTime transactions (``Employee ID``, ``Date``, ``Time``, ``Punch State``, ``Verification
  Method``, ``Device SN``…), often under a title row;
- ZKTime 5.0 in English (``AC-No.``/``No.``, ``Name``, ``Time`` or ``Date/Time``, ``State``/``Status`` with
  ``C/In``, ``C/Out``…) and in Chinese (``考勤号码``, ``姓名``, ``日期时间`` or ``日期`` and ``时间``…);
- the transactions layout read since the first release (``Personnel ID``, ``Card No``, ``Punch Time``…).

CSV (comma or tab, UTF-8 or GB18030) or .xlsx. Dates may be year-first, day-first or month-first: the file's own
dates tell which (a 17 in the first place is a day), and a file that cannot tell is refused until the order is
given. Times are the wall clock of the device's (or the given) time zone.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from ...campus.codes import find_building
from ...core.clock import campus_zone
from ...core.tables import TableError, read_rows
from ...extensions import db
from .. import cards as card_numbers
from .. import ingest
from ..ingest import IncomingEvent, Rejected, Report, RowError
from ..models import AccessDevice

MAX_ROWS = 1_000_000  # a terminal keeps at most a few hundred thousand punches
HEADER_SEARCH = 10  # rows a title may take above the header
# Excel 97-2003 in its container, or an older BIFF stream on its own (ZKTime's own .xls exports).
OLE_CONTAINER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BIFF_STREAMS = (b"\x09\x00", b"\x09\x02", b"\x09\x04", b"\x09\x08")

# Our field -> the headers that hold it (compared without case, spaces or dots).
COLUMNS = {
    "pin": ("Employee ID", "Personnel ID", "Person ID", "AC-No.", "No.", "User ID", "人员编号", "考勤号码", "工号",
            "登记号码"),
    "card": ("Card No.", "Card No", "CardNo", "Card Number", "卡号"),
    "datetime": ("Date Time", "Date/Time", "Punch Time", "Time", "Check Time", "日期时间", "打卡时间", "考勤时间"),
    "date": ("Date", "日期", "刷卡日期"),
    "time": ("Time", "时间", "刷卡时间"),
    "state": ("Punch State", "State", "Status", "Check Type", "打卡状态", "状态", "上下班标志"),
    "verify": ("Verification Method", "Verify Type", "Verify Code", "VerifyCode", "Verify Mode", "比对方式",
               "验证方式", "签到方式"),
    "terminal": ("Device SN", "Terminal SN", "Serial Number", "设备序列号"),
    "alias": ("Device Name", "Terminal Alias", "设备名称"),
    "area": ("Area Name", "Area", "区域"),
}
# The time headers of the layout the first release read: its rows keep the ids it gave them.
FIRST_RELEASE_TIMES = {"punchtime", "datetime", "打卡时间"}
LAYOUTS = (
    "a terminal's attlog.dat (no header: PIN, date and time, machine, state, verify, work code)",
    "ZKBio Time / BioTime transactions (Employee ID, Date, Time, Punch State…)",
    "ZKTime 5.0 in English (AC-No. or No., Name, Time or Date/Time, State or Status…)",
    "ZKTime 5.0 in Chinese (考勤号码, 姓名, 日期时间, or 日期 and 时间…)",
    "ZKTeco transactions (Personnel ID, Card No, Punch Time, Punch State…)",
)
# Punch states as the software words them; the numbers are the terminal's (255: none chosen).
STATES = {"in": ("check in", "c/in", "in", "break in", "overtime in", "ot in", "0", "3", "4", "签到", "上班签到",
                 "加班签到", "外出返回", "上班", "进"),
          "out": ("check out", "c/out", "out", "break out", "overtime out", "ot out", "1", "2", "5", "签退", "下班签退",
                  "加班签退", "外出", "下班", "出")}
DIRECTIONS = {state: direction for direction, states in STATES.items() for state in states}
_ATTLOG_LINE = re.compile(r"^\s*[^\t]+\t(?:[^\t]*\t)?\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}\b")
_DATE_TIME = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}\s*$")
_MIDNIGHT = re.compile(r"(?<=\d) 00:00:00$")
_SEPARATED_DATE = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm]|上午|下午)?$")


@dataclass
class Place:
    """Where a file's punches happened when its rows do not say: the building, door and clock of a terminal."""

    building: str
    door: str
    zone: ZoneInfo
    terminal: str = ""


def place(*, device: str | None = None, building: str | None = None, timezone: str | None = None) -> Place | None:
    """The registered device's place, or the building given (in the campus's time zone unless one is given)."""
    if device:
        found = db.session.scalar(sa.select(AccessDevice).where(AccessDevice.serial_number == device.strip()))
        if found is None:
            raise Rejected([RowError(0, "device", f"no registered device {device!r} (dorms access device list)")])
        return Place(found.building, found.door, _zone(found.timezone, "device"), found.serial_number)
    if building:
        found = find_building(building)
        if found is None:
            raise Rejected([RowError(0, "building", f"no building {building!r}")])
        return Place(found.code, "", _zone(timezone, "timezone") if timezone else campus_zone())
    return None


def _zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Rejected([RowError(0, field, f"{name!r} is not a time zone (for example Asia/Shanghai)")]) from None


def import_export(data: bytes, filename: str = "", *, where: Place | None = None, date_order: str | None = None,
                  skip_bad_rows: bool = False, source: str = "file") -> Report:
    """Store the punches of a ZKTeco export. All rows or none, unless ``skip_bad_rows``: then the good rows are
    stored and the bad ones listed in ``report.extra["skipped"]``. The same punch again is stored once."""
    rows = _rows(data, filename)
    errors: list[RowError] = []
    first = next((row for row in rows if any(cell.strip() for cell in row)), [""])
    if _ATTLOG_LINE.match("\t".join(first)):
        if where is None:
            raise Rejected([RowError(0, "file", "an attlog.dat names no building: give the device it comes from "
                                                "(--device SERIAL) or the building (--building CODE)")])
        events = _attlog_events(rows, where, source, errors)
    else:
        header_at, found, first_ids = _header(rows)
        events = _table_events(rows[header_at + 1:], found, first_ids, where, date_order, source, errors)
    if errors and (not skip_bad_rows or any(error.row == 0 for error in errors)
                   or all(event is None for event in events)):  # nothing left to store is no import
        raise Rejected(errors)
    report = Report(rows=len(events))
    ingest.store_events((event for event in events if event is not None), report)
    report.extra["skipped"] = errors
    return report


# --- reading the file ---------------------------------------------------------------------------


def _rows(data: bytes, filename: str) -> list[list[str]]:
    """The file's rows as text cells: an .xlsx workbook's first sheet, else CSV separated by tabs or commas."""
    if data[:8] == OLE_CONTAINER or data[:2] in BIFF_STREAMS:
        raise Rejected([RowError(0, "file", "an Excel 97-2003 .xls workbook: save it as .xlsx or CSV first")])
    workbook = data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    try:
        # A terminal pads damaged storage with NULs: they are nothing, not text.
        rows, _how = read_rows("export.xlsx" if workbook else "export.csv",
                               data if workbook else data.replace(b"\x00", b""), max_rows=MAX_ROWS)
    except TableError as error:
        raise Rejected([RowError(0, "file", str(error))]) from None
    return rows


def _squeezed(header: str) -> str:
    return re.sub(r"[\s.]", "", header).lower()


def _header(rows: list[list[str]]) -> tuple[int, dict[str, int], bool]:
    """Where the header is (a title may come first), which of our fields each column holds, and whether it is the
    layout read since the first release (whose event ids are kept)."""
    aliases = {field: {_squeezed(a) for a in names} for field, names in COLUMNS.items()}
    for at, row in enumerate(rows[:HEADER_SEARCH]):
        cells = [_squeezed(cell) for cell in row]
        found: dict[str, int] = {}
        for field, names in aliases.items():
            for index, cell in enumerate(cells):
                if cell in names and index not in found.values():
                    found[field] = index
                    break
        if "datetime" in found and "date" in found:  # Date and Time apart: "Time" holds the time, not both
            found["time"] = found.pop("datetime")
        when = "datetime" in found or ("date" in found and "time" in found)
        if when and ("pin" in found or "card" in found):
            return at, found, "datetime" in found and cells[found["datetime"]] in FIRST_RELEASE_TIMES
    known = "; ".join(LAYOUTS)
    raise Rejected([RowError(0, "header", f"not a ZKTeco layout this import knows. It reads: {known}. Other "
                                          "layouts can be imported with --columns")])


# --- turning rows into events -------------------------------------------------------------------


def _attlog_events(rows: list[list[str]], where: Place, source: str,
                   errors: list[RowError]) -> list[IncomingEvent | None]:
    events = []
    for number, row in enumerate(rows, start=1):
        if not any(cell.strip() for cell in row):
            continue
        # PIN, date and time, machine, state, verify, work code; some terminals write the name after the PIN.
        at = 2 if len(row) > 2 and not _DATE_TIME.match(row[1]) and _DATE_TIME.match(row[2]) else 1
        if len(row) < at + 3:
            errors.append(RowError(number, "line", "expected PIN, date and time, machine and state separated by tabs"))
            events.append(None)
            continue
        rest = row[at + 1:]
        events.append(_event(number, errors, where, source, pin=row[0], card="", when=lambda r=row, i=at: _iso(r[i]),
                             state=rest[1], verify=rest[2] if len(rest) > 2 else "", download=True))
    return events


def _table_events(rows: list[list[str]], found: dict[str, int], first_ids: bool, where: Place | None,
                  date_order: str | None, source: str, errors: list[RowError]) -> list[IncomingEvent | None]:
    def cell(row: list[str], field: str) -> str:
        index = found.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    def written(row):
        # A real date cell reads as midnight (2026-09-07 00:00:00): its date is what the Date column holds.
        return cell(row, "datetime") or f"{_MIDNIGHT.sub('', cell(row, 'date'))} {cell(row, 'time')}".strip()

    rows = [row for row in rows if any(c.strip() for c in row)]
    order = date_order or _date_order([written(row) for row in rows])
    if order is None:
        errors.append(RowError(0, "time", "the dates could be day-first or month-first (02/10/2025): say which "
                                          "with --date-order dmy or mdy"))
        return []
    devices = {d.serial_number: d for d in db.session.scalars(sa.select(AccessDevice))}
    seen: dict[str, int] = {}
    events = []
    for number, row in enumerate(rows, start=1):
        terminal = cell(row, "terminal")
        if (device := devices.get(terminal)) is not None:
            row_place = Place(device.building, device.door, _zone(device.timezone, "device"), terminal)
        elif where is not None:
            row_place = Place(where.building, where.door or cell(row, "alias"), where.zone, terminal or where.terminal)
        else:
            row_place = Place(cell(row, "area"), cell(row, "alias"), campus_zone(), terminal)
        event = _event(number, errors, row_place, source, pin=cell(row, "pin"), card=cell(row, "card"),
                       when=lambda r=row: _parse(written(r), order), state=cell(row, "state"),
                       verify=cell(row, "verify"), time_text=written(row) if first_ids else None)
        if event is not None:
            # Software keeps minutes only: the same person twice in a minute is two punches, numbered in file order.
            seen[event.event_id] = count = seen.get(event.event_id, 0) + 1
            event = event._replace(event_id=f"{event.event_id}#{count}") if count > 1 else event
        events.append(event)
    return events


def _event(number: int, errors: list[RowError], where: Place, source: str, *, pin: str, card: str,
           when: Callable[[], datetime], state: str, verify: str, time_text: str | None = None,
           download: bool = False) -> IncomingEvent | None:
    """A row's punch. Its id: a registered terminal's USB download gets the id the terminal's push gives the same
    punch (push.py); the layout read since the first release keeps its ids (the time as written); other rows are
    known by where (terminal, else the building), who and when."""
    before = len(errors)
    card = "" if card == "0" else card
    pin = "" if pin == "0" else pin
    if not where.building:
        errors.append(RowError(number, "building", "no building: the device is not registered and no --building "
                                                   "was given"))
    identifiers = {}
    for column, value in (("card", card), ("pin", pin)):
        if value:
            try:
                identifiers[column] = card_numbers.identifier(value)
            except ValueError as error:
                errors.append(RowError(number, column, str(error)))
    if not identifiers and len(errors) == before:
        errors.append(RowError(number, "pin", "missing: a punch needs a PIN or a card"))
    try:
        moment = when()
    except ValueError as error:
        errors.append(RowError(number, "time", str(error)))
    if len(errors) > before:
        return None
    at = moment.replace(tzinfo=where.zone)
    who = identifiers.get("card") or identifiers["pin"]
    if download and where.terminal:
        event_id = f"zk:{where.terminal}:{who}:{at:%Y%m%d%H%M%S}"
    elif time_text is not None:
        event_id = f"{source}:zkx:{where.terminal}:{who}:{time_text}"
    else:
        event_id = f"{source}:zkx:{where.terminal or '@' + where.building}:{who}:{at:%Y%m%d%H%M%S}"
    extra = {key: value for key, value in (("verify", verify), ("state", state)) if value} or None
    also = identifiers.get("pin") if "card" in identifiers else None
    return ingest.storable(IncomingEvent(event_id, who, where.building, where.door, at,
                                         DIRECTIONS.get(state.lower(), "unknown"), True, extra, also), number, errors)


def _iso(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date and time (YYYY-MM-DD HH:MM:SS)") from None


def _date_order(texts: list[str]) -> str | None:
    """ymd, dmy or mdy: how the file writes its dates, told by its own dates; None when they cannot tell."""
    day_first = month_first = undecided = False
    for text in texts:
        match = _SEPARATED_DATE.match(text.split(" ")[0])
        if match is None or len(match.group(1)) == 4:
            continue
        undecided = True
        day_first |= int(match.group(1)) > 12
        month_first |= int(match.group(2)) > 12
    if day_first or month_first:  # both at once: no order fits; each impossible date is then named on its row
        return "mdy" if month_first and not day_first else "dmy"
    return None if undecided else "ymd"


def _parse(text: str, order: str) -> datetime:
    """``2026-06-17 08:01:05``, ``17-06-2026 08:01``, ``6/17/2026 8:01 AM``, ``2019/2/15 19:59:14``…"""
    date_text, _, clock = text.strip().partition(" ")
    match = _SEPARATED_DATE.match(date_text)
    clock_match = _CLOCK.match(clock.strip())
    if match is None or clock_match is None:
        raise ValueError(f"{text!r} is not a date and time")
    parts = [int(p) for p in match.groups()]
    if len(match.group(1)) == 4:
        year, month, day = parts
    elif order == "mdy":
        month, day, year = parts
    else:
        day, month, year = parts
    year += 2000 if year < 100 else 0
    hour, minute, second = int(clock_match.group(1)), int(clock_match.group(2)), int(clock_match.group(3) or 0)
    if (mark := (clock_match.group(4) or "").lower()) and hour <= 12:
        hour = hour % 12 + (12 if mark in ("pm", "下午") else 0)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time") from None
