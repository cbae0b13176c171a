"""Sliding-window counters for Telegram's limits: in-process, in Redis, or in PostgreSQL.

Telegram counts requests in sliding windows (the last second overall, the last minute per
group), so a request is granted only while fewer than `limit` were granted in the last `span`
seconds: no burst allowance, which is what keeps a sender from overshooting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# New windows between two sweeps of the expired ones (a sweep walks every window kept).
SWEEP_EVERY = 4096


@dataclass(frozen=True)
class Window:
    """`limit` requests per `span` seconds, counted under `key`.

    With `burst` > 0 grants are also paced: at most `burst` in any `burst * span / limit`
    seconds. A full window granted at once reaches the server spread out by processing time, so
    the window's next turn would overlap it; a small burst lets a late grant catch up.
    """

    key: str
    span: float
    limit: int
    burst: int = 0

    @property
    def pace(self) -> float:
        """The time `burst` grants must span at least (0: no pacing)."""
        return self.burst * self.span / self.limit if self.burst else 0.0


@dataclass(frozen=True)
class Verdict:
    """0/0: granted (and recorded). Else seconds until the global / the chat window has room."""

    global_wait: float = 0.0
    chat_wait: float = 0.0
    ticket: Any = field(default=None, compare=False)  # for `complete`, when granted
    delay: float = 0.0  # granted by a leasing store: seconds until the slot may be used

    @property
    def granted(self) -> bool:
        return self.global_wait <= 0 and self.chat_wait <= 0


class WindowStore(Protocol):
    """Where the windows live; every process sharing a store shares the limits."""

    async def try_acquire(
        self, global_window: Window, chat_window: Window | None, weight: int = 1
    ) -> Verdict:
        """Record a request counting `weight` (an album of N counts N) in both windows if both
        have room for it, else say how long to wait. A request heavier than a whole window
        needs that window empty."""
        ...

    async def complete(self, ticket: Any) -> None:
        """The granted request was answered: count it from now on (see `LocalWindows`)."""
        ...

    async def pause(self, seconds: float) -> None:
        """Stop granting anything for `seconds` (Telegram answered 429)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class LocalWindows:
    """Windows in this process's memory.

    A request is first counted from its grant and, once answered, from its answer: Telegram
    counted it somewhere in between, so the answer time is the safe bound, whatever the delays
    on the way (a fixed margin is not: a busy event loop or a slow network exceeds it). Pacing
    uses grant times, as it spaces out what this side does.
    """

    def __init__(self) -> None:
        # Entries [granted, counted from], oldest first. Plain lists, not deques: a deque costs
        # a 64-slot block (~600 bytes) even for one entry, and a broadcast keeps one window per
        # group for a minute (60,000 windows at 1,000 msg/s).
        self._log: dict[str, list[list[float]]] = {}
        self._paused_until = 0.0
        self._longest = 0.0  # the longest span of any window: older entries count nowhere
        self._created = 0  # windows created since the last sweep

    def _wait(self, window: Window, now: float, weight: int) -> float:
        times = self._log.get(window.key)
        if times is None:
            # A broadcast touches every chat once: without a sweep, one window per chat would
            # stay for the process's life (~1 KB each, 100 MB for 100,000 groups).
            if self._created >= SWEEP_EVERY:
                self._sweep(now)
            times = self._log[window.key] = []
            self._created += 1
        self._longest = max(self._longest, window.span)
        cutoff, expired = now - window.span, 0
        for entry in times:  # counted-from times are nearly in order: stop at the first live
            if entry[1] > cutoff:
                break
            expired += 1
        if expired:
            del times[:expired]
        paced = window.burst and len(times) >= window.burst
        spacing = times[-window.burst][0] + window.pace - now if paced else 0.0
        # Requests that must leave the window before this one fits.
        excess = len(times) - (window.limit - min(weight, window.limit))
        if excess <= 0:
            return max(0.0, spacing)
        # Answer times are nearly, not strictly, in order: never report "no wait" when full.
        full = max(times[excess - 1][1], times[0][1]) + window.span - now
        return max(spacing, full, 0.001)

    def _sweep(self, now: float) -> None:
        """Forget the windows whose every request is older than the longest span."""
        cutoff = now - self._longest
        stale = [k for k, times in self._log.items() if all(e[1] <= cutoff for e in times)]
        for key in stale:
            del self._log[key]
        self._created = 0

    @property
    def windows(self) -> int:
        """How many windows are kept (for tests and measurements)."""
        return len(self._log)

    async def try_acquire(
        self, global_window: Window, chat_window: Window | None, weight: int = 1
    ) -> Verdict:
        now = time.monotonic()
        paused = max(0.0, self._paused_until - now)
        gw = max(paused, self._wait(global_window, now, weight))
        cw = self._wait(chat_window, now, weight) if chat_window else 0.0
        if gw > 0 or cw > 0:
            return Verdict(gw, cw)
        entries: list[list[float]] = []
        for window in (global_window, chat_window):
            if window is not None:
                added = [[now, now] for _ in range(weight)]
                self._log[window.key].extend(added)
                entries += added
        return Verdict(ticket=entries)

    async def complete(self, ticket: Any) -> None:
        now = time.monotonic()
        for entry in ticket or ():
            entry[1] = max(entry[1], now)

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def close(self) -> None:
        return None


