"""Queries about the outbox's copies of alerts and the groups' acknowledgements of them; each
takes a session and never commits. (The progress of one job, `delivery_stats`, stays with the
delivery engine in bot/delivery/outbox.py: its result type is part of the engine's contract.)"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, literal_column, or_, union_all
from sqlalchemy import select as core_select
from sqlalchemy.sql.selectable import CTE, Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AlertAck, Chat, Delivery, DeliveryStatus, Subscription
from storage.queries.sql import PRECISION, minutes_between
from storage.types import utcnow


async def delivered_chat(
    session: AsyncSession, kind: str, alert_id: int, telegram_chat_id: int
) -> int | None:
    """The `chats` row of the group `telegram_chat_id` if a copy of the alert was delivered to
    that row (whose Telegram id changes when the group becomes a supergroup); else None.

    A copy counts as delivered from the moment a sender holds its row: the sender writes the
    copy's message id in batches a little after the send, and a resident may press the copy's
    button before that. A row waiting in the queue, filtered out or called off does not count.
    """
    in_flight = and_(
        col(Delivery.status) == DeliveryStatus.PENDING.value,
        col(Delivery.lease_until) > utcnow(),
    )
    result = await session.exec(
        select(Delivery.chat_id)
        .join(Chat, col(Chat.id) == col(Delivery.chat_id))
        .where(col(Chat.telegram_id) == telegram_chat_id)
        .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == alert_id)
        .where(or_(col(Delivery.message_id).is_not(None), in_flight))
        .limit(1)
    )
    return result.first()


class AckBy(StrEnum):
    """How acknowledgement figures are grouped."""

    ALL = "all"  # one row, key 0
    ALERT = "alert"  # by alert id
    CHAT = "chat"  # by the group's chats row
    COMMUNE = "commune"  # by the commune row the group subscribes to now


class AckRow(NamedTuple):
    """Copies delivered, copies acknowledged, median minutes from delivery to acknowledgement."""

    delivered: int
    acknowledged: int
    median_minutes: float | None


def _copies(kind: str, alert_ids: Select[Any], chat_ids: Select[Any] | None, communes: bool) -> CTE:
    """One row per delivered copy of the alerts `alert_ids` (to the groups `chat_ids`, or to
    any group): its alert, group, the group's commune (`communes`) and the minutes its group
    took to acknowledge it (NULL if it did not). Materialised once per statement."""
    # A press may come before the sender has written the copy down (`delivered_chat`): that
    # group took no time at all, not a few negative milliseconds.
    taken = minutes_between(col(AlertAck.created_at), col(Delivery.delivered_at))
    minutes = case((taken < 0, 0.0), else_=taken)
    columns = [
        col(Delivery.ref_id).label("alert"),
        col(Delivery.chat_id).label("chat"),
        minutes.label("v"),
    ]
    if communes:
        columns.append(col(Subscription.commune_id).label("commune"))
    copies = (
        core_select(*columns)
        .select_from(Delivery)
        .outerjoin(
            AlertAck,
            and_(
                col(AlertAck.alert_id) == col(Delivery.ref_id),
                col(AlertAck.chat_id) == col(Delivery.chat_id),
            ),
        )
        .where(
            col(Delivery.kind) == kind,
            col(Delivery.ref_id).in_(alert_ids),
            col(Delivery.delivered_at).is_not(None),
        )
    )
    if communes:
        copies = copies.outerjoin(Subscription, col(Subscription.chat_id) == col(Delivery.chat_id))
    if chat_ids is not None:
        copies = copies.where(col(Delivery.chat_id).in_(chat_ids))
    return copies.cte("copies").prefix_with("MATERIALIZED")


def _grouped(copies: CTE, by: AckBy) -> Select[Any]:
    """(grouping, key, copies, acknowledged, median) per key, in one window pass: within each
    key the acknowledged copies sort first by minutes, and the median is the average of the
    middle one or two of them."""
    key = None if by == AckBy.ALL else copies.c[by.value]
    v = copies.c.v
    ranked = core_select(
        (key if key is not None else literal_column("0")).label("k"),
        v,
        func.row_number().over(partition_by=key, order_by=[v.is_(None), v]).label("rn"),
        func.count(v).over(partition_by=key).label("nv"),
        func.count().over(partition_by=key).label("n"),
    ).subquery(f"ranked_{by.value}")
    r = ranked.c
    middle = and_(r.v.is_not(None), r.rn * 2 >= r.nv, r.rn * 2 <= r.nv + 2)
    grouped = core_select(
        literal_column(f"'{by.value}'").label("g"),
        r.k if key is not None else literal_column("0"),
        func.max(r.n),
        func.max(r.nv),
        func.avg(case((middle, r.v))),
    )
    return grouped if key is None else grouped.group_by(r.k)


async def ack_figures(
    session: AsyncSession,
    kind: str,
    alert_ids: Select[Any],
    chat_ids: Select[Any] | None,
    groupings: Sequence[AckBy],
) -> dict[AckBy, dict[int, AckRow]]:
    """For each grouping, key -> figures of the delivered copies of the alerts `alert_ids` to
    the groups `chat_ids` (None: to any group), in one statement over one scan of the copies."""
    copies = _copies(kind, alert_ids, chat_ids, AckBy.COMMUNE in groupings)
    result = await _run(session, union_all(*(_grouped(copies, by) for by in groupings)))
    found: dict[AckBy, dict[int, AckRow]] = {by: {} for by in groupings}
    for grouping, key, delivered, acknowledged, median in result:
        if delivered:
            median = round(float(median), PRECISION) if median is not None else None
            found[AckBy(grouping)][key or 0] = AckRow(int(delivered), int(acknowledged), median)
    return found


async def _run(session: AsyncSession, statement: Any) -> Any:
    """Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)
