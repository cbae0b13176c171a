"""What differs between the group copies of one alert at send time: its acknowledgement, and
the area its "send a tip" link carries.

The delivery engine renders every copy of a broadcast within a few milliseconds, one task per
copy. Each copy needs the alert's current row and whether that group acknowledged it; copies
rendered at the same moment share one lookup (two queries) instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.alert_types import AlertContent
from storage.db import SessionFactory
from storage.models import Alert, AlertAck, Delivery, Subscription


@dataclass(frozen=True)
class Copies:
    """An alert's content as stored now, when each group that acknowledged it did, and the
    area each group is subscribed to."""

    content: AlertContent
    acknowledged: dict[int, datetime]  # telegram chat id of the copy -> time of the first press
    areas: dict[int, int] = field(default_factory=dict)  # telegram chat id -> its area's id


async def load_copies(
    session: AsyncSession, kind: str, alert_id: int, telegram_chat_ids: Collection[int]
) -> tuple[Alert, dict[int, datetime]] | None:
    """The alert and the acknowledgements of those of its copies sent to `telegram_chat_ids`.

    Matched through the copy's delivery row, whose `chats` row is the one acknowledging even
    after the group became a supergroup.
    """
    alert = await session.get(Alert, alert_id)
    if alert is None:
        return None
    rows = await session.exec(
        select(Delivery.telegram_chat_id, AlertAck.created_at)
        .join(
            AlertAck,
            (col(AlertAck.alert_id) == col(Delivery.ref_id))
            & (col(AlertAck.chat_id) == col(Delivery.chat_id)),
        )
        .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == alert_id)
        .where(col(Delivery.telegram_chat_id).in_(list(telegram_chat_ids)))
    )
    return alert, {chat: at for chat, at in rows}


async def subscribed_areas(
    session: AsyncSession, kind: str, alert_id: int, telegram_chat_ids: Collection[int]
) -> dict[int, int]:
    """The area of each group among `telegram_chat_ids` that has a copy of the alert."""
    rows = await session.exec(
        select(Delivery.telegram_chat_id, Subscription.area_id)
        .join(Subscription, col(Subscription.chat_id) == col(Delivery.chat_id))
        .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == alert_id)
        .where(col(Delivery.telegram_chat_id).in_(list(telegram_chat_ids)))
    )
    return {chat: area for chat, area in rows}


@dataclass
class _Batch:
    chats: set[int] = field(default_factory=set)
    # One future per render: a cancelled render cancels only its own (cheaper than a shield
    # per render around one shared future).
    waiters: list[asyncio.Future[Copies | None]] = field(default_factory=list)

    def settle(self, copies: Copies | None) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(copies)

    def fail(self, exc: BaseException | None) -> None:
        """Every render still waiting fails with `exc` (is cancelled when None)."""
        for waiter in self.waiters:
            if waiter.done():
                continue
            if exc is None:
                waiter.cancel()
            else:
                waiter.set_exception(exc)


class CopyLookup:
    """Coalesces the lookups of copies rendered together into one `load_copies` per alert."""

    def __init__(
        self, sessions: SessionFactory, kind: str, describe: Callable[[Alert], AlertContent]
    ) -> None:
        self._sessions = sessions
        self._kind = kind
        self._describe = describe  # once per batch: reading a row's attributes is not free
        self._open: dict[int, _Batch] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references
        self.loads = 0  # lookups made, for measuring

    async def get(self, alert_id: int, telegram_chat_id: int) -> Copies | None:
        """The alert and its acknowledgements, fresh from the database, for this copy."""
        batch = self._open.get(alert_id)
        if batch is None:
            batch = self._open[alert_id] = _Batch()
            # Runs once every render already waiting to run has joined the batch.
            task = asyncio.get_running_loop().create_task(self._load(alert_id, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        batch.chats.add(telegram_chat_id)
        waiter: asyncio.Future[Copies | None] = asyncio.get_running_loop().create_future()
        batch.waiters.append(waiter)
        return await waiter

    async def _load(self, alert_id: int, batch: _Batch) -> None:
        del self._open[alert_id]  # renders from now on start the next batch
        self.loads += 1
        try:
            async with self._sessions() as session:
                found = await load_copies(session, self._kind, alert_id, batch.chats)
                areas = await subscribed_areas(session, self._kind, alert_id, batch.chats)
            copies = None if found is None else Copies(self._describe(found[0]), found[1], areas)
        except asyncio.CancelledError:  # shutting down: the renders waiting stop too
            batch.fail(None)
            raise
        except Exception as exc:  # every render of the batch fails and is retried
            batch.fail(exc)
            return
        batch.settle(copies)
