"""The push protocols ZKTeco devices speak to a server (ADMS, at /iclock): both dialects.

- **Attendance push** (terminals; ``DeviceType=att`` or ``pushver`` 2.x): the handshake ``GET /iclock/cdata``
  is answered ``GET OPTION FROM: SN`` with the upload options; punches arrive as ``table=ATTLOG`` lines
  (PIN, local time, state, verify… tab-separated) and are acknowledged ``OK: n``.
- **Security PUSH** (access panels and current face terminals; ``DeviceType=acc``, or ``pushver`` 3.x): the
  handshake says ``OK`` until the device has registered (``POST /iclock/registry`` answers its
  ``RegistryCode``, kept per device), then ``registry=ok`` with that code and the server's options, which
  ``POST /iclock/push`` also answers; events arrive as ``table=rtlog`` ``key=value`` lines and uploads of
  tables as ``table=tabledata&tablename=T&count=N``, acknowledged ``T=N``.

Both poll ``/iclock/getrequest`` for commands (we send none), Security PUSH pings ``/iclock/ping`` during long
uploads and asks the time from ``/iclock/rtdata?type=time``. Firmware also calls the ``.aspx`` names and paths
with a trailing slash. Only devices that staff registered (by serial number, calling from their network) are
served; times are the device's wall clock, placed by its registered time zone. A device is acknowledged only
once its events are committed, so it resends whatever failed; resent events are stored once (their ids come
from the device, its serial number and the event).
"""
from __future__ import annotations

import re
import secrets
import string
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import Blueprint, Response, request

from ...core.clock import campus_zone, utcnow
from ...core.database import UNSTORABLE_TEXT
from ...extensions import csrf, db
from .. import cards as card_numbers
from .. import ingest
from ..ingest import IncomingEvent, RowError
from ..models import AccessDevice
from . import codes

bp = Blueprint("zkteco", __name__, url_prefix="/iclock")
csrf.exempt(bp)

ATTENDANCE, SECURITY = "attendance", "security"
# Punch states: 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 overtime-in, 5 overtime-out (255: none chosen).
ATTLOG_DIRECTIONS = {"0": "in", "1": "out", "2": "out", "3": "in", "4": "in", "5": "out"}
PANEL_DIRECTIONS = {"0": "in", "1": "out"}  # inoutstatus; 2 is a door's own event
# The Security PUSH version we speak: 3.0.1 is plain text (later ones may ask to exchange keys).
SERVER_VERSION = "3.0.1"
SERVER_OPTIONS = {"ServerVersion": SERVER_VERSION, "ServerName": "dorms", "PushProtVer": SERVER_VERSION,
                  "PushVersion": SERVER_VERSION, "ErrorDelay": "30", "RequestDelay": "10",
                  "TransTimes": "00:00;14:00", "TransInterval": "1", "TransTables": "User Transaction",
                  "Realtime": "1"}
TIMEOUT_SECONDS = "10"
# A registry body is comma-separated pairs whose values may hold commas ("ZKTECO CO., LTD."): split before a key.
_PAIRS = re.compile(r",(?=~?[A-Za-z][A-Za-z0-9_]*=)")


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _lines(pairs: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in pairs.items())


def _paths(name: str, methods: list[str]):
    """Route a view at /iclock/NAME, /iclock/NAME/ and /iclock/NAME.aspx: the names firmware calls."""
    def register(view):
        bp.add_url_rule(f"/{name}/", view.__name__, view, methods=methods, strict_slashes=False)
        bp.add_url_rule(f"/{name}.aspx", view.__name__, view, methods=methods)
        return view
    return register


def _device() -> AccessDevice | None:
    """The registered device asking, if it asks from its registered network (a serial number is printed on
    the terminal: on its own it proves nothing)."""
    serial = (request.args.get("SN") or "").strip()
    if UNSTORABLE_TEXT.search(serial):
        return None
    device = db.session.scalar(sa.select(AccessDevice).where(AccessDevice.serial_number == serial)) if serial else None
    if device is None or not device.active or not device.allows(request.remote_addr):
        return None
    return device


def _unknown() -> Response:
    return _text("unknown device: register its serial number first", 403)


def _speaks_security_push() -> bool:
    """``DeviceType=acc``, or no device type and a 3.x push version (``att`` is attendance whatever its version)."""
    device_type = (request.args.get("DeviceType") or "").strip().lower()
    if device_type:
        return device_type == "acc"
    return (request.args.get("pushver") or "").strip().startswith(("3.", "4."))


def _heard(device: AccessDevice, **said: str | None) -> None:
    """The device called: when, and what it said of itself (kept within the columns' lengths)."""
    device.last_seen_at = utcnow()
    for name, value in said.items():
        if value and not UNSTORABLE_TEXT.search(value):
            setattr(device, name, value.strip()[:AccessDevice.__table__.c[name].type.length])


