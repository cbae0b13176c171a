"""Shared windows leased in batches: one store round trip places many requests.

With several processes the windows live in Redis or PostgreSQL. Asking the store once per
request costs a round trip per message and, with the window full, one per slot freed. Instead a
process sends the waiting requests at the head of its queue in one round trip, and the store
places each of them on a slot of the global window within the next `horizon` seconds (the
earliest time the sliding window will have room, paced) and in its chat's window, recording it
at once. The process then releases each request locally at its slot's time. Answers, slots
never used (returned) and requests still unanswered past their slot's validity (bumped) are
reported in the next round trip.

Every recorded request counts in the store's windows until `at + span`, where `at` is:
- `slot + validity` while leased and not answered: the latest time the slot is meant to be used;
- `store now - age` once answered (age measured by the process, so no clocks are compared;
  the store's `now` is later than the process's send, so `at` is never before the answer);
- `store now` at each round trip while still unanswered past `slot + validity`.
So `at` is never earlier than the moment Telegram counted the request, which keeps the sum over
all processes within the limit in every window (the argument of `LocalWindows`, with the slot
time as the grant time). A process that dies keeps its leased slots counted until
`slot + validity + span`, then they expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.windows import PostgresWindows, RedisWindows, Verdict, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ask:
    """One request of a batch: the global window of the bulk lane, its chat's window, its
    weight; an interactive reply also has the `reserve` the bulk lane leaves free."""

    glob: Window
    chat: Window | None
    weight: int = 1
    reserve: int = 0


@dataclass(eq=False)
class Slot:
    """A placed request, the store's handle on its records (`ref`)."""

    ref: Any
    deadline: float  # local monotonic time after which an unanswered request is bumped


@dataclass
class Reports:
    """What a round trip tells the store besides the new asks."""

    answered: list[tuple[Any, float]] = field(default_factory=list)  # (ref, age in seconds)
    returned: list[Any] = field(default_factory=list)
    overdue: list[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.answered or self.returned or self.overdue)


@runtime_checkable
class BatchingStore(Protocol):
    """A window store that places a batch of requests in one round trip."""

    async def acquire_many(self, asks: Sequence[Ask]) -> list[Verdict]:
        """Place each ask, in order: granted with `delay` (seconds until its slot), or a chat
        wait, or a global wait (no room within the horizon: this and every later ask)."""
        ...

    def release(self, ticket: Any) -> None:
        """A placed request will not be sent: its slots return to the window."""
        ...


# The raw answer of a round trip: seconds until the first unplaced ask could be placed (or 0),
# and per ask: (slot offset in seconds or None, chat wait (0: no room within the horizon), ref).
Placement = tuple[float | None, float, Any]


class LeaseBook:
    """The process's side of leasing: pending reports, slots in flight, the round trip."""

    def __init__(self, horizon: float, validity: float, flush_after: float = 0.05) -> None:
        self.horizon = horizon
        self.validity = validity
        self.flush_after = flush_after
        self._lease_answers: list[tuple[Any, float]] = []  # (ref, local answer time)
        self._lease_returns: list[Any] = []
        self._lease_inflight: dict[int, Slot] = {}
        self._lease_flusher: asyncio.Task[None] | None = None
        self.round_trips = 0

    async def exchange(
        self, asks: Sequence[Ask], reports: Reports
    ) -> tuple[float, list[Placement]]:
        """The backend's one round trip: reports, then the asks placed."""
        raise NotImplementedError

    async def acquire_many(self, asks: Sequence[Ask]) -> list[Verdict]:
        sent = time.monotonic()
        reports = self._take_reports(sent)
        try:
            wait, placed = await self.exchange(asks, reports)
        except BaseException:
            self._lease_answers += [(ref, sent - age) for ref, age in reports.answered]
            self._lease_returns += reports.returned
            raise
        self.round_trips += 1
        # No room within the horizon: come back when about half a horizon of slots has come
        # due, so that one round trip places several requests.
        refill = Verdict(global_wait=max(0.002, wait - self.horizon / 2))
        verdicts = []
        for offset, chat_wait, ref in placed:
            if offset is None:
                verdicts.append(Verdict(chat_wait=chat_wait) if chat_wait > 0 else refill)
                continue
            slot = Slot(ref, sent + offset + self.validity)
            self._lease_inflight[id(slot)] = slot
            verdicts.append(Verdict(ticket=slot, delay=offset))
        return verdicts

    def _take_reports(self, now: float) -> Reports:
        answered, self._lease_answers = self._lease_answers, []
        returned, self._lease_returns = self._lease_returns, []
        overdue = [s.ref for s in self._lease_inflight.values() if s.deadline < now]
        return Reports([(ref, max(0.0, now - at)) for ref, at in answered], returned, overdue)

    def complete_slot(self, slot: Slot) -> None:
        if self._lease_inflight.pop(id(slot), None) is not None:
            self._lease_answers.append((slot.ref, time.monotonic()))
            self._schedule_flush()

    def release(self, ticket: Any) -> None:
        if isinstance(ticket, Slot) and self._lease_inflight.pop(id(ticket), None) is not None:
            self._lease_returns.append(ticket.ref)
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._lease_flusher is None or self._lease_flusher.done():
            self._lease_flusher = asyncio.get_running_loop().create_task(self._lease_flush())

    async def _lease_flush(self) -> None:
        """Report answers and returns that no round trip of the gate carried within
        `flush_after`; keep bumping requests in flight past their validity."""
        while self._lease_answers or self._lease_returns or self._lease_inflight:
            await asyncio.sleep(self.flush_after)
            now = time.monotonic()
            overdue = any(s.deadline < now for s in self._lease_inflight.values())
            if not (self._lease_answers or self._lease_returns or overdue):
                continue
            try:
                await self.acquire_many(())
            except Exception:
                log.exception("rate-limit store failed to take reports; retrying")

    async def close_book(self) -> None:
        """Report what is pending (slots still leased are returned)."""
        if self._lease_flusher is not None:
            self._lease_flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_flusher
        self._lease_returns += [s.ref for s in self._lease_inflight.values()]
        self._lease_inflight.clear()
        if self._lease_answers or self._lease_returns:
            with contextlib.suppress(Exception):
                await self.acquire_many(())


