"""Sending what the outbox holds: ``send_due`` runs every minute (the job "notifications.send", or
``dorms notifications send``), after the changes it reports have committed.

Each delivery is claimed, tried and committed on its own, so a sender stopped halfway resends nothing it
sent. A failure is tried again after a back-off that doubles, and given up after NOTIFY_MAX_ATTEMPTS (the
staff page "Failing notifications" shows it). A robot takes ROBOT_PER_MINUTE messages in any minute (a
sliding window over the attempt log); past that its messages wait for the window to move, they are not
dropped: within the run if that is at most LOOKAHEAD away, else until a later run. A robot that answers it
was sent too much (channels.RATE_LIMITED) holds the delivery for the service's window without counting an
attempt. One sender runs at a time (on PostgreSQL an advisory lock; a run finding it taken does nothing), so
overlapping runs cannot exceed a robot's rate between them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..core.clock import utcnow
from ..core.database import is_postgresql
from ..extensions import db
from .channels import Mailer, RateLimited, Robot, SendFailed, staff_robot
from .models import Contact, Delivery, DeliveryAttempt, Notification
from .outbox import locale_of, render

WINDOW = timedelta(minutes=1)
# A message due within this much of a run's start is sent by that run, which waits for it if need be: a
# robot's minute frees as long after the next run starts as its messages were sent after this one started,
# and that run must not leave them to the one after (bench/notifications.py: half the rate with 10 s).
LOOKAHEAD = timedelta(seconds=30)
BATCH = 500
# The session-level advisory lock that keeps a second sender from running beside the first.
SENDER_LOCK = 0x646F726D_6E6F74  # "dorm" "not"


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0  # tried and failed; tried again later
    given_up: int = 0  # failed for the last time
    deferred: int = 0  # a robot's minute was full, or the robot said so: waits for the next
    skipped: bool = False  # another sender was running: this run sent nothing

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: another sender is running"
        return f"sent {self.sent}, failed {self.failed}, given up {self.given_up}, deferred {self.deferred}"


class _Throttle:
    """Each robot's sends in the last minute, read once from the attempt log and then counted here."""

    def __init__(self, limit: int):
        self.limit = limit
        self.recent: dict[str, list[datetime]] = {}
        self.held: dict[str, datetime] = {}  # robots that answered they were sent too much, until when

    def free_at(self, robot: str, now: datetime) -> datetime | None:
        """None if the robot may take a message now, else when it may."""
        if (held := self.held.get(robot)) is not None and held > now:
            return held
        if robot not in self.recent:
            self.recent[robot] = list(db.session.scalars(
                sa.select(DeliveryAttempt.at).where(DeliveryAttempt.robot == robot, DeliveryAttempt.at > now - WINDOW)
                .order_by(DeliveryAttempt.at)))
        window = [at for at in self.recent[robot] if at > now - WINDOW]
        self.recent[robot] = window
        return None if len(window) < self.limit else window[-self.limit] + WINDOW

    def count(self, robot: str, at: datetime) -> None:
        self.recent[robot].append(at)

    def hold(self, robot: str, until: datetime) -> None:
        self.held[robot] = until


def send_due(now: datetime | None = None) -> SendReport:
    """Try every delivery due by ``now`` (default: the present); commits after each one. Does nothing (the
    report says skipped) while another sender runs."""
    if not is_postgresql():  # SQLite sites run one worker
        return _send_due(now)
    # On a connection of its own, held for the run: the session commits after each delivery.
    # The lock outlives transactions: committed at once, the connection does not sit idle in one.
    with db.engine.connect() as lock:
        taken = lock.scalar(sa.select(sa.func.pg_try_advisory_lock(SENDER_LOCK)))
        lock.commit()
        if not taken:
            return SendReport(skipped=True)
        try:
            return _send_due(now)
        finally:
            lock.execute(sa.select(sa.func.pg_advisory_unlock(SENDER_LOCK)))
            lock.commit()


def _send_due(now: datetime | None) -> SendReport:
    started, wall = now or utcnow(), time.monotonic()

    def clock() -> datetime:  # ``now`` moved on by the time spent, so that a test can set the hour
        return started + timedelta(seconds=time.monotonic() - wall)

    report = SendReport()
    throttle = _Throttle(int(current_app.config["ROBOT_PER_MINUTE"]))
    last_id = 0
    with Mailer() as mailer:
        # In batches by id: a delivery deferred or failed moves out of reach; one another sender holds is passed.
        while due := list(db.session.scalars(sa.select(Delivery.id).where(
                Delivery.status == "pending", Delivery.next_attempt_at <= started + LOOKAHEAD, Delivery.id > last_id)
                .order_by(Delivery.id).limit(BATCH))):
            db.session.commit()
            for delivery_id in due:
                _send_one(delivery_id, clock, mailer, throttle, report)
                db.session.commit()
            last_id = due[-1]
    return report


