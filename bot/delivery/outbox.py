"""The outbox rows: writing jobs, claiming due work with a lease, recording outcomes, stats."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, literal, null, or_, select, update
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.outgoing import DeliveryStats, Target
from bot.services.chats import get_chat, move_chat, subscription_of
from storage.models import Delivery, DeliveryStatus, User
from storage.types import UtcDateTime, utcnow

_PENDING = DeliveryStatus.PENDING.value
_DELIVERED = DeliveryStatus.DELIVERED.value
_FAILED = DeliveryStatus.FAILED.value
_FILTERED = DeliveryStatus.FILTERED.value
_WITHDRAWN = DeliveryStatus.WITHDRAWN.value
_LIVE = (_PENDING, _DELIVERED)
# A new row's counters: nothing sent yet.
_FRESH = {
    "content_version": 1,
    "sent_version": 0,
    "is_photo": False,
    "parts_total": 0,
    "parts_sent": 0,
    "attempts": 0,
}


@dataclass(frozen=True)
class Claim:
    """A row a sender holds under lease, with what it needs to send or edit the copy."""

    id: int
    kind: str
    ref_id: int
    telegram_chat_id: int
    language: str | None
    content_version: int
    message_id: int | None
    is_photo: bool
    attempts: int
    priority: int = 0
    parts_sent: int = 0  # parts of the copy already in the chat (main message first)
    part_message_ids: str | None = None  # their message ids, JSON (see Delivery)
    sent_version: int = 0
    parts_total: int = 0  # 0 until the first send fixes it


async def _run(
    session: AsyncSession, statement: Executable, params: Any = None
) -> Any:  # a Result whose rows are the statement's columns
    """Execute Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement, params)


async def enqueue(
    session: AsyncSession,
    kind: str,
    ref_id: int,
    targets: Iterable[Target],
    *,
    priority: int = 0,
) -> int:
    """Add one delivery row per target chat (inside the caller's transaction); the row count."""
    now = utcnow()
    rows: dict[int, dict[str, Any]] = {}
    for target in targets:
        rows.setdefault(target.telegram_chat_id, _row(kind, ref_id, target, priority, now))
    if rows:
        await _run(session, insert(Delivery), list(rows.values()))
    return len(rows)


async def enqueue_select(
    session: AsyncSession, kind: str, ref_id: int, targets: Select[Any], *, priority: int = 0
) -> int:
    """Add one delivery row per row of `targets` in one `INSERT ... SELECT` (inside the caller's
    transaction), so that no target passes through Python however many there are.

    `targets` yields `chat_id` (the `chats` row), `telegram_chat_id`, `language` and `filtered`
    (a boolean), at most one row per Telegram chat: the caller guarantees what `enqueue`'s
    dedup does (a group's one subscription, a chat's unique Telegram id). The row count.
    """
    now = literal(utcnow(), UtcDateTime())
    chosen = targets.subquery("targets")
    filtered = chosen.c.filtered
    values: dict[str, Any] = {
        "kind": literal(kind),
        "ref_id": literal(ref_id),
        "chat_id": chosen.c.chat_id,
        "telegram_chat_id": chosen.c.telegram_chat_id,
        "language": chosen.c.language,
        "priority": literal(priority),
        "status": case((filtered, _FILTERED), else_=_PENDING),
        **{name: literal(value) for name, value in _FRESH.items()},
        "next_attempt_at": case((filtered, null()), else_=now),
        "created_at": now,
        "updated_at": now,
    }
    rows = select(*(value.label(name) for name, value in values.items()))
    # Claims take the most urgent rows first, then by id: chat order keeps each run's order.
    rows = rows.select_from(chosen).order_by(chosen.c.chat_id)
    result = await _run(session, insert(Delivery).from_select(list(values), rows))
    return int(getattr(result, "rowcount", 0) or 0)


def _row(kind: str, ref_id: int, target: Target, priority: int, now: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "ref_id": ref_id,
        "chat_id": target.chat_id,
        "telegram_chat_id": target.telegram_chat_id,
        "language": target.language,
        "priority": priority,
        "status": _FILTERED if target.filtered else _PENDING,
        "content_version": 1,
        "sent_version": 0,
        "is_photo": False,
        "parts_total": 0,
        "parts_sent": 0,
        "attempts": 0,
        "next_attempt_at": None if target.filtered else now,
        "created_at": now,
        "updated_at": now,
    }


