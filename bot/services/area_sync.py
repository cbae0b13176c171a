"""Keep the areas table in step with the packaged list of official administrative units."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits, normalize
from storage.db import SessionFactory
from storage.models import Area, AreaKind, Setting
from storage.types import utcnow

log = logging.getLogger(__name__)
VERSION_KEY = "admin_units_version"


def data_version(units: AdminUnits) -> str:
    """A fingerprint of the packaged list: source, version and counts."""
    source = units.source
    return json.dumps(
        [source.get("name"), source.get("version"), len(units.provinces), len(units.communes)]
    )


async def sync_admin_units(sessions: SessionFactory, units: AdminUnits) -> int:
    """Insert or update provinces and communes; returns how many rows changed (0 if current)."""
    version = data_version(units)
    async with sessions() as session, session.begin():
        marker = await session.get(Setting, VERSION_KEY)
        if marker is not None and marker.value == version:
            return 0
        rows = await session.exec(select(Area).where(col(Area.kind) != AreaKind.RESIDENTIAL.value))
        by_code = {a.code: a for a in rows}
        changed = 0
        for p in units.provinces:
            changed += _upsert(
                session, by_code, p.code, _values(AreaKind.PROVINCE, p, p.code, None)
            )
        await session.flush()
        parent = {p.code: by_code[p.code].id for p in units.provinces}
        for c in units.communes:
            values = _values(AreaKind.COMMUNE, c, c.province_code, parent[c.province_code])
            changed += _upsert(session, by_code, c.code, values)
        if marker is None:
            marker = Setting(key=VERSION_KEY, value=version)
            session.add(marker)
        marker.value, marker.updated_at = version, utcnow()
    log.info("administrative units synchronised: %d rows written", changed)
    return changed


def _values(kind: AreaKind, unit: Any, province_code: str, parent_id: int | None) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "name": unit.name,
        "key": normalize(unit.name),
        "province_code": province_code,
        "parent_id": parent_id,
        "lat": unit.lat,
        "lon": unit.lon,
    }


def _upsert(
    session: AsyncSession, by_code: dict[str | None, Area], code: str, values: dict[str, Any]
) -> int:
    row = by_code.get(code)
    if row is None:
        row = Area(code=code, **values)
        session.add(row)
        by_code[code] = row
        return 1
    if all(getattr(row, k) == v for k, v in values.items()):
        return 0
    for k, v in values.items():
        setattr(row, k, v)
    return 1
