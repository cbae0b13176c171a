"""Populating the simulator and the database quickly for tests with many groups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.areas import AdminUnits
from bot.services.chats import ChatRef
from bot.services.subscriptions import SubscriptionService
from simulator import SimDriver
from simulator.models import SimChat, SimUser
from storage.db import SessionFactory


async def subscribed_groups(
    driver: SimDriver,
    sessions: SessionFactory,
    units: AdminUnits,
    commune_code: str,
    count: int,
    admin: SimUser,
    prefix: str = "Tổ",
) -> list[SimChat]:
    """`count` groups with the bot, subscribed to the commune as if through /dangky."""
    groups = [
        driver.create_group(f"{prefix} {n + 1}", admins=[admin], with_bot=True)
        for n in range(count)
    ]
    plan = [(ChatRef(g.id, g.type, g.title), commune_code) for g in groups]
    await SubscriptionService(sessions, units).subscribe_many(plan, admin.id)
    return groups


@contextmanager
def unseen_by_bot(driver: SimDriver) -> Iterator[None]:
    """Changes made inside reach Telegram's state but no update reaches the bot."""
    before = len(driver.world.updates)
    yield
    del driver.world.updates[before:]
