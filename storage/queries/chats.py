"""Queries about chats and their subscriptions; each takes a session and never commits."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, Subscription


async def get_chat(session: AsyncSession, telegram_id: int) -> Chat | None:
    """The chat row for a Telegram chat id, if known."""
    result = await session.exec(select(Chat).where(col(Chat.telegram_id) == telegram_id))
    return result.first()


async def subscription_of(session: AsyncSession, chat: Chat) -> Subscription | None:
    """The chat's subscription, paused or not."""
    result = await session.exec(select(Subscription).where(col(Subscription.chat_id) == chat.id))
    return result.first()
