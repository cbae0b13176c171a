"""Scheduled jobs: work due once at a time, claimed under a lease by any process."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class JobStatus(StrEnum):
    PENDING = "pending"  # waiting for `due_at` (or for a retry hold to pass)
    RUNNING = "running"  # a runner holds it until `lease_until`; expired means it crashed
    DONE = "done"  # ran to the end
    SKIPPED = "skipped"  # found past its kind's grace window: never run late
    FAILED = "failed"  # raised on every attempt


class ScheduledJob(SQLModel, table=True):
    """One run of `kind` named by `key` (unique per kind), due at `due_at`.

    `due_at` never moves, so lateness is always measured from the planned time. A runner
    claims a row by writing `lease_owner` and `lease_until`; a retry gives the row back with
    no owner and `lease_until` set to when it may be tried again.
    """

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_scheduled_jobs_kind_key"),
        Index("ix_scheduled_jobs_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=128)
    due_at: datetime = Field(sa_type=UtcDateTime)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    status: str = Field(default=JobStatus.PENDING.value, max_length=16)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=255)
    done_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
