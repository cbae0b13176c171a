"""Tips: tips, photos, drafts, triage audit, relayed dialogue, blocks, duty groups; people's
names and usernames are no longer kept.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    _tips()
    op.create_table(
        "tip_media",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tip_id", sa.Integer(), sa.ForeignKey("tips.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(255), nullable=False),
        sa.UniqueConstraint("tip_id", "position", name="uq_tip_media_position"),
    )
    op.create_index("ix_tip_media_tip_id", "tip_media", ["tip_id"])
    op.create_table(
        "tip_drafts",
        sa.Column("person_telegram_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("token", sa.String(16), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "tip_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tip_id", sa.Integer(), sa.ForeignKey("tips.id"), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officers.id"), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_value", sa.String(16), nullable=True),
        sa.Column("to_value", sa.String(16), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_tip_events_tip_id", "tip_events", ["tip_id"])
    op.create_table(
        "tip_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tip_id", sa.Integer(), sa.ForeignKey("tips.id"), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officers.id"), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(255), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_tip_messages_tip_id", "tip_messages", ["tip_id"])
    op.create_table(
        "tip_blocks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender_hash", sa.String(64), nullable=False),
        sa.Column("area_code", sa.String(16), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officers.id"), nullable=False),
        sa.Column("tip_id", sa.Integer(), sa.ForeignKey("tips.id"), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("sender_hash", "area_code", name="uq_tip_blocks_area"),
    )
    op.create_index("ix_tip_blocks_sender_hash", "tip_blocks", ["sender_hash"])
    op.create_table(
        "duty_groups",
        sa.Column("commune_code", sa.String(16), primary_key=True),
        sa.Column("chat_id", sa.Integer(), sa.ForeignKey("chats.id"), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officers.id"), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    # Store no more of anyone than needed: a person is their Telegram id and language.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("first_name")
        batch.drop_column("username")


def _tips() -> None:
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draft_token", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("commune_code", sa.String(16), nullable=False),
        sa.Column("province_code", sa.String(8), nullable=False),
        sa.Column("area_source", sa.String(16), nullable=False),
        sa.Column("source_area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("venue_title", sa.String(255), nullable=True),
        sa.Column("venue_address", sa.String(255), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=True),
        sa.Column("reporter_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("reporter_hash", sa.String(64), nullable=True),
        sa.Column("reporter_language", sa.String(8), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("assessment", sa.String(16), nullable=False),
        sa.Column("valuable_told", sa.Boolean(), nullable=False),
        sa.Column("handler_officer_id", sa.Integer(), sa.ForeignKey("officers.id"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("escalated_at", UtcDateTime(), nullable=True),
        sa.Column("identity_erased_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("draft_token", name="uq_tips_draft_token"),
    )
    op.create_index("ix_tips_reporter_telegram_id", "tips", ["reporter_telegram_id"])
    op.create_index("ix_tips_reporter_hash", "tips", ["reporter_hash"])
    op.create_index("ix_tips_created_at", "tips", ["created_at"])
    op.create_index("ix_tips_commune_state", "tips", ["commune_code", "state"])
    op.create_index("ix_tips_province_state", "tips", ["province_code", "state"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username", sa.String(64), nullable=True))
        batch.add_column(sa.Column("first_name", sa.String(255), nullable=False, server_default=""))
    op.drop_table("duty_groups")
    op.drop_table("tip_blocks")
    op.drop_table("tip_messages")
    op.drop_table("tip_events")
    op.drop_table("tip_drafts")
    op.drop_table("tip_media")
    op.drop_table("tips")
