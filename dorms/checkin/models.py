"""Check-ins (with keys handed out and a room condition report) and check-outs (with damages)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db
from ..facilities.models import Condition, ItemKind
from ..photos import Photo
# Why a check-out happened: one of residence's stored reasons (also the assignment's end reason).
from ..residence.models import CHECK_OUT_REASON, ROOM_CHANGE_REASON, Assignment, reason_label  # noqa: F401

# The most a single charge may be, in cents (50,000 yuan): anything above is a typing mistake.
MAX_CHARGE_CENTS = 5_000_000


class KeyKind(LabelledEnum):
    ROOM_KEY = "room_key"
    MAILBOX_KEY = "mailbox_key"
    ACCESS_CARD = "access_card"
    WARDROBE_KEY = "wardrobe_key"
    OTHER = "other"

    @classmethod
    def _labels(cls):
        return {cls.ROOM_KEY: _l("Room key"), cls.MAILBOX_KEY: _l("Mailbox key"),
                cls.ACCESS_CARD: _l("Access card"), cls.WARDROBE_KEY: _l("Wardrobe key"), cls.OTHER: _l("Other")}


class KeyStatus(LabelledEnum):
    ISSUED = "issued"
    RETURNED = "returned"
    MISSING = "missing"

    @classmethod
    def _labels(cls):
        return {cls.ISSUED: _l("Handed out"), cls.RETURNED: _l("Returned"), cls.MISSING: _l("Missing")}


class LeavingPolicy(LabelledEnum):
    """What happens when a checked-in student's bed changes anywhere but the desk (the office chooses)."""

    REFUSE = "refuse"
    CHECK_OUT = "check_out"

    @classmethod
    def _labels(cls):
        return {cls.REFUSE: _l("Refuse: check out at the desk first"),
                cls.CHECK_OUT: _l("Check out automatically (keys stay open for the desk)")}


class CheckInSettings(db.Model):
    """The office's check-in settings (one row; absent means the defaults)."""

    __tablename__ = "checkin_settings"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    leaving: Mapped[LeavingPolicy] = mapped_column(enum_column_type(LeavingPolicy, "leaving_policy"),
                                                   default=LeavingPolicy.REFUSE)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class ReportState(LabelledEnum):
    """Where a condition report stands; "deemed" is an unanswered report past its deadline (or checked out)."""

    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    DEEMED = "deemed"

    @classmethod
    def _labels(cls):
        return {cls.PENDING: _l("Awaiting acknowledgement"), cls.ACKNOWLEDGED: _l("Acknowledged"),
                cls.DEEMED: _l("Deemed acknowledged")}


check_in_photos = sa.Table(
    "check_in_photos", db.metadata,
    sa.Column("check_in_id", sa.ForeignKey("check_ins.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("photo_id", sa.ForeignKey("photos.id"), primary_key=True),
    # Taken at check-out (the inspection) rather than at check-in.
    sa.Column("at_check_out", sa.Boolean, nullable=False, default=False),
)


class CheckIn(db.Model):
    """A student's arrival in the bed of an assignment: one per assignment, enforced by the database."""

    __tablename__ = "check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"), unique=True)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    self_service: Mapped[bool] = mapped_column(default=False)
    # Until then the student may acknowledge or dispute the report; after it, silence counts as accepted.
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    # Carried over from the check-in of the student's previous bed, when a move elsewhere than the desk
    # checked them out there (the leaving rule): its keys came along.
    carried_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("check_ins.id"))
    # How many of its items are disputed and not answered yet, when a list's query counts them (services:
    # the badges' loading) instead of loading every item; None otherwise.
    open_dispute_count: Mapped[int | None] = query_expression()

    assignment: Mapped[Assignment] = relationship()
    checked_in_by = relationship("User")
    carried_from: Mapped[CheckIn | None] = relationship(remote_side=[id])
    items: Mapped[list[ReportItem]] = relationship(back_populates="check_in", order_by="ReportItem.id",
                                                   cascade="all, delete-orphan")
    keys: Mapped[list[KeyIssue]] = relationship(back_populates="check_in", order_by="KeyIssue.id",
                                                cascade="all, delete-orphan")
    check_out: Mapped[CheckOut | None] = relationship(back_populates="check_in", uselist=False)
    photos: Mapped[list[Photo]] = relationship(
        secondary=check_in_photos, primaryjoin=lambda: sa.and_(
            CheckIn.id == check_in_photos.c.check_in_id, check_in_photos.c.at_check_out.is_(False)),
        order_by=Photo.id, viewonly=True)
    check_out_photos: Mapped[list[Photo]] = relationship(
        secondary=check_in_photos, primaryjoin=lambda: sa.and_(
            CheckIn.id == check_in_photos.c.check_in_id, check_in_photos.c.at_check_out.is_(True)),
        order_by=Photo.id, viewonly=True)

    def report_state(self, now: datetime | None = None) -> ReportState:
        if self.acknowledged_at is not None:
            return ReportState.ACKNOWLEDGED
        # A check-out closes the report early: what was not disputed by then stands.
        if (now or utcnow()) >= self.ack_due_at or self.check_out is not None:
            return ReportState.DEEMED
        return ReportState.PENDING

    def can_answer(self, now: datetime | None = None) -> bool:
        """The student may still acknowledge or dispute the report (not past the deadline, not checked out)."""
        return self.report_state(now) == ReportState.PENDING

    @property
    def disputed_items(self) -> list[ReportItem]:
        return [item for item in self.items if item.disputed_at is not None]

    @property
    def open_disputes(self) -> list[ReportItem]:
        return [item for item in self.disputed_items if item.resolved_at is None]


