"""The outbox: a notification per recipient, a delivery per channel, an attempt row per try."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.clock import utcnow
from ..core.types import UTCDateTime
from ..extensions import db

# In the app a notification is its own delivery; these go out of it. "staff_robot" is the staff group's
# robot (settings), which gets a staff event once, on the first staff member's notification.
CHANNELS = ("email", "robot", "staff_robot")
# What a person chooses per kind (in the app is always on).
CHOSEN_CHANNELS = ("email", "robot")
ROBOT_SERVICES = ("wecom", "dingtalk")


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # The bell counts one person's unread ones on every page.
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # A key of kinds.KINDS, with the values its texts take: rendered in the reader's language when read or sent.
    kind: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="notification", cascade="all, delete-orphan",
                                                      passive_deletes=True, order_by="Delivery.id")


class Delivery(db.Model):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.CheckConstraint("channel IN ('email', 'robot', 'staff_robot')", name="channel"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        # The sender's question: which pending ones are due.
        sa.Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    # pending (waiting for its next attempt), sent, or failed (given up after the last attempt allowed).
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")

    notification: Mapped[Notification] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                              order_by="DeliveryAttempt.id")


class DeliveryAttempt(db.Model):
    __tablename__ = "notification_attempts"
    __table_args__ = (
        # deferred: the robot answered it was sent too much; not counted among the attempts.
        sa.CheckConstraint("outcome IN ('sent', 'failed', 'deferred')", name="outcome"),
        # The robot throttle counts one robot's sends in the last minute.
        sa.Index("ix_notification_attempts_robot_at", "robot", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_deliveries.id", ondelete="CASCADE"),
                                             index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(sa.String(16))
    # Which robot it went to (a digest of its webhook address, never the address: it holds the key).
    robot: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    error: Mapped[str] = mapped_column(sa.String(500), default="")


class Contact(db.Model):
    """Where a person's notifications go besides the app: an email address, and a group robot of their own."""

    __tablename__ = "notification_contacts"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    robot_service: Mapped[str] = mapped_column(sa.String(16), default="")
    robot_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # DingTalk's signing secret (SEC…); WeCom's robots carry their key in the address.
    robot_secret: Mapped[str] = mapped_column(sa.String(200), default="")


class Preference(db.Model):
    """A person's choice for one kind; without a row, the kind's defaults hold."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    email: Mapped[bool] = mapped_column(default=False)
    robot: Mapped[bool] = mapped_column(default=False)
