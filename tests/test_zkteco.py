"""ZKTeco devices and files: recorded exchanges replayed against /iclock, and each export layout imported.

The requests and lines below keep the form real devices and programs write, as public captures and ZKTeco's
own protocol documents show them: parameter order, key order, TABs, CRLF, trailing TABs, door-state rows inside
rtlog, clocks that were never set, right-aligned PINs, title rows above headers, NUL padding. Where a report
has to come out right, serial numbers, PINs and times are those of this test campus; otherwise the recorded
values are kept as they were.
"""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from dorms.access import cards as card_numbers
from dorms.access import ingest
from dorms.access.models import AccessDevice, AccessEvent, Card
from dorms.access.zkteco import codes
from dorms.access.zkteco.push import decode_time, encode_time
from dorms.audit.models import AuditEntry
from dorms.core.enums import Role
from dorms.extensions import db
from tests.test_access import NIGHT, OPENED_HERE, campus, report, write  # noqa: F401 (campus: a fixture)

LOCAL = "127.0.0.1"


def _add_device(app, serial: str, door: str = "D1-N", network: str = "127.0.0.0/8") -> None:
    outcome = app.test_cli_runner().invoke(args=["access", "device", "add", serial, "--building", "D1", "--door",
                                                 door, "--network", network])
    assert outcome.exit_code == 0, outcome.output


def _cards(app, tmp_path, text: str) -> str:
    outcome = app.test_cli_runner().invoke(args=["access", "import-cards", write(tmp_path, "cards.csv", text)])
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def _replay(client, exchanges: list[tuple]) -> None:
    """Each (method, path, body, status, answer): ``answer`` is the whole body, or a callable that checks it."""
    for method, path, body, status, answer in exchanges:
        response = client.open(path, method=method, data=body, content_type="application/push;charset=UTF-8")
        text = response.get_data(as_text=True)
        assert response.status_code == status, (path, text)
        assert response.mimetype == "text/plain", path  # never an HTML page a device would loop on
        if callable(answer):
            assert answer(text), (path, text)
        else:
            assert text == answer, (path, text)


def _events(serial: str) -> list[tuple]:
    return db.session.execute(sa.select(AccessEvent.card, AccessEvent.granted, AccessEvent.direction,
                                        AccessEvent.extra).where(AccessEvent.event_id.like(f"zk:{serial}:%"))
                              .order_by(AccessEvent.occurred_at, AccessEvent.id)).all()


def _options(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


# --- identifiers -----------------------------------------------------------------------------------


def test_a_pin_is_kept_as_written_and_only_explicit_forms_are_converted():
    assert card_numbers.identifier("  0012345678") == "12345678"  # a right-aligned, zero-padded number
    assert card_numbers.identifier("NLVJLA052") == "NLVJLA052"
    assert card_numbers.identifier("B205") == "B205"  # not 45573: maybe a PIN, and another student's card
    assert card_numbers.identifier("CBCA937E000104E0") == "CBCA937E000104E0"  # a panel's hex card, as sent
    assert card_numbers.normalise("CAFE") == "CAFE"
    assert card_numbers.normalise("0x00BC614E") == card_numbers.normalise("188,24910") == "12345678"
    assert card_numbers.key("nlvjla052") == card_numbers.key("NLVJLA052")
    for bad in ("", "12 34 x", "卡1001", "a-b", "x" * 33):
        with pytest.raises(ValueError):
            card_numbers.identifier(bad)
    with pytest.raises(ValueError, match="0x… hexadecimal, or facility,number"):
        card_numbers.normalise("not-a-card")


@pytest.mark.backends("sqlite", "postgresql")
def test_cards_and_pins_import_together_and_match_in_any_letter_case(app, campus, tmp_path, client):
    output = _cards(app, tmp_path, "card,pin,student_number\n1001,NLVJLA052,S1\n,b205,S2\n0x3EB,,S3\n")
    assert "3 rows: 4 cards created" in output
    assert db.session.execute(sa.select(Card.number, Card.kind).order_by(Card.number)).all() == [
        ("1001", "card"), ("1003", "card"), ("NLVJLA052", "pin"), ("b205", "pin")]
    # Again, with other letters: the same identifiers, nothing changes.
    assert "0 cards created, 0 handed on, 4 unchanged" in _cards(
        app, tmp_path, "卡号,人员编号,学号\n1001,nlvjla052,S1\n,B205,S2\n1003,,S3\n")
    refused = app.test_cli_runner().invoke(args=["access", "import-cards", write(
        tmp_path, "clash.csv", "card,pin,student_number\n,nlvjla052,S4\n,,S5\n")])
    assert refused.exit_code != 0
    # S1's PIN listed for S4 is a hand-over, not a problem: the empty row is the file's only one.
    assert "nothing imported (1 problems)" in refused.output
    assert "row 2, card: missing: a row needs a card or a PIN" in refused.output
    same_file = app.test_cli_runner().invoke(args=["access", "import-cards", write(
        tmp_path, "twice.csv", "card,pin,student_number\nX9,,S4\n,x9,S5\n")])
    assert "row 2, pin: x9 is listed for two students" in same_file.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Card)) == 4
    with pytest.raises(Exception):  # the database refuses one identifier in two spellings
        with db.session.begin_nested():
            db.session.add(Card(number="nlvjla052", student_id=campus["S5"].id))
            db.session.flush()
    # A face terminal's PIN in lower case and an access panel's card find their students; so do the desk's.
    _add_device(app, "CQZ7231560")
    body = "nlvjla052\t2026-09-07 22:10:00\t0\t15\t0\t0\t0\t255\t0\t0\nB205\t2026-09-07 22:11:00\t0\t1\t0\t0\t0\n"
    assert client.post("/iclock/cdata?SN=CQZ7231560&table=ATTLOG", data=body).get_data(as_text=True) == "OK: 2"
    owners = dict(db.session.execute(sa.select(AccessEvent.card, AccessEvent.student_id)).all())
    assert owners == {"nlvjla052": campus["S1"].id, "B205": campus["S2"].id}
    assert report(app.test_cli_runner())["S2"]["status"] == "in"


@pytest.mark.backends("sqlite", "postgresql")
def test_events_of_a_pin_nobody_holds_yet_are_matched_when_it_is_imported(app, campus, tmp_path, client):
    _add_device(app, "CQZ7231560")
    client.post("/iclock/cdata?SN=CQZ7231560&table=ATTLOG", data="NLVJLA052\t2026-09-07 22:10:00\t0\t15\n")
    assert db.session.scalar(sa.select(AccessEvent.student_id)) is None
    assert "1 earlier events matched" in _cards(app, tmp_path, "pin,student_number\nnlvjla052,S6\n")
    assert db.session.scalar(sa.select(AccessEvent.student_id)) == campus["S6"].id


