"""Queries about subscribed groups: who an alert reaches; each takes a session and never
commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, Subscription


class Member(NamedTuple):
    """A group an alert can reach: its `chats` row, Telegram id, language and severity filter."""

    chat_id: int
    telegram_id: int
    language: str | None
    min_severity: str


async def audience(
    session: AsyncSession,
    *,
    province_code: str | None = None,
    commune_id: int | None = None,
    area_ids: Sequence[int] | None = None,
) -> list[Member]:
    """Every active subscribed group of the province, or of the commune (narrowed to groups
    subscribed to one of `area_ids` when given), by chat row."""
    query = (
        select(Chat.id, Chat.telegram_id, Chat.language, Subscription.min_severity)
        .join(Subscription, col(Subscription.chat_id) == col(Chat.id))
        .where(col(Subscription.paused).is_(False), col(Chat.bot_member).is_(True))
    )
    if province_code is not None:
        query = query.where(col(Subscription.province_code) == province_code)
    if commune_id is not None:
        query = query.where(col(Subscription.commune_id) == commune_id)
    if area_ids is not None:
        query = query.where(col(Subscription.area_id).in_(list(area_ids)))
    rows = await session.exec(query.order_by(col(Chat.id)))
    return [Member(r[0] or 0, r[1], r[2], r[3]) for r in rows]
