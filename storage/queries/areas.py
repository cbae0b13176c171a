"""Queries about areas: communes by code, residential areas under them; each takes a session
and never commits."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, AreaKind


async def area_by_code(session: AsyncSession, code: str, kind: AreaKind) -> Area | None:
    """The province or commune row with this official code."""
    result = await session.exec(
        select(Area).where(col(Area.code) == code, col(Area.kind) == kind.value)
    )
    return result.first()


async def commune_area(session: AsyncSession, code: str) -> Area | None:
    """The commune row with this official code."""
    return await area_by_code(session, code, AreaKind.COMMUNE)


async def residential_areas(
    session: AsyncSession, commune_id: int | None, limit: int | None = None
) -> list[Area]:
    """Residential areas created under the commune, by name (case-insensitive)."""
    query = (
        select(Area)
        .where(col(Area.parent_id) == commune_id, col(Area.kind) == AreaKind.RESIDENTIAL.value)
        .order_by(func.lower(Area.name))
    )
    if limit is not None:
        query = query.limit(limit)
    return list(await session.exec(query))


async def residential_by_key(
    session: AsyncSession, commune_id: int | None, key: str
) -> Area | None:
    """The commune's residential area with this normalised name key."""
    result = await session.exec(
        select(Area).where(
            col(Area.parent_id) == commune_id,
            col(Area.kind) == AreaKind.RESIDENTIAL.value,
            col(Area.key) == key,
        )
    )
    return result.first()


async def communes_in(session: AsyncSession, province_code: str | None) -> dict[int, str]:
    """Commune row -> official code, for one province or everywhere."""
    query = select(Area.id, Area.code).where(col(Area.kind) == AreaKind.COMMUNE.value)
    if province_code is not None:
        query = query.where(col(Area.province_code) == province_code)
    return {area_id: code for area_id, code in await session.exec(query) if area_id and code}


async def provinces(session: AsyncSession, codes: list[str] | None = None) -> list[Area]:
    """The province rows with these official codes (None: every province), by code."""
    query = select(Area).where(col(Area.kind) == AreaKind.PROVINCE.value)
    if codes is not None:
        query = query.where(col(Area.code).in_(codes))
    return list(await session.exec(query.order_by(col(Area.code))))