# --- an attendance terminal (attendance push, pushver 2.x) -----------------------------------------

# A SpeedFace-V5L as captured: its handshake parameters in its own order, its options line, and ATTLOG lines of
# ten fields (face terminals) beside an older terminal's seven and a trailing TAB, CRLF, and an MB10-VL's
# eleven (a running record number last); state 255 is "none chosen".
ATTENDANCE = [
    ("GET", "/iclock/cdata?SN=AJE1261900133&options=all&language=69&pushver=2.4.1&DeviceType=att&PushOptionsFlag=1",
     None, 200, lambda text: text.startswith("GET OPTION FROM: AJE1261900133\n")
     and "TransFlag=TransData AttLog\tOpLog" in text and "TimeZone=8" in text),
    ("POST", "/iclock/cdata?SN=AJE1261900133&table=options",
     "~DeviceName=SpeedFace-V5L,MAC=00:17:61:13:20:21,TransactionCount=0,~MaxAttLogCount=20,UserCount=4,"
     "~OEMVendor=ZKTECO CO., LTD.,FWVersion=ZAM180-NF50VA-Ver3.4.9,PushVersion=Ver 2.0.33S-20220623", 200, "OK"),
    ("POST", "/iclock/cdata?SN=AJE1261900133&table=ATTLOG&Stamp=9999",
     "1006\t2026-09-07 22:10:00\t255\t15\t0\t0\t0\t255\t0\t0\n"
     "1001\t2026-09-07 23:20:05\t1\t1\t\t0\t0\t\r\n"
     "1004\t2026-09-07 20:00:00\t0\t4\t0\t0\t0\t0\t0\t0\t10881\n", 200, "OK: 3"),
    ("POST", "/iclock/cdata?SN=AJE1261900133&table=OPERLOG&OpStamp=9999",
     "USER PIN=1\tName=NIHAL\tPri=14\tPasswd=\tCard=196793\tGrp=1\tTZ=0000000100000000\tVerify=-1\tViceCard=\t"
     "Expires=0\tStartDatetime=0\tEndDatetime=0\n", 200, "OK: 1"),
    ("GET", "/iclock/getrequest?SN=AJE1261900133&INFO=Ver%208.0.4.2-I113-02,143,1,109,172.16.12.182,10,7,12,141,111",
     None, 200, "OK"),
    ("POST", "/iclock/devicecmd?SN=AJE1261900133", "ID=1&Return=0&CMD=DATA\nID=2&Return=0&CMD=DATA\n", 200, "OK"),
    # An eSSL build calls the .aspx names; other firmware adds a trailing slash.
    ("GET", "/iclock/cdata.aspx?SN=AJE1261900133&options=all&language=69&pushver=2.4.1&DeviceType=att", None, 200,
     lambda text: text.startswith("GET OPTION FROM: AJE1261900133")),
    ("GET", "/iclock/getrequest.aspx?SN=AJE1261900133", None, 200, "OK"),
    ("POST", "/iclock/cdata/?SN=AJE1261900133&table=ATTLOG", "1006\t2026-09-07 22:10:00\t255\t15\n", 200, "OK: 1"),
    ("POST", "/iclock/fdata?SN=AJE1261900133&table=ATTPHOTO", "PIN=1006.jpg\tSN=AJE1261900133\tsize=3", 200, "OK"),
    ("GET", "/iclock/cdata?SN=NOTREGISTERED&options=all&pushver=2.4.1&DeviceType=att", None, 403,
     lambda text: "register" in text),
    ("GET", "/iclock/nothing-such?SN=AJE1261900133", None, 404, "unknown request"),
]


@pytest.mark.backends("sqlite", "postgresql")
def test_an_attendance_terminal_replays_its_recorded_exchange(app, campus, tmp_path, client):
    _cards(app, tmp_path, "card,student_number\n1001,S1\n1004,S4\n1006,S6\n")
    _add_device(app, "AJE1261900133")
    _replay(client, ATTENDANCE)
    assert [(card, granted, direction, extra) for card, granted, direction, extra in _events("AJE1261900133")] == [
        ("1004", True, "in", {"verify": "4"}), ("1006", True, "unknown", {"verify": "15"}),
        ("1001", True, "out", {"verify": "1"})]
    device = db.session.scalar(sa.select(AccessDevice))
    assert (device.protocol, device.push_version, device.model) == ("attendance", "2.4.1", "SpeedFace-V5L")
    assert device.firmware == "Ver 8.0.4.2-I113-02"  # the poll's INFO came last
    rows = report(app.test_cli_runner())
    assert (rows["S6"]["status"], rows["S4"]["status"], rows["S1"]["status"]) == (
        "in", "in", "absent_left_after_curfew")


# --- an access panel (Security PUSH, registration through rtlog) -----------------------------------

PANEL = "3383154200002"
# ZKTeco's protocol document's own example device: its registry body, word for word.
REGISTRY_BODY = ("DeviceType=acc,~DeviceName=F20/M,FirmVer=Ver 8.0.1.3-20151229,PushVersion=Ver 2.0.22-20161201,"
                 "CommType=ethernet,MaxPackageSize=2048000,LockCount=1,ReaderCount=2,AuxInCount=0,AuxOutCount=0,"
                 "MachineType=101,~IsOnlyRFMachine=0,~MaxUserCount=50,~MaxAttLogCount=10,~MaxUserFingerCount=10,"
                 "MThreshold=60,IPAddress=192.168.213.221,NetMask=255.255.255.0,GATEIPAddress=192.168.213.1,"
                 "~ZKFPVersion=10,IclockSvrFun=1,OverallAntiFunOn=0,SimpleEventType=1,VerifyStyles=ff7f0000,"
                 "EventTypes=BF0FE03D30000100000000007000000000000000000000000077002001000000,FingerFunOn=1,"
                 "CameraOpen=1,AccSupportFunList=0101010000111000000111010100011010,UserNameFunOn=1,StringPinFunOn=1,"
                 "MaxLockCount=4,MaxZigbeeCount=3,MaxMCUCardBits=37,SupportReaderType=1,authKey=dassas")


