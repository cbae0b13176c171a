"""Shared fixtures: the area catalogue and real databases (SQLite always, PostgreSQL when set)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from tests.support.databases import postgres_schema, require_postgres, sqlite_url

# As `canhgac` does: RetryAfter.retry_after as a timedelta (PTB's next major version).
os.environ.setdefault("PTB_TIMEDELTA", "1")

# Provinces small storage tests load: Hà Nội and Hải Phòng (which has both Cẩm Giang and Cẩm Giàng).
TEST_PROVINCES = ("01", "31")


@pytest.fixture(scope="session")
def units() -> AdminUnits:
    """The full packaged catalogue (34 provinces, 3,321 communes)."""
    return AdminUnits.load()


@pytest.fixture(scope="session")
def small_units(units: AdminUnits) -> AdminUnits:
    """A catalogue of two provinces, quick to load into a fresh database."""
    return AdminUnits(
        provinces=tuple(p for p in units.provinces if p.code in TEST_PROVINCES),
        communes=tuple(c for c in units.communes if c.province_code in TEST_PROVINCES),
        source={**units.source, "version": f"{units.source.get('version')}-test-subset"},
    )


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "canhgac.sqlite3"
        eng = create_engine(sqlite_url(path))
        await upgrade(eng)
        yield eng
        await eng.dispose()
        return
    url = await require_postgres()
    async with postgres_schema(url) as (eng, _schema):
        await upgrade(eng)
        yield eng


@pytest_asyncio.fixture
async def sessions(engine: AsyncEngine, small_units: AdminUnits) -> SessionFactory:
    """Sessions on a migrated database holding the two test provinces."""
    factory = session_factory(engine)
    await sync_admin_units(factory, small_units)
    return factory
