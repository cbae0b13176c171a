"""Apply Alembic migrations programmatically (used by `canhgac run` and `canhgac db upgrade`)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Several processes may start at once on PostgreSQL: one migrates, the others wait.
_PG_MIGRATION_LOCK = 0x63616E68


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    cfg = _config(connection)
    before = _heads(connection)
    command.upgrade(cfg, revision)
    applied = ScriptDirectory.from_config(cfg).iterate_revisions(_heads(connection), before)
    for rev in reversed(list(applied)):
        log.info("applied migration %s: %s", rev.revision, " ".join((rev.doc or "").split()))


def _heads(connection: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection).get_current_heads()


def _pending(connection: Connection) -> list[str]:
    current = _heads(connection)
    script = ScriptDirectory.from_config(_config(connection))
    pending = []
    for rev in script.walk_revisions("base", "heads"):
        if rev.revision in current:
            break
        pending.append(rev.revision)
    return list(reversed(pending))


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def pending_revisions(engine: AsyncEngine) -> list[str]:
    """Revisions not yet applied, oldest first."""
    async with engine.connect() as conn:
        return await conn.run_sync(_pending)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the schema back to `revision` (used by migration tests)."""

    def _down(connection: Connection) -> None:
        command.downgrade(_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(_down)
