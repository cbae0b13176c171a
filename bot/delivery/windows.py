"""Sliding-window counters for Telegram's limits: in-process, in Redis, or in PostgreSQL.

Telegram counts requests in sliding windows (the last second overall, the last minute per
group), so a request is granted only while fewer than `limit` were granted in the last `span`
seconds: no burst allowance, which is what keeps a sender from overshooting.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


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

    @property
    def granted(self) -> bool:
        return self.global_wait <= 0 and self.chat_wait <= 0


class WindowStore(Protocol):
    """Where the windows live; every process sharing a store shares the limits."""

    async def try_acquire(self, global_window: Window, chat_window: Window | None) -> Verdict:
        """Record one request in both windows if both have room, else say how long to wait."""
        ...

    async def pause(self, seconds: float) -> None:
        """Stop granting anything for `seconds` (Telegram answered 429)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class LocalWindows:
    """Windows in this process's memory."""

    def __init__(self) -> None:
        self._log: dict[str, deque[float]] = {}
        self._paused_until = 0.0

    def _wait(self, window: Window, now: float) -> float:
        times = self._log.setdefault(window.key, deque())
        while times and times[0] <= now - window.span:
            times.popleft()
        paced = window.burst and len(times) >= window.burst
        spacing = times[-window.burst] + window.pace - now if paced else 0.0
        excess = len(times) - window.limit
        if excess < 0:
            return max(0.0, spacing)
        return max(spacing, times[excess] + window.span - now)

    async def try_acquire(self, global_window: Window, chat_window: Window | None) -> Verdict:
        now = time.monotonic()
        paused = max(0.0, self._paused_until - now)
        verdict = Verdict(
            max(paused, self._wait(global_window, now)),
            self._wait(chat_window, now) if chat_window else 0.0,
        )
        if verdict.granted:
            self._log[global_window.key].append(now)
            if chat_window is not None:
                self._log[chat_window.key].append(now)
        return verdict

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def close(self) -> None:
        return None


# KEYS: pause, counter, global, [chat]; ARGV per window: span ms, limit, burst, pace ms.
# Times come from the Redis server so that every process uses the same clock.
_REDIS_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local waits = {0, 0}
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then waits[1] = paused end
for i = 3, #KEYS do
  local span = tonumber(ARGV[(i - 3) * 4 + 1])
  local limit = tonumber(ARGV[(i - 3) * 4 + 2])
  local burst = tonumber(ARGV[(i - 3) * 4 + 3])
  local pace = tonumber(ARGV[(i - 3) * 4 + 4])
  local slot = (i == 3) and 1 or 2
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - span)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + span - now
    if w > waits[slot] then waits[slot] = w end
  end
  if burst > 0 and n >= burst then
    local last = redis.call('ZRANGE', KEYS[i], -burst, -burst, 'WITHSCORES')
    local w = tonumber(last[2]) + pace - now
    if w > waits[slot] then waits[slot] = w end
  end
end
if waits[1] > 0 or waits[2] > 0 then
  return {tostring(waits[1]), tostring(waits[2])}
end
local id = redis.call('INCR', KEYS[2])
for i = 3, #KEYS do
  local span = tonumber(ARGV[(i - 3) * 4 + 1])
  redis.call('ZADD', KEYS[i], now, tostring(now) .. ':' .. id)
  redis.call('PEXPIRE', KEYS[i], math.ceil(span) + 1000)
end
return {'0', '0'}
"""


class RedisWindows:
    """Windows in Redis, shared by every process using the same `prefix`."""

    def __init__(self, url: str, prefix: str = "canhgac:rl") -> None:
        import redis.asyncio as aioredis

        self._redis: Any = aioredis.from_url(url)
        self._prefix = prefix
        self._script = self._redis.register_script(_REDIS_SCRIPT)

    async def try_acquire(self, global_window: Window, chat_window: Window | None) -> Verdict:
        windows = [global_window] if chat_window is None else [global_window, chat_window]
        keys = [f"{self._prefix}:pause", f"{self._prefix}:seq"]
        keys += [f"{self._prefix}:{w.key}" for w in windows]
        args: list[float | int] = []
        for w in windows:
            args += [w.span * 1000.0, w.limit, w.burst, w.pace * 1000.0]
        result = await self._script(keys=keys, args=args)
        return Verdict(float(result[0]) / 1000.0, float(result[1]) / 1000.0)

    async def pause(self, seconds: float) -> None:
        key = f"{self._prefix}:pause"
        current = await self._redis.pttl(key)
        wanted = int(seconds * 1000)
        if current is None or current < wanted:
            await self._redis.set(key, "1", px=max(wanted, 1))

    async def close(self) -> None:
        await self._redis.aclose()


# PostgreSQL: one call of `delivery_rate_acquire` (created by migration 0002), which takes an
# advisory lock, checks both windows and records the request, all on the database clock.
_PG_ACQUIRE = text(
    "SELECT delivery_rate_acquire(:g_key, :g_span, :g_limit, :g_burst, :g_pace, "
    ":c_key, :c_span, :c_limit)"
)
_PG_PAUSE = text(
    "INSERT INTO delivery_rate_events (key, at) "
    "VALUES ('pause', extract(epoch from clock_timestamp()) + :s)"
)


class PostgresWindows:
    """Windows in the `delivery_rate_events` table, serialised by an advisory lock."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def try_acquire(self, global_window: Window, chat_window: Window | None) -> Verdict:
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
        }
        async with self._engine.connect() as conn:
            waits = (await conn.execute(_PG_ACQUIRE, params)).scalar_one()
        return Verdict(float(waits[0]), float(waits[1]))

    async def pause(self, seconds: float) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(_PG_PAUSE, {"s": seconds})

    async def close(self) -> None:
        return None
