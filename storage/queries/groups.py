"""Queries about subscribed groups: who an alert reaches, which groups are active; each takes a
session and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, case, false, func, true
from sqlalchemy import select as core_select
from sqlalchemy.sql.selectable import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, Subscription


@dataclass(frozen=True)
class Reach:
    """Which subscribed groups an alert reaches: every one (nothing set: the whole country),
    those of some provinces, of one commune, or of some areas of that commune."""

    province_codes: tuple[str, ...] | None = None
    commune_id: int | None = None
    area_ids: tuple[int, ...] | None = None

    def condition(self) -> ColumnElement[bool]:
        """The active subscriptions reached (the bot still in the group, not paused)."""
        clauses: list[ColumnElement[bool]] = [
            col(Subscription.paused).is_(False),
            col(Chat.bot_member).is_(True),
        ]
        if self.province_codes is not None:
            clauses.append(col(Subscription.province_code).in_(list(self.province_codes)))
        if self.commune_id is not None:
            clauses.append(col(Subscription.commune_id) == self.commune_id)
        if self.area_ids is not None:
            clauses.append(col(Subscription.area_id).in_(list(self.area_ids)))
        return and_(true(), *clauses)


def audience_rows(reach: Reach, filtering: Sequence[str]) -> Select[Any]:
    """(chats.id, Telegram id, language, filtered) of every group reached, one row per chat (a
    chat has one subscription); `filtered` is true for groups whose minimum severity is one of
    `filtering` (the alert is less severe than they want)."""
    columns: list[Any] = [
        col(Chat.id).label("chat_id"),
        col(Chat.telegram_id).label("telegram_chat_id"),
        col(Chat.language).label("language"),
        _filtered(filtering).label("filtered"),
    ]
    rows: Select[Any] = (
        core_select(*columns)
        .join_from(Chat, Subscription, col(Subscription.chat_id) == col(Chat.id))
        .where(reach.condition())
    )
    return rows


async def audience_counts(
    session: AsyncSession, reach: Reach, filtering: Sequence[str]
) -> tuple[int, int]:
    """(groups that will receive it, groups that filter it out), counted in SQL."""
    filtered = func.coalesce(func.sum(case((_filtered(filtering), 1), else_=0)), 0)
    result = await _run(
        session,
        core_select(func.count(), filtered)
        .join_from(Chat, Subscription, col(Subscription.chat_id) == col(Chat.id))
        .where(reach.condition()),
    )
    total, dropped = result.one()
    return int(total) - int(dropped), int(dropped)


def _filtered(filtering: Sequence[str]) -> ColumnElement[bool]:
    if not filtering:
        return false()
    return col(Subscription.min_severity).in_(list(filtering))


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
