"""Questions the bot asked with a reply prompt and is waiting to have answered."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class Prompt(SQLModel, table=True):
    """A pending reply prompt; kept in the database so a restart does not forget it."""

    __tablename__ = "prompts"
    __table_args__ = (
        UniqueConstraint("chat_telegram_id", "message_id", name="uq_prompts_message"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=32)
    payload: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
