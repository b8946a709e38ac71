"""Notifications: the outbox in the change's transaction, sending by real SMTP and HTTP (local stand-ins for the
mail server, WeCom and DingTalk), the robots' throttle, retries, the pages, and each event in both languages."""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import threading
from datetime import date, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from dorms.access import permissions
from dorms.access.models import PermissionKind
from dorms.allocation import services as allocation
from dorms.allocation.models import RunMode
from dorms.auth.models import User
from dorms.checkin import services as checkin
from dorms.core.clock import campus_today, utcnow
from dorms.core.enums import GenderPolicy, Role
from dorms.extensions import db
from dorms.facilities import repairs
from dorms.facilities.models import RepairStatus
from dorms.notifications import notify, notify_each, staff_accounts
from dorms.notifications.kinds import KINDS
from dorms.notifications.models import Contact, Delivery, DeliveryAttempt, Notification, Preference
from dorms.notifications.outbox import render
from dorms.notifications.sending import send_due
from dorms.residence import services as residence
from dorms.roomchange import services as roomchange
from dorms.roomchange.services import Choice
from dorms.violations import services as violations
from dorms.violations.models import ViolationStatus

DINGTALK_SECRET = "SECtest-secret"


class _Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.mail_commands = 0
        self.drop_at: set[int] = set()  # the MAIL commands (counted from 1) at which the server hangs up

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_commands += 1
        if self.mail_commands in self.drop_at:  # as a server dropping an idle connection: no answer
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class _RobotHandler(BaseHTTPRequestHandler):
    """Answers as WeCom and DingTalk do: 200 with an error code in the body (0: sent)."""

    def do_POST(self):
        url = urlsplit(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((url.path, parse_qs(url.query), body))
        answer = json.dumps(self.server.answers.get(url.path, {"errcode": 0, "errmsg": "ok"})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def smtp_server():
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def robot_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RobotHandler)
    server.received, server.answers = [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def outside(app, smtp_server, robot_server, monkeypatch):
    """The settings point at the local mail server and robot receiver; what they got so far is forgotten."""
    mailbox, smtp_port = smtp_server
    mailbox.messages.clear()
    mailbox.mail_commands, mailbox.drop_at = 0, set()
    robot_server.received.clear()
    robot_server.answers.clear()
    base = f"http://127.0.0.1:{robot_server.server_port}"
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):  # nothing may leave this machine
        monkeypatch.delenv(name, raising=False)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port, SMTP_SECURITY="none", SMTP_FROM="dorms@test",
                      ROBOT_URL_PREFIXES={"wecom": f"{base}/wecom?key=", "dingtalk": f"{base}/dingtalk?access_token="},
                      NOTIFY_RETRY_SECONDS=60, NOTIFY_MAX_ATTEMPTS=3, ROBOT_PER_MINUTE=20)
    return {"mail": mailbox.messages, "mailbox": mailbox, "robots": robot_server, "base": base}


def _reachable(user, *, email="", robot=None, kinds=(), locale=None):
    """``user`` with an address and/or a robot (service, path, secret), taking ``kinds`` by email and robot."""
    service, url, secret = (*robot, "")[:3] if robot else ("", "", "")
    db.session.add(Contact(user_id=user.id, email=email, robot_service=service, robot_url=url, robot_secret=secret))
    for kind in kinds:
        db.session.add(Preference(user_id=user.id, kind=kind, email=True, robot=True))
    user.locale = locale
    db.session.commit()
    return user


