"""The sender: claims due outbox rows, renders them, sends their parts or edits them under the
rate limiter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.delivery import outbox
from bot.delivery.config import DeliveryConfig
from bot.delivery.fastpath import FastApi
from bot.delivery.files import UploadCache
from bot.delivery.kinds import KindRegistry, OutgoingKind
from bot.delivery.limiter import retry_seconds
from bot.delivery.outbox import Claim
from bot.delivery.outgoing import Renderer
from bot.delivery.sending import PartSender, Rendered, later_parts, to_markup
from storage.db import SessionFactory
from storage.types import utcnow

log = logging.getLogger(__name__)
__all__ = ["DeliveryEngine", "new_owner_id", "to_markup"]
UNKNOWN_KINDS_EVERY = 60.0  # seconds between looks for due rows of kinds nobody here knows
QUIET_WRITE_WAIT = 0.02  # seconds outcomes are gathered when few rows are in flight


@dataclass(frozen=True)
class _Outcome:
    """What happened to one claimed row; applied to the database in batches."""

    row_id: int
    action: str  # "done" | "retry" | "fail"
    version: int = 0
    message_id: int = 0
    is_photo: bool = False
    note: str | None = None
    retry_in: float = 0.0
    count_attempt: bool = True
    parts_sent: int = 1
    part_message_ids: str | None = None
    parts_total: int = 1

    async def apply(self, session: AsyncSession) -> None:
        """Record a retry or a failure ("done" outcomes are written together by `_apply`)."""
        if self.action == "retry":
            at = utcnow() + timedelta(seconds=self.retry_in)
            await outbox.mark_retry(session, self.row_id, at, self.note, self.count_attempt)
        elif self.action == "fail":
            await outbox.mark_failed(session, self.row_id, self.note or "failed")

    def done(self) -> outbox.Done | None:
        if self.action != "done":
            return None
        return outbox.Done(
            self.row_id,
            self.version,
            self.message_id,
            self.is_photo,
            self.note,
            self.parts_sent,
            self.part_message_ids,
            self.parts_total,
        )


@dataclass
class _Progress:
    """How far one claimed copy has got: its main message, the parts sent, what is recorded."""

    chat_id: int
    message_id: int | None
    is_photo: bool
    ids: list[list[int]]  # message ids per part sent, the main message first
    edit_due: bool
    total: int | None = None  # the copy's parts: fixed at its first send
    unrecorded: bool = False  # a part went out that the row does not show yet
    note: str | None = None

    @classmethod
    def of(cls, c: Claim) -> _Progress:
        if c.message_id is None:
            return cls(c.telegram_chat_id, None, False, [], False)
        ids = json.loads(c.part_message_ids) if c.part_message_ids else [[c.message_id]]
        ids = ids[: max(1, c.parts_sent)]
        due = c.content_version > c.sent_version
        total = c.parts_total or None
        return cls(c.telegram_chat_id, c.message_id, c.is_photo, ids, due, total)

    @property
    def parts_sent(self) -> int:
        return len(self.ids)

    @property
    def complete(self) -> bool:
        return self.total is not None and self.parts_sent >= self.total

    def sent(self, ids: list[int]) -> None:
        self.ids.append(ids)
        self.unrecorded = True

    def part_message_ids(self) -> str | None:
        """JSON of every part's ids; None for a copy of one message (its `message_id`)."""
        return None if len(self.ids) <= 1 else json.dumps(self.ids, separators=(",", ":"))

    def record(self, c: Claim) -> outbox.Done:
        """The row as it stands: every part sent so far shows version `c.content_version`."""
        assert self.message_id is not None and self.total is not None
        return outbox.Done(
            c.id,
            c.content_version,
            self.message_id,
            self.is_photo,
            self.note,
            self.parts_sent,
            self.part_message_ids(),
            self.total,
        )


