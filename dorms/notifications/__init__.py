"""Notifications: the outbox features write into, the bell, and sending by email and group robots.

A feature calls :func:`notify` in the transaction of the change it reports (flush only): a change rolled
back notifies nobody; a round telling many (a requests round, selection day's reminders) calls
:func:`notify_each` once, in a few statements however many it tells. ``sending.send_due`` sends what is due after commit, every minute, with retries,
back-off and each robot's rate limit. README, "Notifications", has the channels and their settings.
"""
from __future__ import annotations

from flask import Flask
from flask_login import current_user

from .kinds import CHANNEL_LABELS
from .outbox import accounts_by_student, accounts_of, notify, notify_each, staff_accounts, unread_count

__all__ = ["accounts_by_student", "accounts_of", "init_app", "notify", "notify_each", "staff_accounts"]


def init_app(app: Flask) -> None:
    """The bell: the unread count, asked for only by a page that shows it to someone signed in."""
    app.context_processor(lambda: {"unread_notifications": lambda: unread_count(current_user),
                                   "channel_label": lambda channel: CHANNEL_LABELS.get(channel, channel)})
