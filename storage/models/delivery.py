"""The delivery outbox: one row per (job, target chat), for the first send and later edits."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not yet delivered
    DELIVERED = "delivered"  # a copy exists (message_id set); edits may still be due
    FAILED = "failed"  # given up (forbidden, bad request, too many attempts)
    FILTERED = "filtered"  # a target deliberately not sent to (counted only)
    WITHDRAWN = "withdrawn"  # not yet sent when its job was called off: never sent


class Delivery(SQLModel, table=True):
    """A copy of a job (`kind`, `ref_id`) in one chat.

    Work is due while `next_attempt_at` is set and in the past: a first send when there is no
    `message_id`, else an edit because `content_version` > `sent_version`. A sender claims a row
    by writing its owner id and `lease_until`; an expired lease makes the row claimable again.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # With the chat last, the statistics find a commune's copies of an alert by seeking.
        Index("ix_deliveries_job", "kind", "ref_id", "chat_id"),
        Index("ix_deliveries_due", "next_attempt_at"),
        Index("ix_deliveries_telegram_chat_id", "telegram_chat_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ref_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_id: int | None = Field(default=None, foreign_key="chats.id")
    telegram_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    priority: int = 0
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    content_version: int = 1
    sent_version: int = 0
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    is_photo: bool = False
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class RateEvent(SQLModel, table=True):
    """One recent request in a rate-limit window shared by processes (PostgreSQL without Redis)."""

    __tablename__ = "delivery_rate_events"
    __table_args__ = (
        Index("ix_delivery_rate_events_key_at", "key", "at"),
        Index("ix_delivery_rate_events_key_granted", "key", "granted"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    granted: float  # when it was granted: seconds since the epoch, on the database clock
    at: float  # when it counts from: its grant, then its answer
