"""People who talked to the bot."""

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class User(SQLModel, table=True):
    """A Telegram user; `can_message` is true once they opened a private chat with the bot.

    Only the id and language are kept: no name or username (an officer's name is in `officers`).
    """

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    language_code: str | None = Field(default=None, max_length=16)
    can_message: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
