"""A fresh database per benchmark run: a temporary SQLite file, or a new PostgreSQL database."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import URL, make_url


def describe(url: str) -> str:
    """The database kind for the report: "sqlite" or "postgresql"."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


@asynccontextmanager
async def fresh_database(server_url: str | None) -> AsyncIterator[str]:
    """Yield the URL of an empty database, removed afterwards.

    No `server_url`: a SQLite file in a temporary directory. A PostgreSQL URL: a database
    `bench_<random>` is created on that server and dropped at the end.
    """
    if server_url is None or not server_url.startswith("postgresql"):
        with tempfile.TemporaryDirectory(prefix="canhgac-bench-") as tmp:
            yield server_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    server = make_url(server_url)
    name = f"bench_{secrets.token_hex(4)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server: URL, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=server.host or "127.0.0.1",
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        database=server.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
