"""One rate limiter for every Bot API call: interactive replies first, bulk sends after.

`TelegramRateLimiter` plugs into PTB (`ApplicationBuilder().rate_limiter(...)`), so handlers'
direct replies and the delivery engine's sends share one budget. Calls are interactive unless
made with `rate_limit_args={"bulk": True}` (the engine does); interactive calls are granted
before any waiting bulk call, and bulk calls leave `interactive_reserve` slots of the global
window free, so a reply never queues behind a broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.config import DeliveryConfig
from bot.delivery.leases import Ask, BatchingStore
from bot.delivery.windows import LocalWindows, Verdict, Window, WindowStore

log = logging.getLogger(__name__)

INTERACTIVE, BULK = 0, 1
BULK_ARGS: dict[str, Any] = {"bulk": True}


def bulk_args(priority: int = 0) -> dict[str, Any]:
    """`rate_limit_args` for a bulk call; among bulk calls, higher `priority` goes first."""
    return {"bulk": True, "priority": priority}


# Calls that put messages in a chat without a send* name.
_COPIES = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def is_counted(endpoint: str) -> bool:
    """Whether Telegram counts the call against its message limits."""
    if endpoint in _COPIES:
        return True
    return endpoint.startswith(("send", "edit")) and endpoint != "sendChatAction"


def weight_of(endpoint: str, data: dict[str, Any]) -> int:
    """How many messages Telegram counts for one call: an album of N counts N, copyMessages of
    N messages N, everything else one."""
    items: Any = None
    if endpoint == "sendMediaGroup":
        items = data.get("media")
    elif endpoint in ("copyMessages", "forwardMessages"):
        items = data.get("message_ids")
    return max(1, len(items)) if isinstance(items, list | tuple) else 1


def retry_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds (PTB may give an int or a timedelta)."""
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(order=True)
class _Waiter:
    lane: int
    rank: int  # minus the priority: a higher priority sorts first within a lane
    seq: int
    chat_id: int | None = field(compare=False)
    paid: bool = field(compare=False)
    granted: asyncio.Future[Verdict] = field(compare=False)
    weight: int = field(default=1, compare=False)


