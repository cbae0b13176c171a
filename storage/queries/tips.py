"""Queries about tips, their senders and recipients; each takes a session and never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Chat,
    Delivery,
    DeliveryStatus,
    DutyGroup,
    Officer,
    Tip,
    TipBlock,
    TipDraft,
    TipMedia,
    TipMessage,
    TipState,
    User,
)
from storage.models.tips import Direction

OPEN_STATES = (TipState.NEW.value, TipState.ACKNOWLEDGED.value)
CLOSED_STATES = (TipState.RESOLVED.value, TipState.REJECTED.value)
LIVE_DELIVERIES = (DeliveryStatus.PENDING.value, DeliveryStatus.DELIVERED.value)


@dataclass(frozen=True)
class Scope:
    """Where an officer works: every commune of a province, or one commune."""

    kind: str  # "province" | "commune" | "country" (the ministry: in no triage, no tips)
    code: str

    def condition(self) -> ColumnElement[bool]:
        if self.kind == "country":
            return false()
        column = Tip.province_code if self.kind == "province" else Tip.commune_code
        return col(column) == self.code


@dataclass(frozen=True)
class Deadlines:
    """How long an urgent and an ordinary tip may wait for an acknowledgement."""

    urgent_categories: Collection[str]
    urgent: timedelta
    ordinary: timedelta

    def overdue(self, now: datetime) -> ColumnElement[bool]:
        """New tips past their deadline at `now`."""
        urgent = col(Tip.category).in_(list(self.urgent_categories))
        return and_(
            col(Tip.state) == TipState.NEW.value,
            or_(
                and_(urgent, col(Tip.created_at) <= now - self.urgent),
                and_(~urgent, col(Tip.created_at) <= now - self.ordinary),
            ),
        )


@dataclass(frozen=True)
class Contact:
    """Someone the outbox can message: an officer (officers row id) or a duty group (chats row
    id), with the language of their chat."""

    row_id: int
    telegram_id: int
    language: str | None


async def _run(session: AsyncSession, statement: Any) -> Any:
    """Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)


async def officer_row(session: AsyncSession, telegram_id: int) -> Officer | None:
    """The active officer with this Telegram id."""
    result = await session.exec(
        select(Officer).where(col(Officer.telegram_id) == telegram_id, col(Officer.active))
    )
    return result.first()


async def reachable_officers(session: AsyncSession, area_code: str) -> list[Contact]:
    """Active officers of exactly this commune or province who pressed Start, by row id."""
    query = (
        select(Officer.id, Officer.telegram_id, Chat.language)
        .join(User, col(User.telegram_id) == col(Officer.telegram_id))
        .outerjoin(Chat, col(Chat.telegram_id) == col(Officer.telegram_id))
        .where(col(Officer.area_code) == area_code, col(Officer.active), col(User.can_message))
        .order_by(col(Officer.id))
    )
    rows = await session.exec(query)
    return [Contact(row[0] or 0, row[1], row[2]) for row in rows]


async def duty_group(session: AsyncSession, commune_code: str) -> tuple[DutyGroup, Chat] | None:
    """The commune's duty group and its chat, if one is registered."""
    result = await session.exec(
        select(DutyGroup, Chat)
        .join(Chat, col(Chat.id) == col(DutyGroup.chat_id))
        .where(col(DutyGroup.commune_code) == commune_code)
    )
    row = result.first()
    return (row[0], row[1]) if row is not None else None


async def sent_since(session: AsyncSession, sender_hash: str, since: datetime) -> list[datetime]:
    """When the sender's tips since `since` were sent, oldest first (the per-hour limit)."""
    result = await session.exec(
        select(Tip.created_at)
        .where(col(Tip.reporter_hash) == sender_hash, col(Tip.created_at) > since)
        .order_by(col(Tip.created_at))
    )
    return list(result)


async def is_blocked(session: AsyncSession, sender_hash: str, area_codes: Sequence[str]) -> bool:
    """Whether the sender is blocked in any of these communes or provinces."""
    result = await session.exec(
        select(TipBlock.id).where(
            col(TipBlock.sender_hash) == sender_hash, col(TipBlock.area_code).in_(area_codes)
        )
    )
    return result.first() is not None


async def photos(session: AsyncSession, tip_id: int) -> list[str]:
    """The tip's photo file ids, in the order sent."""
    result = await session.exec(
        select(TipMedia.file_id)
        .where(col(TipMedia.tip_id) == tip_id)
        .order_by(col(TipMedia.position))
    )
    return list(result)


async def tip_by_token(session: AsyncSession, token: str) -> Tip | None:
    result = await session.exec(select(Tip).where(col(Tip.draft_token) == token))
    return result.first()