# KEYS: pause, seq, global counted-from set, global grant-time set, then one chat counted-from
# set per ask (any key for an ask without a chat window). ARGV: global span ms, burst, pace ms,
# horizon ms, validity ms, number of asks, then per ask: global limit (the bulk lane's),
# reserve, chat span ms (0: none), chat limit, weight.
# A bulk ask (reserve 0) takes the earliest time the global window has room for its weight
# within `limit` (counting what this call already placed; every recorded request counts, those
# planned ahead too), after any pause, paced, if within the horizon; else neither it nor any
# later bulk ask is placed (no overtaking within the lane). An interactive reply (reserve > 0)
# goes at once if no window from now on would hold more than `limit + reserve` with it: the
# occupancy of the window ending at T is the requests counted after T - span minus those
# granted after T, checked now and at every grant planned ahead. Else it is placed as bulk,
# unpaced. The chat window must then have room at the slot's time, else the ask gets a chat
# wait and takes no slot. Members are recorded counted from slot + validity. Returns {ms until
# the first ask that did not fit the horizon could be placed (0: all placed), then per ask:
# slot offset ms (-1: chat full, -2: no room within the horizon), chat wait ms, last member}.
_LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local span, burst, pace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local horizon, validity, n = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local counted, granted = KEYS[3], KEYS[4]
redis.call('ZREMRANGEBYSCORE', counted, '-inf', now - span)
redis.call('ZREMRANGEBYSCORE', granted, '-inf', now - span)
local base = now
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then base = now + paused end
local function earliest(limit, weight, paced)
  local at = base
  local excess = redis.call('ZCARD', counted) - limit + math.min(weight, limit)
  if excess > 0 then
    local oldest = redis.call('ZRANGE', counted, excess - 1, excess - 1, 'WITHSCORES')
    at = math.max(at, tonumber(oldest[2]) + span)
  end
  if paced and burst > 0 then
    local last = redis.call('ZRANGE', granted, -burst, -burst, 'WITHSCORES')
    if #last > 0 then at = math.max(at, tonumber(last[2]) + pace) end
  end
  return at
end
local function occupancy(at)
  return redis.call('ZCOUNT', counted, '(' .. tostring(at - span), '+inf')
    - redis.call('ZCOUNT', granted, '(' .. tostring(at), '+inf')
end
local function fits_now(limit, weight)
  if occupancy(base) + weight > limit then return false end
  local ahead = redis.call('ZRANGEBYSCORE', granted, '(' .. tostring(base), '+inf', 'WITHSCORES')
  for k = 2, #ahead, 2 do
    if occupancy(tonumber(ahead[k])) + weight > limit then return false end
  end
  return true