def _registered(text: str) -> bool:
    options = _options(text)
    return (text.startswith("registry=ok\n") and len(options["RegistryCode"]) == 16 and options["Realtime"] == "1"
            and options["PushProtVer"] == "3.0.1" and options["TransTables"] == "User Transaction"
            and options["TimeoutSec"] == "10" and len(options["SessionID"]) == 32)


@pytest.mark.backends("sqlite", "postgresql")
def test_an_access_panel_registers_and_pushes_its_events(app, campus, tmp_path, client):
    _cards(app, tmp_path, "card,student_number\n1002,S2\n1005,S5\n1007,S7\n")
    # Not registered here: "OK" is the protocol's "not registered", and the registration is refused.
    _replay(client, [("GET", f"/iclock/cdata?SN={PANEL}&pushver=3.0.1&options=all", None, 200, "OK"),
                     ("POST", f"/iclock/registry?SN={PANEL}", REGISTRY_BODY, 406, "406")])
    _add_device(app, PANEL, door="D1-S")
    _replay(client, [
        ("GET", f"/iclock/cdata?SN={PANEL}&pushver=3.0.1&options=all", None, 200, "OK"),  # registered here only
        ("POST", f"/iclock/registry?SN={PANEL}", REGISTRY_BODY, 200,
         lambda text: text.startswith("RegistryCode=") and len(text) == 29),
    ])
    code = db.session.scalar(sa.select(AccessDevice.registry_code))
    _replay(client, [
        ("POST", f"/iclock/registry?SN={PANEL}", REGISTRY_BODY, 200, f"RegistryCode={code}"),  # kept per device
        ("GET", f"/iclock/cdata?SN={PANEL}&pushver=3.0.1&options=all", None, 200,
         lambda text: _registered(text) and _options(text)["RegistryCode"] == code),
        ("POST", f"/iclock/push?SN={PANEL}", "", 200,
         lambda text: _options(text)["ServerVersion"] == "3.0.1" and _options(text)["PushVersion"] == "3.0.1"
         and _options(text)["TransTimes"] == "00:00;14:00" and "ErrorDelay" in text and "RequestDelay" in text),
        ("GET", f"/iclock/ping?SN={PANEL}", None, 200, "OK"),
        ("GET", f"/iclock/getrequest?SN={PANEL}", None, 200, "OK"),
        # The document's example event: an unregistered card (27) with nobody's PIN: no one's passage.
        ("POST", f"/iclock/cdata?SN={PANEL}&table=rtlog",
         "time=2017-01-10 11:49:32\tpin=0\tcardno=0\teventaddr=1\tevent=27\tinoutstatus=1\tverifytype=0\tindex=21",
         200, "OK"),
        ("POST", f"/iclock/cdata?SN={PANEL}&table=rtlog",
         "time=2026-09-07 22:30:00\tpin=0\tcardno=1002\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=4\tindex=85\r\n"
         "time=2026-09-07 21:00:00\tpin=0\tcardno=1005\teventaddr=2\tevent=27\tinoutstatus=0\tverifytype=4\t"
         "index=86\r\n"
         "time=2026-09-07 21:01:00\tpin=0\tcardno=1005\teventaddr=2\tevent=23\tinoutstatus=0\tverifytype=4\t"
         "index=87\r\n"
         "time=2026-09-07 21:05:00\tpin=0\tcardno=0\teventaddr=1\tevent=202\tinoutstatus=2\tverifytype=200\t"
         "index=88\r\n", 200, "OK"),
        ("POST", f"/iclock/cdata?SN={PANEL}&table=rtstate",
         "time=2017-01-10 15:42:40\tsensor=00\trelay=00\talarm=0200000000000000", 200, "OK"),
        ("POST", f"/iclock/cdata?SN={PANEL}&table=tabledata&tablename=user&count=1",
         "user uid=5\tcardno=\tpin=4\tpassword=\tgroup=1\tstarttime=0\tendtime=0\tname=\tprivilege=0\tdisable=0\t"
         "verify=0", 200, "user=1"),
        ("POST", f"/iclock/cdata?SN={PANEL}&table=tabledata&tablename=templatev10&count=2",
         "templatev10 size=1808\tuid=4\tpin=4\tfingerid=7\tvalid=1\ttemplate=TAlTUzIxAAAFSksECAUHCc7Q\tresverd=\t"
         "endtag=\ntemplatev10 size=1808\tuid=4\tpin=4\tfingerid=8\tvalid=1\ttemplate=TAlTUzIxAAAF\tresverd=\tendtag=",
         200, "templatev10=2"),
        ("POST", f"/iclock/cdata?SN={PANEL}&table=tabledata&tablename=errorlog&count=1",
         "errorlog errcode=D01E0001\terrmsg=\tdataorigin=cmd\tcmdid=123\tadditional=", 200, "errorlog=1"),
        # A stored record sent back for a query: the time in the protocol's own count of seconds.
        ("POST", f"/iclock/querydata?SN={PANEL}&type=tabledata&cmdid=415&tablename=transaction&count=1&packcnt=1"
                 "&packidx=1",
         f"transaction cardno=1007\tpin=0\tverified=4\tdoorid=1\teventtype=0\tinoutstate=0\t"
         f"time_second={encode_time(datetime(2026, 9, 7, 20, 15))}\tindex=92\tsitecode=0\tdevid=1\tsn={PANEL}",
         200, "transaction=1"),
        ("POST", f"/iclock/querydata?SN={PANEL}&type=count&cmdid=288&tablename=user&count=1&packcnt=1&packidx=1",
         "user=5", 200, "OK"),
        ("GET", f"/iclock/rtdata?SN={PANEL}&type=time", None, 200,
         lambda text: text.startswith("DateTime=") and text.endswith(",ServerTZ=+0800")),
        ("POST", f"/iclock/devicecmd?SN={PANEL}", "ID=1&Return=0&CMD=DATA UPDATE", 200, "OK"),
        ("POST", f"/iclock/registry?SN={PANEL}", REGISTRY_BODY, 200, f"RegistryCode={code}"),
    ])
    assert [(card, granted, extra["event"]) for card, granted, _direction, extra in _events(PANEL)] == [
        ("1007", True, "0"), ("1005", False, "27"), ("1005", False, "23"), ("1002", True, "0")]
    device = db.session.scalar(sa.select(AccessDevice))
    assert (device.protocol, device.model, device.firmware) == ("security", "F20/M", "Ver 8.0.1.3-20151229")
    assert device.registered_at is not None and device.last_error is None
    listed = app.test_cli_runner().invoke(args=["access", "device", "list"]).output
    assert "Security PUSH, registered " in listed and "F20/M Ver 8.0.1.3-20151229" in listed
    rows = report(app.test_cli_runner())
    assert (rows["S2"]["status"], rows["S5"]["status"], rows["S7"]["status"]) == ("in", "absent_no_events", "in")
    # From another network, the same serial number is refused, registration included.
    elsewhere = {"REMOTE_ADDR": "10.9.9.9"}
    assert client.post(f"/iclock/registry?SN={PANEL}", data=REGISTRY_BODY, environ_base=elsewhere).status_code == 406
    assert client.post(f"/iclock/cdata?SN={PANEL}&table=rtlog", data="x", environ_base=elsewhere).status_code == 403
    assert client.get(f"/iclock/push?SN={PANEL}", environ_base=elsewhere).status_code == 403


