"""Residents' tips: the tip, its photos, the draft being written, the triage audit, the relayed
dialogue, blocked senders and the communes' duty groups.

The reporter's Telegram id lives in one column, `tips.reporter_telegram_id`, only to deliver
answers; it and the keyed hash beside it are erased some days after the tip is closed. No other
tip table holds it: drafts are keyed by it while being written and deleted on submit.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class TipState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REJECTED = "rejected"

    @property
    def open(self) -> bool:
        """Still waiting for officers (new or acknowledged)."""
        return self in (TipState.NEW, TipState.ACKNOWLEDGED)


class Assessment(StrEnum):
    UNASSESSED = "unassessed"
    VALUABLE = "valuable"
    NOT_VALUABLE = "not_valuable"


class Direction(StrEnum):
    """Which way a relayed message went."""

    TO_REPORTER = "to_reporter"
    FROM_REPORTER = "from_reporter"


class Tip(SQLModel, table=True):
    """A submitted tip; its public number is "R-<id>"."""

    __tablename__ = "tips"
    __table_args__ = (
        Index("ix_tips_commune_state", "commune_code", "state"),
        Index("ix_tips_province_state", "province_code", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draft_token: str = Field(max_length=16, unique=True)  # one tip per draft, however often sent
    category: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    commune_code: str = Field(max_length=16)
    province_code: str = Field(max_length=8)
    area_source: str = Field(max_length=16)  # location | group | chosen
    source_area_id: int | None = Field(default=None, foreign_key="areas.id")
    lat: float | None = None
    lon: float | None = None
    venue_title: str | None = Field(default=None, max_length=255)
    venue_address: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=300)
    anonymous: bool = True
    display_name: str | None = Field(default=None, max_length=64)  # named tips; officers only
    reporter_telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, index=True)
    )
    reporter_hash: str | None = Field(default=None, max_length=64, index=True)
    reporter_language: str | None = Field(default=None, max_length=8)
    state: str = Field(default=TipState.NEW.value, max_length=16)
    assessment: str = Field(default=Assessment.UNASSESSED.value, max_length=16)
    valuable_told: bool = False
    handler_officer_id: int | None = Field(default=None, foreign_key="officers.id")
    version: int = 1  # bumped by every triage change: concurrent presses cannot both apply
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    identity_erased_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class TipMedia(SQLModel, table=True):
    """A photo of a tip (a Telegram file_id), in the order sent."""

    __tablename__ = "tip_media"
    __table_args__ = (UniqueConstraint("tip_id", "position", name="uq_tip_media_position"),)

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tips.id", index=True)
    position: int
    file_id: str = Field(max_length=255)


class TipDraft(SQLModel, table=True):
    """The tip a person is writing; kept in the database so a restart loses nothing."""

    __tablename__ = "tip_drafts"

    person_telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    token: str = Field(max_length=16)
    step: str = Field(max_length=16)
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TipEvent(SQLModel, table=True):
    """The audit of a tip: who (an officer row, or nobody for the reporter and the clock) did
    what, from what to what, when."""

    __tablename__ = "tip_events"

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tips.id", index=True)
    officer_id: int | None = Field(default=None, foreign_key="officers.id")
    action: str = Field(max_length=32)
    from_value: str | None = Field(default=None, max_length=16)
    to_value: str | None = Field(default=None, max_length=16)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TipMessage(SQLModel, table=True):
    """One message of the officer↔reporter dialogue about a tip (the reporter is never named)."""

    __tablename__ = "tip_messages"

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tips.id", index=True)
    direction: str = Field(max_length=16)  # a Direction
    officer_id: int | None = Field(default=None, foreign_key="officers.id")
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    file_id: str | None = Field(default=None, max_length=255)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TipBlock(SQLModel, table=True):
    """A sender blocked within an officer's jurisdiction, known only by the keyed hash of their
    Telegram id (so the block outlives the erasure of the id)."""

    __tablename__ = "tip_blocks"
    __table_args__ = (UniqueConstraint("sender_hash", "area_code", name="uq_tip_blocks_area"),)

    id: int | None = Field(default=None, primary_key=True)
    sender_hash: str = Field(max_length=64, index=True)
    area_code: str = Field(max_length=16)  # the blocking officer's commune or province
    officer_id: int = Field(foreign_key="officers.id")
    tip_id: int | None = Field(default=None, foreign_key="tips.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DutyGroup(SQLModel, table=True):
    """The group of a commune's police on duty, which also receives its tips."""

    __tablename__ = "duty_groups"

    commune_code: str = Field(primary_key=True, max_length=16)
    chat_id: int = Field(foreign_key="chats.id")
    officer_id: int = Field(foreign_key="officers.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
