"""Queries about the outbox's delivery rows of alerts and their copies; each takes a session
and never commits. (The progress of one job, `delivery_stats`, stays with the delivery engine in
bot/delivery/outbox.py: its result type is part of the engine's contract.)"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, Delivery


async def delivered_chat(
    session: AsyncSession, kind: str, alert_id: int, telegram_chat_id: int
) -> int | None:
    """The `chats` row of the group `telegram_chat_id` if a copy of the alert was delivered to
    that row (whose Telegram id changes when the group becomes a supergroup); else None."""
    result = await session.exec(
        select(Delivery.chat_id)
        .join(Chat, col(Chat.id) == col(Delivery.chat_id))
        .where(col(Chat.telegram_id) == telegram_chat_id)
        .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == alert_id)
        .where(col(Delivery.message_id).is_not(None))
        .limit(1)
    )
    return result.first()
