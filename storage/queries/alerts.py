"""Queries about alerts and the areas they were sent to; each takes a session and never
commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AlertTarget, Area, AreaKind


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
