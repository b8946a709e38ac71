"""The current time, in one place so that tests and services agree."""
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
