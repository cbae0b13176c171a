"""Delivery parts: progress of a copy's parts, uploaded files, weighted rate-limit requests.

A copy's progress through its parts (main message, album, pin), the cache of files uploaded
once, and requests that count more than one (albums) in the shared rate-limit window.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("parts_total", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("part_message_ids", sa.Text(), nullable=True))
    # Every copy sent so far was one message.
    op.execute("UPDATE deliveries SET parts_total = 1, parts_sent = 1 WHERE message_id IS NOT NULL")
    op.create_table(
        "delivery_files",
        sa.Column("cache_key", sa.String(160), primary_key=True),
        sa.Column("file_id", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS delivery_rate_acquire({_UNWEIGHTED})")
        op.execute(WEIGHTED_ACQUIRE_FUNCTION)


_UNWEIGHTED = "text, float8, int, int, float8, text, float8, int"
# The shared window of 0002 with a `weight`: an album of N photos counts N, as Telegram counts
# it. A request needs `weight` free slots in each window (one heavier than a whole window needs
# it empty) and records `weight` rows. Returns {global wait, chat wait, the ids of the rows
# recorded...} (no ids when not granted). It replaces the 8-argument function of 0002.
WEIGHTED_ACQUIRE_FUNCTION = """
CREATE OR REPLACE FUNCTION delivery_rate_acquire(
    g_key text, g_span float8, g_limit int, g_burst int, g_pace float8,
    c_key text, c_span float8, c_limit int, weight int
) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    now_s float8 := extract(epoch from clock_timestamp());
    gw float8 := 0;
    cw float8 := 0;
    ids float8[] := '{}';
    more float8[];
    t float8;
BEGIN
    PERFORM pg_advisory_xact_lock(1667720310);
    SELECT max(at) INTO t FROM delivery_rate_events WHERE key = 'pause';
    IF t IS NOT NULL AND t > now_s THEN gw := t - now_s; END IF;
    SELECT at INTO t FROM delivery_rate_events WHERE key = g_key AND at > now_s - g_span
        ORDER BY at DESC OFFSET g_limit - least(weight, g_limit) LIMIT 1;
    IF t IS NOT NULL THEN gw := greatest(gw, t + g_span - now_s, 0.001); END IF;
    IF g_burst > 0 THEN
        SELECT granted INTO t FROM delivery_rate_events
            WHERE key = g_key AND granted > now_s - g_span
            ORDER BY granted DESC OFFSET g_burst - 1 LIMIT 1;
        IF t IS NOT NULL THEN gw := greatest(gw, t + g_pace - now_s); END IF;
    END IF;
    IF c_key IS NOT NULL THEN
        SELECT at INTO t FROM delivery_rate_events WHERE key = c_key AND at > now_s - c_span
            ORDER BY at DESC OFFSET c_limit - least(weight, c_limit) LIMIT 1;
        IF t IS NOT NULL THEN cw := greatest(t + c_span - now_s, 0.001); END IF;
    END IF;
    IF gw <= 0 AND cw <= 0 THEN
        WITH added AS (
            INSERT INTO delivery_rate_events (key, granted, at)
            SELECT k, now_s, now_s FROM unnest(ARRAY[g_key, c_key]) AS k,
                generate_series(1, weight)
            WHERE k IS NOT NULL
            RETURNING id
        ) SELECT array_agg(id::float8) INTO more FROM added;
        ids := more;
        IF random() < 0.002 THEN
            DELETE FROM delivery_rate_events WHERE at < now_s - 120;
        END IF;
    END IF;
    RETURN ARRAY[gw, cw] || ids;
END
$$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS delivery_rate_acquire({_UNWEIGHTED}, int)")
        earlier = importlib.import_module("storage.migrations.versions.0002_delivery")
        op.execute(earlier.ACQUIRE_FUNCTION)
    op.drop_table("delivery_files")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("part_message_ids")
        batch.drop_column("parts_sent")
        batch.drop_column("parts_total")