def test_a_notification_goes_out_by_email_and_both_robots_in_each_readers_language(app, outside, create_user):
    base = outside["base"]
    staff = _reachable(create_user(role=Role.STAFF), email="zhang@example.edu.cn", locale="zh_CN",
                         robot=("wecom", f"{base}/wecom?key=class-group"), kinds=["violation_appealed"])
    counselor = _reachable(create_user(role=Role.COUNSELOR), robot=("dingtalk", f"{base}/dingtalk?access_token=t1",
                                                                     DINGTALK_SECRET), locale="en")
    notify([staff], "violation_appealed", violation=7, student="2024001 张三", reason="不是我")
    notify([counselor], "permission_requested", student="2024001 张三", class_name="计科2401",
           kind=PermissionKind.LATE.lazy_label, nights="2026-09-07", reason="lab")
    db.session.commit()

    report = send_due()
    assert (report.sent, report.failed, report.deferred) == (3, 0, 0)
    [mail] = outside["mail"]
    assert (mail["To"], mail["Subject"]) == ("zhang@example.edu.cn", "2024001 张三 对违纪记录 #7 提出申诉")
    assert "不是我" in mail.get_content()
    received = {path: (query, body) for path, query, body in outside["robots"].received}
    query, body = received["/wecom"]
    assert query["key"] == ["class-group"] and body["msgtype"] == "text"
    assert body["text"]["content"] == "2024001 张三 对违纪记录 #7 提出申诉\n不是我"
    query, body = received["/dingtalk"]
    timestamp, [sign] = query["timestamp"][0], query["sign"]
    expected = hmac.new(DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    assert base64.b64decode(sign) == expected  # parse_qs undid the URL encoding
    assert body["text"]["content"].startswith("2024001 张三 asks for permission: Late return\nLate return, 2026-09-07")
    attempts = db.session.scalars(sa.select(DeliveryAttempt)).all()
    assert sorted((a.channel, a.outcome) for a in attempts) == [("email", "sent"), ("robot", "sent"), ("robot", "sent")]
    result = app.test_cli_runner().invoke(args=["notifications", "send"])  # nothing is sent twice
    assert result.exit_code == 0 and "sent 0," in result.output and len(outside["robots"].received) == 2


@pytest.mark.commits
def test_the_scheduled_job_sends_what_is_due(app, outside, create_user):
    from dorms import jobs
    from dorms.jobs import runner
    from dorms.jobs.models import JobStatus

    staff = _reachable(create_user(role=Role.STAFF), robot=("wecom", f"{outside['base']}/wecom?key=office"),
                       kinds=["violation_appealed"])
    notify([staff], "violation_appealed", violation=9, student="S", reason="r")
    job = jobs.enqueue("notifications.send")
    db.session.commit()
    assert runner.perform(job.id) == JobStatus.SUCCEEDED
    db.session.rollback()
    assert db.session.get(type(job), job.id).result == {"sent": 1, "failed": 0, "given_up": 0, "deferred": 0,
                                                               "skipped": False}
    assert [path for path, _query, _body in outside["robots"].received] == ["/wecom"]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    from .certificates import make_certificates

    root = tmp_path_factory.mktemp("smtp-tls")
    files = {name: root / f"{name}.pem" for name in ("ca", "cert", "key")}
    make_certificates(root, files["ca"], files["cert"], files["key"])
    return files


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_goes_over_tls_with_a_sign_in_checked_against_the_campus_ca(app, outside, create_user, tls_files,
                                                                          security):
    import ssl

    from aiosmtpd.smtp import AuthResult

    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tls_files["cert"], tls_files["key"])
    mailbox, signed_in = _Mailbox(), []

    def authenticate(server, session, envelope, mechanism, auth_data):
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        signed_in.append((auth_data.login, auth_data.password, encrypted))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"dorms", b"s3cret"))

    # STARTTLS: sign-in is offered only once the connection is encrypted; SMTPS is encrypted from the start
    # (aiosmtpd's own check knows only STARTTLS).
    options = ({"tls_context": server_tls, "require_starttls": True, "auth_require_tls": True}
               if security == "starttls" else {"ssl_context": server_tls, "auth_require_tls": False})
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticate, **options)
    controller.start()
    try:
        app.config.update(SMTP_PORT=controller.port, SMTP_SECURITY=security, SMTP_USERNAME="dorms",
                          SMTP_PASSWORD="s3cret")
        staff = _reachable(create_user(role=Role.STAFF), email="office@example.edu.cn", kinds=["violation_appealed"])
        notify([staff], "violation_appealed", violation=5, student="S", reason="r")
        db.session.commit()
        app.config["SMTP_CA_FILE"] = None  # the system's CAs do not know the campus's: refused, tried again later
        assert send_due().failed == 1 and mailbox.messages == []
        app.config["SMTP_CA_FILE"] = str(tls_files["ca"])
        report = send_due(utcnow() + timedelta(hours=1))
        assert report.sent == 1, db.session.scalars(sa.select(DeliveryAttempt.error)).all()
        assert [m["To"] for m in mailbox.messages] == ["office@example.edu.cn"]
        assert signed_in == [(b"dorms", b"s3cret", True)]  # the password went over TLS only
    finally:
        controller.stop()


