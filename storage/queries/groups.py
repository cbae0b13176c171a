"""Queries about subscribed groups: who an alert reaches, which groups are active; each takes a
session and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as core_select
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


class ActiveGroup(NamedTuple):
    """A subscribed group with the bot in it, and the area it subscribes to."""

    chat_id: int
    telegram_id: int
    title: str | None
    area_id: int
    commune_id: int
    subscribed_at: datetime


def _active(groups: ColumnElement[bool], at: datetime) -> list[ColumnElement[bool]]:
    """Subscribed before `at`, not paused, the bot still in the group (its present state: the
    history of pauses is not kept)."""
    return [
        groups,
        col(Subscription.created_at) < at,
        col(Subscription.paused).is_(False),
        col(Chat.bot_member).is_(True),
    ]


async def active_groups(
    session: AsyncSession, groups: ColumnElement[bool], at: datetime
) -> list[ActiveGroup]:
    """The active groups matching `groups` (a condition on their subscription), by chat row."""
    result = await _run(
        session,
        core_select(
            col(Chat.id),
            col(Chat.telegram_id),
            col(Chat.title),
            col(Subscription.area_id),
            col(Subscription.commune_id),
            col(Subscription.created_at),
        )
        .join(Subscription, col(Subscription.chat_id) == col(Chat.id))
        .where(*_active(groups, at))
        .order_by(col(Chat.id)),
    )
    return [ActiveGroup(*row) for row in result]


async def active_per_commune(
    session: AsyncSession, groups: ColumnElement[bool], at: datetime
) -> dict[int, int]:
    """Commune row -> how many active groups match `groups`."""
    result = await _run(
        session,
        core_select(col(Subscription.commune_id), func.count())
        .join(Chat, col(Chat.id) == col(Subscription.chat_id))
        .where(*_active(groups, at))
        .group_by(col(Subscription.commune_id)),
    )
    return {commune: int(n) for commune, n in result}


async def _run(session: AsyncSession, statement: Any) -> Any:
    """Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)
