"""The waiting room of selection day: when more students arrive at once than the servers can serve, they are let in
in the order they came, at DORMS_SELECTION_ADMIT_PER_SECOND, each shown their place in the line, instead of
everyone waiting on a slow page or an error.

A student takes a ticket the first time they ask for anything once their own window has opened (1, 2, 3… per
event); the line lets in DORMS_SELECTION_ADMIT_BURST at once, then the rate a second, never more than the
tickets taken, so a burst after a quiet spell is smoothed as the first one was. Once in, a student stays in.
Both the tickets and the count let in live in Redis and move in one script, so every worker and server shares
one line. Without Redis (one server, the embedded default) or with a rate of 0 there is no waiting room.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g
from redis.exceptions import RedisError

from ..core import kept

log = logging.getLogger(__name__)

# KEYS: the line's state (a hash: issued, admitted, at), its tickets (a hash: student id -> ticket), the hash of kept
# values' generations and a traffic count (a hash). ARGV: student id, now (seconds), rate a second, burst; n, then n
# tables and the generation (or '') of each the caller decided from; the count's seconds to live, then the fields of
# the count to add one to when the student waits. Returns {ticket, admitted (whole students)}, or {-1, 0} when one
# of the n generations moved on: nothing taken, nothing counted.
_ADMIT = """
local guarded = tonumber(ARGV[5])
for i = 1, guarded do
  if (redis.call('HGET', KEYS[3], ARGV[5 + i]) or '') ~= ARGV[5 + guarded + i] then return {-1, 0} end
end
local ticket = redis.call('HGET', KEYS[2], ARGV[1])
if not ticket then
  ticket = redis.call('HINCRBY', KEYS[1], 'issued', 1)
  redis.call('HSET', KEYS[2], ARGV[1], ticket)
end
local now, rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local issued = tonumber(redis.call('HGET', KEYS[1], 'issued'))
local admitted = tonumber(redis.call('HGET', KEYS[1], 'admitted') or burst)
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or ARGV[2])
admitted = math.max(admitted, math.min(issued, admitted + rate * math.max(0, now - at)), math.min(issued, burst))
redis.call('HSET', KEYS[1], 'admitted', tostring(admitted), 'at', ARGV[2])
redis.call('EXPIRE', KEYS[1], 172800)
redis.call('EXPIRE', KEYS[2], 172800)
local counted = 7 + 2 * guarded
if #ARGV >= counted and tonumber(ticket) > math.floor(admitted) then
  for i = counted, #ARGV do redis.call('HINCRBY', KEYS[4], ARGV[i], 1) end
  redis.call('EXPIRE', KEYS[4], ARGV[counted - 1])
end
return {tonumber(ticket), math.floor(admitted)}
"""


@dataclass(frozen=True)
class Unchanged:
    """Kept values' generations (core.kept.generations_of) a caller decided from: the line moves only if they
    still hold, checked in the same round trip."""
    tables: tuple[str, ...]
    generations: tuple


@dataclass(frozen=True)
class Count:
    """A hash's fields to add one to, kept ``seconds``: a request counted (traffic.py) in the same round trip."""
    key: str
    fields: tuple[str, ...]
    seconds: int


@dataclass(frozen=True)
class Place:
    """Where a student stands: let in, or ``ahead`` students before them, about ``seconds`` to wait."""
    admitted: bool
    ahead: int = 0
    seconds: int = 0


IN = Place(True)


@dataclass(frozen=True)
class Line:
    """An event's line: tickets taken, students let in, and those between, waiting."""
    issued: int
    admitted: int

    @property
    def waiting(self) -> int:
        return self.issued - self.admitted


def key_prefix(event_id: int) -> str:
    """The Redis keys of an event's selection day: this database's (a staging copy on the same Redis keeps its
    own), kept across a deploy mid-event."""
    return f"dorms:selection:{kept.database_digest()}:{event_id}:"


def _rate() -> float:
    return float(current_app.config.get("DORMS_SELECTION_ADMIT_PER_SECOND") or 0)


def in_use() -> bool:
    """Whether students wait in line at all: a rate is set and Redis is there to keep the line."""
    return _rate() > 0 and kept.redis_client() is not None


def place(event_id: int, student_id: int, now: datetime, *, unchanged: Unchanged | None = None,
          count: Count | None = None) -> Place | None:
    """Where the student stands in the event's line at ``now``, taking a ticket if they have none. With
    ``unchanged``: None, taking nothing, if its generations moved on. With ``count``: added to when the student is
    told to wait, not when let in (their request is then the app's to count)."""
    rate = _rate()
    client = kept.redis_client() if rate > 0 else None
    if client is None:
        return IN
    # A page asks twice (still_in_line, then standing) at one moment: the answer is the same, one script is enough.
    asked = g.setdefault("selection_places", {})
    if (event_id, student_id, now) not in asked:
        found = _place(client, rate, event_id, student_id, now, unchanged, count)
        if found is None:
            return None
        asked[event_id, student_id, now] = found
    return asked[event_id, student_id, now]


def _place(client, rate: float, event_id: int, student_id: int, now: datetime, unchanged: Unchanged | None,
           count: Count | None) -> Place | None:
    burst = int(current_app.config.get("DORMS_SELECTION_ADMIT_BURST") or 0)
    prefix = key_prefix(event_id)
    tables, generations = (unchanged.tables, unchanged.generations) if unchanged else ((), ())
    counting = (count.seconds, *count.fields) if count else ()
    try:
        ticket, admitted = client.eval(
            _ADMIT, 4, prefix + "line", prefix + "tickets", kept.generations_key(),
            count.key if count else prefix + "line", student_id, now.timestamp(), rate, burst, len(tables),
            *tables, *(generation or b"" for generation in generations), *counting)
    except RedisError as error:  # no line without Redis: everyone in, as with one server
        log.warning("selection waiting room unavailable, letting everyone in: %s", error)
        return IN
    if ticket < 0:
        return None
    if ticket <= admitted:
        return IN
    ahead = int(ticket - admitted)
    return Place(False, ahead, max(1, round(ahead / rate)))


def line(event_id: int, now: datetime) -> Line | None:
    """The event's line at ``now``, for the office, taking no ticket and moving nothing: let in counts those the
    rate let in since a student last asked, as their next ask will. None without a waiting room or Redis."""
    rate = _rate()
    client = kept.redis_client() if rate > 0 else None
    if client is None:
        return None
    try:
        issued, admitted, at = client.hmget(key_prefix(event_id) + "line", "issued", "admitted", "at")
    except RedisError as error:
        log.warning("selection waiting room unavailable, its line unknown: %s", error)
        return None
    if issued is None:  # nobody came yet
        return Line(0, 0)
    issued = int(issued)
    admitted = max(float(admitted), float(admitted) + rate * max(0.0, now.timestamp() - float(at)))
    # Admitted starts at the burst, above the tickets taken while fewer came.
    return Line(issued, min(issued, math.floor(admitted)))