def test_the_staff_group_robot_hears_of_a_staff_event_once(app, outside, create_user):
    app.config.update(STAFF_ROBOT_URL=f"{outside['base']}/staff?key=office", STAFF_ROBOT_SERVICE="wecom")
    staff = [create_user(role=Role.STAFF) for _ in range(3)]
    notify(staff_accounts(), "violation_appealed", violation=3, student="S", reason="r")
    notify(staff, "directory_sync_failed", run=4, error="refused")  # two events, three people each
    db.session.commit()
    assert send_due().sent == 2
    assert [(path, body["text"]["content"]) for path, _q, body in outside["robots"].received] == [
        ("/staff", "Violation #3 appealed by S\nr"), ("/staff", "Directory sync #4 failed\nrefused")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 6  # the bell: each of them


def _outbox() -> list[tuple]:
    """What the outbox holds, in an order that does not depend on the ids given: who, what, and which channels."""
    notifications: dict[int, tuple] = {}
    for notification_id, user_id, kind, params, channel in db.session.execute(
            sa.select(Notification.id, Notification.user_id, Notification.kind, Notification.params, Delivery.channel)
            .outerjoin(Delivery).order_by(Notification.id, Delivery.id)):
        *told, channels = notifications.setdefault(notification_id, (user_id, kind, json.dumps(params, sort_keys=True), []))
        channels.extend([channel] if channel else [])
    return sorted((*told, tuple(channels)) for *told, channels in notifications.values())


def test_a_round_notified_at_once_writes_what_notifying_each_alone_writes(app, outside, create_user):
    app.config.update(STAFF_ROBOT_URL=f"{outside['base']}/staff?key=office", STAFF_ROBOT_SERVICE="wecom")
    by_mail = _reachable(create_user(role=Role.STAFF), email="mail@example.edu.cn")  # the kinds' defaults
    by_both = _reachable(create_user(role=Role.STAFF), email="both@example.edu.cn",
                         robot=("wecom", f"{outside['base']}/wecom?key=both"), kinds=["violation_appealed"])
    in_app = create_user(role=Role.STAFF)  # nowhere else to go
    gone = create_user(role=Role.STAFF)
    gone.active = False
    db.session.add(Preference(user_id=by_mail.id, kind="directory_sync_failed", email=False, robot=True))
    db.session.commit()
    events = [([by_mail, by_both, by_mail, None], "violation_appealed", {"violation": 1, "student": "S", "reason": "r"}),
              ([in_app, gone, by_mail], "directory_sync_failed", {"run": 2, "error": "refused"}),
              ([gone], "violation_appealed", {"violation": 3, "student": "S", "reason": "r"}),  # nobody: no robot
              ([by_both, in_app], "violation_decided",
               {"violation": 4, "status": ViolationStatus.UPHELD.lazy_label, "type": "噪音", "date": "2026-09-07",
                "note": ""}),
              ([by_both], "directory_sync_failed", {"run": 5, "error": "timeout"})]
    alone = db.session.begin_nested()
    written_alone = [(n.user_id, n.kind, n.params, [d.channel for d in n.deliveries], render(n, "zh_CN"))
                     for recipients, kind, params in events for n in notify(recipients, kind, **params)]
    outbox_alone = _outbox()
    alone.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0

    written = [(n.user_id, n.kind, n.params, [d.channel for d in n.deliveries], render(n, "zh_CN"))
               for n in notify_each(events)]
    assert written == written_alone and _outbox() == outbox_alone
    assert [channels for _u, _k, _p, channels, _t in written] == [
        ["email", "staff_robot"], ["email", "robot"], ["staff_robot"], [], ["email"], [], ["email", "staff_robot"]]
    assert written[4][4][0] == "违纪记录 #4：维持原记录"  # a translatable value stays translatable
    assert notify_each([]) == [] and notify_each([([gone], "violation_appealed", {})]) == []


def test_a_round_of_fifty_takes_the_queries_a_round_of_five_takes(app, create_user, count_queries):
    app.config["SMTP_HOST"] = "mail.example.edu.cn"  # everyone has a delivery to write, nothing is sent
    people = [create_user(role=Role.STAFF) for _ in range(55)]
    for person in people:
        db.session.add(Contact(user_id=person.id, email=f"u{person.id}@example.edu.cn"))
    db.session.add(Preference(user_id=people[0].id, kind="violation_appealed", email=True, robot=False))
    db.session.commit()
    # Loaded again after the commit expired them, so that only telling them is counted.
    people = db.session.scalars(sa.select(User).where(User.id.in_([p.id for p in people])).order_by(User.id)).all()

    def queries_to_tell(round_of: list) -> int:
        with count_queries() as statements:
            told = notify_each(([person], "violation_appealed", {"violation": n, "student": "S", "reason": "r"})
                               for n, person in enumerate(round_of))
        assert [n.user_id for n in told] == [person.id for person in round_of]
        assert all([d.channel for d in n.deliveries] == ["email"] for n in told)
        return len(statements)

    assert queries_to_tell(people[:5]) == queries_to_tell(people[5:]) == 4  # preferences, contacts, 2 INSERTs


def test_a_robot_takes_twenty_a_minute_and_the_twenty_first_waits_not_dropped(app, outside, create_user):
    user = _reachable(create_user(role=Role.STAFF), robot=("wecom", f"{outside['base']}/wecom?key=busy"),
                      kinds=["violation_appealed"])
    for number in range(21):
        notify([user], "violation_appealed", violation=number, student="S", reason="r")
    db.session.commit()
    start = utcnow()
    first = send_due(start)
    assert (first.sent, first.deferred) == (20, 1) and len(outside["robots"].received) == 20
    waiting = db.session.scalar(sa.select(Delivery).where(Delivery.status == "pending"))
    # It waits until the first of the twenty leaves the minute (measured on the sender's clock, not this test's).
    first_sent = db.session.scalar(sa.select(sa.func.min(DeliveryAttempt.at)).where(DeliveryAttempt.outcome == "sent"))
    assert waiting.next_attempt_at == first_sent + timedelta(seconds=60)
    assert send_due(start + timedelta(seconds=20)).sent == 0  # the minute is still full
    assert send_due(start + timedelta(seconds=80)).sent == 1
    assert len(outside["robots"].received) == 21
    assert {body["text"]["content"].split("\n")[0] for _p, _q, body in outside["robots"].received} == \
        {f"Violation #{n} appealed by S" for n in range(21)}


def test_a_failing_channel_is_retried_with_back_off_then_given_up_and_shown_to_staff(app, outside, create_user,
                                                                                        create_student, login, client):
    outside["robots"].answers["/broken"] = {"errcode": 310000, "errmsg": "sign not match"}
    user = _reachable(create_user(role=Role.STAFF), robot=("dingtalk", f"{outside['base']}/broken?access_token=x",
                                                           "SECwrong"), kinds=["violation_appealed"])
    notify([user], "violation_appealed", violation=1, student="S", reason="r")
    db.session.commit()
    start = utcnow()
    assert send_due(start).failed == 1
    delivery = db.session.scalar(sa.select(Delivery))
    assert delivery.status == "pending" and delivery.attempts == 1 and "310000" in delivery.last_error
    assert delivery.next_attempt_at - delivery.attempt_log[-1].at == timedelta(seconds=60)  # from the attempt
    assert send_due(start + timedelta(seconds=20)).failed == 0  # not yet due
    assert send_due(start + timedelta(seconds=61)).failed == 1
    db.session.refresh(delivery)
    latest = max(attempt.at for attempt in delivery.attempt_log)
    assert delivery.next_attempt_at - latest == timedelta(seconds=120)  # twice as long after the second
    assert send_due(start + timedelta(seconds=200)).given_up == 1
    db.session.refresh(delivery)
    assert (delivery.status, len(delivery.attempt_log)) == ("failed", 3)
    assert send_due(start + timedelta(days=1)).failed == 0  # given up: never tried again by itself

    student = create_user(role=Role.STUDENT, student=create_student())
    login(student)
    assert client.get("/notifications/failing").status_code == 403
    assert client.post(f"/notifications/failing/{delivery.id}/retry").status_code == 403
    client.post("/logout")
    login(create_user(role=Role.STAFF))
    page = client.get("/notifications/failing").get_data(as_text=True)
    assert "310000 sign not match" in page and user.display_name in page and "Own group robot" in page
    client.post(f"/notifications/failing/{delivery.id}/retry")
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_a_robot_address_no_request_can_carry_fails_as_an_attempt_and_the_rest_still_go_out(app, outside,
                                                                                            create_user):
    base = outside["base"]
    outside["robots"].answers["/odd"] = ["not", "an", "object"]
    spaced = _reachable(create_user(role=Role.STAFF), robot=("wecom", f"{base}/wecom?key=abc def"),
                        kinds=["violation_appealed"])  # saved by other means than the form, which refuses it
    odd = _reachable(create_user(role=Role.STAFF), robot=("wecom", f"{base}/odd?key=x"), kinds=["violation_appealed"])
    fine = _reachable(create_user(role=Role.STAFF), email="fine@example.edu.cn", kinds=["violation_appealed"])
    for user in (spaced, odd, fine):
        notify([user], "violation_appealed", violation=1, student="S", reason="r")
    db.session.commit()
    report = send_due()
    assert (report.sent, report.failed) == (1, 2)  # a channel without an address has no delivery
    failed = {d.notification.user_id: d for d in db.session.scalars(sa.select(Delivery).where(
        Delivery.channel == "robot", Delivery.status == "pending"))}
    assert "URL" in failed[spaced.id].last_error and "not a JSON object" in failed[odd.id].last_error
    assert [a.outcome for a in failed[spaced.id].attempt_log] == ["failed"]
    assert [m["To"] for m in outside["mail"]] == ["fine@example.edu.cn"]


def test_an_unexpected_error_of_a_channel_is_a_failed_attempt_of_that_message_only(app, outside, create_user,
                                                                                   monkeypatch):
    from dorms.notifications.channels import Mailer

    def broken(mailer, to, subject, body):
        raise KeyError(to)

    monkeypatch.setattr(Mailer, "send", broken)
    users = [_reachable(create_user(role=Role.STAFF), email="a@example.edu.cn",
                        robot=("wecom", f"{outside['base']}/wecom?key=a"), kinds=["violation_appealed"])]
    notify(users, "violation_appealed", violation=1, student="S", reason="r")
    db.session.commit()
    report = send_due()
    assert (report.sent, report.failed) == (1, 1) and len(outside["robots"].received) == 1
    failed = db.session.scalar(sa.select(Delivery).where(Delivery.channel == "email"))
    assert failed.last_error == "KeyError: 'a@example.edu.cn'" and failed.attempts == 1


@pytest.mark.parametrize(("service", "answer"), [("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}),
                                                 ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"})])
def test_a_robot_that_says_it_was_sent_too_much_defers_without_spending_an_attempt(app, outside, create_user,
                                                                                  service, answer):
    outside["robots"].answers["/full"] = answer
    parameter = "key" if service == "wecom" else "access_token"
    user = _reachable(create_user(role=Role.STAFF), robot=(service, f"{outside['base']}/full?{parameter}=x"),
                      kinds=["violation_appealed"])
    for number in range(2):
        notify([user], "violation_appealed", violation=number, student="S", reason="r")
    db.session.commit()
    app.config["NOTIFY_MAX_ATTEMPTS"] = 1
    start = utcnow()
    report = send_due(start)
    assert (report.sent, report.failed, report.given_up, report.deferred) == (0, 0, 0, 2)
    assert len(outside["robots"].received) == 1  # the second waits for the robot without asking it
    first, second = db.session.scalars(sa.select(Delivery).order_by(Delivery.id)).all()
    assert (first.status, first.attempts, [a.outcome for a in first.attempt_log]) == ("pending", 0, ["deferred"])
    assert first.next_attempt_at - start >= timedelta(seconds=60) and second.attempts == 0
    del outside["robots"].answers["/full"]
    assert send_due(start + timedelta(minutes=11)).sent == 2


def test_an_smtp_connection_the_server_dropped_is_opened_again_once(app, outside, create_user):
    users = [_reachable(create_user(role=Role.STAFF), email=f"s{n}@example.edu.cn", kinds=["violation_appealed"])
             for n in range(3)]
    notify(users, "violation_appealed", violation=1, student="S", reason="r")
    db.session.commit()
    # The first connection dropped at the second message, then the second at once: the third opens a third.
    outside["mailbox"].drop_at = {2, 3}
    report = send_due()
    assert (report.sent, report.failed) == (2, 1)
    assert sorted(m["To"] for m in outside["mail"]) == ["s0@example.edu.cn", "s2@example.edu.cn"]
    [failed] = db.session.scalars(sa.select(Delivery).where(Delivery.status == "pending")).all()
    assert "SMTP" in failed.last_error


@pytest.mark.commits
def test_one_sender_at_a_time(app, outside, create_user, backend):
    from dorms.notifications.sending import SENDER_LOCK

    if backend != "postgresql":
        pytest.skip("the sender's lock is PostgreSQL's")
    user = _reachable(create_user(role=Role.STAFF), email="one@example.edu.cn", kinds=["violation_appealed"])
    notify([user], "violation_appealed", violation=1, student="S", reason="r")
    db.session.commit()
    with db.engine.connect() as other:  # another sender's
        assert other.scalar(sa.select(sa.func.pg_try_advisory_lock(SENDER_LOCK)))
        result = app.test_cli_runner().invoke(args=["notifications", "send"])
        assert "skipped: another sender is running" in result.output and not outside["mail"]
        other.scalar(sa.select(sa.func.pg_advisory_unlock(SENDER_LOCK)))
    assert send_due().sent == 1 and send_due().sent == 0  # and the lock is let go after each run


# --- the events ---------------------------------------------------------------------------------------------


@pytest.fixture
def world(create_building, create_room, create_student, create_user):
    building = create_building("N1", gender_policy=GenderPolicy.MALE)
    rooms = [create_room(building, number, capacity=1) for number in ("101", "102")]
    students = [create_student(f"20249900{n}", name=f"学生{n}") for n in range(2)]
    for student, room in zip(students, rooms):
        residence.assign(student, room.beds[0], reason="intake")
    db.session.commit()
    return {"rooms": rooms, "students": students,
            "accounts": [create_user(s.student_number, role=Role.STUDENT, student=s) for s in students],
            "counselor": create_user(role=Role.COUNSELOR, classes=["计科2401"]), "staff": create_user()}


def _requests_round():
    run = allocation.create_run(mode=RunMode.REQUESTS, building_ids=[], time_limit=2)
    db.session.commit()
    allocation.apply_run(allocation.execute_run(run.id))


def _violation(w, *steps):
    violations.ensure_default_types()
    record = violations.record(type_id=violations.types()[0].id, student_numbers=[w["students"][0].student_number],
                               room_code="", occurred_on=date(2026, 9, 7), description="")
    for step in steps:
        violations.move(record, step, note="checked" if step != ViolationStatus.NOTIFIED else "", actor=w["staff"])
    return record


def _permission(w):
    return permissions.request_permission(w["students"][0], PermissionKind.LATE, campus_today(),
                                          expected_return=time(23, 30), reason="lab")


EVENTS = {
    # event: (what happens, who is told, the title in English, in Chinese)
    "swap requested": (lambda w: roomchange.ask_to_swap(w["students"][0], w["students"][1].student_number, "quiet"),
                       lambda w: w["accounts"][1], "Swap request from 202499000 学生0", "202499000 学生0 向你发起换宿申请"),
    "swap answered": (lambda w: roomchange.answer_swap(w["students"][1], roomchange.ask_to_swap(
        w["students"][0], w["students"][1].student_number, "quiet").id, accept=False),
        lambda w: w["accounts"][0], "answered your swap request: declined", "答复了你的换宿申请：已拒绝"),
    "round outcome": (lambda w: (roomchange.ask_to_move(w["students"][0], [Choice("room", "N1-102")], "x"),
                                 _requests_round()),
                      lambda w: w["accounts"][0], "Your room change request #", "你的调宿申请 #"),
    "permission requested": (_permission, lambda w: w["counselor"],
                             "202499000 学生0 asks for permission: Late return", "202499000 学生0 提交申请：晚归"),
    "permission decided": (lambda w: permissions.decide(_permission(w), True, w["counselor"]),
                           lambda w: w["accounts"][0], "is Approved", "已批准"),
    "violation notified": (lambda w: _violation(w, ViolationStatus.NOTIFIED), lambda w: w["accounts"][0],
                           "Violation #", "违纪记录 #"),
    "violation decided": (lambda w: _violation(w, ViolationStatus.NOTIFIED, ViolationStatus.RESOLVED),
                          lambda w: w["accounts"][0], "is Resolved", "违纪记录 #"),
    "violation appealed": (lambda w: violations.appeal(_violation(w, ViolationStatus.NOTIFIED), w["students"][0],
                                                       "not me"),
                           lambda w: w["staff"], "appealed by 202499000 学生0", "202499000 学生0 对违纪记录"),
    "repair step": (lambda w: repairs.move(repairs.report(w["rooms"][0], "空调坏了", actor=w["accounts"][0]),
                                           RepairStatus.ASSIGNED, assignee="王师傅", actor=w["staff"]),
                    lambda w: w["accounts"][0], "Repair ticket #", "报修单 #"),
    "check-in report": (lambda w: checkin.check_in(w["students"][0], actor=w["staff"]), lambda w: w["accounts"][0],
                        "Acknowledge the condition report of N1-101", "请确认 N1-101"),
    # The hourly reminder (the scheduler's): the run whose hour holds "due minus a day".
    "check-in report due": (lambda w: checkin.remind_reports_due(checkin.check_in(
        w["students"][0], actor=w["staff"]).ack_due_at - timedelta(hours=23, minutes=30)), lambda w: w["accounts"][0],
        "The condition report of N1-101-1 is due", "N1-101-1 的房间状况报告即将到期"),
}


@pytest.mark.parametrize("event", [pytest.param(event, marks=[pytest.mark.commits] if event == "round outcome" else [])
                                   for event in EVENTS])  # a round reads the campus at one moment: real commits
def test_each_event_tells_the_right_person_through_each_channel_in_their_language(world, outside, event):
    happen, told, english, chinese = EVENTS[event]
    # Everyone takes every kind by email and robot; the student accounts read Chinese, the others English.
    people = [*world["accounts"], world["counselor"], world["staff"]]
    for person in people:
        _reachable(person, email=f"u{person.id}@example.edu.cn",
                   robot=("wecom", f"{outside['base']}/wecom?key=u{person.id}"), kinds=list(KINDS),
                   locale="zh_CN" if person in world["accounts"] else "en")
    happen(world)
    db.session.commit()
    last = db.session.scalars(sa.select(Notification).order_by(Notification.id.desc())).first()
    recipient = told(world)
    assert last.user_id == recipient.id
    for language, expected in (("en", english), ("zh_CN", chinese)):
        title, _body = render(last, language)
        assert expected in title, (language, title)
    send_due()
    title = english if recipient.locale == "en" else chinese
    mails = [m for m in outside["mail"] if m["To"] == f"u{recipient.id}@example.edu.cn"]
    robots = [body for path, query, body in outside["robots"].received if query["key"] == [f"u{recipient.id}"]]
    assert any(title in m["Subject"] for m in mails), [m["Subject"] for m in mails]
    assert any(title in body["text"]["content"] for body in robots)


def test_a_change_rolled_back_notifies_nobody(world):
    savepoint = db.session.begin_nested()
    roomchange.ask_to_swap(world["students"][0], world["students"][1].student_number, "quiet")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    savepoint.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0


# --- the pages ----------------------------------------------------------------------------------------------


def test_the_bell_counts_unread_with_one_query_and_the_list_marks_them_read(world, login, client, count_queries):
    me, other = world["accounts"]
    for number in range(2):
        notify([me], "violation_appealed", violation=number, student="S", reason="r")
    [theirs] = notify([other], "violation_appealed", violation=9, student="S", reason="r")
    with count_queries() as queries:
        assert 'data-testid="bell"' not in client.get("/login").get_data(as_text=True)
    assert not [q for q in queries if "notifications" in q]  # nobody signed in: no query
    login(me)
    with count_queries() as queries:
        page = client.get("/room-change/mine").get_data(as_text=True)
    assert len([q for q in queries if "FROM notifications" in q]) == 1
    assert 'data-testid="unread">2</span>' in page
    listing = client.get("/notifications/").get_data(as_text=True)
    assert listing.count('data-testid="notification"') == 2 and "Violation #9" not in listing
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404  # another's
    first = db.session.scalar(sa.select(Notification).where(Notification.user_id == me.id))
    client.post(f"/notifications/{first.id}/read")
    assert 'data-testid="unread">1</span>' in client.get("/notifications/").get_data(as_text=True)
    client.post("/notifications/read-all")
    assert 'data-testid="unread"' not in client.get("/notifications/").get_data(as_text=True)
    db.session.refresh(theirs)
    assert theirs.read_at is None
    client.post("/logout")
    assert client.get("/notifications/").status_code == 302  # to the sign-in page


def test_preferences_choose_channels_per_kind_and_refuse_a_robot_anywhere_else(world, outside, login, client):
    me = world["accounts"][0]
    login(me)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Someone asks to swap beds with you" in page and "A student appeals a violation" not in page  # a student's
    robot = f"{outside['base']}/wecom?key=abc"
    client.post("/notifications/preferences", data={"email": "me@example.edu.cn", "robot_service": "wecom",
                                                    "robot_url": robot, "swap_requested:robot": "on"})
    assert (db.session.get(Contact, me.id).robot_url, db.session.get(Preference, (me.id, "swap_requested")).email,
            db.session.get(Preference, (me.id, "swap_requested")).robot) == (robot, False, True)
    [note] = notify([me], "swap_requested", student="S", room="N1-102")
    assert [d.channel for d in note.deliveries] == ["robot"]
    for bad, said in (({"robot_url": "http://10.0.0.1/steal?key=x", "robot_service": "wecom"}, "starts with"),
                      ({"robot_url": f"{robot} def", "robot_service": "wecom"}, "letters, digits"),
                      ({"robot_url": f"{robot}&x=\x7f", "robot_service": "wecom"}, "letters, digits"),
                      ({"email": "not an address"}, "is not an email address")):
        response = client.post("/notifications/preferences", data=bad, follow_redirects=True)
        assert response.status_code == 200 and said in response.get_data(as_text=True)
    assert db.session.get(Contact, me.id).robot_url == robot  # a refused form changes nothing
