"""A group's subscription to one area."""

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class Subscription(SQLModel, table=True):
    """One area per group: a commune, or a residential area of it (`area_id`)."""

    __tablename__ = "subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(foreign_key="chats.id", unique=True)
    area_id: int = Field(foreign_key="areas.id", index=True)
    commune_id: int = Field(foreign_key="areas.id", index=True)
    province_code: str = Field(max_length=8, index=True)
    paused: bool = False
    # The least severe alert the group wants: "info" (all), "warning", or "urgent" only.
    min_severity: str = Field(default="info", max_length=16)
    subscribed_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
