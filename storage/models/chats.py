"""Telegram chats the bot knows: groups it serves and private chats with people."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class Chat(SQLModel, table=True):
    """A chat; `telegram_id` changes when a group becomes a supergroup, the row does not."""

    __tablename__ = "chats"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    kind: str = Field(max_length=16)
    title: str | None = Field(default=None, max_length=255)
    language: str | None = Field(default=None, max_length=8)
    bot_member: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