end
local out = {'0'}
local blocked = false
for i = 1, n do
  local o = 6 + (i - 1) * 5
  local limit, reserve, cspan = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local climit, weight = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
  local at = nil
  if reserve > 0 and fits_now(limit + reserve, weight) then
    at = base
  elseif reserve > 0 or not blocked then
    at = earliest(limit, weight, reserve == 0)
    if at > now + horizon then
      if out[1] == '0' then out[1] = tostring(at - now) end
      if reserve == 0 then blocked = true end
      at = nil
    end
  end
  local chat, cwait = KEYS[4 + i], 0
  if at == nil then
    cwait = -1
  elseif cspan > 0 then
    redis.call('ZREMRANGEBYSCORE', chat, '-inf', now - cspan)
    local from = '(' .. tostring(at - cspan)
    local cexcess = redis.call('ZCOUNT', chat, from, '+inf') - climit + math.min(weight, climit)
    if cexcess > 0 then
      local e = redis.call('ZRANGEBYSCORE', chat, from, '+inf', 'WITHSCORES',
        'LIMIT', cexcess - 1, 1)
      cwait = math.max(tonumber(e[2]) + cspan - now, 1)
    end
  end
  if cwait < 0 then
    out[#out + 1] = '-2'; out[#out + 1] = '0'; out[#out + 1] = '0'
  elseif cwait > 0 then
    out[#out + 1] = '-1'; out[#out + 1] = tostring(cwait); out[#out + 1] = '0'
  else
    local last = redis.call('INCRBY', KEYS[2], weight)
    for m = last - weight + 1, last do
      redis.call('ZADD', counted, at + validity, m)
      redis.call('ZADD', granted, at, m)
      if cspan > 0 then redis.call('ZADD', chat, at + validity, m) end
    end
    if cspan > 0 then redis.call('PEXPIRE', chat, math.ceil(cspan + validity) + 60000) end
    out[#out + 1] = tostring(at - now); out[#out + 1] = '0'; out[#out + 1] = tostring(last)
  end
end
local ttl = math.ceil(span + validity) + 60000
redis.call('PEXPIRE', counted, ttl)
redis.call('PEXPIRE', granted, ttl)
return out
"""
# KEYS per report: global counted-from set, global grant-time set, chat counted-from set (or
# any key when none). ARGV: number of reports, then per report: mode (a:
# answered `age` ms ago, r: returned, b: still in flight: count from now at least), last
# member, weight, age ms, whether it has a chat window (1/0).
_REPORT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
for i = 1, tonumber(ARGV[1]) do
  local o = 1 + (i - 1) * 5
  local mode, last, weight = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local age, chat = tonumber(ARGV[o + 4]), ARGV[o + 5] == '1'
  local keys = {KEYS[(i - 1) * 3 + 1]}
  if chat then keys[2] = KEYS[(i - 1) * 3 + 3] end
  for m = last - weight + 1, last do
    for _, key in ipairs(keys) do
      if mode == 'a' then
        redis.call('ZADD', key, 'XX', now - age, m)
      elseif mode == 'b' then
        redis.call('ZADD', key, 'XX', 'GT', now, m)
      else
        redis.call('ZREM', key, m)
      end
    end
    if mode == 'r' then redis.call('ZREM', KEYS[(i - 1) * 3 + 2], m) end
  end
end
return 0
"""


@dataclass(frozen=True)
class _RedisRef:
    glob: str
    chat: str | None
    last: int
    weight: int


class RedisLeases(LeaseBook, RedisWindows):
    """Windows in Redis, leased in batches (see the module's docstring)."""

    def __init__(
        self, url: str, prefix: str = "canhgac:rl", horizon: float = 0.1, validity: float = 0.5
    ) -> None:
        RedisWindows.__init__(self, url, prefix)
        LeaseBook.__init__(self, horizon, validity)
        self._lease = self._redis.register_script(_LEASE)
        self._report = self._redis.register_script(_REPORT)

    async def exchange(
        self, asks: Sequence[Ask], reports: Reports
    ) -> tuple[float, list[Placement]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            if reports:
                report_keys, report_args = self._report_call(reports)
                await self._report(keys=report_keys, args=report_args, client=pipe)
            if asks:
                keys, args = self._lease_call(asks)
                await self._lease(keys=keys, args=args, client=pipe)
            results = await pipe.execute() if (reports or asks) else []
        if not asks:
            return 0.0, []
        return self._placements(asks, results[-1])

    def _lease_call(self, asks: Sequence[Ask]) -> tuple[list[str], list[float | int]]:
        p, glob = self._prefix, asks[0].glob
        g = f"{p}:{glob.key}"
        keys = [f"{p}:pause", f"{p}:seq", g, f"{g}:g"]
        args: list[float | int] = [
            glob.span * 1000.0,
            glob.burst,
            glob.pace * 1000.0,
            self.horizon * 1000.0,
            self.validity * 1000.0,
            len(asks),
        ]
        for ask in asks:
            chat = ask.chat
            keys.append(f"{p}:{chat.key}" if chat else f"{p}:{glob.key}")
            args += [ask.glob.limit, ask.reserve]
            args += [chat.span * 1000.0 if chat else 0, chat.limit if chat else 0, ask.weight]
        return keys, args

    def _placements(self, asks: Sequence[Ask], raw: list[Any]) -> tuple[float, list[Placement]]:
        p, glob = self._prefix, asks[0].glob
        placed: list[Placement] = []
        for i, ask in enumerate(asks):
            offset, chat_wait, last = (float(x) for x in raw[1 + 3 * i : 4 + 3 * i])
            if offset < 0:
                placed.append((None, max(0.0, chat_wait) / 1000.0, None))
                continue
            chat = f"{p}:{ask.chat.key}" if ask.chat else None
            ref = _RedisRef(f"{p}:{glob.key}", chat, int(last), ask.weight)
            placed.append((offset / 1000.0, 0.0, ref))
        return float(raw[0]) / 1000.0, placed

    @staticmethod
    def _report_call(reports: Reports) -> tuple[list[str], list[float | int | str]]:
        items: list[tuple[str, _RedisRef, float]] = [
            ("a", ref, age) for ref, age in reports.answered
        ]
        items += [("r", ref, 0.0) for ref in reports.returned]
        items += [("b", ref, 0.0) for ref in reports.overdue]
        keys: list[str] = []
        args: list[float | int | str] = [len(items)]
        for mode, ref, age in items:
            keys += [ref.glob, f"{ref.glob}:g", ref.chat or ref.glob]
            args += [mode, ref.last, ref.weight, age * 1000.0, 1 if ref.chat else 0]
        return keys, args

    async def complete(self, ticket: Any) -> None:
        if isinstance(ticket, Slot):
            self.complete_slot(ticket)
        else:
            await RedisWindows.complete(self, ticket)

    async def close(self) -> None:
        await self.close_book()
        await RedisWindows.close(self)


# PostgreSQL: one call of `delivery_rate_lease` (migration 0010) per round trip.
_PG_LEASE = text(
    "SELECT delivery_rate_lease(:g_key, :g_span, :g_burst, :g_pace, :horizon, :validity, "
    ":limits, :reserves, :c_keys, :c_spans, :c_limits, :weights, :answered, :ages, :returned, "
    ":overdue)"
)


class PostgresLeases(LeaseBook, PostgresWindows):
    """Windows in `delivery_rate_events`, leased in batches (see the module's docstring)."""

    def __init__(self, engine: AsyncEngine, horizon: float = 0.1, validity: float = 0.5) -> None:
        PostgresWindows.__init__(self, engine)
        LeaseBook.__init__(self, horizon, validity)

    async def exchange(
        self, asks: Sequence[Ask], reports: Reports
    ) -> tuple[float, list[Placement]]:
        glob = asks[0].glob if asks else None
        answered = [(i, age) for ids, age in reports.answered for i in ids]
        params = {
            "g_key": glob.key if glob else None,
            "g_span": glob.span if glob else 1.0,
            "g_burst": glob.burst if glob else 0,
            "g_pace": glob.pace if glob else 0.0,
            "horizon": self.horizon,
            "validity": self.validity,
            "limits": [a.glob.limit for a in asks],
            "reserves": [a.reserve for a in asks],
            "c_keys": [a.chat.key if a.chat else None for a in asks],
            "c_spans": [a.chat.span if a.chat else 0.0 for a in asks],
            "c_limits": [a.chat.limit if a.chat else 0 for a in asks],
            "weights": [a.weight for a in asks],
            "answered": [i for i, _ in answered],
            "ages": [age for _, age in answered],
            "returned": [i for ids in reports.returned for i in ids],
            "overdue": [i for ids in reports.overdue for i in ids],
        }
        async with self._engine.connect() as conn:
            raw = (await conn.execute(_PG_LEASE, params)).scalar_one()
        return self._placements(raw)

    @staticmethod
    def _placements(raw: list[float]) -> tuple[float, list[Placement]]:
        placed: list[Placement] = []
        i = 1
        while i < len(raw):
            offset, chat_wait, count = raw[i], raw[i + 1], int(raw[i + 2])
            ids = tuple(int(x) for x in raw[i + 3 : i + 3 + count])
            i += 3 + count
            if offset < 0:
                placed.append((None, max(0.0, float(chat_wait)), None))
            else:
                placed.append((float(offset), 0.0, ids))
        return float(raw[0]), placed

    async def complete(self, ticket: Any) -> None:
        if isinstance(ticket, Slot):
            self.complete_slot(ticket)
        else:
            await PostgresWindows.complete(self, ticket)

    async def close(self) -> None:
        await self.close_book()
        await PostgresWindows.close(self)
