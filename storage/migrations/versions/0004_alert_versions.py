"""Alert versions (original, corrections, ending) and corrections waiting for Confirm.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("officer_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("alert_id", "version", name="uq_alert_versions_version"),
    )
    op.create_table(
        "alert_corrections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("token", sa.String(16), nullable=False),
        sa.Column("officer_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
    )
    # Alerts confirmed before this revision: their current text becomes their current version
    # (earlier texts were not kept), so every alert has a history that later versions extend.
    op.execute(
        "INSERT INTO alert_versions (alert_id, version, kind, text, officer_telegram_id, "
        "created_at) SELECT id, version, CASE WHEN status = 'cancelled' THEN 'cancel' "
        "WHEN version > 1 THEN 'correction' ELSE 'original' END, text, officer_telegram_id, "
        "updated_at FROM alerts"
    )


def downgrade() -> None:
    op.drop_table("alert_corrections")
    op.drop_table("alert_versions")