def _zone(device: AccessDevice) -> ZoneInfo:
    try:
        return ZoneInfo(device.timezone)
    except ZoneInfoNotFoundError:
        return campus_zone()


# --- handshake, registration, configuration ------------------------------------------------------


@_paths("cdata", ["GET"])
def handshake():
    security = _speaks_security_push()
    device = _device()
    if device is None:
        # Security PUSH: "OK" without registry=ok is the protocol's "not registered"; the registration it
        # then asks for is refused (406). An attendance terminal is simply refused.
        return _text("OK") if security else _unknown()
    _heard(device, protocol=SECURITY if security else ATTENDANCE, push_version=request.args.get("pushver"))
    db.session.commit()
    if security:
        if device.registry_code is None:
            return _text("OK")
        return _text(_lines({"registry": "ok", "RegistryCode": device.registry_code, **_configuration()}))
    offset = datetime.now(_zone(device)).utcoffset().total_seconds() / 3600
    return _text("\n".join([
        f"GET OPTION FROM: {device.serial_number}", "ATTLOGStamp=None", "OPERLOGStamp=9999", "ATTPHOTOStamp=None",
        "ErrorDelay=30", "Delay=10", "TransTimes=00:00;14:05", "TransInterval=1",
        "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tUserPic",
        f"TimeZone={offset:g}", "Realtime=1", "Encrypt=None", ""]))


def _configuration() -> dict[str, str]:
    # No session token is checked (the registered network is), so each answer may carry a fresh id.
    return {**SERVER_OPTIONS, "SessionID": secrets.token_hex(16).upper(), "TimeoutSec": TIMEOUT_SECONDS}


def _parameters(body: str) -> dict[str, str]:
    """``DeviceType=acc,~DeviceName=…,FirmVer=…``: the device's parameters, keys without their ``~``."""
    pairs = (part.split("=", 1) for part in _PAIRS.split(body.strip()) if "=" in part)
    return {key.strip().lstrip("~"): value.strip() for key, value in pairs}


@_paths("registry", ["POST"])
def register():
    device = _device()
    if device is None:
        return _text("406", 406)  # the protocol's refusal: an unregistered serial number or a wrong network
    said = _parameters(request.get_data(as_text=True))
    if device.registry_code is None:
        device.registry_code = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
        device.registered_at = utcnow()
    _heard(device, protocol=SECURITY, firmware=said.get("FirmVer") or said.get("FWVersion"),
           model=said.get("DeviceName"), push_version=request.args.get("pushver"))
    db.session.commit()
    return _text(f"RegistryCode={device.registry_code}")


@_paths("push", ["GET", "POST"])
def configuration():
    device = _device()
    if device is None:
        return _unknown()
    _heard(device, protocol=SECURITY)
    db.session.commit()
    return _text(_lines(_configuration()))