async def request_edit(session: AsyncSession, kind: str, ref_id: int) -> int:
    """The job's content changed: every live copy is (re)rendered; the number of rows touched."""
    now = utcnow()
    result = await _run(
        session,
        update(Delivery)
        .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == ref_id)
        .where(col(Delivery.status).in_(_LIVE))
        .values(
            content_version=col(Delivery.content_version) + 1, next_attempt_at=now, updated_at=now
        ),
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def request_edit_for_chat(session: AsyncSession, kind: str, ref_id: int, chat_id: int) -> int:
    """Only the copy in chat row `chat_id` changed (its own footer): re-render that one copy.

    Bumping its version, rather than just making it due, means a sender editing it right now
    records an older version and edits it again.
    """
    now = utcnow()
    result = await _run(
        session,
        update(Delivery)
        .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == ref_id)
        .where(col(Delivery.chat_id) == chat_id, col(Delivery.status).in_(_LIVE))
        .values(
            content_version=col(Delivery.content_version) + 1, next_attempt_at=now, updated_at=now
        )
        .execution_options(synchronize_session=False),
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def withdraw_unsent(session: AsyncSession, kind: str, ref_id: int) -> int:
    """The job was called off: copies not yet sent, and not in a sender's hands, are never sent.

    A copy being sent right now completes and is then edited like every delivered copy.
    """
    now = utcnow()
    result = await _run(
        session,
        update(Delivery)
        .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == ref_id)
        .where(col(Delivery.status) == _PENDING, col(Delivery.message_id).is_(None))
        .where(or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now))
        .values(status=_WITHDRAWN, next_attempt_at=None, updated_at=now)
        .execution_options(synchronize_session=False),
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def enqueue_replies(session: AsyncSession, kind: str, to_kind: str, to_ref_id: int) -> int:
    """One row of `kind` per copy of job (`to_kind`, `to_ref_id`) already in a chat, its
    `ref_id` that copy's row (so it can be rendered as a reply to it), written by one
    `INSERT ... SELECT` however many copies there are; the row count."""
    now = literal(utcnow(), UtcDateTime())
    columns: list[Any] = [
        literal(kind).label("kind"),
        col(Delivery.id).label("ref_id"),
        col(Delivery.chat_id).label("chat_id"),
        col(Delivery.telegram_chat_id).label("telegram_chat_id"),
        col(Delivery.language).label("language"),
        col(Delivery.priority).label("priority"),
        literal(_PENDING).label("status"),
        *(literal(v).label(c) for c, v in _FRESH.items()),
        now.label("next_attempt_at"),
        now.label("created_at"),
        now.label("updated_at"),
    ]
    copies: Select[Any] = (
        select(*columns)
        .where(col(Delivery.kind) == to_kind, col(Delivery.ref_id) == to_ref_id)
        .where(col(Delivery.status) == _DELIVERED, col(Delivery.message_id).is_not(None))
        .order_by(col(Delivery.id))
    )
    names = [c.name for c in copies.selected_columns]
    result = await _run(session, insert(Delivery).from_select(names, copies))
    return int(getattr(result, "rowcount", 0) or 0)