def test_the_protocols_count_of_seconds_reads_the_documents_example():
    assert encode_time(datetime(2017, 1, 11, 1, 30, 3)) == 0 + ((((17 * 12 + 0) * 31 + 10) * 24 + 1) * 60 + 30) * 60 + 3
    assert decode_time(548003688) == datetime(2017, 1, 19, 15, 14, 48)  # the document's transaction record
    assert decode_time(encode_time(datetime(2026, 12, 31, 23, 59, 59))) == datetime(2026, 12, 31, 23, 59, 59)


# --- a face terminal (Security PUSH, as captured) ---------------------------------------------------

FACE = "NYU7251601501"


@pytest.mark.backends("sqlite", "postgresql")
def test_a_face_terminal_replays_its_recorded_exchange(app, campus, tmp_path, client):
    """A SenseFace 2A as captured (firmware ZAM70-NF24HA-Ver3.0.15): fingerprint and face opens carry the PIN, its
    rows end in CRLF, door-state rows come in rtlog, an unset clock writes negative dates; a SpeedFace-V3L's
    refusal of an unknown face has nobody's PIN; keys come in any order."""
    _cards(app, tmp_path, "card,pin,student_number\n1003,445966,S3\n,2,S4\n,NLVJLA052,S8\n")
    _add_device(app, FACE)
    rtlog = "\r\n".join([
        "time=2026-09-07 22:09:10\tpin=445966\tcardno=0\teventaddr=1\tevent=3\tinoutstatus=0\tverifytype=1\t"
        "index=40\tsitecode=0\tlinkid=0\tmaskflag=0\ttemperature=0\tconvtemperature=0",
        "time=2026-09-07 22:09:11\tsensor=02\trelay=00\talarm=0100000000000000\tdoor=01",
        "time=1971--10--29 -23:-27:-54\tpin=445966\tcardno=0\teventaddr=1\tevent=3\tinoutstatus=0\tverifytype=1\t"
        "index=41\tsitecode=0\tlinkid=0\tmaskflag=0\ttemperature=0\tconvtemperature=0",
        "time=2026-09-07 22:13:48\tpin=2\tcardno=0\teventaddr=1\tevent=3\tinoutstatus=0\tverifytype=15\tindex=140\t"
        "sitecode=0\tlinkid=0\tmaskflag=0\ttemperature=0\tconvtemperature=0",
        "time=2026-09-07 22:45:56\tpin=0\tcardno=0\teventaddr=1\tevent=27\tinoutstatus=1\tverifytype=1\tindex=13357\t"
        "sitecode=0\tlinkid=0\tmaskflag=0\ttemperature=0\tconvtemperature=0",
        "index=77\tverifytype=0000000000000010\tpin=nlvjla052\tmaskflag=1\ttemperature=36.6\tconvtemperature=0\t"
        "event=4777\tinoutstatus=0\ttime=2026-09-07 22:50:00\tcardno=0\tsitecode=2\tlinkid=0\teventaddr=1",
        "Content-Disposition: form-data; name=\"file\"",
    ]) + "\r\n"
    _replay(client, [
        ("GET", f"/iclock/cdata?SN={FACE}&options=all&pushver=3.1.2&DeviceType=acc&PushOptionsFlag=1&language=83",
         None, 200, "OK"),
        ("POST", f"/iclock/registry?SN={FACE}",
         "DeviceType=acc,~DeviceName=SenseFace 2A,FirmVer=ZAM70-NF24HA-Ver3.0.15,PushVersion=Ver 3.0.4S-20240809,"
         "~SerialNumber=NYU7251601501,FaceFunOn=1,FingerFunOn=1", 200,
         lambda text: text.startswith("RegistryCode=")),
        ("GET", f"/iclock/cdata/?SN={FACE}&options=all&pushver=3.1.2&DeviceType=acc&PushOptionsFlag=1&language=83",
         None, 200, _registered),
        ("POST", f"/iclock/push/?SN={FACE}", "", 200, lambda text: "ServerVersion=3.0.1" in text),
        ("POST", f"/iclock/cdata?SN={FACE}&table=rtlog", rtlog, 200, "OK"),
    ])
    stored = [(card, granted, extra["event"], extra["verify"]) for card, granted, _d, extra in _events(FACE)]
    assert stored == [("445966", True, "3", "1"), ("2", True, "3", "15"), ("nlvjla052", False, "4777",
                                                                           "0000000000000010")]
    device = db.session.scalar(sa.select(AccessDevice))
    assert (device.protocol, device.push_version, device.model, device.firmware) == (
        "security", "3.1.2", "SenseFace 2A", "ZAM70-NF24HA-Ver3.0.15")
    assert "row 3, line" in device.last_error and "1971--10--29" in device.last_error
    assert "row 7, line: expected key=value pairs with an event or a door state" in device.last_error
    assert "event codes not known here, kept as not granted: 4777" in device.last_error
    rows = report(app.test_cli_runner())
    assert (rows["S3"]["status"], rows["S4"]["status"]) == ("in", "in")  # a fingerprint and a face: in
    assert rows["S8"]["status"] == "absent_no_events"  # an unknown code lets nobody in


def test_panel_event_codes_and_verify_types_mean_what_the_protocol_says():
    opened = {0, 1, 2, 3, 4, 5, 8, 14, 15, 16, 17, 18, 19, 202, 203, 207, 208, 215, 216, 218, 219, 222, 232}
    assert {code for code in range(0, 7000) if codes.granted(code)} == opened
    assert codes.event_kind(27) == codes.event_kind("34") == codes.Kind.REFUSED
    assert codes.event_kind(100) == codes.Kind.ALARM and codes.event_kind(200) == codes.Kind.DOOR
    assert codes.event_kind("4777") == codes.event_kind("x") == codes.event_kind(None) == codes.Kind.UNKNOWN
    assert codes.verify_label("15") == "Face" and codes.verify_label("25") == "Palm"
    assert codes.verify_label("0000000000000010") == "Face"
    assert codes.verify_label("0000101000000011") == "Face + Password + Card"
    assert codes.verify_label("0000101000000010") == "Face / Password / Card"
    assert codes.verify_label("FACE") == "FACE" and codes.verify_label("") == ""


