"""Writing notifications: in the caller's transaction, so that a change rolled back notifies nobody."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel.speaklater import LazyString

from ..auth.models import User
from ..core.clock import utcnow
from ..core.enums import Role
from ..extensions import db
from ..students.models import Student
from .kinds import KINDS, Kind
from .models import Contact, Delivery, Notification, Preference

# How a translatable value is kept in a notification's params: its message id, translated when rendered.
TRANSLATE = "_"


def notify(recipients: Iterable[User], kind: str, /, **params) -> list[Notification]:
    """A notification of ``kind`` for each active recipient, and a delivery for each channel they chose.

    Flushes only: the notifications commit (or roll back) with the change they report.
    """
    return notify_each([(recipients, kind, params)])


def notify_each(events: Iterable[tuple[Iterable[User], str, Mapping[str, object]]]) -> list[Notification]:
    """:func:`notify` for each ``(recipients, kind, params)`` of a round, as if called once per event, in a
    number of statements that does not grow with the round: one read of the preferences, one of the contacts,
    one INSERT of the notifications and one of their deliveries (in pages of a thousand rows).

    Flushes only. Returns the notifications in the order of the events and of each event's recipients.
    """
    told = []
    for recipients, kind, params in events:
        spec = KINDS[kind]
        users = list({user.id: user for user in recipients if user is not None and user.active}.values())
        if users:
            told.append((spec, users, {name: _storable(value) for name, value in params.items()}))
    if not told:
        return []
    ids = {user.id for _spec, users, _stored in told for user in users}
    kinds = {spec.name for spec, _users, _stored in told}
    chosen = {(p.user_id, p.kind): p for p in db.session.scalars(
        sa.select(Preference).where(Preference.user_id.in_(ids), Preference.kind.in_(kinds)))}
    contacts = {c.user_id: c for c in db.session.scalars(sa.select(Contact).where(Contact.user_id.in_(ids)))}
    now, to_staff_robot = utcnow(), staff_robot_configured()
    notifications = []
    for spec, users, stored in told:
        event = []
        for user in users:
            notification = Notification(user_id=user.id, kind=spec.name, params=stored, created_at=now)
            for channel in channels_for(spec, chosen.get((user.id, spec.name)), contacts.get(user.id)):
                notification.deliveries.append(Delivery(channel=channel, next_attempt_at=now))
            event.append(notification)
        if spec.staff_group and to_staff_robot:  # once per event, on its first recipient's notification
            event[0].deliveries.append(Delivery(channel="staff_robot", next_attempt_at=now))
        notifications.extend(event)
    # The flush writes objects of one table in one INSERT … RETURNING (SQLAlchemy's "insertmanyvalues").
    db.session.add_all(notifications)
    db.session.flush()
    return notifications


def _storable(value):
    if isinstance(value, LazyString):
        return {TRANSLATE: value._args[0]}  # lazy_gettext(message_id): translated when rendered
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def chosen_channels(spec: Kind, preference: Preference | None) -> set[str]:
    if preference is None:
        return set(spec.defaults)
    return {channel for channel in ("email", "robot") if getattr(preference, channel)}


def channels_for(spec: Kind, preference: Preference | None, contact: Contact | None) -> list[str]:
    """The channels chosen that have somewhere to go: an address with SMTP set up, a robot registered."""
    chosen = chosen_channels(spec, preference)
    channels = []
    if "email" in chosen and contact is not None and contact.email and current_app.config.get("SMTP_HOST"):
        channels.append("email")
    if "robot" in chosen and contact is not None and contact.robot_url:
        channels.append("robot")
    return channels


def staff_robot_configured() -> bool:
    return bool(current_app.config.get("STAFF_ROBOT_URL"))


class _Params(dict):
    """A text's values; one the text names but the notification lacks reads as empty, not a crash."""

    def __missing__(self, key):
        return ""


def render(notification: Notification, locale: str | None = None) -> tuple[str, str]:
    """Title and body in ``locale`` (default: the reader's language of the moment)."""
    if locale is None:
        return _render(notification)
    with force_locale(locale):
        return _render(notification)


def _render(notification: Notification) -> tuple[str, str]:
    spec = KINDS.get(notification.kind)
    if spec is None:  # a kind since retired: its row still reads
        return notification.kind, ""
    params = _Params({name: gettext(value[TRANSLATE]) if isinstance(value, dict) and TRANSLATE in value else value
                      for name, value in (notification.params or {}).items()})
    return str(spec.title) % params, (str(spec.body) % params).strip()


def locale_of(user: User) -> str:
    return user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


# --- who is told -----------------------------------------------------------------------------------------


def accounts_of(students: Iterable[Student]) -> list[User]:
    """The accounts of these students (a student without an account is told nothing)."""
    by_student = accounts_by_student(student.id for student in students if student is not None)
    return [user for users in by_student.values() for user in users]


def accounts_by_student(student_ids: Iterable[int | None]) -> dict[int, list[User]]:
    """The active accounts of these students by student id, in one query: :func:`accounts_of` for a round (a
    student without one reads as none)."""
    ids = {student_id for student_id in student_ids if student_id is not None}
    accounts: dict[int, list[User]] = defaultdict(list)
    if ids:
        for user in db.session.scalars(sa.select(User).where(User.student_id.in_(ids), User.active).order_by(User.id)):
            accounts[user.student_id].append(user)
    return accounts


def staff_accounts() -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.role == Role.STAFF, User.active).order_by(User.id)))


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))
