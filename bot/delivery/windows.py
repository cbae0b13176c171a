"""Sliding-window counters for Telegram's limits: in-process, in Redis, or in PostgreSQL.

Telegram counts requests in sliding windows (the last second overall, the last minute per
group), so a request is granted only while fewer than `limit` were granted in the last `span`
seconds: no burst allowance, which is what keeps a sender from overshooting.
"""

from __future__ import annotations

import asyncio
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


# One transaction under an advisory lock: count both windows, record the request if both have
# room. Times come from the database clock, so every process uses the same one.
_PG_LOCK = 0x63676476  # "cgdv"
_PG_NOW = "SELECT extract(epoch from clock_timestamp())"


class PostgresWindows:
    """Windows in the `delivery_rate_events` table, serialised by an advisory lock."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()  # one transaction at a time per process
        self._last_cleanup = 0.0

    async def try_acquire(self, global_window: Window, chat_window: Window | None) -> Verdict:
        windows = [global_window] if chat_window is None else [global_window, chat_window]
        async with self._lock, self._engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            now = float((await conn.execute(text(_PG_NOW))).scalar_one())
            paused = await self._paused(conn, now)
            waits = [await self._wait(conn, w, now) for w in windows]
            verdict = Verdict(max(paused, waits[0]), waits[1] if len(waits) > 1 else 0.0)
            if verdict.granted:
                await conn.execute(
                    text("INSERT INTO delivery_rate_events (key, at) VALUES (:key, :at)"),
                    [{"key": w.key, "at": now} for w in windows],
                )
                await self._cleanup(conn, now)
            return verdict

    async def _wait(self, conn: Any, window: Window, now: float) -> float:
        result = await conn.execute(
            text(
                "SELECT at FROM delivery_rate_events WHERE key = :key AND at > :since "
                "ORDER BY at DESC LIMIT :limit"
            ),
            {"key": window.key, "since": now - window.span, "limit": window.limit},
        )
        recent = [float(a) for a in result.scalars()]
        paced = window.burst and len(recent) >= window.burst
        spacing = recent[window.burst - 1] + window.pace - now if paced else 0.0
        if len(recent) < window.limit:
            return max(0.0, spacing)
        return max(spacing, recent[-1] + window.span - now)

    async def _paused(self, conn: Any, now: float) -> float:
        result = await conn.execute(
            text("SELECT max(at) FROM delivery_rate_events WHERE key = 'pause'")
        )
        until = result.scalar()
        return max(0.0, float(until) - now) if until is not None else 0.0

    async def _cleanup(self, conn: Any, now: float) -> None:
        if now - self._last_cleanup < 5.0:
            return
        self._last_cleanup = now
        await conn.execute(
            text("DELETE FROM delivery_rate_events WHERE at < :old AND key <> 'pause'"),
            {"old": now - 120.0},
        )
        await conn.execute(
            text("DELETE FROM delivery_rate_events WHERE key = 'pause' AND at < :now"),
            {"now": now},
        )

    async def pause(self, seconds: float) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO delivery_rate_events (key, at) "
                    "VALUES ('pause', extract(epoch from clock_timestamp()) + :s)"
                ),
                {"s": seconds},
            )

    async def close(self) -> None:
        return None
