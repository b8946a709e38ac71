"""Selection day's traffic, for the office's dashboard: every student request to an event's pages (views.py) and
JSON API (api.py) counted in Redis per event and second, with whether it failed or was refused and its latency in
fixed buckets, so every worker and server adds to the same counts and the last minute's rate, p50, p99 and errors
are read from 60 small hashes, never from a list of requests.

A request is recorded in one pipelined round trip after it is answered (a waiting student's answered in front of
the app: in the waiting room's own round trip, api.AnsweredInLine); a Redis failure is logged and the
request goes on, and this process records nothing for RESTING_SECONDS (a Redis that does not answer would
otherwise cost every request its timeout, and write the log a line a request). Without Redis nothing is recorded.
"""
from __future__ import annotations

import bisect
import logging
import math
import time
from dataclasses import dataclass

from flask import Blueprint, current_app, g, request
from redis.exceptions import RedisError

from ..core import kept
from .waiting_room import Count, key_prefix

log = logging.getLogger(__name__)

# Upper bounds of the latency buckets, in ms; one more bucket takes everything slower than the last.
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 75, 100, 150, 250, 400, 600, 1000, 1500, 2500, 5000, 10000)
WINDOW_SECONDS = 60
KEPT_SECONDS = 2 * WINDOW_SECONDS  # a second's counts outlive the window read from them, then go
RESTING_SECONDS = 10
_RESTING = "dorms.selection.traffic.resting"  # app.extensions: (the Redis client that failed, until when)
_STARTED = "selection_request_started"
_STATUS = "selection_request_status"


def record_requests(blueprint: Blueprint) -> None:
    """Record every request of ``blueprint`` with an ``event_id`` in its address."""
    blueprint.before_request(_start)
    blueprint.after_request(_note_status)
    # Teardown runs for every request, an unhandled exception (passed in) included, whether or not the error
    # page's response went through the after-request functions.
    blueprint.teardown_request(_record)


def _start() -> None:
    setattr(g, _STARTED, time.perf_counter())


def _note_status(response):
    setattr(g, _STATUS, response.status_code)
    return response


def _record(error: BaseException | None) -> None:
    event_id = (request.view_args or {}).get("event_id")
    if event_id is None:
        return
    started = g.pop(_STARTED, None)  # None: refused by the app's own before-request checks (CSRF), not timed
    status = 500 if error is not None else g.pop(_STATUS, 500)
    record(event_id, status, None if started is None else (time.perf_counter() - started) * 1000, time.time())


def latency_bucket(milliseconds: float) -> int:
    """The bucket of a latency: the first whose bound it does not exceed (len(LATENCY_BOUNDS_MS): slower than all)."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, milliseconds)


def _client():
    """The Redis client, unless there is none or it failed within RESTING_SECONDS."""
    client = kept.redis_client()
    resting = current_app.extensions.get(_RESTING)
    if client is None or (resting and resting[0] is client and time.monotonic() < resting[1]):
        return None
    return client


def _failed(client, error: RedisError) -> None:
    current_app.extensions[_RESTING] = (client, time.monotonic() + RESTING_SECONDS)
    log.warning("selection traffic not recorded for %d s, Redis unavailable: %s", RESTING_SECONDS, error)


def _key(event_id: int, second: int) -> str:
    return f"{key_prefix(event_id)}traffic:{second}"


def counted(event_id: int, status: int, milliseconds: float | None, now: float) -> Count:
    """What counting a request answered with ``status`` after ``milliseconds`` (None: not timed) at ``now`` (epoch
    s) adds one to; the waiting room counts its own answers this way, in the round trip it makes anyway."""
    fields = ["requests"]
    if milliseconds is not None:
        fields.append(f"ms{latency_bucket(milliseconds)}")
    if status >= 500:
        fields.append("errors")
    elif status >= 400:
        fields.append("refused")
    return Count(_key(event_id, int(now)), tuple(fields), KEPT_SECONDS)


def record(event_id: int, status: int, milliseconds: float | None, now: float) -> None:
    """Count a request answered with ``status`` after ``milliseconds`` (None: not timed) at ``now`` (epoch s)."""
    if (client := _client()) is None:
        return
    count = counted(event_id, status, milliseconds, now)
    try:
        with client.pipeline(transaction=False) as pipe:
            for field in count.fields:
                pipe.hincrby(count.key, field, 1)
            pipe.expire(count.key, count.seconds)
            pipe.execute()
    except RedisError as error:
        _failed(client, error)


def percentile(counts: tuple[int, ...], fraction: float) -> float | None:
    """The latency (ms) below which ``fraction`` of the requests counted per bucket fall, assuming them spread
    evenly inside their bucket; math.inf past the last bound; None without any request."""
    total = sum(counts)
    if not total:
        return None
    rank = fraction * total
    below = 0
    for index, count in enumerate(counts):
        if count and below + count >= rank:
            break
        below += count
    if index == len(LATENCY_BOUNDS_MS):
        return math.inf
    lower = LATENCY_BOUNDS_MS[index - 1] if index else 0
    return lower + (LATENCY_BOUNDS_MS[index] - lower) * (rank - below) / count


@dataclass(frozen=True)
class Traffic:
    """An event's requests over the last WINDOW_SECONDS: how many, failed (5xx), refused (4xx), and their latency
    counted per bucket of LATENCY_BOUNDS_MS."""
    requests: int
    errors: int
    refused: int
    latency_counts: tuple[int, ...]

    @property
    def per_second(self) -> float:
        return self.requests / WINDOW_SECONDS

    def milliseconds(self, fraction: float) -> str:
        """The percentile as shown: whole ms, "> 10000" past the last bound, "–" without requests."""
        value = percentile(self.latency_counts, fraction)
        if value is None:
            return "–"
        return f"> {LATENCY_BOUNDS_MS[-1]}" if math.isinf(value) else str(round(value))


def last_minute(event_id: int, now: float | None = None) -> Traffic | None:
    """The event's traffic over the WINDOW_SECONDS up to ``now`` (epoch s), this second included; None without
    Redis or when it fails."""
    if (client := _client()) is None:
        return None
    second = int(time.time() if now is None else now)
    try:
        with client.pipeline(transaction=False) as pipe:
            for past in range(second - WINDOW_SECONDS + 1, second + 1):
                pipe.hgetall(_key(event_id, past))
            seconds = pipe.execute()
    except RedisError as error:
        _failed(client, error)
        return None

    def total(field: bytes) -> int:
        return sum(int(counts.get(field, 0)) for counts in seconds)
    return Traffic(total(b"requests"), total(b"errors"), total(b"refused"),
                   tuple(total(f"ms{bucket}".encode()) for bucket in range(len(LATENCY_BOUNDS_MS) + 1)))
