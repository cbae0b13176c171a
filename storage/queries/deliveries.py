"""Queries about the outbox's copies of alerts and the groups' acknowledgements of them; each
takes a session and never commits. (The progress of one job, `delivery_stats`, stays with the
delivery engine in bot/delivery/outbox.py: its result type is part of the engine's contract.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column
from sqlalchemy import select as core_select
from sqlalchemy.sql.selectable import Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, AlertAck, Chat, Delivery, Subscription
from storage.queries.sql import PRECISION, medians, minutes_between


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


class AckBy(StrEnum):
    """How acknowledgement figures are grouped."""

    ALL = "all"
    ALERT = "alert"  # by alert id
    CHAT = "chat"  # by the group's chats row
    COMMUNE = "commune"  # by the commune row the group subscribes to


def _key(by: AckBy) -> Any:
    keys = {
        AckBy.ALL: literal_column("0"),
        AckBy.ALERT: col(Delivery.ref_id),
        AckBy.CHAT: col(Delivery.chat_id),
        AckBy.COMMUNE: col(Subscription.commune_id),
    }
    return keys[by].label("k")


def _copies(
    columns: Sequence[Any], kind: str, groups: ColumnElement[bool], start: datetime, end: datetime
) -> Select[Any]:
    """Delivered copies of the alerts sent in [start, end) to the groups whose subscription
    matches `groups`, each with its group's acknowledgement when there is one."""
    return (
        core_select(*columns)
        .select_from(Delivery)
        .join(Alert, col(Alert.id) == col(Delivery.ref_id))
        .join(Subscription, col(Subscription.chat_id) == col(Delivery.chat_id))
        .outerjoin(
            AlertAck,
            and_(
                col(AlertAck.alert_id) == col(Delivery.ref_id),
                col(AlertAck.chat_id) == col(Delivery.chat_id),
            ),
        )
        .where(
            col(Delivery.kind) == kind,
            col(Delivery.delivered_at).is_not(None),
            col(Alert.created_at) >= start,
            col(Alert.created_at) < end,
            groups,
        )
    )


async def ack_counts(
    session: AsyncSession,
    kind: str,
    groups: ColumnElement[bool],
    start: datetime,
    end: datetime,
    by: AckBy,
) -> dict[int, tuple[int, int]]:
    """key -> (copies delivered, copies acknowledged) of the alerts sent in [start, end)."""
    key = _key(by)
    statement = _copies([key, func.count(), func.count(col(AlertAck.id))], kind, groups, start, end)
    if by != AckBy.ALL:
        statement = statement.group_by(key)
    result = await _run(session, statement)
    return {k or 0: (int(n), int(acked)) for k, n, acked in result if n}


async def ack_medians(
    session: AsyncSession,
    kind: str,
    groups: ColumnElement[bool],
    start: datetime,
    end: datetime,
    by: AckBy,
) -> dict[int, float]:
    """key -> median minutes from delivery to the group's acknowledgement."""
    minutes = minutes_between(col(AlertAck.created_at), col(Delivery.delivered_at)).label("v")
    values = _copies([_key(by), minutes], kind, groups, start, end)
    result = await _run(session, medians(values.where(col(AlertAck.id).is_not(None))))
    return {k or 0: round(float(v), PRECISION) for k, v in result}


async def recent_activity(
    session: AsyncSession, kind: str, groups: ColumnElement[bool], since: datetime, until: datetime
) -> tuple[dict[int, int], dict[int, int]]:
    """Per group (chats row): copies delivered and acknowledgements given in [since, until)."""
    delivered = await _run(
        session,
        core_select(col(Delivery.chat_id), func.count())
        .join(Subscription, col(Subscription.chat_id) == col(Delivery.chat_id))
        .where(
            col(Delivery.kind) == kind,
            col(Delivery.delivered_at) >= since,
            col(Delivery.delivered_at) < until,
            groups,
        )
        .group_by(col(Delivery.chat_id)),
    )
    acknowledged = await _run(
        session,
        core_select(col(AlertAck.chat_id), func.count())
        .join(Subscription, col(Subscription.chat_id) == col(AlertAck.chat_id))
        .where(col(AlertAck.created_at) >= since, col(AlertAck.created_at) < until, groups)
        .group_by(col(AlertAck.chat_id)),
    )
    return {c: int(n) for c, n in delivered}, {c: int(n) for c, n in acknowledged}


async def _run(session: AsyncSession, statement: Any) -> Any:
    """Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)