@pytest.mark.backends("sqlite", "postgresql")
def test_the_night_page_shows_what_each_door_said_and_how_it_verified(app, campus, tmp_path, client, login,
                                                                      create_user):
    _cards(app, tmp_path, "card,pin,student_number\n,445966,S3\n")
    _add_device(app, FACE)
    client.post(f"/iclock/cdata?SN={FACE}&table=rtlog", data="\n".join([
        "time=2026-09-07 22:09:10\tpin=445966\tcardno=0\teventaddr=1\tevent=14\tinoutstatus=0\tverifytype=1\tindex=1",
        "time=2026-09-07 22:10:10\tpin=445966\tcardno=0\teventaddr=1\tevent=4777\tinoutstatus=0\tverifytype=15\t"
        "index=2"]))
    campus["S3"].class_name = "护理2401"
    db.session.commit()
    login(create_user(role=Role.COUNSELOR, classes=["护理2401"]))
    page = client.get(f"/curfew/students/{campus['S3'].id}/nights/{NIGHT}", headers=OPENED_HERE).get_data(
        as_text=True)
    assert "Opened by fingerprint" in page and ">Fingerprint<" in page
    assert "Unknown event code 4777: not counted as passing" in page and ">Face<" in page
    assert page.count('data-granted="true"') == 1 and page.count('data-granted="false"') == 1
    client.post("/language/zh_CN")
    assert "指纹" in client.get(f"/curfew/students/{campus['S3'].id}/nights/{NIGHT}", headers=OPENED_HERE).get_data(
        as_text=True)
    assert client.get(f"/curfew/students/{campus['S4'].id}/nights/{NIGHT}", headers=OPENED_HERE).status_code == 404
    assert client.get(f"/curfew/students/{campus['S3'].id}/nights/9999-12-31", headers=OPENED_HERE).status_code == 404


def test_the_integrations_page_shows_each_devices_protocol_firmware_and_registration(app, campus, client, login,
                                                                                   create_user):
    _add_device(app, PANEL)
    _add_device(app, "AJE1261900133")
    _add_device(app, "NEVERCALLED")
    client.get(f"/iclock/cdata?SN={PANEL}&pushver=3.0.1&options=all&DeviceType=acc")
    client.get("/iclock/cdata?SN=AJE1261900133&options=all&pushver=2.4.1&DeviceType=att")
    login(create_user(role=Role.STAFF))
    page = client.get("/curfew/integrations").get_data(as_text=True)
    assert "Waiting for the device to register" in page and "Attendance push" in page
    client.post(f"/iclock/registry?SN={PANEL}", data=REGISTRY_BODY)
    page = client.get("/curfew/integrations").get_data(as_text=True)
    assert "Security PUSH (access panel)" in page and "Registered " in page and "F20/M · Ver 8.0.1.3-20151229" in page
    assert "Not in contact yet" in page


# --- the files terminals and software export ---------------------------------------------------------


def _import(app, tmp_path, name: str, data: bytes, *options: str):
    path = tmp_path / name
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["access", "import", str(path), "--preset", "zkteco", *options])


# A terminal's USB download: no header, the PIN right-aligned, CRLF, a trailing space after the last line, and
# storage the terminal damaged: a run of NULs, a PIN of Zs on an impossible date, negative clock fields.
ATTLOG_DAT = (b"     1006\t2026-09-07 22:10:00\t1\t0\t15\t0\r\n"
              b"     1001\t2026-09-07 23:20:05\t1\t1\t1\t0\r\n"
              b"NLVJLA052\t2026-09-07 21:00:00\t1\t255\t15\t0\r\n" + b"\x00" * 4096 +
              b"ZZZZZZZZZZ\t2047-02-30 19:13:30\t1\t0\t1\t1515870810\r\n"
              b"     1002\t1990-00--8 -16:-29:-40\t1\t0\t1\t0\r\n ")


@pytest.mark.backends("sqlite", "postgresql")
def test_a_terminals_attlog_dat_imports_with_its_device(app, campus, tmp_path, client):
    _cards(app, tmp_path, "card,pin,student_number\n1001,,S1\n1006,,S6\n,nlvjla052,S9\n")
    _add_device(app, "CQZ7231560")
    unplaced = _import(app, tmp_path, "1_attlog.dat", ATTLOG_DAT)
    assert unplaced.exit_code != 0 and "--device SERIAL" in unplaced.output
    refused = _import(app, tmp_path, "1_attlog.dat", ATTLOG_DAT, "--device", "CQZ7231560")
    assert refused.exit_code != 0 and "nothing imported (2 problems)" in refused.output
    assert "row 4, time: '2047-02-30 19:13:30' is not a date and time" in refused.output
    assert "row 5, time: '1990-00--8 -16:-29:-40'" in refused.output and "--skip-bad-rows" in refused.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 0
    outcome = _import(app, tmp_path, "1_attlog.dat", ATTLOG_DAT, "--device", "CQZ7231560", "--skip-bad-rows")
    assert "5 rows: 3 events stored, 0 already there, 0 of unknown cards" in outcome.output, outcome.output
    assert "2 bad rows skipped" in outcome.output
    # The terminal pushing the same punch later changes nothing: the id is the one its push gives.
    assert client.post("/iclock/cdata?SN=CQZ7231560&table=ATTLOG", data="1006\t2026-09-07 22:10:00\t0\t15\n"
                       ).get_data(as_text=True) == "OK: 1"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 3
    rows = report(app.test_cli_runner())
    assert (rows["S6"]["status"], rows["S1"]["status"], rows["S9"]["status"]) == (
        "in", "absent_left_after_curfew", "in")
    assert rows["S6"]["last_door"] == "D1-N"


