"""Weekly digests: groups' and people's preferences, each run, the figures it froze, what each
recipient gets, and the administrators read from Telegram for a week."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class DigestAudience(StrEnum):
    """Who one digest is for, and what it is."""

    ADMIN = "admin"  # a group administrator, privately: every group of theirs in this run
    OFFICER = "officer"  # an officer, privately: the jurisdiction
    GROUP = "group"  # posted in the group itself (small tip counts hidden)
    NOTE = "note"  # the group's one-time "open the bot to get the digest" note
    CHART = "chart"  # the chart after a digest's text, as a reply to it
    TABLE = "table"  # a province officer's per-commune CSV, after the chart


class DigestGroupSetting(SQLModel, table=True):
    """A group's digest choices (no row: the defaults); set by its admins in /caidat."""

    __tablename__ = "digest_group_settings"

    chat_id: int = Field(sa_column=Column(Integer, ForeignKey("chats.id"), primary_key=True))
    enabled: bool = True
    # The group's own weekly time (ISO weekday 1-7 and hour, TIMEZONE); None: DIGEST_SCHEDULE.
    weekday: int | None = None
    hour: int | None = None
    post_in_group: bool = False  # also post the digest (small tip counts hidden) in the group
    note_sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # "open the bot"
    last_period_start: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DigestOptOut(SQLModel, table=True):
    """A person who asked for no weekly digest (/tonghop tat)."""

    __tablename__ = "digest_optouts"

    telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DigestRun(SQLModel, table=True):
    """One sending of digests: a scheduled run (its job key) or one person's request."""

    __tablename__ = "digest_runs"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    trigger: str = Field(max_length=16)  # weekly | custom | request
    period_start: datetime = Field(sa_type=UtcDateTime)
    period_end: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DigestSnapshot(SQLModel, table=True):
    """The figures of one commune or province for one week, computed once (JSON)."""

    __tablename__ = "digest_snapshots"
    __table_args__ = (
        UniqueConstraint("area_code", "period_start", "period_end", name="uq_digest_snapshots"),
    )

    id: int | None = Field(default=None, primary_key=True)
    area_code: str = Field(max_length=16)
    period_start: datetime = Field(sa_type=UtcDateTime)
    period_end: datetime = Field(sa_type=UtcDateTime)
    figures: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Digest(SQLModel, table=True):
    """What one chat gets from one run; its outbox row is (kind, run id) in that chat.

    A chat's digests of a run go out in `position` order: the text (0) is enqueued with the
    run; each later one (its chart, a table) when the one before is delivered (`queued_at`).
    """

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("run_id", "telegram_chat_id", "audience", name="uq_digests_recipient"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="digest_runs.id")
    audience: str = Field(max_length=16)  # a DigestAudience
    telegram_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_id: int | None = Field(default=None, foreign_key="chats.id")  # groups
    body: str = Field(sa_column=Column(Text, nullable=False))  # snapshot ids, group rows
    position: int = 0
    queued_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The text's message, which the chart and table answer (set when they are queued).
    reply_to_message_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DigestAdmin(SQLModel, table=True):
    """An administrator of a group as Telegram listed them for one week's digest (read once)."""

    __tablename__ = "digest_admins"
    __table_args__ = (Index("ix_digest_admins_telegram_id", "telegram_id"),)

    chat_id: int = Field(sa_column=Column(Integer, ForeignKey("chats.id"), primary_key=True))
    period_start: datetime = Field(sa_type=UtcDateTime, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
