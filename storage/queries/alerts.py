"""Queries about alerts and the areas they were sent to; each takes a session and never
commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, case, func
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, AlertTarget, Area, AreaKind


@dataclass(frozen=True)
class TargetArea:
    """An area an alert was sent to, with the commune and province it lies in."""

    area_id: int
    kind: AreaKind
    code: str | None  # None for a residential area
    commune_code: str | None  # None for a whole province
    province_code: str


def add_targets(session: AsyncSession, alert_id: int, areas: Sequence[Area]) -> None:
    """Record the areas an alert is sent to (inside the caller's transaction)."""
    for area in areas:
        assert area.id is not None
        session.add(
            AlertTarget(
                alert_id=alert_id, area_id=area.id, area_kind=area.kind, area_code=area.code
            )
        )


async def targets_of(session: AsyncSession, alert_id: int) -> list[TargetArea]:
    """The areas the alert was sent to, by area row."""
    parent = aliased(Area)
    rows = await session.exec(
        select(Area, parent.code)
        .join(AlertTarget, col(AlertTarget.area_id) == col(Area.id))
        .outerjoin(parent, col(parent.id) == col(Area.parent_id))
        .where(col(AlertTarget.alert_id) == alert_id)
        .order_by(col(Area.id))
    )
    found = []
    for area, parent_code in rows:
        kind = AreaKind(area.kind)
        commune = {AreaKind.COMMUNE: area.code, AreaKind.RESIDENTIAL: parent_code}.get(kind)
        found.append(TargetArea(area.id or 0, kind, area.code, commune, area.province_code))
    return found


class AlertRow(NamedTuple):
    """An alert as the statistics list it."""

    id: int
    severity: str
    category: str
    created_at: datetime
    exercise: bool
    status: str


def _sent_in(ids: Select[Any], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(col(Alert.id).in_(ids), col(Alert.created_at) >= start, col(Alert.created_at) < end)


async def alerts_sent(
    session: AsyncSession, ids: Select[Any], start: datetime, end: datetime
) -> list[AlertRow]:
    """The alerts among `ids` sent in [start, end), oldest first."""
    result = await _run(
        session,
        core_select(
            col(Alert.id),
            col(Alert.severity),
            col(Alert.category),
            col(Alert.created_at),
            col(Alert.exercise),
            col(Alert.status),
        )
        .where(_sent_in(ids, start, end))
        .order_by(col(Alert.created_at), col(Alert.id)),
    )
    return [AlertRow(*row) for row in result]


async def alert_mix(
    session: AsyncSession, ids: Select[Any], start: datetime, end: datetime
) -> list[tuple[str, str, int]]:
    """(severity, category, alerts) of the alerts among `ids` sent in [start, end)."""
    result = await _run(
        session,
        core_select(col(Alert.severity), col(Alert.category), func.count())
        .where(_sent_in(ids, start, end))
        .group_by(col(Alert.severity), col(Alert.category)),
    )
    return [(severity, category, int(n)) for severity, category, n in result]


async def alerts_per_area(
    session: AsyncSession, province_code: str | None, start: datetime, end: datetime
) -> tuple[dict[str, int], dict[int, int]]:
    """Alerts sent in [start, end) to whole provinces (by province code) and to communes or
    residential areas of them (by commune row), in one province or everywhere."""
    where = [col(Alert.created_at) >= start, col(Alert.created_at) < end]
    if province_code is not None:
        where.append(col(Area.province_code) == province_code)
    commune = case(
        (col(Area.kind) == AreaKind.RESIDENTIAL.value, col(Area.parent_id)), else_=col(Area.id)
    )

    def per(key: Any, *more: ColumnElement[bool]) -> Any:
        return (
            core_select(key, func.count(func.distinct(AlertTarget.alert_id)))
            .join_from(AlertTarget, Area, col(Area.id) == col(AlertTarget.area_id))
            .join(Alert, col(Alert.id) == col(AlertTarget.alert_id))
            .where(*where, *more)
            .group_by(key)
        )

    province = col(Area.kind) == AreaKind.PROVINCE.value
    provinces = await _run(session, per(col(Area.code), province))
    communes = await _run(session, per(commune, ~province))
    return {c: int(n) for c, n in provinces}, {c: int(n) for c, n in communes}


async def _run(session: AsyncSession, statement: Any) -> Any:
    """Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)
