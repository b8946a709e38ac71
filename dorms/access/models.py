from __future__ import annotations

import ipaddress
from datetime import date, datetime, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import Gender, LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db
from ..students.models import Student

# A plain integer key on SQLite (its rowid), 64 bits elsewhere: a semester is ten million events.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class PermissionKind(LabelledEnum):
    LATE = "late"  # 晚归报备: back after curfew, by an expected time
    OVERNIGHT = "overnight"  # 外宿: away for one or more nights

    @classmethod
    def _labels(cls):
        return {cls.LATE: _l("Late return"), cls.OVERNIGHT: _l("Overnight away")}


class PermissionStatus(LabelledEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @classmethod
    def _labels(cls):
        return {cls.PENDING: _l("Pending"), cls.APPROVED: _l("Approved"), cls.REJECTED: _l("Rejected")}


class Card(db.Model):
    """An access card or a door PIN and whose it is; a student may have several of each over time."""

    __tablename__ = "access_cards"
    __table_args__ = (
        # One identifier in any letter case is one card (cards.key).
        sa.Index("uq_access_cards_number_key", sa.text("upper(number)"), unique=True),
        sa.CheckConstraint("kind IN ('card', 'pin')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32))  # as cards.normalise gives it: letters as written
    kind: Mapped[str] = mapped_column(sa.String(8), default="card")  # card (a swipe) or pin (face, finger…)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    student: Mapped[Student] = relationship()


class AccessEvent(db.Model):
    """One door event as the access-control system sent it; the card's student once the card is known."""

    __tablename__ = "access_events"
    __table_args__ = (
        sa.Index("ix_access_events_student_id_occurred_at", "student_id", "occurred_at"),
        sa.Index("ix_access_events_unmatched_card", sa.text("upper(card)"),
                 sqlite_where=sa.text("student_id IS NULL"), postgresql_where=sa.text("student_id IS NULL")),
        sa.Index("ix_access_events_unmatched_pin", sa.text("upper(pin)"),
                 sqlite_where=sa.text("student_id IS NULL AND pin IS NOT NULL"),
                 postgresql_where=sa.text("student_id IS NULL AND pin IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The source's own id (namespaced per channel): the same event sent twice is stored once.
    event_id: Mapped[str] = mapped_column(sa.String(80), unique=True)
    card: Mapped[str] = mapped_column(sa.String(32))  # the card number or PIN, as the source wrote it
    # The PIN a card swipe also carries (an access panel names the card's holder too): an office that listed
    # PINs only still finds the student.
    pin: Mapped[str | None] = mapped_column(sa.String(32))
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("students.id"))
    building: Mapped[str] = mapped_column(sa.String(32))  # the building's code (doors of any building)
    door: Mapped[str] = mapped_column(sa.String(64), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    direction: Mapped[str] = mapped_column(sa.String(8))  # in, out, unknown
    granted: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict | None] = mapped_column(sa.JSON)  # the source's other columns, kept as sent


class Permission(db.Model):
    """A late-return or overnight-away request; the counselor decides."""

    __tablename__ = "access_permissions"
    __table_args__ = (
        sa.UniqueConstraint("student_id", "kind", "first_night", "last_night"),
        sa.CheckConstraint("last_night >= first_night", name="nights_in_order"),
        sa.CheckConstraint("kind <> 'late' OR expected_return IS NOT NULL", name="late_has_expected_return"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), index=True)
    kind: Mapped[PermissionKind] = mapped_column(enum_column_type(PermissionKind, "permission_kind"))
    first_night: Mapped[date]
    last_night: Mapped[date]
    expected_return: Mapped[time | None]
    # Indexed: the requests waiting for a decision are counted on the office's and counselors' home pages.
    status: Mapped[PermissionStatus] = mapped_column(enum_column_type(PermissionStatus, "permission_status"),
                                                     default=PermissionStatus.PENDING, index=True)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    destination: Mapped[str] = mapped_column(sa.String(200), default="")
    emergency_contact: Mapped[str] = mapped_column(sa.String(120), default="")
    after_the_fact: Mapped[bool] = mapped_column(default=False)  # asked for a night already begun
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(sa.String(500), default="")

    student: Mapped[Student] = relationship()
    decided_by = relationship("User")


class CurfewRule(db.Model):
    """A curfew time: campus-wide, or for a building, a gender, or both; weeknights or weekend nights.

    The most specific rule wins (building and gender, then building, then gender, then campus);
    without any, the defaults apply (23:00, Friday and Saturday nights 23:30; docs/curfew.md)."""

    __tablename__ = "curfew_rules"
    __table_args__ = (sa.UniqueConstraint("building_id", "gender", "weekend"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int | None] = mapped_column(sa.ForeignKey("buildings.id"))
    gender: Mapped[Gender | None] = mapped_column(enum_column_type(Gender, "gender"))
    weekend: Mapped[bool]  # Friday and Saturday nights
    curfew: Mapped[time]


class NoCurfewNight(db.Model):
    """A holiday night: no curfew and no status (nights outside every term have none either)."""

    __tablename__ = "no_curfew_nights"

    night: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")


class ApiToken(db.Model):
    """A token an access-control integration posts events with; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))  # which integration, e.g. "east gate turnstiles"
    prefix: Mapped[str] = mapped_column(sa.String(12))  # the token's first characters, to tell tokens apart
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256 of the whole token
    scope: Mapped[str] = mapped_column(sa.String(32), default="events:post")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessDevice(db.Model):
    """A ZKTeco terminal or panel pushing events (ADMS), registered by serial number with where it stands.

    Staff register it; the device then introduces itself: which push protocol it speaks (``attendance``:
    terminals' ATTLOG push; ``security``: access panels' and face terminals' Security PUSH), its firmware,
    and for Security PUSH the registry code it is given once it registers (zkteco/push.py)."""

    __tablename__ = "access_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial_number: Mapped[str] = mapped_column(sa.String(64), unique=True)
    building: Mapped[str] = mapped_column(sa.String(32))  # the building's code
    door: Mapped[str] = mapped_column(sa.String(64), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")  # devices send wall-clock times
    # Where it may push from: addresses or networks, comma-separated (e.g. "10.20.0.0/16").
    networks: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    protocol: Mapped[str] = mapped_column(sa.String(16), default="")  # attendance, security; "" before contact
    push_version: Mapped[str] = mapped_column(sa.String(16), default="")
    firmware: Mapped[str] = mapped_column(sa.String(64), default="")
    model: Mapped[str] = mapped_column(sa.String(64), default="")  # the device's own name for itself
    registry_code: Mapped[str | None] = mapped_column(sa.String(32))
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # Security PUSH registration

    def allows(self, address: str | None) -> bool:
        """Whether ``address`` is in one of the device's networks (none registered: nowhere)."""
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n.strip(), strict=False) for n in self.networks.split(",") if n.strip())


class NightStatus(db.Model):
    """A resident's curfew status for a night, rolled up once the night is over (see rollup.py).

    Reports read these instead of the events. ``final`` rows outlive their purged events
    (retention.py); the others are recomputed when late events, cards or decisions change the night."""

    __tablename__ = "night_statuses"
    # A night's rows by status: the night report's page of the worst first, its counts, and whether a night is
    # rolled up at all (reports._with_rows) read this index alone.
    __table_args__ = (sa.Index("ix_night_statuses_night_status", "night", "status"),)

    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), primary_key=True)
    night: Mapped[date] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(32))  # the status word of docs/curfew.md
    building: Mapped[str] = mapped_column(sa.String(32))
    # Local campus times as the report showed them.
    time: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_seen: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_door: Mapped[str] = mapped_column(sa.String(64), default="")
    final: Mapped[bool] = mapped_column(default=False)


class NightFeed(db.Model):
    """How many events a building's doors recorded on a night (noon to the cutoff, any card, granted or denied),
    kept by the rollup so that a building's usual volume, which low door data is judged against, reads a row
    per building and night instead of weeks of events (reports.feed_counts). Only buildings with events have a
    row, and the empty building code holds the whole campus's count: its row says the night is kept.
    New events reopen the nights they fall in (rollup.invalidate)."""

    __tablename__ = "night_feeds"

    night: Mapped[date] = mapped_column(primary_key=True)
    building: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    events: Mapped[int]
    last_event: Mapped[datetime | None] = mapped_column(sa.DateTime)  # local campus time, as reports show it


# The audit log shows these stored words by their labels.
audit_describe.register_values(PermissionKind, ("access.permission.request", "kind"))
audit_describe.register_values(PermissionStatus, ("access.permission.decide", "status"))
