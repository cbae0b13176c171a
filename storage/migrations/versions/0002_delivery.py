"""Delivery outbox and the shared rate-limit window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.Integer(), sa.ForeignKey("chats.id"), nullable=True),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("content_version", sa.Integer(), nullable=False),
        sa.Column("sent_version", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("is_photo", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(255), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_deliveries_job", "deliveries", ["kind", "ref_id"])
    op.create_index("ix_deliveries_due", "deliveries", ["next_attempt_at"])
    op.create_index("ix_deliveries_telegram_chat_id", "deliveries", ["telegram_chat_id"])

    op.create_table(
        "delivery_rate_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("granted", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_delivery_rate_events_key_at", "delivery_rate_events", ["key", "at"])
    op.create_index(
        "ix_delivery_rate_events_key_granted", "delivery_rate_events", ["key", "granted"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ACQUIRE_FUNCTION)


# The rate-limit window shared by sender processes on PostgreSQL (without Redis): one call per
# request checks the global and the chat window under an advisory lock and records the request.
# A request counts from `at`: its grant, moved to its answer by the sender (see LocalWindows);
# pacing uses `granted`. Returns {seconds until the global window has room, seconds until the
# chat window has room, id of the global row, id of the chat row} (ids 0 when not granted).
ACQUIRE_FUNCTION = """
CREATE OR REPLACE FUNCTION delivery_rate_acquire(
    g_key text, g_span float8, g_limit int, g_burst int, g_pace float8,
    c_key text, c_span float8, c_limit int
) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    now_s float8 := extract(epoch from clock_timestamp());
    gw float8 := 0;
    cw float8 := 0;
    gid bigint := 0;
    cid bigint := 0;
    t float8;
BEGIN
    PERFORM pg_advisory_xact_lock(1667720310);
    SELECT max(at) INTO t FROM delivery_rate_events WHERE key = 'pause';
    IF t IS NOT NULL AND t > now_s THEN gw := t - now_s; END IF;
    SELECT at INTO t FROM delivery_rate_events WHERE key = g_key AND at > now_s - g_span
        ORDER BY at DESC OFFSET g_limit - 1 LIMIT 1;
    IF t IS NOT NULL THEN gw := greatest(gw, t + g_span - now_s, 0.001); END IF;
    IF g_burst > 0 THEN
        SELECT granted INTO t FROM delivery_rate_events
            WHERE key = g_key AND granted > now_s - g_span
            ORDER BY granted DESC OFFSET g_burst - 1 LIMIT 1;
        IF t IS NOT NULL THEN gw := greatest(gw, t + g_pace - now_s); END IF;
    END IF;
    IF c_key IS NOT NULL THEN
        SELECT at INTO t FROM delivery_rate_events WHERE key = c_key AND at > now_s - c_span
            ORDER BY at DESC OFFSET c_limit - 1 LIMIT 1;
        IF t IS NOT NULL THEN cw := greatest(t + c_span - now_s, 0.001); END IF;
    END IF;
    IF gw <= 0 AND cw <= 0 THEN
        INSERT INTO delivery_rate_events (key, granted, at) VALUES (g_key, now_s, now_s)
            RETURNING id INTO gid;
        IF c_key IS NOT NULL THEN
            INSERT INTO delivery_rate_events (key, granted, at) VALUES (c_key, now_s, now_s)
                RETURNING id INTO cid;
        END IF;
        IF random() < 0.002 THEN
            DELETE FROM delivery_rate_events WHERE at < now_s - 120;
        END IF;
    END IF;
    RETURN ARRAY[gw, cw, gid, cid];
END
$$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS delivery_rate_acquire")
    op.drop_index("ix_delivery_rate_events_key_granted", table_name="delivery_rate_events")
    op.drop_index("ix_delivery_rate_events_key_at", table_name="delivery_rate_events")
    op.drop_table("delivery_rate_events")
    op.drop_index("ix_deliveries_telegram_chat_id", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_index("ix_deliveries_job", table_name="deliveries")
    op.drop_table("deliveries")
