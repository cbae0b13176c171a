"""Seeding the simulator and the database before the bot starts: groups, subscriptions, people.

`seed` fills a simulator in this process; `seed_remote` one in a process of its own, through its
control API. Both store the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from bot.services.chats import ChatRef
from bot.services.officers import CLI_ACTOR, OfficerService
from bot.services.subscriptions import SubscriptionService
from simulator import SimDriver
from simulator.models import SimChat, SimUser
from simulator.remote import RemoteSimulator
from storage.db import create_engine, session_factory
from storage.migrate import upgrade

PHU_THO = "25"
ELSEWHERE = "00235"  # Phường Đống Đa, Hà Nội: subscribed, but outside the alert's area
OTHER_GROUPS = 20
BATCH = 500
REMOTE_BATCH = 2000  # groups per /_sim/groups/many request
OFFICER_NAME = "Thiếu tá Nguyễn Văn An"


def ref(group: SimChat) -> ChatRef:
    return ChatRef(group.id, group.type, group.title)


@dataclass(frozen=True)
class BenchWorld:
    """Who and what the benchmark plays with."""

    targets: list[SimChat]
    others: list[SimChat]
    officer: SimUser
    resident: SimUser
    resident_group: SimChat  # one of the targets


@dataclass(frozen=True)
class RemoteWorld:
    """The same, in a simulator of its own process: group ids and the officer."""

    targets: list[int]
    others: list[int]
    officer: SimUser


def target_title(n: int) -> str:
    return f"Tổ an ninh {n + 1}"


def other_title(n: int) -> str:
    return f"Khác {n + 1}"


async def seed(driver: SimDriver, database_url: str, units: AdminUnits, groups: int) -> BenchWorld:
    """Migrate, load the areas, and create `groups` subscribed groups over Phú Thọ's communes."""
    admin = driver.create_user("Trưởng thôn")
    resident = driver.create_user("Người dân", username="resident")
    targets = [
        driver.create_group(target_title(n), [resident] if n == 0 else [], [admin], with_bot=True)
        for n in range(groups)
    ]
    others = [
        driver.create_group(other_title(n), admins=[admin], with_bot=True)
        for n in range(OTHER_GROUPS)
    ]
    officer = driver.create_user("Cán bộ", username="officer_phu_tho")
    await store(
        database_url, units, [ref(g) for g in targets], [ref(g) for g in others], admin, officer
    )
    return BenchWorld(targets, others, officer, resident, targets[0])


async def seed_remote(
    remote: RemoteSimulator, database_url: str, units: AdminUnits, groups: int
) -> RemoteWorld:
    """`seed` for a simulator in another process (no resident: nobody asks the bot there)."""
    admin = await remote.create_user("Trưởng thôn")
    targets = await remote_groups(remote, [target_title(n) for n in range(groups)], admin)
    others = await remote_groups(remote, [other_title(n) for n in range(OTHER_GROUPS)], admin)
    officer = await remote.create_user("Cán bộ", username="officer_phu_tho")
    await store(
        database_url,
        units,
        [ChatRef(i, "group", target_title(n)) for n, i in enumerate(targets)],
        [ChatRef(i, "group", other_title(n)) for n, i in enumerate(others)],
        admin,
        officer,
    )
    return RemoteWorld(targets, others, officer)


async def remote_groups(remote: RemoteSimulator, titles: list[str], admin: SimUser) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(titles), REMOTE_BATCH):
        batch: list[dict[str, Any]] = [
            {"title": t, "admins": [admin.id], "with_bot": True}
            for t in titles[start : start + REMOTE_BATCH]
        ]
        ids += await remote.create_groups(batch)
    return ids


async def store(
    database_url: str,
    units: AdminUnits,
    targets: list[ChatRef],
    others: list[ChatRef],
    admin: SimUser,
    officer: SimUser,
) -> None:
    """Migrate, load the areas, subscribe the targets round-robin over Phú Thọ's communes and
    the others in Hà Nội, and make `officer` an officer of Phú Thọ."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        await sync_admin_units(sessions, units)
        communes = [c.code for c in units.communes_of(PHU_THO)]
        plan = [(g, communes[n % len(communes)]) for n, g in enumerate(targets)]
        plan += [(g, ELSEWHERE) for g in others]
        subscriptions = SubscriptionService(sessions, units)
        for start in range(0, len(plan), BATCH):
            await subscriptions.subscribe_many(plan[start : start + BATCH], admin.id)
        officers = OfficerService(sessions, units, frozenset())
        await officers.grant(CLI_ACTOR, officer.id, PHU_THO, OFFICER_NAME)
    finally:
        await engine.dispose()
