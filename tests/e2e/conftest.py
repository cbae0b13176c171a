"""End-to-end fixtures: the simulator, a prepared database, the running bot and its people."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from simulator import BotApiSimulator, SimDriver
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from tests.support.botrunner import BotRunner, running, settings_for
from tests.support.databases import copy_sqlite, sqlite_url

BOT_USERNAME = "canhgac_test_bot"


async def _prepare(path: Path, units: AdminUnits) -> None:
    engine = create_engine(sqlite_url(path))
    await upgrade(engine)
    await sync_admin_units(session_factory(engine), units)
    await engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory, units: AdminUnits) -> Path:
    """A migrated SQLite database with every official unit, made once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(_prepare(path, units))
    return path


@pytest.fixture
def database_url(template_db: Path, tmp_path: Path) -> str:
    return sqlite_url(copy_sqlite(template_db, tmp_path / "canhgac.sqlite3"))


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[BotApiSimulator]:
    simulator = BotApiSimulator(token="123456:TEST-token", bot_username=BOT_USERNAME)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def driver(sim: BotApiSimulator) -> SimDriver:
    return SimDriver(sim)


@pytest_asyncio.fixture
async def bot(
    sim: BotApiSimulator, database_url: str, units: AdminUnits
) -> AsyncIterator[BotRunner]:
    """The real Application, polling the simulator; stopped after the test."""
    async with running(sim, settings_for(sim, database_url), units) as runner:
        yield runner
