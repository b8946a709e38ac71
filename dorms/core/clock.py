"""The current time and the campus time zone, in one place so that tests and services agree."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    return datetime.now(UTC)


def campus_zone() -> ZoneInfo:
    """The campus's time zone (DORMS_TIMEZONE): times are stored in UTC and read in this one."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
