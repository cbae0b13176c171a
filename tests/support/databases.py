"""Real databases for tests: a fresh SQLite file, or a fresh schema on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import create_engine

PG_URL_ENV = "TEST_DATABASE_URL"


def postgres_url() -> str | None:
    """The PostgreSQL URL tests may use, from TEST_DATABASE_URL."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    return url or None


async def _reachable(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any failure means "not usable here"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()


async def require_postgres() -> str:
    """The PostgreSQL URL, or skip the test with the reason it cannot run."""
    url = postgres_url()
    if url is None:
        pytest.skip(
            f"PostgreSQL tests need {PG_URL_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    problem = await _reachable(url)
    if problem is not None:
        pytest.skip(f"PostgreSQL at {PG_URL_ENV} is unreachable: {problem}")
    return url


@asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """An engine whose connections use a new, empty schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, schema=schema)
    try:
        yield engine, schema
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def copy_sqlite(template: Path, target: Path) -> Path:
    """Copy a prepared SQLite database (the WAL is checkpointed when its engine is disposed)."""
    shutil.copyfile(template, target)
    return target