class ReportItem(db.Model):
    """One inventory item's state at check-in (and at check-out), copied so later changes keep the record."""

    __tablename__ = "check_in_report_items"
    __table_args__ = (
        sa.UniqueConstraint("check_in_id", "inventory_item_id"),
        # The disputes waiting for an answer (the office's home page counts them): a few among every item.
        sa.Index("ix_check_in_report_items_open_disputes", "check_in_id",
                 postgresql_where=sa.text("disputed_at IS NOT NULL AND resolved_at IS NULL"),
                 sqlite_where=sa.text("disputed_at IS NOT NULL AND resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(sa.ForeignKey("check_ins.id", ondelete="CASCADE"), index=True)
    inventory_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_items.id", ondelete="SET NULL"))
    kind: Mapped[ItemKind] = mapped_column(enum_column_type(ItemKind, "report_item_kind"))
    asset_label: Mapped[str] = mapped_column(sa.String(64), default="")
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    condition: Mapped[Condition] = mapped_column(enum_column_type(Condition, "report_condition"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispute_note: Mapped[str] = mapped_column(sa.String(500), default="")
    # The housing office's answer to a dispute; the check-in condition may have been corrected with it.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(sa.String(500), default="")
    check_out_condition: Mapped[Condition | None] = mapped_column(
        enum_column_type(Condition, "report_check_out_condition"))
    check_out_note: Mapped[str] = mapped_column(sa.String(500), default="")

    check_in: Mapped[CheckIn] = relationship(back_populates="items")

    @property
    def name(self) -> str:
        text = self.kind.label
        if self.description:
            text += f" ({self.description})"
        if self.asset_label:
            text += f" #{self.asset_label}"
        return text


class KeyIssue(db.Model):
    """A key or card handed out at check-in; at check-out it is returned or missing (then maybe charged)."""

    __tablename__ = "check_in_keys"
    __table_args__ = (
        sa.UniqueConstraint("check_in_id", "kind", "label"),
        sa.CheckConstraint(f"charge_cents IS NULL OR (status = 'missing' AND charge_cents >= 0 "
                           f"AND charge_cents <= {MAX_CHARGE_CENTS})", name="charge_for_missing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(sa.ForeignKey("check_ins.id", ondelete="CASCADE"), index=True)
    kind: Mapped[KeyKind] = mapped_column(enum_column_type(KeyKind, "key_kind"))
    label: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[KeyStatus] = mapped_column(enum_column_type(KeyStatus, "key_status"), default=KeyStatus.ISSUED)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # returned or found missing
    charge_cents: Mapped[int | None] = mapped_column()

    check_in: Mapped[CheckIn] = relationship(back_populates="keys")

    @property
    def name(self) -> str:
        return f"{self.kind.label} {self.label}"


class CheckOut(db.Model):
    """Leaving the bed of a check-in: the inspection, damages charged and keys taken back."""

    __tablename__ = "check_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_in_id: Mapped[int] = mapped_column(sa.ForeignKey("check_ins.id"), unique=True)
    checked_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    # Done by the leaving rule, not at the desk: nothing was inspected and keys not handed back stay issued.
    automatic: Mapped[bool] = mapped_column(default=False)

    check_in: Mapped[CheckIn] = relationship(back_populates="check_out")
    checked_out_by = relationship("User")
    damages: Mapped[list[Damage]] = relationship(back_populates="check_out", order_by="Damage.id",
                                                 cascade="all, delete-orphan")

    @property
    def reason_label(self) -> str:
        return reason_label(self.reason)

    @property
    def key_charges_cents(self) -> int:
        return sum(key.charge_cents or 0 for key in self.check_in.keys)

    @property
    def total_cents(self) -> int:
        return sum(d.amount_cents for d in self.damages) + self.key_charges_cents


def checked_out():
    """The clause "a check-out ended this check-in" (negate it for the check-ins still open)."""
    return sa.exists().where(CheckOut.check_in_id == CheckIn.id)


class Damage(db.Model):
    __tablename__ = "check_out_damages"
    __table_args__ = (
        sa.CheckConstraint(f"amount_cents > 0 AND amount_cents <= {MAX_CHARGE_CENTS}", name="sane_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    check_out_id: Mapped[int] = mapped_column(sa.ForeignKey("check_outs.id", ondelete="CASCADE"), index=True)
    report_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("check_in_report_items.id"))
    description: Mapped[str] = mapped_column(sa.String(500))
    amount_cents: Mapped[int]

    check_out: Mapped[CheckOut] = relationship(back_populates="damages")
    report_item: Mapped[ReportItem | None] = relationship()


def yuan(cents: int | None) -> str:
    """Cents as yuan with two decimals, e.g. 12050 → "120.50"."""
    cents = cents or 0
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else f"-{yuan(-cents)}"


# The audit log shows the stored policy words by their labels.
audit_describe.register_values(LeavingPolicy, ("checkin.settings", "leaving"), ("checkin.settings", "old"))
audit_describe.register_values(Condition, ("checkin.resolve", "old"), ("checkin.resolve", "new"))