# KEYS: pause, counter, then per window: its counted-from set, its grant-time set.
# ARGV per window: span ms, limit, burst, pace ms; then the request's weight (an album of N
# counts N: it needs N free slots, or an empty window when heavier than the window, and records
# N members). Times come from the Redis server so that every process uses the same clock.
# Returns {global wait ms, chat wait ms, the last member recorded ('' when not granted)}.
_REDIS_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local waits = {0, 0}
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then waits[1] = paused end
local windows = (#KEYS - 2) / 2
local weight = tonumber(ARGV[windows * 4 + 1]) or 1
for w = 1, windows do
  local counted, granted = KEYS[1 + w * 2], KEYS[2 + w * 2]
  local span = tonumber(ARGV[(w - 1) * 4 + 1])
  local limit = tonumber(ARGV[(w - 1) * 4 + 2])
  local burst = tonumber(ARGV[(w - 1) * 4 + 3])
  local pace = tonumber(ARGV[(w - 1) * 4 + 4])
  redis.call('ZREMRANGEBYSCORE', counted, '-inf', now - span)
  redis.call('ZREMRANGEBYSCORE', granted, '-inf', now - span)
  local n = redis.call('ZCARD', counted)
  local excess = n - (limit - math.min(weight, limit))
  if excess > 0 then
    local oldest = redis.call('ZRANGE', counted, excess - 1, excess - 1, 'WITHSCORES')
    waits[w] = math.max(waits[w], tonumber(oldest[2]) + span - now, 1)
  end
  local g = redis.call('ZCARD', granted)
  if burst > 0 and g >= burst then
    local last = redis.call('ZRANGE', granted, -burst, -burst, 'WITHSCORES')
    waits[w] = math.max(waits[w], tonumber(last[2]) + pace - now)
  end
end
if waits[1] > 0 or waits[2] > 0 then
  return {tostring(waits[1]), tostring(waits[2]), ''}
end
local last = redis.call('INCRBY', KEYS[2], weight)
for w = 1, windows do
  local ttl = math.ceil(tonumber(ARGV[(w - 1) * 4 + 1])) + 60000
  for _, key in ipairs({KEYS[1 + w * 2], KEYS[2 + w * 2]}) do
    for m = last - weight + 1, last do
      redis.call('ZADD', key, now, tostring(m))
    end
    redis.call('PEXPIRE', key, ttl)
  end
end
return {'0', '0', tostring(last)}
"""
# KEYS: counted-from sets; ARGV: the ticket's last member and weight. The request was
# answered: count its members from now.
_REDIS_COMPLETE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local last, weight = tonumber(ARGV[1]), tonumber(ARGV[2]) or 1
for i = 1, #KEYS do
  for m = last - weight + 1, last do
    redis.call('ZADD', KEYS[i], 'XX', now, tostring(m))
  end
end
return 0
"""


class RedisWindows:
    """Windows in Redis, shared by every process using the same `prefix`."""

    def __init__(self, url: str, prefix: str = "canhgac:rl") -> None:
        import redis.asyncio as aioredis

        self._redis: Any = aioredis.from_url(url)
        self._prefix = prefix
        self._acquire = self._redis.register_script(_REDIS_ACQUIRE)
        self._complete = self._redis.register_script(_REDIS_COMPLETE)

    async def try_acquire(
        self, global_window: Window, chat_window: Window | None, weight: int = 1
    ) -> Verdict:
        windows = [global_window] if chat_window is None else [global_window, chat_window]
        keys = [f"{self._prefix}:pause", f"{self._prefix}:seq"]
        args: list[float | int] = []
        for w in windows:
            keys += [f"{self._prefix}:{w.key}", f"{self._prefix}:{w.key}:g"]
            args += [w.span * 1000.0, w.limit, w.burst, w.pace * 1000.0]
        gw, cw, member = await self._acquire(keys=keys, args=[*args, weight])
        if member:
            counted = [f"{self._prefix}:{w.key}" for w in windows]
            return Verdict(ticket=(counted, member, weight))
        return Verdict(float(gw) / 1000.0, float(cw) / 1000.0)

    async def complete(self, ticket: Any) -> None:
        if ticket:
            counted, member, weight = ticket
            await self._complete(keys=counted, args=[member, weight])

    async def pause(self, seconds: float) -> None:
        key = f"{self._prefix}:pause"
        current = await self._redis.pttl(key)
        wanted = int(seconds * 1000)
        if current is None or current < wanted:
            await self._redis.set(key, "1", px=max(wanted, 1))

    async def close(self) -> None:
        await self._redis.aclose()


# PostgreSQL: one call of `delivery_rate_acquire` (migrations 0002, weighted since 0007), which
# takes an advisory lock, checks both windows and records the request, all on the database clock.
_PG_ACQUIRE = text(
    "SELECT delivery_rate_acquire(:g_key, :g_span, :g_limit, :g_burst, :g_pace, "
    ":c_key, :c_span, :c_limit, :weight)"
)
_PG_PAUSE = text(
    "INSERT INTO delivery_rate_events (key, granted, at) "
    "VALUES ('pause', extract(epoch from clock_timestamp()) + :s, "
    "extract(epoch from clock_timestamp()) + :s)"
)
_PG_COMPLETE = text(
    "UPDATE delivery_rate_events SET at = greatest(at, extract(epoch from clock_timestamp())) "
    "WHERE id = ANY(:ids)"
)


class PostgresWindows:
    """Windows in the `delivery_rate_events` table, serialised by an advisory lock."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._answered: list[int] = []  # rows to move to their answer time, in one UPDATE
        self._flush: asyncio.Task[None] | None = None

    async def try_acquire(
        self, global_window: Window, chat_window: Window | None, weight: int = 1
    ) -> Verdict:
        chat = chat_window or Window("", 1.0, 1)
        params = {
            "g_key": global_window.key,
            "g_span": global_window.span,
            "g_limit": global_window.limit,
            "g_burst": global_window.burst,
            "g_pace": global_window.pace,
            "c_key": chat_window.key if chat_window else None,
            "c_span": chat.span,
            "c_limit": chat.limit,
            "weight": weight,
        }
        async with self._engine.connect() as conn:
            gw, cw, *ids = (await conn.execute(_PG_ACQUIRE, params)).scalar_one()
        if ids:
            return Verdict(ticket=tuple(int(i) for i in ids))
        return Verdict(float(gw), float(cw))

    async def complete(self, ticket: Any) -> None:
        if not ticket:
            return
        self._answered.extend(i for i in ticket if i)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._write_answers())

    async def _write_answers(self) -> None:
        # Answers arriving while one UPDATE runs go into the next: one round trip per batch.
        while self._answered:
            ids, self._answered = self._answered, []
            async with self._engine.connect() as conn:
                await conn.execute(_PG_COMPLETE, {"ids": ids})

    async def pause(self, seconds: float) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(_PG_PAUSE, {"s": seconds})

    async def close(self) -> None:
        if self._flush is not None:
            with contextlib.suppress(Exception):
                await self._flush
