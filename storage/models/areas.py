"""Areas: provinces and communes from the official list, residential areas made by admins."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, text
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime, utcnow


class AreaKind(StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"
    RESIDENTIAL = "residential"


class Area(SQLModel, table=True):
    """One administrative or residential unit; residential areas hang under a commune."""

    __tablename__ = "areas"
    __table_args__ = (
        # A residential area's name is unique within its commune (by normalised key).
        Index(
            "uq_areas_residential_key",
            "parent_id",
            "key",
            unique=True,
            sqlite_where=text("kind = 'residential'"),
            postgresql_where=text("kind = 'residential'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)
    code: str | None = Field(default=None, max_length=16, unique=True)
    name: str = Field(max_length=128)
    key: str = Field(max_length=128)
    parent_id: int | None = Field(default=None, foreign_key="areas.id", index=True)
    province_code: str = Field(max_length=8, index=True)
    lat: float | None = None
    lon: float | None = None
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
