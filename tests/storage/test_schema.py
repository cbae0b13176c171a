"""Migrations, column types and constraints, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

import storage.models  # noqa: F401  (registers every table)
from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from storage.db import SessionFactory, session_factory
from storage.migrate import downgrade, pending_revisions, upgrade
from storage.models import Area, AreaKind, Chat, User


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    assert await pending_revisions(engine) == []
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata
            )
        )
    assert diff == []


async def test_downgrade_to_base_and_back(engine: AsyncEngine) -> None:
    await downgrade(engine, "base")
    assert await pending_revisions(engine) != []
    await upgrade(engine)
    assert await pending_revisions(engine) == []


@pytest.mark.parametrize("telegram_id", [-1001234567890, 7_000_000_000, 2**62])
async def test_telegram_ids_are_64_bit(engine: AsyncEngine, telegram_id: int) -> None:
    factory = session_factory(engine)
    async with factory() as session, session.begin():
        session.add(Chat(telegram_id=telegram_id, kind="supergroup", title="Nhóm"))
        session.add(User(telegram_id=abs(telegram_id)))
    async with factory() as session:
        chat = (await session.exec(select(Chat))).one()
        user = (await session.exec(select(User))).one()
    assert (chat.telegram_id, user.telegram_id) == (telegram_id, abs(telegram_id))
    assert chat.created_at.tzinfo is not None


async def test_area_sync_loads_once(engine: AsyncEngine, small_units: AdminUnits) -> None:
    factory = session_factory(engine)
    written = await sync_admin_units(factory, small_units)
    assert written == len(small_units.provinces) + len(small_units.communes)
    assert await sync_admin_units(factory, small_units) == 0
    async with factory() as session:
        count = await session.scalar(text("SELECT count(*) FROM areas WHERE kind = 'commune'"))
    assert count == len(small_units.communes)


async def _commune(sessions: SessionFactory, code: str) -> Area:
    async with sessions() as session:
        return (await session.exec(select(Area).where(col(Area.code) == code))).one()


async def test_residential_names_are_unique_within_a_commune(sessions: SessionFactory) -> None:
    dong_da = await _commune(sessions, "00235")
    other = await _commune(sessions, "00004")

    def residential(parent: Area) -> Area:
        return Area(
            kind=AreaKind.RESIDENTIAL.value,
            name="Tổ dân phố 5",
            key="to dan pho 5",
            parent_id=parent.id,
            province_code=parent.province_code,
        )

    async with sessions() as session, session.begin():
        session.add(residential(dong_da))
        session.add(residential(other))  # same name, another commune: fine
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(residential(dong_da))