@pytest.mark.backends("sqlite", "postgresql")
def test_an_attlog_dat_of_an_unregistered_terminal_takes_the_building_and_zone_given(app, campus, tmp_path):
    _cards(app, tmp_path, "card,student_number\n1006,S6\n")
    data = b"  1006\t2026-09-07 16:10:00\t1\t0\t1\t0\n"  # a terminal whose clock keeps UTC
    assert "no building 'D9'" in _import(app, tmp_path, "a.dat", data, "--building", "D9").output
    assert "'Mars/Base' is not a time zone" in _import(app, tmp_path, "a.dat", data, "--building", "D1",
                                                       "--timezone", "Mars/Base").output
    outcome = _import(app, tmp_path, "a.dat", data, "--building", "d1", "--timezone", "UTC")
    assert "1 events stored" in outcome.output, outcome.output
    assert db.session.scalar(sa.select(AccessEvent.occurred_at)).astimezone(ZoneInfo("Asia/Shanghai")).hour == 0
    assert report(app.test_cli_runner())["S6"]["status"] == "late"


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ZKBio Time's transaction export: a title row above the header, Date and Time apart, day-first dates, times
# without seconds; the same as CSV in ZKBio Time's English columns.
BIOTIME_XLSX = [["Transaction"], ["Employee ID", "First Name", "Department", "Date", "Time", "Punch State",
                                  "Work Code", "Data Sources"],
                ["1006", "学生6", "计科", "07-09-2026", "22:10", "Check In", None, "Device"],
                ["1001", "学生1", "计科", "07-09-2026", "23:20", "Check Out", None, "Device"],
                ["1002", "学生2", "计科", "17-09-2026", "21:00", "Check In", None, "Device"]]
BIOTIME_CSV = ("Employee ID,First Name,Last Name,Department,Date,Time,Punch State,Verification Method,Work Code,"
               "Device Name,Device SN,Card No.\n"
               "B205,学生2,,计科,17-06-2026,08:01:05,Check In,Face,,北门,CQZ7231560,\n"
               "1006,学生6,,计科,07-09-2026,22:10:00,Check In,Fingerprint,,北门,CQZ7231560,\n"
               "9999,学生9,,计科,07-09-2026,21:00:00,Check In,Card,,北门,CQZ7231560,1009\n")
# ZKTime 5.0 in English: AC-No. and a 12-hour clock, month-first; and the Department/No./Date-Time export.
ZKTIME_EN = ("AC-No.,No.,Name,Time,State,New State,Exception,Operation\r\n"
             "1006,1,Student 6,9/7/2026 10:10 PM,C/In,,,\r\n"
             "1001,2,Student 1,9/7/2026 11:20 PM,C/Out,,,\r\n"
             "1004,3,Student 4,9/13/2026 8:00 AM,C/In,,,\r\n")
ZKTIME_EN_TABS = ("Department\tName\tNo.\tDate/Time\tLocation ID\tID Number\tVerifyCode\tCardNo\n"
                  "CS\tStudent 6\t1006\t07/09/2026 10:10:00 pm\t1\t\tFACE\t\n"
                  "CS\tStudent 1\t1001\t07/09/2026 11:20:00 pm\t1\t\tFP\t\n")
# ZKTime 5.0 in Chinese, GB18030: slash dates without padding; and the 日期时间 export with 比对方式 and 卡号.
ZKTIME_ZH = ("考勤号码,姓名,部门,日期,时间\r\n1006,学生6,计科,2026/9/7,22:10\r\n1001,学生1,计科,2026/9/7,23:20\r\n")
ZKTIME_ZH_XLSX = [["部门", "姓名", "考勤号码", "日期时间", "机器号", "编号", "比对方式", "卡号"],
                  ["计科", "学生6", "1006", "2026/9/7 22:10:00", "1", None, "面部", None],
                  ["计科", "学生1", "1001", datetime(2026, 9, 7, 23, 20), "1", None, "指纹", None]]


@pytest.mark.backends("sqlite", "postgresql")
# S1 passed the door at 23:20: going out after curfew where the file says so, else taken as coming in late.
@pytest.mark.parametrize(("name", "data", "options", "stored", "s1"), [
    ("transaction.xlsx", _xlsx(BIOTIME_XLSX), ["--device", "CQZ7231560"], 3, "absent_left_after_curfew"),
    ("transaction.csv", BIOTIME_CSV.encode(), [], 3, None),
    ("zktime.csv", ZKTIME_EN.encode(), ["--building", "D1"], 3, "absent_left_after_curfew"),
    ("zktime.txt", ZKTIME_EN_TABS.encode(), ["--building", "D1", "--date-order", "dmy"], 2, "late"),
    ("考勤.csv", ZKTIME_ZH.encode("gb18030"), ["--building", "D1"], 2, "late"),
    ("考勤记录.xlsx", _xlsx(ZKTIME_ZH_XLSX), ["--device", "CQZ7231560"], 2, "late"),
])
def test_each_export_layout_imports_once(app, campus, tmp_path, name, data, options, stored, s1):
    _cards(app, tmp_path, "card,pin,student_number\n1001,,S1\n1006,,S6\n1009,,S9\n,b205,S2\n")
    _add_device(app, "CQZ7231560")
    outcome = _import(app, tmp_path, name, data, *options)
    assert outcome.exit_code == 0, outcome.output
    assert f"{stored} events stored" in outcome.output
    assert f"0 events stored, {stored} already there" in _import(app, tmp_path, name, data, *options).output
    rows = report(app.test_cli_runner())
    assert rows["S6"]["status"] == "in" and rows["S6"]["time"] == ""
    if s1:
        assert rows["S1"]["status"] == s1
    else:
        assert rows["S9"]["status"] == "in"  # the card column, not the Employee ID
        assert db.session.scalar(sa.select(AccessEvent.student_id).where(AccessEvent.card == "B205")) \
            == campus["S2"].id  # a hex-looking Employee ID kept as written, and matched to the PIN b205


