"""A bounded, open-loop load generator: requests start on a fixed schedule, over at most a given number of
connections, and each one's latency counts from when it was due, not from when a connection came free.

A closed loop (wrk: each connection waits for its answer before asking again) measures how many requests a
server can answer, but its latencies are mostly its own queue: with 32 connections, the mean is 32 ÷ the rate,
whatever the page. Here the rate is fixed, so the latencies are what a reader waits at that rate; a server that
stalls makes the requests due meanwhile late, and they count as late (no coordinated omission).

    figures = measure("http://127.0.0.1:8000", [("/login", "")], rate=40, seconds=10, connections=32)

Needs aiohttp (the `bench` extra).
"""
from __future__ import annotations

import asyncio
import math

import aiohttp


async def _measure(base: str, targets: list[tuple[str, str]], rate: float, seconds: float, connections: int,
                   timeout: float) -> dict:
    latencies: list[float] = []
    errors = {"status": 0, "socket": 0, "timeouts": 0}
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(base, connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        loop = asyncio.get_running_loop()
        count = max(1, int(rate * seconds))
        start = loop.time() + 0.05

        async def request(number: int) -> None:
            due = start + number / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            path, cookie = targets[number % len(targets)]
            try:
                async with asyncio.timeout_at(due + timeout):
                    async with session.get(path, headers={"Cookie": cookie} if cookie else {},
                                           allow_redirects=False) as response:
                        await response.read()
                        if response.status >= 400:
                            errors["status"] += 1
            except TimeoutError:
                errors["timeouts"] += 1
                return
            except aiohttp.ClientError:
                errors["socket"] += 1
                return
            latencies.append(loop.time() - due)

        began = loop.time()
        await asyncio.gather(*(request(n) for n in range(count)))
        elapsed = loop.time() - began
    latencies.sort()
    return {"offered": rate, "rate": len(latencies) / elapsed, "answered": len(latencies), "sent": count,
            "p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000,
            "max": (latencies[-1] if latencies else 0) * 1000, **errors}


def percentile(ordered: list[float], rank: float) -> float:
    """The nearest-rank percentile of sorted values (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def measure(base: str, targets: list[tuple[str, str]], rate: float, seconds: float, connections: int,
            timeout: float = 5.0) -> dict:
    """Requests at ``rate`` a second for ``seconds`` over at most ``connections``, rotating over the
    (path, Cookie header) targets. Latencies in ms from when each request was due; a request not answered
    within ``timeout`` of that counts as a timeout, one answered 400 or above as a status error."""
    return asyncio.run(_measure(base, targets, rate, seconds, connections, timeout))