@_paths("rtdata", ["GET"])
def realtime_data():
    """``type=time``: the time for the device's clock, in the protocol's own count of seconds (UTC) and the zone."""
    device = _device()
    if device is None:
        return _unknown()
    _heard(device)
    db.session.commit()
    now = utcnow()
    offset = int(now.astimezone(_zone(device)).utcoffset().total_seconds() // 60)
    sign = "+" if offset >= 0 else "-"
    return _text(f"DateTime={encode_time(now)},ServerTZ={sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}")


def encode_time(moment: datetime) -> int:
    """ZKTeco's count of seconds: months of 31 days and years of 12 such months since 2000 (appendix 5)."""
    return ((((moment.year - 2000) * 12 * 31 + (moment.month - 1) * 31 + moment.day - 1) * 24 + moment.hour) * 60
            + moment.minute) * 60 + moment.second


def decode_time(seconds: int) -> datetime:
    """The naive wall-clock time ``encode_time`` counted; ValueError for a count no calendar has."""
    if not 0 <= seconds < 100 * 12 * 31 * 86400:  # the count runs out with the year 2099
        raise ValueError(f"{seconds} seconds is not a time this count can hold")
    seconds, second = divmod(seconds, 60)
    seconds, minute = divmod(seconds, 60)
    seconds, hour = divmod(seconds, 24)
    seconds, day = divmod(seconds, 31)
    year, month = divmod(seconds, 12)
    return datetime(year + 2000, month + 1, day + 1, hour, minute, second)


# --- polls and acknowledgements ------------------------------------------------------------------


@_paths("getrequest", ["GET"])
def poll():
    # An attendance terminal reports itself in INFO: firmware first ("Ver 8.0.4.2-I113-02,143,1,…").
    return _acknowledge(firmware=(request.args.get("INFO") or "").split(",")[0])


@_paths("ping", ["GET"])
def ping():
    """Security PUSH's heartbeat during long uploads."""
    return _acknowledge()


def _acknowledge(**said: str) -> Response:
    device = _device()
    if device is None:
        return _unknown()
    _heard(device, **said)
    db.session.commit()
    return _text("OK")


@_paths("devicecmd", ["POST"])
def command_result():
    return _text("OK") if _device() is not None else _unknown()


@_paths("fdata", ["POST"])
def file_data():
    """Photos and templates some attendance firmware sends apart: nothing for us, taken to keep its queue moving."""
    return _text("OK") if _device() is not None else _unknown()


@bp.route("/", methods=["GET", "POST"], strict_slashes=False)
@bp.route("/<path:anything>", methods=["GET", "POST"])
def unknown_request(anything: str = ""):
    return _text("unknown request", 404)


# --- uploads -------------------------------------------------------------------------------------


@_paths("cdata", ["POST"])
def upload():
    device = _device()
    if device is None:
        return _unknown()
    table = (request.args.get("table") or "").strip()
    if request.content_length is None and "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        # Without a length the body cannot be read: acknowledging it would lose its events for good.
        return _text("Length Required: send Content-Length or chunked", 411)
    lines = [line for line in request.get_data(as_text=True).splitlines() if line.strip()]
    if table.lower() == "options":  # the terminal's parameters: what it is, for the Integrations page
        said = _parameters(",".join(lines))
        _heard(device, firmware=said.get("FWVersion") or said.get("FirmVer"), model=said.get("DeviceName"))
        db.session.commit()
        return _text("OK")
    if table.lower() == "tabledata":
        return _table_data(device, lines)
    if table.upper() == "ATTLOG":
        _store(device, lines, _attlog)
        return _text(f"OK: {len(lines)}")
    if table.lower() == "rtlog":
        _store(device, lines, _rtlog)
        return _text("OK")
    _heard(device)
    db.session.commit()
    # Door states (rtstate), user lists, photos, operation logs: nothing for us; taking them keeps the queue moving.
    plain = device.protocol == SECURITY or table.lower() in ("rtstate", "attphoto")  # a photo is one record
    return _text("OK" if plain else f"OK: {len(lines)}")


@_paths("querydata", ["POST"])
def query_data():
    """What a device sends back for a query command; acknowledged as the protocol asks (``T=N`` for tables)."""
    device = _device()
    if device is None:
        return _unknown()
    lines = [line for line in request.get_data(as_text=True).splitlines() if line.strip()]
    if (request.args.get("type") or "").lower() == "tabledata":
        return _table_data(device, lines)
    _heard(device)
    db.session.commit()
    return _text("OK")


def _table_data(device: AccessDevice, lines: list[str]) -> Response:
    """``tablename=T&count=N``: access records (transaction) are stored like rtlog; every table is answered ``T=N``."""
    name = (request.args.get("tablename") or "").strip()
    count = request.args.get("count", "")
    if name.lower() == "transaction":
        _store(device, lines, _transaction)
    else:
        _heard(device)
        db.session.commit()
    return _text(f"{name}={count if count.isdigit() else len(lines)}")


# --- events --------------------------------------------------------------------------------------


class _Notes:
    """What a batch of lines left to say: the lines that could not be stored, and event codes not known here."""

    def __init__(self):
        self.errors: list[RowError] = []
        self.unknown_codes: set[str] = set()


def _store(device: AccessDevice, lines: list[str], parse) -> None:
    # A device resends what was not acknowledged: refusing a line it cannot change would stop its
    # queue for good. Its good lines are stored; the bad ones are shown on the device for staff.
    zone, notes = _zone(device), _Notes()
    events = [e for n, line in enumerate(lines, start=1) if (e := _event(parse, device, zone, n, line, notes))]
    ingest.store_events(events, ingest.Report(rows=len(lines)))
    _heard(device)
    problems = [f"{e}: {lines[e.row - 1][:80]!r}" for e in notes.errors[:3]]
    if notes.unknown_codes:
        problems.append(f"event codes not known here, kept as not granted: {', '.join(sorted(notes.unknown_codes))}")
    if problems:  # kept until the next problem: a busy device's clean posts must not hide it
        device.last_error, device.last_error_at = "; ".join(problems)[:500], utcnow()
    db.session.commit()


def _event(parse, device: AccessDevice, zone: ZoneInfo, number: int, line: str, notes: _Notes) -> IncomingEvent | None:
    """The line's event if it has one the database can hold, else None (with why in ``notes`` if it is bad)."""
    if UNSTORABLE_TEXT.search(line):
        notes.errors.append(RowError(number, "line", "contains a NUL character"))
        return None
    event = parse(device, zone, number, line, notes)
    return ingest.storable(event, number, notes.errors) if event is not None else None


def _local(text: str, zone: ZoneInfo) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)