def _send_one(delivery_id: int, clock, mailer: Mailer, throttle: _Throttle, report: SendReport) -> None:
    # Claimed: another sender running at the same moment skips it (PostgreSQL; SQLite writes one at a time).
    delivery = db.session.scalar(
        sa.select(Delivery).where(Delivery.id == delivery_id, Delivery.status == "pending")
        .options(joinedload(Delivery.notification).joinedload(Notification.user))
        .with_for_update(skip_locked=True, of=Delivery))
    if delivery is None:
        return
    notification, now = delivery.notification, clock()
    robot = _robot_of(delivery)
    wait_until = delivery.next_attempt_at
    if robot is not None and (free_at := throttle.free_at(robot.key, now)) is not None:
        wait_until = max(wait_until, free_at)
    if wait_until > now:
        if wait_until - now > LOOKAHEAD:  # the next run sends it
            delivery.next_attempt_at = wait_until
            report.deferred += 1
            return
        time.sleep((wait_until - now).total_seconds())
        now = clock()
    locale = current_app.config["BABEL_DEFAULT_LOCALE"] if delivery.channel == "staff_robot" \
        else locale_of(notification.user)
    title, body = render(notification, locale)
    try:
        if delivery.channel == "email":
            address = contact.email if (contact := _contact(delivery)) else ""
            if not address or not current_app.config.get("SMTP_HOST"):
                raise SendFailed("no email address, or SMTP is not set up")
            mailer.send(address, title, body)
        elif robot is None:
            raise SendFailed("no robot registered")
        else:
            robot.send(title, body)
    except RateLimited as error:
        _deferred(delivery, error, robot, now, throttle, report)
    except SendFailed as error:
        _failed(delivery, str(error), robot, now, report)
    except Exception as error:  # a channel's bug must not stop the queue: it is one failed attempt
        current_app.logger.exception("notification delivery %s failed unexpectedly", delivery.id)
        _failed(delivery, f"{type(error).__name__}: {error}", robot, now, report)
    else:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, ""
        delivery.attempts += 1
        delivery.attempt_log.append(DeliveryAttempt(at=now, channel=delivery.channel, outcome="sent",
                                                    robot=robot.key if robot else None))
        report.sent += 1
    if robot is not None:
        throttle.count(robot.key, now)


def _failed(delivery: Delivery, error: str, robot: Robot | None, now: datetime, report: SendReport) -> None:
    config = current_app.config
    delivery.attempts += 1
    delivery.last_error = error[:500]
    delivery.attempt_log.append(DeliveryAttempt(at=now, channel=delivery.channel, outcome="failed",
                                                error=error[:500], robot=robot.key if robot else None))
    if delivery.attempts >= int(config["NOTIFY_MAX_ATTEMPTS"]):
        delivery.status = "failed"
        report.given_up += 1
    else:
        delivery.next_attempt_at = now + timedelta(seconds=int(config["NOTIFY_RETRY_SECONDS"])
                                                   * 2 ** (delivery.attempts - 1))
        report.failed += 1


def _deferred(delivery: Delivery, error: RateLimited, robot: Robot, now: datetime, throttle: _Throttle,
              report: SendReport) -> None:
    """The robot was sent too much (by someone else too, perhaps): it and this delivery wait out its window."""
    delivery.next_attempt_at = now + error.retry_after
    delivery.last_error = str(error)[:500]
    delivery.attempt_log.append(DeliveryAttempt(at=now, channel=delivery.channel, outcome="deferred",
                                                error=str(error)[:500], robot=robot.key))
    throttle.hold(robot.key, delivery.next_attempt_at)
    report.deferred += 1


def _contact(delivery: Delivery) -> Contact | None:
    return db.session.get(Contact, delivery.notification.user_id)


def _robot_of(delivery: Delivery) -> Robot | None:
    if delivery.channel == "staff_robot":
        return staff_robot()
    if delivery.channel == "robot" and (contact := _contact(delivery)) and contact.robot_url:
        return Robot(contact.robot_service, contact.robot_url, contact.robot_secret)
    return None


def retry(delivery: Delivery) -> None:
    """Staff send a given-up delivery again (its channel mended): attempts start over."""
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