@pytest.mark.backends("sqlite", "postgresql")
def test_a_file_the_preset_cannot_read_says_which_layouts_it_knows(app, campus, tmp_path):
    unknown = _import(app, tmp_path, "x.csv", b"id,when,who\n1,2026-09-07 22:10,S6\n")
    assert unknown.exit_code != 0
    assert "header: not a ZKTeco layout this import knows" in unknown.output
    for layout in ("attlog.dat", "ZKBio Time / BioTime", "ZKTime 5.0 in English", "ZKTime 5.0 in Chinese"):
        assert layout in unknown.output
    assert "row 1" not in unknown.output  # the file, not every row, is what is wrong
    ambiguous = _import(app, tmp_path, "a.csv", b"AC-No.,Name,Time,State\n1006,S6,02/10/2026 08:00,C/In\n",
                        "--building", "D1")
    assert "--date-order dmy or mdy" in ambiguous.output
    old_excel = _import(app, tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    assert "save it as .xlsx or CSV" in old_excel.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 0


def test_the_event_import_without_a_preset_is_unchanged(app, campus, tmp_path):
    report_ = ingest.import_events(b"event_id,card,building,time\ne1,B205,D1,2026-09-07T22:10:00+08:00\n")
    assert (report_.stored, db.session.scalar(sa.select(AccessEvent.card))) == (1, "B205")


# --- what the review and the live replay found -------------------------------------------------------


@pytest.mark.backends("sqlite", "postgresql")
def test_what_a_device_cannot_send_is_set_aside_or_refused_never_a_500(app, campus, client):
    _add_device(app, PANEL)
    _add_device(app, "AJE1261900133")
    huge = client.post(f"/iclock/cdata?SN={PANEL}&table=tabledata&tablename=transaction&count=1",
                       data="transaction cardno=1007\tpin=0\tverified=4\tdoorid=1\teventtype=0\tinoutstate=0\t"
                            f"time_second={10**20}\tindex=92")
    assert (huge.status_code, huge.get_data(as_text=True)) == (200, "transaction=1")
    assert "row 1, line" in db.session.scalar(sa.select(AccessDevice.last_error).where(
        AccessDevice.serial_number == PANEL))
    assert client.get("/iclock/cdata?SN=P%001&options=all&pushver=2.4.1").status_code == 403
    assert client.get(f"/iclock/cdata?SN={PANEL}&options=all&pushver=3.0%00&DeviceType=acc").status_code == 200
    assert client.get("/iclock/getrequest?SN=AJE1261900133&INFO=Ver%00").status_code == 200
    assert client.post(f"/iclock/registry?SN={PANEL}", data="DeviceType=acc,~DeviceName=F\x00,FirmVer=1").status_code \
        == 200
    assert db.session.execute(sa.select(AccessDevice.push_version, AccessDevice.model, AccessDevice.firmware)
                              .where(AccessDevice.serial_number == PANEL)).one() == ("", "", "1")
    # No length and no chunks: the body cannot be read, so it is not acknowledged (the device sends it again).
    environ = EnvironBuilder(path="/iclock/cdata", query_string="SN=AJE1261900133&table=ATTLOG", method="POST",
                             data="1006\t2026-09-07 22:10:00\t0\t1\n").get_environ()
    del environ["CONTENT_LENGTH"]  # as a device sends it; given an environ, the test client would put it back
    unread = client.open(Request(environ))
    assert unread.status_code == 411 and unread.mimetype == "text/plain"
    for path in ("/iclock", "/iclock/", "/iclock/exchange?SN=1&type=publickey"):
        answer = client.get(path)
        assert (answer.status_code, answer.mimetype, answer.get_data(as_text=True)) == (
            404, "text/plain", "unknown request"), path
    photo = client.post("/iclock/cdata?SN=AJE1261900133&table=ATTPHOTO",
                        data=b"PIN=20260907221000-1006.jpg\nSN=AJE1261900133\nsize=4\nCMD=uploadphoto\x00\xff\xd8\xff\xe0")
    assert photo.get_data(as_text=True) == "OK"


@pytest.mark.backends("sqlite", "postgresql")
def test_a_devices_last_error_stays_until_the_next_one(app, campus, client):
    _add_device(app, "AJE1261900133")
    client.post("/iclock/cdata?SN=AJE1261900133&table=ATTLOG", data="1006\t2026-02-30 24:00:00\t0\t1\n")
    first = db.session.execute(sa.select(AccessDevice.last_error, AccessDevice.last_error_at)).one()
    assert "row 1, line" in first.last_error and first.last_error_at is not None
    client.post("/iclock/cdata?SN=AJE1261900133&table=ATTLOG", data="1006\t2026-09-07 22:10:00\t0\t1\n")
    assert db.session.execute(sa.select(AccessDevice.last_error, AccessDevice.last_error_at)).one() == first


@pytest.mark.backends("sqlite", "postgresql")
def test_a_card_swipe_finds_the_student_by_the_pin_it_carries_when_only_pins_were_listed(app, campus, tmp_path,
                                                                                       client):
    _add_device(app, PANEL)
    _cards(app, tmp_path, "pin,student_number\n445966,S3\n")
    swipe = ("time=2026-09-07 22:30:00\tpin={pin}\tcardno={card}\teventaddr=1\tevent=0\tinoutstatus=0\t"
             "verifytype=4\tindex={index}")
    client.post(f"/iclock/cdata?SN={PANEL}&table=rtlog", data="\n".join([
        swipe.format(pin="445966", card="88001", index=1), swipe.format(pin="777", card="88002", index=2)]))
    owners = dict(db.session.execute(sa.select(AccessEvent.card, AccessEvent.student_id)).all())
    assert owners == {"88001": campus["S3"].id, "88002": None}
    # The PIN listed later finds the earlier swipe too.
    assert "1 earlier events matched" in _cards(app, tmp_path, "pin,student_number\n777,S4\n")
    assert db.session.scalar(sa.select(AccessEvent.student_id).where(AccessEvent.card == "88002")) == campus["S4"].id


@pytest.mark.backends("sqlite", "postgresql")
def test_one_identifier_listed_twice_in_other_letters_is_given_once_and_relabelled_when_its_kind_changes(
        app, campus, tmp_path):
    ids = {name: student.id for name, student in campus.items()}
    handed = card_numbers.hand_over({"abc": ids["S2"], "ABC": ids["S3"]})
    assert (handed.created, handed.unchanged) == (1, 0)
    handed = card_numbers.hand_over({"ABC": ids["S2"], "abc": ids["S3"]})
    assert (handed.created, handed.handed_on, handed.unchanged) == (0, 0, 1)  # the first listing holds
    assert db.session.execute(sa.select(Card.number, Card.student_id, Card.kind)).all() == [("abc", ids["S2"], "card")]
    assert "0 cards created, 0 handed on, 1 unchanged" in _cards(app, tmp_path, "pin,student_number\nABC,S2\n")
    assert db.session.scalar(sa.select(Card.kind)) == "pin"


@pytest.mark.backends("sqlite", "postgresql")
def test_doors_and_rooms_list_pins_beside_cards_and_unknown_ones_once_in_any_letters(app, campus, tmp_path, client,
                                                                                   login, create_user):
    _cards(app, tmp_path, "card,pin,student_number\n1001,NLVJLA052,S1\n,445966,S2\n")
    _add_device(app, "AJE1261900133")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    client.post("/iclock/cdata?SN=AJE1261900133&table=ATTLOG",
                data=f"zzz1\t{today}\t0\t1\nZZZ1\t{today}\t1\t1\n")
    login(create_user(role=Role.STAFF))
    exported = client.get("/curfew/entitlements.csv").data.decode("utf-8-sig").splitlines()
    assert "S1,学生1,D1,1001,NLVJLA052" in exported and "S2,学生2,D1,,445966" in exported
    page = client.get("/curfew/doors").get_data(as_text=True)
    without = page.split('data-testid="without-card"')[1].split("</p>")[0]
    assert "S1" not in without and "S2" not in without and "S3" in without  # a PIN is enough for a face door
    unknown = page.split('data-testid="unknown-cards"')[1].split("</table>")[0]
    assert unknown.count("<tr>") == 2 and ">2<" in unknown  # the header, and zzz1/ZZZ1 as one with two events


@pytest.mark.backends("sqlite", "postgresql")
def test_the_night_page_is_for_the_students_counselor_staff_and_the_student_alone(app, campus, tmp_path, client,
                                                                                 login, create_user):
    ingest.import_events(b"event_id,card,building,time,event\ne1,1006,D1,2026-09-07T22:10:00+08:00,entry\n")
    _cards(app, tmp_path, "card,student_number\n1006,S6\n")
    url = f"/curfew/students/{campus['S6'].id}/nights/{NIGHT}"
    staff = create_user(role=Role.STAFF)
    login(staff)
    page = client.get(url, headers=OPENED_HERE).get_data(as_text=True)
    assert "Opened" in page and "Unknown event code" not in page  # a column named event from elsewhere is no code
    linked = client.get(url, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert f'href="{url}"' in linked.get_data(as_text=True)  # opened from elsewhere: one tap to this very night
    views = sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "access.history.view")
    before = db.session.scalar(views)
    assert client.get(f"/curfew/students/{campus['S6'].id}/nights/{'x' * 3000}", headers=OPENED_HERE).status_code \
        == 404
    assert db.session.scalar(views) == before  # a night that is none is not written in the log
    client.post("/logout")
    login(create_user(role=Role.BUILDING_MANAGER, buildings=[]))
    assert client.get(url, headers=OPENED_HERE).status_code == 403
    client.post("/logout")
    login(create_user(role=Role.STUDENT, student=campus["S6"]))
    assert client.get(url, headers=OPENED_HERE).status_code == 403
    own = client.get(f"/curfew/me/nights/{NIGHT}").get_data(as_text=True)
    assert "22:10:00" in own and "D1" in own


def test_codes_and_identifiers_refuse_what_only_looks_like_them():
    for odd in ("٣", "+0", "0_0", " 0 x"):
        assert codes.event_kind(odd) == codes.Kind.UNKNOWN and not codes.granted(odd)
    assert codes.event_kind(" 0 ") == codes.Kind.OPENED  # padded as some firmware writes it
    with pytest.raises(ValueError, match="longer than a card number"):
        card_numbers.normalise("0x" + "f" * 20000)
    with pytest.raises(ValueError, match="not a time"):
        decode_time(10**20)


@pytest.mark.backends("sqlite", "postgresql")
def test_exports_keep_every_punch_and_where_it_was(app, campus, tmp_path):
    _cards(app, tmp_path, "card,student_number\n1001,S1\n1006,S6\n")
    minutes = ("Employee ID,First Name,Department,Date,Time,Punch State\n"
               "1001,学生1,计科,2026-09-07,23:00,Check Out\n1001,学生1,计科,2026-09-07,23:00,Check In\n"
               "1006,学生6,计科,2026-09-07,22:10,Check In\n")
    assert "3 events stored" in _import(app, tmp_path, "t.csv", minutes.encode(), "--building", "D1").output
    assert "0 events stored, 3 already there" in _import(app, tmp_path, "t.csv", minutes.encode(), "--building",
                                                         "D1").output
    # The same file for another building is other punches, not "already there".
    assert "3 events stored" in _import(app, tmp_path, "t.csv", minutes.encode(), "--building", "D2").output
    # A workbook whose Date column holds real date cells.
    dated = _xlsx([["Employee ID", "Date", "Time", "Punch State"],
                   ["1006", datetime(2026, 9, 8), "06:30", "Check Out"]])
    assert "1 events stored" in _import(app, tmp_path, "d.xlsx", dated, "--building", "D1").output
    # A clock's first second of 2000 is a time, wherever the terminal stands.
    assert "1 events stored" in _import(app, tmp_path, "y2k.dat", b"  1001\t2000-01-01 05:53:42\t1\t0\t1\t0\n",
                                        "--building", "D1").output


@pytest.mark.backends("sqlite", "postgresql")
def test_an_export_that_cannot_be_read_is_refused_whole_with_why(app, campus, tmp_path):
    _add_device(app, "CQZ7231560")
    long_area = ("Personnel ID,Punch Time,Punch State,Area Name\n"
                 f"1006,2026-09-07 22:10:00,0,{'North Area ' * 4}\n")
    outcome = _import(app, tmp_path, "area.csv", long_area.encode())
    assert "row 1, building: 'North Area North Area North Area North A'… is longer than 32 characters" \
        in outcome.output
    huge = _import(app, tmp_path, "huge.csv", b"Personnel ID,Punch Time\n1006,\"" + b"x" * 200_000 + b"\n")
    assert huge.exit_code != 0 and "cannot be read as CSV" in huge.output
    broken = _import(app, tmp_path, "broken.xlsx", _xlsx([["Employee ID", "Date", "Time"]])[:-200])
    assert broken.exit_code != 0 and "readable .xlsx" in broken.output
    every_row_bad = _import(app, tmp_path, "bad.dat", b"  1006\t2047-02-30 19:13:30\t1\t0\t1\t0\n",
                            "--device", "CQZ7231560", "--skip-bad-rows")
    assert every_row_bad.exit_code != 0 and "nothing imported" in every_row_bad.output
    for options, message in ((["--device", "CQZ7231560", "--timezone", "UTC"], "--timezone goes with --building"),
                             (["--device", "CQZ7231560", "--building", "D1"], "not both")):
        assert message in _import(app, tmp_path, "a.dat", b"x", *options).output
    generic = app.test_cli_runner().invoke(args=["access", "import", write(tmp_path, "g.csv", "x"), "--building",
                                                 "D1"])
    assert generic.exit_code != 0 and "go with --preset zkteco" in generic.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == 0