def _attlog(device: AccessDevice, zone: ZoneInfo, number: int, line: str, notes: _Notes) -> IncomingEvent | None:
    """``PIN\\tYYYY-MM-DD HH:MM:SS\\tstate\\tverify\\tworkcode\\t…``: the PIN as the terminal knows the person."""
    fields = line.split("\t")
    if len(fields) < 3:
        notes.errors.append(RowError(number, "line", "expected PIN, time and state separated by tabs"))
        return None
    try:
        pin, at = card_numbers.identifier(fields[0]), _local(fields[1], zone)
    except ValueError as error:
        notes.errors.append(RowError(number, "line", str(error)))
        return None
    extra = {"verify": fields[3].strip()} if len(fields) > 3 and fields[3].strip() else None
    return IncomingEvent(f"zk:{device.serial_number}:{pin}:{at:%Y%m%d%H%M%S}", pin, device.building, device.door,
                         at, ATTLOG_DIRECTIONS.get(fields[2].strip(), "unknown"), True, extra)


def _values(line: str) -> dict[str, str]:
    return {key.strip().lower(): value.strip() for key, _, value in
            (part.partition("=") for part in line.split("\t")) if key.strip()}


def _rtlog(device: AccessDevice, zone: ZoneInfo, number: int, line: str, notes: _Notes) -> IncomingEvent | None:
    """``time=…\\tpin=…\\tcardno=…\\teventaddr=…\\tevent=…\\tinoutstatus=…\\tverifytype=…\\tindex=…`` in any order
    (firmware adds sitecode, linkid, maskflag, temperature…); door-state rows (``sensor=…``) come in the same table."""
    values = _values(line)
    if "event" not in values:
        if "sensor" not in values:
            notes.errors.append(RowError(number, "line", "expected key=value pairs with an event or a door state"))
        return None  # a door's state: nobody's passage
    return _panel_event(device, zone, number, notes, time=lambda: _local(values.get("time", ""), zone),
                        card=values.get("cardno", ""), pin=values.get("pin", ""), door=values.get("eventaddr", ""),
                        code=values["event"], direction=values.get("inoutstatus", ""),
                        verify=values.get("verifytype", ""), index=values.get("index", ""))


def _transaction(device: AccessDevice, zone: ZoneInfo, number: int, line: str,
                 notes: _Notes) -> IncomingEvent | None:
    """``transaction cardno=…\\tpin=…\\tverified=…\\tdoorid=…\\teventtype=…\\tinoutstate=…\\ttime_second=…\\tindex=…``:
    the panel's stored records, with the time in the protocol's count of seconds."""
    values = _values(line.split(" ", 1)[1] if line.startswith("transaction ") else line)

    def moment() -> datetime:
        try:
            return decode_time(int(values.get("time_second", ""))).replace(tzinfo=zone)
        except ValueError:
            raise ValueError(f"time_second {values.get('time_second', '')!r} is not a time") from None

    return _panel_event(device, zone, number, notes, time=moment, card=values.get("cardno", ""),
                        pin=values.get("pin", ""), door=values.get("doorid", ""), code=values.get("eventtype", ""),
                        direction=values.get("inoutstate", ""), verify=values.get("verified", ""),
                        index=values.get("index", ""))


def _panel_event(device: AccessDevice, zone: ZoneInfo, number: int, notes: _Notes, *, time, card: str, pin: str,
                 door: str, code: str, direction: str, verify: str, index: str) -> IncomingEvent | None:
    """A panel's event: a card swipe carries the card number, a face, fingerprint or password entry the PIN."""
    written = card if card not in ("", "0") else pin
    if written in ("", "0"):
        return None  # a door, alarm or device event: nobody's passage
    try:
        identifier, at = card_numbers.identifier(written), time()
    except ValueError as error:
        notes.errors.append(RowError(number, "line", str(error)))
        return None
    if codes.event_kind(code) == codes.Kind.UNKNOWN:
        notes.unknown_codes.add(code[:12] or "''")
    also = None  # the PIN a card swipe also names: the holder the panel knows, if the office listed PINs only
    if written == card and pin not in ("", "0"):
        try:
            also = card_numbers.identifier(pin)
        except ValueError:
            notes.errors.append(RowError(number, "pin", f"{pin[:40]!r} is not a PIN; the card alone was kept"))
    where = f"{device.door}#{door}" if door else device.door
    # A panel's index restarts when its log is cleared: the card and the time keep the id unique.
    key = f"{index}:{identifier}:{at:%Y%m%d%H%M%S}:{door}"
    return IncomingEvent(f"zk:{device.serial_number}:rt:{key}", identifier, device.building, where[:64], at,
                         PANEL_DIRECTIONS.get(direction, "unknown"), codes.granted(code),
                         {"event": code, "verify": verify}, also)
