"""Police officers, their jurisdiction, and the audit log of what they did."""

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class Officer(SQLModel, table=True):
    """An officer; the jurisdiction is one commune or a whole province (official code)."""

    __tablename__ = "officers"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    area_code: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=128)
    granted_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AuditEntry(SQLModel, table=True):
    """One officer or superadmin action: who, what, when, on what, reaching how many."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    action: str = Field(max_length=32)
    target: str = Field(max_length=255)
    recipients: int | None = None
    detail: str = Field(default="", max_length=1024)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
