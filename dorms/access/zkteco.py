"""The ZKTeco PUSH (ADMS) protocol that ZKTeco terminals and access panels speak to a server.

A registered device (by serial number) shakes hands with ``GET /iclock/cdata``, uploads attendance
lines (``table=ATTLOG``: PIN, local time, status…, tab-separated) and access-panel events
(``table=rtlog``: ``key=value`` pairs), and polls ``/iclock/getrequest`` for commands (we send none).
Devices send local wall-clock times: each device's registered time zone places them. The answer is
``OK`` only once the events are committed, so a device resends whatever failed; resent events are
stored once (their ids come from the device, its serial number and the event).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import Blueprint, Response, request

from ..core.clock import campus_zone, utcnow
from ..core.database import UNSTORABLE_TEXT
from ..extensions import csrf, db
from . import cards as card_numbers
from . import ingest
from .ingest import IncomingEvent, RowError
from .models import AccessDevice

bp = Blueprint("zkteco", __name__, url_prefix="/iclock")
csrf.exempt(bp)

# Punch states: 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 overtime-in, 5 overtime-out.
ATTLOG_DIRECTIONS = {"0": "in", "1": "out", "2": "out", "3": "in", "4": "in", "5": "out"}
RTLOG_DIRECTIONS = {"0": "in", "1": "out"}  # inoutstatus
GRANTED_EVENTS = {"0", "1"}  # normal verify open; verify open during a normal-open period


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _device() -> AccessDevice | None:
    """The registered device asking, if it asks from its registered network (a serial number is printed on
    the terminal: on its own it proves nothing)."""
    serial = (request.args.get("SN") or "").strip()
    device = db.session.scalar(sa.select(AccessDevice).where(AccessDevice.serial_number == serial)) if serial else None
    if device is None or not device.active or not device.allows(request.remote_addr):
        return None
    return device


@bp.get("/cdata")
def handshake():
    device = _device()
    if device is None:
        return _text("unknown device: register its serial number first", 403)
    device.last_seen_at = utcnow()
    db.session.commit()
    return _text("\n".join([
        f"GET OPTION FROM: {device.serial_number}", "ATTLOGStamp=None", "OPERLOGStamp=9999",
        "ATTPHOTOStamp=None", "ErrorDelay=30", "Delay=10", "TransTimes=00:00;14:05", "TransInterval=1",
        "TransFlag=TransData AttLog", "Realtime=1", "Encrypt=None", ""]))


@bp.post("/cdata")
def upload():
    device = _device()
    if device is None:
        return _text("unknown device: register its serial number first", 403)
    table = (request.args.get("table") or "").upper()
    lines = [line for line in request.get_data(as_text=True).splitlines() if line.strip()]
    try:
        zone = ZoneInfo(device.timezone)
    except ZoneInfoNotFoundError:
        zone = campus_zone()
    parsers = {"ATTLOG": _attlog, "RTLOG": _rtlog}
    if table not in parsers:  # user lists, photos, operation logs: nothing for us; taking them keeps the queue moving
        return _text(f"OK: {len(lines)}")
    errors: list[RowError] = []
    parse = parsers[table]
    events = [e for n, line in enumerate(lines, start=1) if (e := _event(parse, device, zone, n, line, errors))]
    # A device resends what was not acknowledged: refusing a line it cannot change would stop its
    # queue for good. Its good lines are stored; the bad ones are shown on the device for staff.
    ingest.store_events(events, ingest.Report(rows=len(lines)))
    device.last_seen_at = utcnow()
    device.last_error = "; ".join(f"{e}: {lines[e.row - 1][:80]!r}" for e in errors[:3])[:500] if errors else None
    db.session.commit()
    return _text(f"OK: {len(lines)}")


@bp.get("/getrequest")
def poll():
    device = _device()
    if device is None:
        return _text("unknown device", 403)
    device.last_seen_at = utcnow()
    db.session.commit()
    return _text("OK")


@bp.post("/devicecmd")
def command_result():
    return _text("OK") if _device() is not None else _text("unknown device", 403)


def _event(parse, device: AccessDevice, zone: ZoneInfo, number: int, line: str,
           errors: list) -> IncomingEvent | None:
    """The line's event if it has one the database can hold, else None (with why in ``errors`` if it is bad)."""
    if UNSTORABLE_TEXT.search(line):
        errors.append(RowError(number, "line", "contains a NUL character"))
        return None
    event = parse(device, zone, number, line, errors)
    return ingest.storable(event, number, errors) if event is not None else None


def _local(text: str, zone: ZoneInfo) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)


def _attlog(device: AccessDevice, zone: ZoneInfo, number: int, line: str, errors: list) -> IncomingEvent | None:
    """``PIN\\tYYYY-MM-DD HH:MM:SS\\tstatus\\tverify\\t…``: the PIN is the card number enrolled on the terminal."""
    fields = line.split("\t")
    if len(fields) < 3:
        errors.append(RowError(number, "line", "expected PIN, time and status separated by tabs"))
        return None
    try:
        card, at = card_numbers.normalise(fields[0]), _local(fields[1], zone)
    except ValueError as error:
        errors.append(RowError(number, "line", str(error)))
        return None
    return IncomingEvent(f"zk:{device.serial_number}:{card}:{at:%Y%m%d%H%M%S}", card, device.building, device.door,
                         at, ATTLOG_DIRECTIONS.get(fields[2].strip(), "unknown"), True,
                         {"verify": fields[3]} if len(fields) > 3 else None)


def _rtlog(device: AccessDevice, zone: ZoneInfo, number: int, line: str, errors: list) -> IncomingEvent | None:
    """``time=…\\tpin=…\\tcardno=…\\teventaddr=…\\tevent=…\\tinoutstatus=…\\tindex=…`` from an access panel."""
    values = dict(part.split("=", 1) for part in line.split("\t") if "=" in part)
    raw_card = values.get("cardno", "").strip()
    if raw_card in ("", "0"):
        raw_card = values.get("pin", "").strip()
    if raw_card in ("", "0"):
        return None  # a door or alarm event: nobody's swipe
    try:
        card, at = card_numbers.normalise(raw_card), _local(values.get("time", ""), zone)
    except ValueError as error:
        errors.append(RowError(number, "line", str(error)))
        return None
    door = f"{device.door}#{values['eventaddr']}" if values.get("eventaddr") else device.door
    # A panel's index restarts when its log is cleared: the card and the time keep the id unique.
    key = f"{values.get('index', '')}:{card}:{at:%Y%m%d%H%M%S}:{values.get('eventaddr', '')}"
    return IncomingEvent(f"zk:{device.serial_number}:rt:{key}", card, device.building, door[:64], at,
                         RTLOG_DIRECTIONS.get(values.get("inoutstatus", "").strip(), "unknown"),
                         values.get("event", "0").strip() in GRANTED_EVENTS,
                         {"event": values.get("event"), "verifytype": values.get("verifytype")})
