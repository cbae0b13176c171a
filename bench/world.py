"""Seeding the simulator and the database before the bot starts: groups, subscriptions, people."""

from __future__ import annotations

from dataclasses import dataclass

from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from bot.services.chats import ChatRef
from bot.services.officers import CLI_ACTOR, OfficerService
from bot.services.subscriptions import SubscriptionService
from simulator import SimDriver
from simulator.models import SimChat, SimUser
from storage.db import create_engine, session_factory
from storage.migrate import upgrade

PHU_THO = "25"
ELSEWHERE = "00235"  # Phường Đống Đa, Hà Nội: subscribed, but outside the alert's area
OTHER_GROUPS = 20
BATCH = 500


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


async def seed(driver: SimDriver, database_url: str, units: AdminUnits, groups: int) -> BenchWorld:
    """Migrate, load the areas, and create `groups` subscribed groups over Phú Thọ's communes."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        await sync_admin_units(sessions, units)
        admin = driver.create_user("Trưởng thôn")
        resident = driver.create_user("Người dân", username="resident")
        communes = [c.code for c in units.communes_of(PHU_THO)]
        targets = [
            driver.create_group(
                f"Tổ an ninh {n + 1}", [resident] if n == 0 else [], [admin], with_bot=True
            )
            for n in range(groups)
        ]
        others = [
            driver.create_group(f"Khác {n + 1}", admins=[admin], with_bot=True)
            for n in range(OTHER_GROUPS)
        ]
        plan = [(ref(g), communes[n % len(communes)]) for n, g in enumerate(targets)]
        plan += [(ref(g), ELSEWHERE) for g in others]
        subscriptions = SubscriptionService(sessions, units)
        for start in range(0, len(plan), BATCH):
            await subscriptions.subscribe_many(plan[start : start + BATCH], admin.id)
        officer = driver.create_user("Cán bộ", username="officer_phu_tho")
        officers = OfficerService(sessions, units, frozenset())
        await officers.grant(CLI_ACTOR, officer.id, PHU_THO, "Thiếu tá Nguyễn Văn An")
    finally:
        await engine.dispose()
    return BenchWorld(targets, others, officer, resident, targets[0])