async def open_tips(
    session: AsyncSession, scope: Scope, condition: ColumnElement[bool], offset: int, limit: int
) -> tuple[list[Tip], int]:
    """One page of open tips in the scope matching `condition`, newest first, and the total."""
    where = and_(scope.condition(), col(Tip.state).in_(OPEN_STATES), condition)
    total = await session.scalar(select(func.count()).select_from(Tip).where(where))
    result = await session.exec(
        select(Tip).where(where).order_by(col(Tip.id).desc()).offset(offset).limit(limit)
    )
    return list(result), int(total or 0)


async def reporter_tips(session: AsyncSession, telegram_id: int, limit: int) -> list[Tip]:
    """The person's own tips (those not yet erased), newest first."""
    result = await session.exec(
        select(Tip)
        .where(col(Tip.reporter_telegram_id) == telegram_id)
        .order_by(col(Tip.id).desc())
        .limit(limit)
    )
    return list(result)


async def overdue_unescalated(
    session: AsyncSession, deadlines: Deadlines, now: datetime
) -> list[Tip]:
    """New tips past their deadline that have not been escalated, oldest first."""
    result = await session.exec(
        select(Tip)
        .where(deadlines.overdue(now), col(Tip.escalated_at).is_(None))
        .order_by(col(Tip.id))
    )
    return list(result)


async def messages(session: AsyncSession, tip_id: int) -> list[TipMessage]:
    """The officer↔reporter dialogue of a tip, oldest first."""
    result = await session.exec(
        select(TipMessage).where(col(TipMessage.tip_id) == tip_id).order_by(col(TipMessage.id))
    )
    return list(result)


async def erasable_tips(session: AsyncSession, closed_before: datetime) -> list[Tip]:
    """Closed tips whose reporter identity is still kept though they closed before the cutoff."""
    result = await session.exec(
        select(Tip).where(
            col(Tip.state).in_(CLOSED_STATES),
            col(Tip.closed_at) <= closed_before,
            or_(col(Tip.reporter_telegram_id).is_not(None), col(Tip.reporter_hash).is_not(None)),
        )
    )
    return list(result)


async def forget_identity(session: AsyncSession, tip_ids: Sequence[int], now: datetime) -> None:
    """Erase the reporter's id and keyed hash from these tips."""
    await _run(
        session,
        update(Tip)
        .where(col(Tip.id).in_(tip_ids))
        .values(reporter_telegram_id=None, reporter_hash=None, identity_erased_at=now)
        .execution_options(synchronize_session=False),
    )


async def still_identified(session: AsyncSession, telegram_id: int) -> bool:
    """Whether any tip still holds this reporter id."""
    result = await session.exec(
        select(Tip.id).where(col(Tip.reporter_telegram_id) == telegram_id).limit(1)
    )
    return result.first() is not None


async def delete_deliveries(
    session: AsyncSession, telegram_chat_id: int, kinds: Collection[str], ref_ids: Collection[int]
) -> int:
    """Delete outbox rows of these kinds and refs addressed to the chat; the count."""
    if not kinds or not ref_ids:
        return 0
    result = await _run(
        session,
        delete(Delivery)
        .where(
            col(Delivery.telegram_chat_id) == telegram_chat_id,
            col(Delivery.kind).in_(list(kinds)),
            col(Delivery.ref_id).in_(list(ref_ids)),
        )
        .execution_options(synchronize_session=False),
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_all_tip_deliveries(
    session: AsyncSession, telegram_chat_id: int, prefix: str
) -> int:
    """Delete every outbox row of a kind starting with `prefix` addressed to the chat."""
    result = await _run(
        session,
        delete(Delivery)
        .where(
            col(Delivery.telegram_chat_id) == telegram_chat_id,
            col(Delivery.kind).startswith(prefix, autoescape=True),
        )
        .execution_options(synchronize_session=False),
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_stale_drafts(session: AsyncSession, untouched_since: datetime) -> int:
    """Delete drafts abandoned before the cutoff; the count."""
    result = await _run(
        session,
        delete(TipDraft)
        .where(col(TipDraft.updated_at) < untouched_since)
        .execution_options(synchronize_session=False),
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def reporter_message_ids(session: AsyncSession, tip_ids: Sequence[int]) -> list[int]:
    """Ids of the messages relayed to the reporter of these tips."""
    result = await session.exec(
        select(TipMessage.id).where(
            col(TipMessage.tip_id).in_(tip_ids),
            col(TipMessage.direction) == Direction.TO_REPORTER.value,
        )
    )
    return [row for row in result if row is not None]


async def job_chats(session: AsyncSession, kind: str, ref_id: int) -> set[int]:
    """The Telegram chats that have (or will get) a copy of the outbox job `kind`/`ref_id`."""
    result = await session.exec(
        select(Delivery.telegram_chat_id).where(
            col(Delivery.kind) == kind,
            col(Delivery.ref_id) == ref_id,
            col(Delivery.status).in_(LIVE_DELIVERIES),
        )
    )
    return set(result)
