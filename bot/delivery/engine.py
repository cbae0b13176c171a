"""The sender: claims due outbox rows, renders them, sends or edits under the rate limiter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.delivery import outbox
from bot.delivery.config import DeliveryConfig
from bot.delivery.limiter import bulk_args, retry_seconds
from bot.delivery.outbox import Claim
from bot.delivery.outgoing import Outgoing, Renderer
from storage.db import SessionFactory
from storage.types import utcnow

log = logging.getLogger(__name__)
_URL_PREFIXES = ("http://", "https://", "tg://")


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
        return outbox.Done(self.row_id, self.version, self.message_id, self.is_photo, self.note)


def new_owner_id() -> str:
    """A lease owner id unique to this engine instance."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def to_markup(out: Outgoing) -> InlineKeyboardMarkup | None:
    """Inline keyboard of an `Outgoing` (None without buttons)."""
    if not out.buttons:
        return None
    rows = [
        [
            InlineKeyboardButton(label, url=value)
            if value.startswith(_URL_PREFIXES)
            else InlineKeyboardButton(label, callback_data=value)
            for label, value in row
        ]
        for row in out.buttons
    ]
    return InlineKeyboardMarkup(rows)


class DeliveryEngine:
    """Drains the outbox: one instance per process, any number of processes per database."""

    def __init__(
        self,
        sessions: SessionFactory,
        bot: ExtBot[Any],
        config: DeliveryConfig | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.bot = bot
        self.config = config or DeliveryConfig()
        self.owner = owner or new_owner_id()
        self._renderers: dict[str, tuple[Renderer, bool]] = {}
        self._cache: dict[tuple[Any, ...], tuple[Outgoing, InlineKeyboardMarkup | None]] = {}
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._outcomes: list[_Outcome] = []
        self._settled: set[tuple[str, int]] = set()  # jobs whose first sends got final outcomes
        self._tasks: dict[asyncio.Task[None], Claim] = {}  # task -> the row it works on
        self._loop_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._stopping = False
        self.delivered = 0  # copies sent or edited by this instance

    def register(self, kind: str, renderer: Renderer, *, per_chat: bool = True) -> None:
        """Render jobs of `kind` with `renderer`; `per_chat=False` renders once per language."""
        self._renderers[kind] = (renderer, per_chat)

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

    # -- claiming ------------------------------------------------------------------------

    async def _run(self) -> None:
        cfg = self.config
        low_water = max(1, min(cfg.batch_size, cfg.max_in_flight) // 2)
        while not self._stopping:
            self._wake.clear()
            free = cfg.max_in_flight - len(self._tasks)
            got = 0
            if free >= low_water or (free > 0 and not self._tasks):
                got = await self._claim_and_spawn(min(cfg.batch_size, free))
            if got and got == min(cfg.batch_size, free):
                continue  # probably more due: claim again once there is room
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), cfg.poll_interval)

    async def _claim_and_spawn(self, limit: int) -> int:
        try:
            async with self.sessions() as session, session.begin():
                claims = await outbox.claim(session, self.owner, limit, self.config.lease_seconds)
        except Exception:
            log.exception("claiming deliveries failed")
            return 0
        for c in claims:
            task = asyncio.get_running_loop().create_task(self._process(c))
            self._tasks[task] = c
            task.add_done_callback(self._task_done)
        return len(claims)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
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

    async def _write(self) -> None:
        while True:
            await self._flush.wait()
            self._flush.clear()
            await asyncio.sleep(0.02)  # gather a batch: one transaction per ~20 ms of results
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
        try:
            outcome = await self._deliver(c)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("delivery %s (%s %s) failed", c.id, c.kind, c.ref_id)
            outcome = self._transient(c, f"{type(exc).__name__}: {exc}")
        self._record(outcome, c)

    async def _deliver(self, c: Claim) -> _Outcome:
        chat_id = c.telegram_chat_id
        for _ in range(3):  # a group may be migrated more than once in theory
            try:
                return await self._send_or_edit(c, chat_id)
            except ChatMigrated as exc:
                new_id = int(exc.new_chat_id)
                await self._in_transaction(outbox.migrate_chat, chat_id, new_id)
                if c.message_id is not None:
                    return self._done(c, c.message_id, c.is_photo, "chat migrated: not editable")
                log.info("chat %s migrated to %s: resending", chat_id, new_id)
                chat_id = new_id
            except RetryAfter as exc:  # the limiter already paused everybody
                seconds = retry_seconds(exc)
                return _Outcome(c.id, "retry", note="429", retry_in=seconds, count_attempt=False)
            except Forbidden as exc:
                await self._in_transaction(outbox.deactivate_chat, chat_id)
                return _Outcome(c.id, "fail", note=f"forbidden: {exc.message}")
            except BadRequest as exc:
                return self._bad_request(c, exc)
            except TelegramError as exc:  # network errors, timeouts, 5xx
                return self._transient(c, f"{type(exc).__name__}: {exc.message}")
        return _Outcome(c.id, "fail", note="chat migrated too many times")

    async def _send_or_edit(self, c: Claim, chat_id: int) -> _Outcome:
        out, markup = await self._render(c, chat_id)
        if c.message_id is None:
            message = await self._send(chat_id, out, markup, c.priority)
            return self._done(c, message.message_id, out.photo is not None)
        await self._edit(chat_id, c.message_id, c.is_photo, out, markup, c.priority)
        return self._done(c, c.message_id, c.is_photo)

    def _done(self, c: Claim, message_id: int, is_photo: bool, note: str | None = None) -> _Outcome:
        return _Outcome(c.id, "done", c.content_version, message_id, is_photo, note)

    def _bad_request(self, c: Claim, exc: BadRequest) -> _Outcome:
        text = exc.message.lower()
        if c.message_id is not None:
            if "message is not modified" in text:
                return self._done(c, c.message_id, c.is_photo)
            if "message to edit not found" in text:
                return self._done(c, c.message_id, c.is_photo, "message to edit not found")
        return _Outcome(c.id, "fail", note=f"bad request: {exc.message}")

    def _transient(self, c: Claim, error: str) -> _Outcome:
        if c.attempts + 1 >= self.config.max_attempts:
            return _Outcome(c.id, "fail", note=error)
        delay = min(self.config.backoff_max, self.config.backoff_base * 2**c.attempts)
        delay *= 0.5 + random.random() / 2  # jitter spreads retries of many rows
        return _Outcome(c.id, "retry", note=error, retry_in=delay)

    async def _in_transaction(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        async with self.sessions() as session, session.begin():
            await fn(session, *args)

    async def _render(self, c: Claim, chat_id: int) -> tuple[Outgoing, InlineKeyboardMarkup | None]:
        """The content and its keyboard, rendered once per version (and chat, if per_chat)."""
        entry = self._renderers.get(c.kind)
        if entry is None:
            raise LookupError(f"no renderer registered for {c.kind!r}")
        renderer, per_chat = entry
        key = (c.kind, c.ref_id, c.content_version, c.language, chat_id if per_chat else None)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        out = await renderer(c.ref_id, c.language, chat_id)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = (out, to_markup(out))
        return self._cache[key]

    # -- Bot API -------------------------------------------------------------------------

    async def _send(
        self, chat_id: int, out: Outgoing, markup: InlineKeyboardMarkup | None, priority: int
    ) -> Message:
        paid: dict[str, Any] = {"allow_paid_broadcast": True} if self.config.paid_broadcast else {}
        reply = (
            None
            if out.reply_to_message_id is None
            else ReplyParameters(out.reply_to_message_id, allow_sending_without_reply=True)
        )
        if out.photo is not None:
            return await self.bot.send_photo(
                chat_id,
                out.photo,
                caption=out.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=reply,
                rate_limit_args=bulk_args(priority),
                **paid,
            )
        return await self.bot.send_message(
            chat_id,
            out.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=out.disable_preview),
            reply_parameters=reply,
            rate_limit_args=bulk_args(priority),
            **paid,
        )

    async def _edit(
        self,
        chat_id: int,
        message_id: int,
        is_photo: bool,
        out: Outgoing,
        markup: InlineKeyboardMarkup | None,
        priority: int,
    ) -> None:
        if is_photo:
            await self.bot.edit_message_caption(
                chat_id=chat_id,
                message_id=message_id,
                caption=out.text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                rate_limit_args=bulk_args(priority),
            )
            return
        await self.bot.edit_message_text(
            out.text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=out.disable_preview),
            rate_limit_args=bulk_args(priority),
        )


def _seconds_since(moment: datetime | None) -> float:
    return 0.0 if moment is None else max(0.0, (utcnow() - moment).total_seconds())


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
