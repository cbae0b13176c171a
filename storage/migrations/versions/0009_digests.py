"""Digests: groups' digest settings, people who opted out, runs, frozen figures, what each
recipient gets, and the group administrators read for a week.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_group_settings",
        sa.Column("chat_id", sa.Integer(), sa.ForeignKey("chats.id"), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=True),
        sa.Column("post_in_group", sa.Boolean(), nullable=False),
        sa.Column("note_sent_at", UtcDateTime(), nullable=True),
        sa.Column("last_period_start", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "digest_optouts",
        sa.Column("telegram_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("key", name="uq_digest_runs_key"),
    )
    op.create_table(
        "digest_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("area_code", sa.String(16), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=False),
        sa.Column("period_end", UtcDateTime(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("area_code", "period_start", "period_end", name="uq_digest_snapshots"),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("digest_runs.id"), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.Integer(), sa.ForeignKey("chats.id"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=True),
        sa.Column("reply_to_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("run_id", "telegram_chat_id", "audience", name="uq_digests_recipient"),
    )
    op.create_table(
        "digest_admins",
        sa.Column("chat_id", sa.Integer(), sa.ForeignKey("chats.id"), primary_key=True),
        sa.Column("period_start", UtcDateTime(), primary_key=True),
        sa.Column("telegram_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    )
    op.create_index("ix_digest_admins_telegram_id", "digest_admins", ["telegram_id"])


def downgrade() -> None:
    op.drop_index("ix_digest_admins_telegram_id", table_name="digest_admins")
    op.drop_table("digest_admins")
    op.drop_table("digests")
    op.drop_table("digest_snapshots")
    op.drop_table("digest_runs")
    op.drop_table("digest_optouts")
    op.drop_table("digest_group_settings")
