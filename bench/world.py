"""Seeding the simulator and the database before the bot starts: groups, subscriptions, people."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from bot.services.officers import CLI_ACTOR, OfficerService
from simulator import SimDriver
from simulator.models import SimChat, SimUser
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Area, Chat, Subscription
from storage.models.areas import AreaKind

PHU_THO = "25"
ELSEWHERE = "00235"  # Phường Đống Đa, Hà Nội: subscribed, but outside the alert's area
OTHER_GROUPS = 20
BATCH = 500


@dataclass(frozen=True)
class BenchWorld:
    """Who and what the benchmark plays with."""

    targets: list[SimChat]
    others: list[SimChat]
    officer: SimUser
    resident: SimUser
    resident_group: SimChat  # one of the targets


def quiet_group(driver: SimDriver, title: str, admin: SimUser, members: list[SimUser]) -> SimChat:
    """A group the bot is already in, made without join updates (no welcome messages)."""
    group = driver.create_group(title, members=members, admins=[admin])
    group.members[driver.world.bot.id] = "member"
    return group


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
            quiet_group(driver, f"Tổ an ninh {n + 1}", admin, [resident] if n == 0 else [])
            for n in range(groups)
        ]
        others = [quiet_group(driver, f"Khác {n + 1}", admin, []) for n in range(OTHER_GROUPS)]
        plan = [(g, communes[n % len(communes)]) for n, g in enumerate(targets)]
        plan += [(g, ELSEWHERE) for g in others]
        await subscribe_all(sessions, plan, admin.id)
        officer = driver.create_user("Cán bộ", username="officer_phu_tho")
        officers = OfficerService(sessions, units, frozenset())
        await officers.grant(CLI_ACTOR, officer.id, PHU_THO, "Thiếu tá Nguyễn Văn An")
    finally:
        await engine.dispose()
    return BenchWorld(targets, others, officer, resident, targets[0])


async def subscribe_all(
    sessions: SessionFactory, plan: list[tuple[SimChat, str]], by_user: int
) -> None:
    """What /dangky stores for each (group, commune), `BATCH` groups per transaction.

    The rows are those `SubscriptionService.subscribe` writes for a new group; one transaction
    per group would take most of a minute on SQLite.
    """
    async with sessions() as session:
        codes = {code for _, code in plan}
        rows = await session.exec(
            select(Area).where(col(Area.code).in_(codes), col(Area.kind) == AreaKind.COMMUNE.value)
        )
        area_of = {a.code: a for a in rows}
    for start in range(0, len(plan), BATCH):
        async with sessions() as session, session.begin():
            chats = [
                (Chat(telegram_id=g.id, kind=g.type, title=g.title, bot_member=True), code)
                for g, code in plan[start : start + BATCH]
            ]
            session.add_all([chat for chat, _ in chats])
            await session.flush()
            for chat, code in chats:
                area = area_of[code]
                session.add(
                    Subscription(
                        chat_id=chat.id or 0,
                        area_id=area.id or 0,
                        commune_id=area.id or 0,
                        province_code=area.province_code or "",
                        subscribed_by=by_user,
                    )
                )
