"""Migrations 0002 and 0007 create exactly the tables the models describe, on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.migrate import downgrade, upgrade
from tests.delivery.conftest import Db

OURS = {"deliveries", "delivery_rate_events", "delivery_files"}


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, SQLModel.metadata)


def _touches_ours(change: Any) -> bool:
    # Other migrations are checked by their owners' tests; this one answers for its tables.
    return any(name in repr(change) for name in OURS)


async def test_metadata_matches_the_database_after_upgrade(db: Db) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert [d for d in diff if _touches_ours(d)] == []


async def _has_function(db: Db) -> bool:
    if db.schema is None:
        return False
    async with db.engine.connect() as conn:
        found = await conn.execute(text("SELECT to_regproc('delivery_rate_acquire')"))
        return found.scalar() is not None


async def test_downgrade_removes_the_tables_and_upgrade_restores_them(db: Db) -> None:
    postgres = db.schema is not None
    assert await _has_function(db) == postgres
    await downgrade(db.engine, "0001")
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert not OURS & names
    assert not await _has_function(db)
    await upgrade(db.engine)
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert names >= OURS
    assert await _has_function(db) == postgres
