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


def quiet_group(
    driver: SimDriver, title: str, admin: SimUser, members: list[SimUser] | None = None
) -> SimChat:
    """A group the bot is already in, made without the join updates (no welcome messages)."""
    group = driver.create_group(title, members=members or [], admins=[admin])
    group.members[driver.world.bot.id] = "member"
    return group


async def subscribed_groups(
    driver: SimDriver,
    sessions: SessionFactory,
    units: AdminUnits,
    commune_code: str,
    count: int,
    admin: SimUser,
    prefix: str = "Tổ",
) -> list[SimChat]:
    """`count` groups subscribed to the commune, as if each had gone through /dangky."""
    subscriptions = SubscriptionService(sessions, units)
    groups = []
    for n in range(count):
        group = quiet_group(driver, f"{prefix} {n + 1}", admin)
        ref = ChatRef(group.id, group.type, group.title)
        await subscriptions.subscribe(ref, commune_code, None, admin.id)
        groups.append(group)
    return groups


@contextmanager
def unseen_by_bot(driver: SimDriver) -> Iterator[None]:
    """Changes made inside reach Telegram's state but no update reaches the bot."""
    before = len(driver.world.updates)
    yield
    del driver.world.updates[before:]