class FloodGate:
    """Grants requests in priority order under the global and per-chat windows of a store."""

    def __init__(self, config: DeliveryConfig, store: WindowStore | None = None) -> None:
        self.config = config
        self.store: WindowStore = store or LocalWindows()
        self._queue: list[_Waiter] = []
        self._seq = itertools.count()
        self._nap: asyncio.Future[None] | None = None  # the dispatcher's current wait
        self._tickets: dict[int, Any] = {}  # grant seq -> the store's handle on its record
        self._task: asyncio.Task[None] | None = None
        # A leasing store places a batch per round trip; while the horizon is full, only an
        # interactive request wakes the dispatcher early.
        self._batching: BatchingStore | None = store if isinstance(store, BatchingStore) else None
        self._horizon_full = False
        self._due: set[asyncio.TimerHandle] = set()  # grants waiting for their slot's time
        # How many slots this gate may hold planned ahead: fewer while its grants are handed
        # over late (a busy event loop would waste them; another process can use them).
        self._ahead = float(max(1, config.rate_lease_batch))
        self._ahead_full = False
        self._lag = 0.0  # moving average of how late grants were handed over, in seconds
        # (lane, seq) of every grant, newest last; tests read the order.
        self.grants: list[tuple[int, int]] = []
        self.keep_grants = False
        self._global: dict[tuple[int, bool], Window] = {}  # by (lane, paid): the config's

    def windows(self, chat_id: int | None, lane: int, paid: bool) -> tuple[Window, Window | None]:
        """The global window (by lane) and the chat's window for one request."""
        glob = self._global.get((lane, paid))
        if glob is None:
            glob = self._global[(lane, paid)] = self._global_window(lane, paid)
        if chat_id is None:
            return glob, None
        c, margin = self.config, self.config.window_margin
        if chat_id < 0:
            return glob, Window(f"chat:{chat_id}", 60.0 + margin, c.group_per_minute)
        return glob, Window(f"chat:{chat_id}", 1.0 + margin, c.private_per_second)

    def _global_window(self, lane: int, paid: bool) -> Window:
        c = self.config
        reserve = c.interactive_reserve if lane == BULK else 0
        per_second = c.paid_global_per_second if paid else c.global_per_second
        limit = max(1, per_second - reserve)
        burst = max(1, round(limit * c.pace_seconds))
        return Window("paid" if paid else "global", 1.0 + c.window_margin, limit, burst)

    async def acquire(
        self,
        chat_id: int | None,
        *,
        bulk: bool = False,
        paid: bool = False,
        priority: int = 0,
        weight: int = 1,
    ) -> int:
        """Wait for `weight` slots (an album of N takes N); returns the grant's sequence number,
        for `complete`."""
        lane = BULK if bulk else INTERACTIVE
        while True:
            future: asyncio.Future[Verdict] = asyncio.Future()
            waiter = _Waiter(lane, -priority, next(self._seq), chat_id, paid, future, weight)
            heapq.heappush(self._queue, waiter)
            if lane == INTERACTIVE or not (self._horizon_full or self._ahead_full):
                self._wake()
            self._ensure_task()
            verdict = await waiter.granted
            if verdict.granted:
                if verdict.ticket is not None:
                    self._tickets[waiter.seq] = verdict.ticket
                return waiter.seq
            await asyncio.sleep(verdict.chat_wait)  # this chat is full; others go ahead meanwhile

    async def complete(self, seq: int) -> None:
        """The granted request was answered (or failed): its slot counts from now on."""
        ticket = self._tickets.pop(seq, None)
        if ticket is None:
            return
        try:
            await self.store.complete(ticket)
        except Exception:  # the grant time stays: only less safe
            log.exception("rate-limit store failed to record an answer")

    async def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody is granted anything for `seconds`."""
        log.warning("429 from Telegram: pausing all sending for %.1f s", seconds)
        await self.store.pause(seconds)
        self._wake()

    def _wake(self) -> None:
        if self._nap is not None and not self._nap.done():
            self._nap.set_result(None)

    async def _wait(self, seconds: float) -> None:
        """Sleep `seconds` or until woken (cheaper than wait_for on an Event at every grant)."""
        loop = asyncio.get_running_loop()
        self._nap = loop.create_future()
        handle = loop.call_later(seconds, self._wake)
        try:
            await self._nap
        finally:
            handle.cancel()
            self._nap = None

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            dispatch = self._dispatch_batches if self._batching else self._dispatch
            self._task = asyncio.get_running_loop().create_task(dispatch())

    async def _dispatch_batches(self) -> None:
        """The head of the queue, up to `rate_lease_batch` waiters, per store round trip."""
        assert self._batching is not None
        while self._queue:
            room = int(self._ahead) - len(self._due)
            if room < self._ahead / 2 and self._queue[0].lane != INTERACTIVE:
                self._ahead_full = True
                try:
                    await self._wait(self.config.rate_lease_horizon)
                finally:
                    self._ahead_full = False
                continue
            batch = self._take_batch(max(1, room))
            if not batch:
                continue
            asks = [self._ask(w) for w in batch]
            try:
                verdicts = await self._batching.acquire_many(asks)
            except Exception:  # a broken shared store must not stop all sending
                log.exception("rate-limit store failed; retrying")
                verdicts = [Verdict(global_wait=0.5)] * len(batch)
            wait, reply_waits = 0.0, False
            for waiter, verdict in zip(batch, verdicts, strict=True):
                if verdict.granted:
                    self._grant_at(waiter, verdict)
                elif verdict.chat_wait > 0:
                    if not waiter.granted.done():
                        waiter.granted.set_result(verdict)
                else:  # no room within the horizon: back in the queue, in its place
                    heapq.heappush(self._queue, waiter)
                    wait = max(wait, verdict.global_wait)
                    reply_waits = reply_waits or waiter.lane == INTERACTIVE
            self._adapt_ahead()
            if reply_waits:  # a reply may fit now at any moment: ask again soon
                wait = min(wait, self.config.rate_lease_horizon / 10)
            if wait > 0:
                self._horizon_full = True
                try:
                    await self._wait(wait)
                finally:
                    self._horizon_full = False

    def _ask(self, waiter: _Waiter) -> Ask:
        """Every request is placed under the bulk lane's limit; a reply may also use the
        reserve, when it fits now (see `bot.delivery.leases`)."""
        glob, chat = self.windows(waiter.chat_id, BULK, waiter.paid)
        reserve = self.config.interactive_reserve if waiter.lane == INTERACTIVE else 0
        return Ask(glob, chat, waiter.weight, reserve)

    def _adapt_ahead(self) -> None:
        """Fewer slots planned ahead while grants are late (multiplicative), more while on
        time (one per round trip), up to `rate_lease_batch`."""
        if self._lag > self.config.rate_lease_horizon / 10:
            self._ahead = max(2.0, self._ahead * 0.7)
        else:
            self._ahead = min(float(max(1, self.config.rate_lease_batch)), self._ahead + 1)

    def _take_batch(self, limit: int) -> list[_Waiter]:
        """Pop the `limit` most urgent live waiters sharing the head's global window."""
        batch: list[_Waiter] = []
        while self._queue and len(batch) < limit:
            waiter = self._queue[0]
            if waiter.granted.done():
                heapq.heappop(self._queue)
                continue
            if batch and waiter.paid != batch[0].paid:
                break
            batch.append(heapq.heappop(self._queue))
        return batch

    def _grant_at(self, waiter: _Waiter, verdict: Verdict) -> None:
        """Hand a placed slot to its waiter at the slot's time (now if due)."""
        if verdict.delay <= 0:
            self._hand_over(waiter, verdict)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None
        planned = loop.time() + verdict.delay

        def due() -> None:
            if handle is not None:
                self._due.discard(handle)
            self._lag += 0.2 * (loop.time() - planned - self._lag)
            if self._ahead_full and len(self._due) <= self._ahead / 2:
                self._wake()  # room for a batch worth a round trip
            self._hand_over(waiter, verdict)

        handle = loop.call_later(verdict.delay, due)
        self._due.add(handle)

    def _hand_over(self, waiter: _Waiter, verdict: Verdict) -> None:
        assert self._batching is not None
        if waiter.granted.done():  # its caller left: the slot returns to the window
            self._batching.release(verdict.ticket)
            return
        if self.keep_grants:
            self.grants.append((waiter.lane, waiter.seq))
        waiter.granted.set_result(verdict)

    async def _dispatch(self) -> None:
        while self._queue:
            head = self._queue[0]
            if head.granted.done():  # cancelled by its caller
                self._remove(head)
                continue
            verdict = await self._try(head)  # more urgent waiters may arrive meanwhile
            if verdict.chat_wait > 0 or verdict.granted:
                self._remove(head)
                if verdict.granted and self.keep_grants:
                    self.grants.append((head.lane, head.seq))
                if not head.granted.done():
                    head.granted.set_result(verdict)
                elif verdict.ticket is not None:  # granted to a caller who left
                    await self.store.complete(verdict.ticket)
                continue
            # The global window is full: wait for room, or for a more urgent arrival.
            await self._wait(verdict.global_wait)

    def _remove(self, waiter: _Waiter) -> None:
        """Take `waiter` out of the queue. Not simply heappop: while the store was asked (an
        await), a more urgent request may have become the head of the queue."""
        if self._queue and self._queue[0] is waiter:
            heapq.heappop(self._queue)
            return
        with contextlib.suppress(ValueError):
            self._queue.remove(waiter)
            heapq.heapify(self._queue)

    async def _try(self, head: _Waiter) -> Verdict:
        glob, chat = self.windows(head.chat_id, head.lane, head.paid)
        try:
            return await self.store.try_acquire(glob, chat, head.weight)
        except Exception:  # a broken shared store must not stop all sending
            log.exception("rate-limit store failed; retrying")
            return Verdict(global_wait=0.5)

    async def close(self) -> None:
        """Stop the dispatcher and the store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for handle in self._due:
            handle.cancel()
        self._due.clear()
        await self.store.close()


class TelegramRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """PTB rate limiter over a `FloodGate`; `rate_limit_args={"bulk": True}` marks bulk calls."""

    def __init__(self, gate: FloodGate) -> None:
        self.gate = gate

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        await self.gate.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not is_counted(endpoint):
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        chat = chat_id if isinstance(chat_id, int) else None
        args_ = rate_limit_args or {}
        bulk, priority = bool(args_.get("bulk")), int(args_.get("priority", 0))
        paid = bool(data.get("allow_paid_broadcast"))
        weight = weight_of(endpoint, data)
        attempts = max(1, self.gate.config.retry_after_attempts)
        for attempt in range(attempts):
            seq = await self.gate.acquire(
                chat, bulk=bulk, paid=paid, priority=priority, weight=weight
            )
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                await self.gate.pause(retry_seconds(exc))
                if attempt == attempts - 1:
                    raise
            finally:
                await self.gate.complete(seq)
        raise AssertionError("unreachable")
