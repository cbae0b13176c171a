"""Program-wide settings kept in the database (data versions, switches)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class Setting(SQLModel, table=True):
    """A key/value pair."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=1024)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