def new_owner_id() -> str:
    """A lease owner id unique to this engine instance."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeliveryEngine:
    """Drains the outbox: one instance per process, any number of processes per database."""

    def __init__(
        self,
        sessions: SessionFactory,
        bot: ExtBot[Any],
        config: DeliveryConfig | None = None,
        *,
        owner: str | None = None,
        kinds: KindRegistry | None = None,
    ) -> None:
        self.sessions = sessions
        self.bot = bot
        self.config = config or DeliveryConfig()
        self.owner = owner or new_owner_id()
        self.kinds = kinds if kinds is not None else KindRegistry()
        self.files = UploadCache(sessions)
        self._fast = FastApi(bot) if self.config.fast_path else None
        self._parts = PartSender(bot, self.config, self.files, self._fast)
        self._cache: dict[tuple[Any, ...], Rendered] = {}
        self._unknown: set[str] = set()  # kinds seen due here that this process cannot render
        self._unknown_checked = float("-inf")
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._full = asyncio.Event()  # a whole write batch is waiting
        self._outcomes: list[_Outcome] = []
        self._settled: set[tuple[str, int]] = set()  # jobs whose first sends got final outcomes
        self._tasks: dict[asyncio.Task[None], Claim] = {}  # task -> the row it works on
        self._loop_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._stopping = False
        # Claim whole batches: each claim sorts the due rows, and each batch's renders share
        # one lookup of what differs between copies.
        self._low_water = max(1, min(self.config.batch_size, self.config.max_in_flight // 2))
        self.delivered = 0  # copies sent or edited by this instance

    def register(
        self, kind: str, renderer: Renderer, *, per_chat: bool = True, editable: bool = True
    ) -> None:
        """Render jobs of `kind` with `renderer`; `per_chat=False` renders once per language."""
        self.kinds.add(OutgoingKind(kind, renderer, per_chat, editable))

    def notify(self) -> None:
        """New work was committed: claim now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        """Start claiming and sending in the background."""
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._loop_task = loop.create_task(self._run(), name="delivery-claims")
        self._writer_task = loop.create_task(self._write(), name="delivery-writer")
        self._renew_task = loop.create_task(self._renew(), name="delivery-leases")

    async def stop(self, *, abort: bool = False, grace: float = 5.0) -> None:
        """Stop; sends in flight get `grace` seconds to finish and be recorded, rows still
        waiting are given back. `abort` drops everything as a crash would (leases expire)."""
        self._stopping = True
        self._wake.set()
        for background in (self._loop_task, self._renew_task):
            if background is not None:
                await _cancel(background)
        if not abort and self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        unfinished = dict(self._tasks)
        for task in unfinished:
            await _cancel(task)
        if self._writer_task is not None:
            await _cancel(self._writer_task)
        if not abort:
            await self._apply_outcomes()
            await self._in_transaction(outbox.release, [c.id for c in unfinished.values()])
        if self._fast is not None:
            await self._fast.close()

    # -- claiming ------------------------------------------------------------------------

    async def _run(self) -> None:
        cfg = self.config
        low_water = self._low_water
        while not self._stopping:
            self._wake.clear()
            free = cfg.max_in_flight - len(self._tasks)
            got = 0
            if free >= low_water or (free > 0 and not self._tasks):
                got = await self._claim_and_spawn(min(cfg.batch_size, free))
            if got and got == min(cfg.batch_size, free):
                continue  # probably more due: claim again once there is room
            if not got:
                await self._report_unknown_kinds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), cfg.poll_interval)

    async def _claim_and_spawn(self, limit: int) -> int:
        try:
            async with self.sessions() as session, session.begin():
                claims = await outbox.claim(
                    session, self.owner, limit, self.config.lease_seconds, self.kinds.names
                )
        except Exception:
            log.exception("claiming deliveries failed")
            return 0
        for c in claims:
            task = asyncio.get_running_loop().create_task(self._process(c))
            self._tasks[task] = c
            task.add_done_callback(self._task_done)
        return len(claims)

    async def _report_unknown_kinds(self) -> None:
        """Log, once per kind, due rows this process leaves for one that knows their kind."""
        if time.monotonic() - self._unknown_checked < UNKNOWN_KINDS_EVERY:
            return
        self._unknown_checked = time.monotonic()
        try:
            async with self.sessions() as session:
                found = await outbox.unknown_kinds(session, self.kinds.names)
        except Exception:
            log.exception("looking for deliveries of unknown kinds failed")
            return
        for kind in sorted(set(found) - self._unknown):
            log.warning(
                "deliveries of kind %r are due but this process does not know the kind:"
                " left for a process that does",
                kind,
            )
        self._unknown.update(found)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        # Wake the claims only when a batch fits (not once per copy sent).
        if not self._tasks or self.config.max_in_flight - len(self._tasks) >= self._low_water:
            self._wake.set()

    async def _renew(self) -> None:
        """Keep the leases of rows in flight (or whose outcome is not yet written) alive."""
        interval = self.config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = [c.id for c in self._tasks.values()] + [o.row_id for o in self._outcomes]
            if not held:
                continue
            try:
                async with self.sessions() as session, session.begin():
                    await outbox.renew(session, self.owner, held, self.config.lease_seconds)
            except Exception:  # the next round tries again; the lease may expire meanwhile
                log.exception("renewing %d delivery leases failed", len(held))

    # -- recording -----------------------------------------------------------------------

    def _record(self, outcome: _Outcome, c: Claim) -> None:
        self.delivered += outcome.action == "done"
        self._outcomes.append(outcome)
        if c.message_id is None and outcome.action in ("done", "fail"):
            self._settled.add((c.kind, c.ref_id))
        self._flush.set()
        if len(self._outcomes) >= self.config.write_batch:
            self._full.set()

    async def _write(self) -> None:
        """While a batch is being sent, one transaction per `write_batch` outcomes or per
        `write_wait` seconds of them (a transaction costs about as much as recording thirty rows
        in it); otherwise within QUIET_WRITE_WAIT, so that a copy shows as delivered (and its
        buttons work) as soon as it is in the chat."""
        while True:
            await self._flush.wait()
            self._flush.clear()
            busy = len(self._tasks) >= self.config.write_batch
            wait = self.config.write_wait if busy else QUIET_WRITE_WAIT
            if len(self._outcomes) < self.config.write_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), wait)
            self._full.clear()
            await self._apply_outcomes()

    async def _apply_outcomes(self) -> None:
        batch, self._outcomes = self._outcomes, []
        settled, self._settled = self._settled, set()
        if not batch:
            return
        try:
            async with self.sessions() as session, session.begin():
                await outbox.mark_done(session, [d for o in batch if (d := o.done())])
                for outcome in batch:
                    await outcome.apply(session)
        except Exception:  # the leases expire and the rows are retried (possibly resent)
            log.exception("recording %d delivery outcomes failed", len(batch))
            return
        await self._log_finished(settled)

    async def _log_finished(self, jobs: set[tuple[str, int]]) -> None:
        """One INFO line per job that has no first send left, read after the commit so that
        the process recording the last copy sees every other process' outcomes."""
        # A first send still in this engine's hands is a pending row: no need to count.
        busy = {(c.kind, c.ref_id) for c in self._tasks.values() if c.message_id is None}
        for kind, ref_id in sorted(jobs - busy):
            try:
                async with self.sessions() as session:
                    job = await outbox.job_progress(session, kind, ref_id)
            except Exception:
                log.exception("counting the deliveries of %s #%d failed", kind, ref_id)
                continue
            if job.pending == 0:
                log.info(
                    "%s #%d delivery finished: %d delivered, %d failed, %d filtered%s in %.1f s",
                    kind,
                    ref_id,
                    job.delivered,
                    job.failed,
                    job.filtered,
                    f", {job.withdrawn} withdrawn" if job.withdrawn else "",
                    _seconds_since(job.created_at),
                )

    # -- one row -------------------------------------------------------------------------

    async def _process(self, c: Claim) -> None:
        progress = _Progress.of(c)
        try:
            outcome = await self._deliver(c, progress)
        except asyncio.CancelledError:  # stopping: keep what already went out, if we can
            if progress.unrecorded:
                await self._save_parts(c, progress)
            raise
        except Exception as exc:
            log.exception("delivery %s (%s %s) failed", c.id, c.kind, c.ref_id)
            outcome = self._transient(c, f"{type(exc).__name__}: {exc}")
        if outcome.action != "done" and progress.unrecorded:
            await self._save_parts(c, progress)
        self._record(outcome, c)

    async def _save_parts(self, c: Claim, progress: _Progress) -> None:
        """Parts went out before a failure: the row must show them before it is retried."""
        try:
            await self._in_transaction(outbox.record_parts, progress.record(c))
        except Exception:  # the retry may then resend those parts
            log.exception("recording the parts sent of delivery %s failed", c.id)

    async def _deliver(self, c: Claim, p: _Progress) -> _Outcome:
        for _ in range(3):  # a group may be migrated more than once in theory
            try:
                await self._advance(c, p)
                return self._finished(c, p)
            except ChatMigrated as exc:
                new_id = int(exc.new_chat_id)
                await self._in_transaction(outbox.migrate_chat, p.chat_id, new_id)
                if p.message_id is not None:  # the main message stays where it was
                    p.edit_due, p.note = False, "chat migrated: not editable"
                    if p.complete:
                        return self._finished(c, p)
                    await self._in_transaction(outbox.move_row, c.id, new_id)
                log.info("delivery %s: chat migrated, sending the rest to the new id", c.id)
                p.chat_id = new_id
            except RetryAfter as exc:  # the limiter already paused everybody
                seconds = retry_seconds(exc)
                return _Outcome(c.id, "retry", note="429", retry_in=seconds, count_attempt=False)
            except Forbidden as exc:
                await self._in_transaction(outbox.deactivate_chat, p.chat_id)
                return _Outcome(c.id, "fail", note=f"forbidden: {exc.message}")
            except BadRequest as exc:
                return _Outcome(c.id, "fail", note=f"bad request: {exc.message}")
            except TelegramError as exc:  # network errors, timeouts, 5xx
                return self._transient(c, f"{type(exc).__name__}: {exc.message}")
        return _Outcome(c.id, "fail", note="chat migrated too many times")

    async def _advance(self, c: Claim, p: _Progress) -> None:
        """Send what the copy still lacks: the main message (or its edit), then each later part,
        recording the parts sent before the next one goes out (a crash between parts resends
        none of them). A copy of one message costs no write beyond its batched outcome."""
        kind = self._kind(c.kind)
        rendered = await self._render(c, kind, p.chat_id)
        out = rendered.out
        later = later_parts(out)
        # A copy keeps the parts it was first sent with: an edit adds none (and one that
        # dropped some leaves nothing more to send).
        p.total = min(p.total or 1 + len(later), 1 + len(later))
        if p.message_id is None:
            p.message_id = await self._parts.send_main(p.chat_id, rendered, c.priority)
            p.is_photo = out.has_caption
            p.sent([p.message_id])
        elif p.edit_due:
            if kind.editable:
                p.note = await self._parts.edit_main(
                    p.chat_id, p.message_id, p.is_photo, rendered, c.priority
                )
            p.edit_due = False
        while not p.complete:
            if p.unrecorded:
                await self._in_transaction(outbox.record_parts, p.record(c))
                p.unrecorded = False
            part = later[p.parts_sent - 1]
            p.sent(await self._parts.send_part(p.chat_id, part, p.message_id, c.priority))

    def _finished(self, c: Claim, p: _Progress) -> _Outcome:
        done = p.record(c)
        return _Outcome(
            c.id,
            "done",
            done.version,
            done.message_id,
            done.is_photo,
            done.note,
            parts_sent=done.parts_sent,
            part_message_ids=done.part_message_ids,
            parts_total=done.parts_total,
        )

    def _transient(self, c: Claim, error: str) -> _Outcome:
        if c.attempts + 1 >= self.config.max_attempts:
            return _Outcome(c.id, "fail", note=error)
        delay = min(self.config.backoff_max, self.config.backoff_base * 2**c.attempts)
        delay *= 0.5 + random.random() / 2  # jitter spreads retries of many rows
        return _Outcome(c.id, "retry", note=error, retry_in=delay)

    async def _in_transaction(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        async with self.sessions() as session, session.begin():
            await fn(session, *args)

    def _kind(self, name: str) -> OutgoingKind:
        kind = self.kinds.get(name)
        if kind is None:  # claims only take known kinds; a kind registered away meanwhile
            raise LookupError(f"no outgoing kind {name!r} registered")
        return kind

    async def _render(self, c: Claim, kind: OutgoingKind, chat_id: int) -> Rendered:
        """The content and its keyboard, rendered once per version (and chat, if per_chat)."""
        key = (c.kind, c.ref_id, c.content_version, c.language, chat_id if kind.per_chat else None)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        out = await kind.render(c.ref_id, c.language, chat_id)
        if len(self._cache) > 4096:
            self._cache.clear()
        rendered = self._cache[key] = Rendered.of(out)
        return rendered


def _seconds_since(moment: datetime | None) -> float:
    return 0.0 if moment is None else max(0.0, (utcnow() - moment).total_seconds())


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
