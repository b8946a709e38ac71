"""What a night's door events mean: the curfew statuses of docs/curfew.md, exactly.

Pure: takes a student's events and permissions for one night and the night's curfew, returns the
status. No database, no Flask; times are naive local campus times.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

LOOK_BACK = timedelta(days=7)


class Status(enum.StrEnum):
    IN = "in"
    LATE = "late"
    EXCUSED_LATE = "excused_late"
    ABSENT_LEFT = "absent_left"
    ABSENT_LEFT_AFTER_CURFEW = "absent_left_after_curfew"
    ABSENT_NO_EVENTS = "absent_no_events"
    EXCUSED = "excused"
    RETURNED_DESPITE_LEAVE = "returned_despite_leave"
    # The building's doors recorded nothing that night: no status can be told (docs/curfew.md).
    NO_DATA = "no_data"

    @property
    def is_absent(self) -> bool:
        return self in (Status.ABSENT_LEFT, Status.ABSENT_LEFT_AFTER_CURFEW, Status.ABSENT_NO_EVENTS)


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Event:
    """A granted event at the student's residence building (others never decide the status)."""

    at: datetime
    direction: Direction

    @property
    def is_entry(self) -> bool:
        return self.direction != Direction.OUT


@dataclass(frozen=True)
class Night:
    """Night d runs from d 12:00 to d+1 12:00; ``curfew`` and ``cutoff`` are its C and K."""

    day: date
    curfew: datetime
    cutoff: datetime

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.day, time(12))

    @classmethod
    def of(cls, day: date, curfew: time, cutoff: time = time(6)) -> Night:
        # A curfew after midnight (00:30) belongs to the next calendar day, as the cutoff always does.
        curfew_day = day if curfew >= time(12) else day + timedelta(days=1)
        return cls(day, datetime.combine(curfew_day, curfew), datetime.combine(day + timedelta(days=1), cutoff))


@dataclass(frozen=True)
class Outcome:
    status: Status
    time: datetime | None = None  # the first entry after curfew, for late statuses


def door_status(night: Night, events: list[Event]) -> Outcome:
    """Steps 1-5 of docs/curfew.md: the status from the events alone. ``events`` may come in any order."""
    events = sorted(events, key=lambda e: e.at)
    after = [e for e in events if night.curfew < e.at < night.cutoff]
    if after and after[-1].direction == Direction.OUT:
        return Outcome(Status.ABSENT_LEFT_AFTER_CURFEW)
    entries_after = [e for e in after if e.is_entry]
    if entries_after:
        return Outcome(Status.LATE, entries_after[0].at)
    evening = [e for e in events if night.starts <= e.at <= night.curfew]
    if evening:
        if evening[-1].is_entry:
            return Outcome(Status.IN)
    else:
        before = [e for e in events if night.starts - LOOK_BACK <= e.at < night.starts]
        if before and before[-1].direction == Direction.IN:
            return Outcome(Status.IN)
    if any(night.curfew - LOOK_BACK <= e.at <= night.curfew for e in events):
        return Outcome(Status.ABSENT_LEFT)
    return Outcome(Status.ABSENT_NO_EVENTS)


@dataclass(frozen=True)
class Leave:
    """Approved permissions for the night: only approved ones are ever passed in."""

    overnight: bool = False
    late_until: datetime | None = None  # expected return plus the grace, for an approved late return


def apply_permissions(outcome: Outcome, leave: Leave) -> Outcome:
    """Approved late-return and overnight permissions, as docs/curfew.md describes them."""
    if leave.overnight:
        if outcome.status.is_absent:
            return Outcome(Status.EXCUSED)
        return Outcome(Status.RETURNED_DESPITE_LEAVE, outcome.time)
    if outcome.status == Status.LATE and leave.late_until is not None and outcome.time <= leave.late_until:
        return Outcome(Status.EXCUSED_LATE, outcome.time)
    return outcome


def night_status(night: Night, events: list[Event], leave: Leave = Leave()) -> Outcome:
    return apply_permissions(door_status(night, events), leave)


def expected_return(night: Night, expected: time, grace: timedelta) -> datetime:
    """An expected return "HH:MM" as a moment of the night (after noon: that evening; before: next morning)."""
    day = night.day if expected >= time(12) else night.day + timedelta(days=1)
    return datetime.combine(day, expected) + grace


# --- alerts -------------------------------------------------------------------------------


def not_seen(statuses: list[Status], nights: int) -> bool:
    """Absent (not excused) on the last ``nights`` nights in a row; ``statuses`` oldest first, nights without
    door data left out by the caller (they neither count nor break the run)."""
    return len(statuses) >= nights and all(s.is_absent for s in statuses[-nights:])


def often_late(statuses: list[Status], more_than: int, window: int = 7) -> bool:
    """Late (not excused) on more than ``more_than`` of the last ``window`` nights."""
    return sum(s == Status.LATE for s in statuses[-window:]) > more_than
