"""The current time and the campus time zone, in one place so that tests and services agree."""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    return datetime.now(UTC)


def campus_zone() -> ZoneInfo:
    """The campus's time zone (DORMS_TIMEZONE): times are stored in UTC and read in this one."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def campus_today() -> date:
    """Today's date on campus (not in UTC: at 07:00 in Shanghai it is still yesterday in UTC)."""
    return utcnow().astimezone(campus_zone()).date()