async def claim(
    session: AsyncSession,
    owner: str,
    limit: int,
    lease_seconds: float,
    kinds: Collection[str] | None = None,
) -> list[Claim]:
    """Lease up to `limit` due rows, most urgent first (SKIP LOCKED on PostgreSQL); only rows
    of `kinds` when given, so a row this process cannot render stays for one that can."""
    now = utcnow()
    due = (
        select(col(Delivery.id))
        .where(col(Delivery.next_attempt_at) <= now, col(Delivery.status).in_(_LIVE))
        .where(or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now))
        .order_by(col(Delivery.priority).desc(), col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if kinds is not None:
        due = due.where(col(Delivery.kind).in_(sorted(kinds)))
    stmt = (
        update(Delivery)
        .where(col(Delivery.id).in_(due.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(*_CLAIM_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    result = await _run(session, stmt)
    claims = [Claim(*row) for row in result.all()]
    return sorted(claims, key=lambda c: c.id)


_CLAIM_COLUMNS = (
    col(Delivery.id),
    col(Delivery.kind),
    col(Delivery.ref_id),
    col(Delivery.telegram_chat_id),
    col(Delivery.language),
    col(Delivery.content_version),
    col(Delivery.message_id),
    col(Delivery.is_photo),
    col(Delivery.attempts),
    col(Delivery.priority),
    col(Delivery.parts_sent),
    col(Delivery.part_message_ids),
    col(Delivery.sent_version),
    col(Delivery.parts_total),
)


async def unknown_kinds(session: AsyncSession, known: Collection[str]) -> list[str]:
    """Kinds of due rows that are not in `known` (left for a process that knows them)."""
    result = await _run(
        session,
        select(col(Delivery.kind))
        .where(col(Delivery.next_attempt_at) <= utcnow(), col(Delivery.status).in_(_LIVE))
        .where(col(Delivery.kind).not_in(sorted(known)))
        .distinct()
        .limit(20),
    )
    return sorted(str(kind) for kind in result.scalars().all())


def _release(now: datetime) -> dict[str, Any]:
    return {"lease_owner": None, "lease_until": None, "updated_at": now}


@dataclass(frozen=True)
class Done:
    """A copy now shows `version` of its job."""

    row_id: int
    version: int
    message_id: int
    is_photo: bool
    note: str | None = None
    parts_sent: int = 1
    part_message_ids: str | None = None
    parts_total: int = 1


_T = Delivery.__table__  # type: ignore[attr-defined]
_NOW = bindparam("b_now", type_=UtcDateTime())
# One executemany for a whole batch of sends: the ORM's per-row path costs more than the send.
_MARK_DONE = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"))
    .values(
        status=_DELIVERED,
        message_id=bindparam("b_message_id"),
        is_photo=bindparam("b_is_photo"),
        parts_total=bindparam("b_parts_total"),
        parts_sent=bindparam("b_parts"),
        part_message_ids=bindparam("b_part_ids"),
        sent_version=bindparam("b_version"),
        attempts=0,
        last_error=bindparam("b_note"),
        delivered_at=func.coalesce(_T.c.delivered_at, _NOW),
        next_attempt_at=case((_T.c.content_version > bindparam("b_version"), _NOW), else_=None),
        lease_owner=None,
        lease_until=None,
        updated_at=_NOW,
    )
)


async def mark_done(session: AsyncSession, done: list[Done]) -> None:
    """Copies delivered or edited; a row is due again only if its content changed meanwhile."""
    if not done:
        return
    now = utcnow()
    params = [
        {
            "b_id": d.row_id,
            "b_message_id": d.message_id,
            "b_is_photo": d.is_photo,
            "b_version": d.version,
            "b_note": d.note,
            "b_parts": d.parts_sent,
            "b_parts_total": d.parts_total,
            "b_part_ids": d.part_message_ids,
            "b_now": now,
        }
        for d in done
    ]
    connection = await session.connection()
    await connection.execute(_MARK_DONE, params)


async def record_parts(session: AsyncSession, progress: Done) -> None:
    """Some parts of a copy are in the chat, more are to come: a retry, or another sender after
    a crash, sends only the rest. The row stays leased and due; the copy counts as delivered
    from its main message on (edits target that one)."""
    now = utcnow()
    await _run(
        session,
        update(Delivery)
        .where(col(Delivery.id) == progress.row_id)
        .values(
            status=_DELIVERED,
            message_id=progress.message_id,
            is_photo=progress.is_photo,
            sent_version=progress.version,
            parts_total=progress.parts_total,
            parts_sent=progress.parts_sent,
            part_message_ids=progress.part_message_ids,
            delivered_at=func.coalesce(col(Delivery.delivered_at), now),
            updated_at=now,
        )
        .execution_options(synchronize_session=False),
    )


async def move_row(session: AsyncSession, row_id: int, telegram_chat_id: int) -> None:
    """A copy partly sent before its group became a supergroup: the rest goes to the new id."""
    await _run(
        session,
        update(Delivery)
        .where(col(Delivery.id) == row_id)
        .values(telegram_chat_id=telegram_chat_id, updated_at=utcnow())
        .execution_options(synchronize_session=False),
    )


async def release(session: AsyncSession, row_ids: list[int]) -> None:
    """Give claimed rows back untouched (a sender stopping), for any sender to take at once."""
    if row_ids:
        await _run(
            session,
            update(Delivery)
            .where(col(Delivery.id).in_(row_ids))
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False),
        )


async def renew(session: AsyncSession, owner: str, row_ids: list[int], lease_seconds: float) -> int:
    """Extend the leases `owner` still holds on rows it is working on; the number renewed.

    A row waiting in the limiter longer than its lease would otherwise be claimed again and
    sent twice.
    """
    if not row_ids:
        return 0
    result = await _run(
        session,
        update(Delivery)
        .where(col(Delivery.id).in_(row_ids), col(Delivery.lease_owner) == owner)
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False),
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def mark_retry(
    session: AsyncSession, row_id: int, at: datetime, error: str | None, count: bool = True
) -> None:
    """Try again at `at`; `count` adds an attempt (a 429 does not)."""
    now = utcnow()
    attempts = col(Delivery.attempts) + (1 if count else 0)
    await _run(
        session,
        update(Delivery)
        .where(col(Delivery.id) == row_id)
        .values(attempts=attempts, next_attempt_at=at, last_error=_clip(error), **_release(now))
        .execution_options(synchronize_session=False),
    )


async def mark_failed(session: AsyncSession, row_id: int, error: str) -> None:
    """Give up: a copy never sent becomes `failed`; a delivered copy keeps its status."""
    now = utcnow()
    await _run(
        session,
        update(Delivery)
        .where(col(Delivery.id) == row_id)
        .values(
            status=case(
                (col(Delivery.message_id).is_(None), _FAILED),
                else_=col(Delivery.status),
            ),
            attempts=col(Delivery.attempts) + 1,
            next_attempt_at=None,
            last_error=_clip(error),
            **_release(now),
        )
        .execution_options(synchronize_session=False),
    )


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:255]


async def deactivate_chat(session: AsyncSession, telegram_chat_id: int) -> None:
    """The bot was removed or blocked: the chat is inactive and its subscription paused."""
    if telegram_chat_id > 0:  # a person who blocked the bot
        await _run(
            session,
            update(User)
            .where(col(User.telegram_id) == telegram_chat_id)
            .values(can_message=False)
            .execution_options(synchronize_session=False),
        )
    chat = await get_chat(session, telegram_chat_id)
    if chat is None:
        return
    now = utcnow()
    chat.bot_member, chat.updated_at = False, now
    session.add(chat)
    sub = await subscription_of(session, chat)
    if sub is not None:
        sub.paused, sub.updated_at = True, now
        session.add(sub)


async def migrate_chat(session: AsyncSession, old_id: int, new_id: int) -> None:
    """A group became a supergroup: move the chat row and every live delivery row."""
    await move_chat(session, old_id, new_id)
    await _run(
        session,
        update(Delivery)
        .where(col(Delivery.telegram_chat_id) == old_id, col(Delivery.message_id).is_(None))
        .values(telegram_chat_id=new_id, updated_at=utcnow())
        .execution_options(synchronize_session=False),
    )


async def delivery_stats(session: AsyncSession, kind: str, ref_id: int) -> DeliveryStats:
    """Counts and timings of one job (a few indexed queries, cheap enough to poll)."""
    job = and_(col(Delivery.kind) == kind, col(Delivery.ref_id) == ref_id)
    result = await _run(
        session,
        select(col(Delivery.status), func.count()).where(job).group_by(col(Delivery.status)),
    )
    counts = {status: int(n) for status, n in result.all()}
    span = await _run(
        session,
        select(func.min(col(Delivery.created_at)), func.min(col(Delivery.delivered_at))).where(job),
    )
    start, first_at = span.one()
    delivered, pending = counts.get(_DELIVERED, 0), counts.get(_PENDING, 0)
    sendable = delivered + pending  # failed copies will never arrive

    async def reached(share: float) -> float | None:
        need = math.ceil(sendable * share)
        if start is None or need == 0 or delivered < need:
            return None
        nth = await _run(
            session,
            select(col(Delivery.delivered_at))
            .where(job, col(Delivery.delivered_at).is_not(None))
            .order_by(col(Delivery.delivered_at))
            .offset(need - 1)
            .limit(1),
        )
        at = nth.scalar()
        return None if at is None else (at - start).total_seconds()

    return DeliveryStats(
        delivered=delivered,
        pending=pending,
        failed=counts.get(_FAILED, 0),
        filtered=counts.get(_FILTERED, 0),
        withdrawn=counts.get(_WITHDRAWN, 0),
        total=sum(counts.values()),
        first_at=first_at,
        t50_seconds=await reached(0.5),
        t100_seconds=await reached(1.0),
    )


@dataclass(frozen=True)
class JobProgress:
    """Row counts of one job by status, and when its rows were written."""

    pending: int
    delivered: int
    failed: int
    filtered: int
    withdrawn: int
    created_at: datetime | None


def _count(status: str) -> Any:
    return func.coalesce(func.sum(case((col(Delivery.status) == status, 1), else_=0)), 0)


async def job_progress(session: AsyncSession, kind: str, ref_id: int) -> JobProgress:
    """One aggregate query over the job's rows (cheap enough to run per recorded batch)."""
    statuses = (_PENDING, _DELIVERED, _FAILED, _FILTERED, _WITHDRAWN)
    result = await _run(
        session,
        select(*(_count(s) for s in statuses), func.min(col(Delivery.created_at))).where(
            col(Delivery.kind) == kind, col(Delivery.ref_id) == ref_id
        ),
    )
    pending, delivered, failed, filtered, withdrawn, created_at = result.one()
    return JobProgress(
        int(pending), int(delivered), int(failed), int(filtered), int(withdrawn), created_at
    )
