"""Fixtures: a fresh database (SQLite file, or a PostgreSQL schema), the simulator, a bot."""

from __future__ import annotations

import itertools
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.delivery import (
    DeliveryConfig,
    DeliveryEngine,
    DeliveryStats,
    FloodGate,
    Target,
    TelegramRateLimiter,
    delivery_stats,
    enqueue,
    window_store,
)
from simulator import BotApiSimulator, SimDriver
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Area, Chat, Delivery, Subscription
from tests.delivery.support import TOKEN, render_alert, wait_until
from tests.support.databases import postgres_schema, require_postgres

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Db:
    engine: AsyncEngine
    sessions: SessionFactory
    url: str
    schema: str | None


async def redis_available() -> str | None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def pg() -> AsyncIterator[Db]:
    """A migrated, empty schema of its own on PostgreSQL (skipped, with the reason, when
    TEST_DATABASE_URL is unset or unreachable)."""
    url = await require_postgres()
    async with postgres_schema(url) as (engine, schema):
        await upgrade(engine)
        yield Db(engine, session_factory(engine), url, schema)


@pytest_asyncio.fixture
async def lite(tmp_path: Path) -> AsyncIterator[Db]:
    """A migrated SQLite database in a fresh file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine)
    yield Db(engine, session_factory(engine), url, None)
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Db:
    """Each test that takes `db` runs on SQLite and on PostgreSQL."""
    fixture = "lite" if request.param == "sqlite" else "pg"
    result: Db = request.getfixturevalue(fixture)
    return result


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[BotApiSimulator]:
    simulator = BotApiSimulator(token=TOKEN, bot_username="canhgac_test_bot")
    await simulator.start()
    yield simulator
    assert simulator.violations == []
    await simulator.stop()


@pytest.fixture
def driver(sim: BotApiSimulator) -> SimDriver:
    return SimDriver(sim)


def make_bot(sim: BotApiSimulator, gate: FloodGate) -> ExtBot[Any]:
    """A PTB bot talking to the simulator through `gate`."""
    return ExtBot(
        TOKEN,
        base_url=sim.base_url,
        base_file_url=sim.base_file_url,
        request=HTTPXRequest(connection_pool_size=128, read_timeout=15.0),
        rate_limiter=TelegramRateLimiter(gate),
    )


def make_gate(config: DeliveryConfig, db: Db | None = None) -> FloodGate:
    return FloodGate(config, window_store(config, db.engine if db else None))


async def add_groups(driver: SimDriver, db: Db, n: int, title: str = "G") -> list[Target]:
    """N simulated groups with the bot in them, each with a chat row and a subscription."""
    user = driver.create_user("Admin")
    groups = []
    for i in range(n):
        group = driver.create_group(f"{title}{i}", members=[user], admins=[user])
        await driver.add_bot(group, by=user)
        groups.append(group)
    async with db.sessions() as session, session.begin():
        area = Area(kind="commune", code=f"c{uuid.uuid4().hex[:8]}", name="X", key="x")
        area.province_code = "01"
        session.add(area)
        await session.flush()
        targets = []
        for group in groups:
            chat = Chat(telegram_id=group.id, kind="group", title=group.title)
            session.add(chat)
            await session.flush()
            assert chat.id is not None and area.id is not None
            session.add(
                Subscription(
                    chat_id=chat.id, area_id=area.id, commune_id=area.id, province_code="01"
                )
            )
            targets.append(Target(telegram_chat_id=group.id, chat_id=chat.id))
    return targets


FAST = DeliveryConfig(
    global_per_second=1000,
    group_per_minute=1000,
    private_per_second=1000,
    poll_interval=0.05,
    backoff_base=0.01,
    backoff_max=0.05,
)
_refs = itertools.count(1000)
EngineFactory = Callable[..., Awaitable[DeliveryEngine]]


@pytest_asyncio.fixture
async def engines(sim: BotApiSimulator) -> AsyncIterator[EngineFactory]:
    """Start engines on demand; all are stopped (and their bots shut down) afterwards."""
    started: list[DeliveryEngine] = []

    async def start(db: Db, config: DeliveryConfig = FAST) -> DeliveryEngine:
        bot = make_bot(sim, make_gate(config))
        await bot.initialize()
        engine = DeliveryEngine(db.sessions, bot, config)
        engine.register("alert", render_alert)
        await engine.start()
        started.append(engine)
        return engine

    yield start
    for engine in started:
        await engine.stop(abort=True)
        await engine.bot.shutdown()


async def new_job(db: Db, targets: list, engine: DeliveryEngine | None = None) -> int:
    ref = next(_refs)
    async with db.sessions() as session, session.begin():
        await enqueue(session, "alert", ref, targets, priority=10)
    if engine is not None:
        engine.notify()
    return ref


async def finished(db: Db, ref: int) -> DeliveryStats:
    async def done() -> bool:
        async with db.sessions() as session:
            stats = await delivery_stats(session, "alert", ref)
        return stats.pending == 0

    await wait_until(done)
    async with db.sessions() as session:
        return await delivery_stats(session, "alert", ref)


async def rows(db: Db, ref: int) -> list[Delivery]:
    async with db.sessions() as session:
        result = await session.exec(select(Delivery).where(col(Delivery.ref_id) == ref))
        return list(result)


def copies(sim: BotApiSimulator, method: str = "sendMessage") -> Counter[int]:
    return Counter(r.chat_id for r in sim.stats.sent if r.method == method)
