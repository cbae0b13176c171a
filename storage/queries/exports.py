"""Rows for the exports (tips as CSV / GeoJSON, alert versions as CAP), streamed in id order.

Each function takes a session and never commits. A tip row never carries the reporter's
Telegram id or its keyed hash: those columns are not selected at all. The free text, the place
as typed and the display name are selected only when `private` is asked for (a police export),
and the name only for a named tip.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, null, select, true
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, AlertVersion, Tip, TipMedia

# Rows fetched from the database at a time while streaming (server-side cursor on PostgreSQL).
BATCH = 500


@dataclass(frozen=True)
class TipScope:
    """Which tips: those of one commune or a whole province (None: all), created since."""

    kind: str | None = None  # "commune" | "province" | None
    code: str | None = None
    since: datetime | None = None

    def condition(self) -> ColumnElement[bool]:
        clauses: list[ColumnElement[bool]] = []
        if self.kind == "province":
            clauses.append(col(Tip.province_code) == self.code)
        elif self.kind == "commune":
            clauses.append(col(Tip.commune_code) == self.code)
        if self.since is not None:
            clauses.append(col(Tip.created_at) >= self.since)
        return and_(true(), *clauses)


@dataclass(frozen=True)
class TipRow:
    """A tip as an export reads it; the private fields are None in a public export."""

    id: int
    category: str
    state: str
    assessment: str
    commune_code: str
    province_code: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    lat: float | None
    lon: float | None
    anonymous: bool | None = None
    display_name: str | None = None
    text: str | None = None
    address: str | None = None
    venue_title: str | None = None
    venue_address: str | None = None
    photos: int | None = None


_PUBLIC_COLUMNS: tuple[Any, ...] = (
    col(Tip.id),
    col(Tip.category),
    col(Tip.state),
    col(Tip.assessment),
    col(Tip.commune_code),
    col(Tip.province_code),
    col(Tip.created_at),
    col(Tip.acknowledged_at),
    col(Tip.resolved_at),
    col(Tip.closed_at),
    col(Tip.lat),
    col(Tip.lon),
)


def _private_columns() -> tuple[Any, ...]:
    photos = (
        select(func.count(col(TipMedia.id)))
        .where(col(TipMedia.tip_id) == col(Tip.id))
        .scalar_subquery()
    )
    # An anonymous tip has no name even if one were stored by mistake.
    name = case((col(Tip.anonymous), null()), else_=col(Tip.display_name))
    return (
        col(Tip.anonymous),
        name,
        col(Tip.text),
        col(Tip.address),
        col(Tip.venue_title),
        col(Tip.venue_address),
        photos,
    )


async def count_tips(session: AsyncSession, scope: TipScope) -> int:
    """How many tips the scope holds (for a progress bar)."""
    total = await session.scalar(select(func.count()).select_from(Tip).where(scope.condition()))
    return int(total or 0)


async def stream_tips(
    session: AsyncSession, scope: TipScope, *, private: bool
) -> AsyncGenerator[TipRow, None]:
    """The scope's tips in id order, fetched in batches; `private`: with text and name."""
    columns = _PUBLIC_COLUMNS + (_private_columns() if private else ())
    query = (
        select(*columns)
        .where(scope.condition())
        .order_by(col(Tip.id))
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(query)
    async for row in result:
        yield TipRow(*tuple(row))


@dataclass(frozen=True)
class VersionRow:
    """One stored version of an alert, with what every version of it shares."""

    alert_id: int
    version: int
    kind: str  # an AlertVersionKind
    text: str
    sent_at: datetime
    issuer: str
    target_kind: str
    target_codes: str  # JSON: {"province": code, "commune": code, "residential": [area ids]}
    target_label: str
    severity: str
    category: str
    lat: float | None
    lon: float | None
    valid_until: datetime
    exercise: bool


async def count_versions(session: AsyncSession, since: datetime | None) -> int:
    """How many alert versions were made since `since` (all when None)."""
    query = select(func.count()).select_from(AlertVersion)
    if since is not None:
        query = query.where(col(AlertVersion.created_at) >= since)
    return int(await session.scalar(query) or 0)


async def stream_versions(
    session: AsyncSession, since: datetime | None
) -> AsyncGenerator[VersionRow, None]:
    """Every version of each alert that has a version since `since`, by alert then version.

    Earlier versions come too (a correction's CAP message references them); the caller skips
    those made before `since`.
    """
    touched = select(col(AlertVersion.alert_id)).where(
        col(AlertVersion.created_at) >= since if since is not None else true()
    )
    query = (
        select(
            col(AlertVersion.alert_id),
            col(AlertVersion.version),
            col(AlertVersion.kind),
            col(AlertVersion.text),
            col(AlertVersion.created_at),
            col(Alert.issuer),
            col(Alert.target_kind),
            col(Alert.target_codes),
            col(Alert.target_label),
            col(Alert.severity),
            col(Alert.category),
            col(Alert.lat),
            col(Alert.lon),
            col(Alert.valid_until),
            col(Alert.exercise),
        )
        .join(Alert, col(Alert.id) == col(AlertVersion.alert_id))
        .where(col(AlertVersion.alert_id).in_(touched))
        .order_by(col(AlertVersion.alert_id), col(AlertVersion.version))
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(query)
    async for row in result:
        yield VersionRow(*tuple(row))
