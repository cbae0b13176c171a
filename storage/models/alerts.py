"""Police alerts, the areas they were sent to, their versions, pending corrections, the
officer's draft while composing, and groups' acknowledgements."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class Alert(SQLModel, table=True):
    """A confirmed alert; `version` grows with each correction, copies are edited to match."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    draft_token: str = Field(max_length=32, unique=True)
    officer_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    issuer: str = Field(max_length=160)
    # The issuing unit's official code (the officer's commune or province); `issuer` is its
    # rendered name. The areas sent to are rows of `alert_targets`.
    issuer_code: str | None = Field(default=None, max_length=16)
    target_kind: str = Field(max_length=16)
    target_codes: str = Field(default="", max_length=1024)
    target_label: str = Field(max_length=512)
    severity: str = Field(max_length=16)
    category: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    photo_file_id: str | None = Field(default=None, max_length=255)
    lat: float | None = None
    lon: float | None = None
    valid_until: datetime = Field(sa_type=UtcDateTime)
    exercise: bool = False
    status: str = Field(default="active", max_length=16)
    version: int = 1
    recipients: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AlertTarget(SQLModel, table=True):
    """One area an alert was sent to: the province, the commune, or each residential area
    chosen (these have no official code)."""

    __tablename__ = "alert_targets"

    alert_id: int = Field(foreign_key="alerts.id", primary_key=True)
    area_id: int = Field(foreign_key="areas.id", primary_key=True, index=True)
    area_kind: str = Field(max_length=16)  # an AreaKind
    area_code: str | None = Field(default=None, max_length=16)


class AlertDraft(SQLModel, table=True):
    """The alert an officer is composing; kept in the database so a restart loses nothing."""

    __tablename__ = "alert_drafts"

    officer_telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    token: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AlertAck(SQLModel, table=True):
    """A group's "received": the first administrator's press, once per group."""

    __tablename__ = "alert_acks"
    __table_args__ = (UniqueConstraint("alert_id", "chat_id", name="uq_alert_acks_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    chat_id: int = Field(foreign_key="chats.id")
    user_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AlertVersionKind(StrEnum):
    """What a version is, as CAP 1.2 `msgType` names it."""

    ORIGINAL = "original"  # Alert
    CORRECTION = "correction"  # Update
    CANCEL = "cancel"  # Cancel


class AlertVersion(SQLModel, table=True):
    """One version of an alert's text: the original, each correction and the ending."""

    __tablename__ = "alert_versions"
    __table_args__ = (UniqueConstraint("alert_id", "version", name="uq_alert_versions_version"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id")
    version: int
    kind: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    officer_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CorrectionStatus(StrEnum):
    PENDING = "pending"  # previewed, waiting for Confirm or Cancel
    APPLIED = "applied"
    CANCELLED = "cancelled"


class AlertCorrection(SQLModel, table=True):
    """A correction the officer has previewed; kept here so a restart before Confirm loses
    nothing. `base_version` is the version it replaces: a newer one makes it stale."""

    __tablename__ = "alert_corrections"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id")
    token: str = Field(max_length=16)
    officer_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    base_version: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=CorrectionStatus.PENDING.value, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
