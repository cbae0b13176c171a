"""Residents' tips as CSV (UTF-8 with a BOM, for spreadsheets) and as GeoJSON (RFC 7946).

What each role gets, decided here once:

- **public**: number, category, state, assessment, commune and province (codes and names), the
  times, and the position rounded to 3 decimals (about 100 m). No free text (what happened, a
  typed address, a venue), no photos, no name, not even whether the tip was named.
- **police**: the same with the position as stored (6 decimals), plus whether the tip is
  anonymous, the name a reporter chose to leave (named tips only), the text, the place as given
  and the number of photos (photos themselves stay in Telegram).

Neither ever carries a reporter's Telegram id or its keyed hash: the query does not read them.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any, Protocol, TextIO

from bot.areas import AdminUnits
from bot.i18n import Catalog
from bot.services.tip_types import tip_number
from storage.queries.exports import TipRow

PUBLIC_DECIMALS = 3  # about 110 m of latitude: the street, not the house
POLICE_DECIMALS = 6  # RFC 7946 §11.2: more digits only pretend to a precision no phone has
BOM = "\ufeff"  # spreadsheet programs read UTF-8 only with it
# A cell starting with one of these is a formula to a spreadsheet; residents' text is untrusted.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportRole(StrEnum):
    POLICE = "police"
    PUBLIC = "public"


@dataclass(frozen=True)
class TipRecord:
    """One tip as exported, already redacted for its role."""

    id: int
    number: str
    category: str
    state: str
    assessment: str
    commune_code: str
    commune: str
    province_code: str
    province: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    lat: float | None
    lon: float | None
    # police only (None in a public export)
    anonymous: bool | None = None
    reporter_name: str | None = None
    text: str | None = None
    place: str | None = None
    photos: int | None = None


PUBLIC_FIELDS = (
    "id",
    "number",
    "category",
    "state",
    "assessment",
    "commune_code",
    "commune",
    "province_code",
    "province",
    "created_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "lat",
    "lon",
)
POLICE_FIELDS = (*PUBLIC_FIELDS, "anonymous", "reporter_name", "text", "place", "photos")
TIME_FIELDS = frozenset({"created_at", "acknowledged_at", "resolved_at", "closed_at"})
LABELLED_FIELDS = ("category", "state", "assessment")  # codes shown by name in the CSV
FREE_TEXT_FIELDS = frozenset({"reporter_name", "text", "place"})


def role_fields(role: ExportRole) -> tuple[str, ...]:
    """The columns (CSV) or properties (GeoJSON, plus the geometry) of a role's export."""
    return POLICE_FIELDS if role is ExportRole.POLICE else PUBLIC_FIELDS


def tip_record(row: TipRow, role: ExportRole, units: AdminUnits) -> TipRecord:
    """The row as the role may see it: rounded position; private fields for the police only."""
    commune = units.commune(row.commune_code)
    province = units.province(row.province_code)
    digits = POLICE_DECIMALS if role is ExportRole.POLICE else PUBLIC_DECIMALS
    record = TipRecord(
        id=row.id,
        number=tip_number(row.id),
        category=row.category,
        state=row.state,
        assessment=row.assessment,
        commune_code=row.commune_code,
        commune=commune.name if commune else "",
        province_code=row.province_code,
        province=province.name if province else "",
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        lat=round(row.lat, digits) if row.lat is not None else None,
        lon=round(row.lon, digits) if row.lon is not None else None,
    )
    if role is not ExportRole.POLICE:
        return record
    named = row.anonymous is False
    return replace(
        record,
        anonymous=bool(row.anonymous),
        reporter_name=row.display_name if named else None,
        text=row.text,
        place=_place(row),
        photos=row.photos or 0,
    )


def _place(row: TipRow) -> str | None:
    """The place as the reporter gave it: a venue, or the address they typed."""
    venue = ", ".join(p for p in (row.venue_title, row.venue_address) if p)
    return venue or row.address or None


def iso(moment: datetime | None, tz: tzinfo) -> str | None:
    """ISO 8601 to the second with the zone's offset: 2026-11-26T15:00:00+07:00."""
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment is not None else None


def plain_values(record: TipRecord, names: tuple[str, ...], tz: tzinfo) -> dict[str, Any]:
    """The record's values by field name: codes as stored, times in ISO 8601."""
    values = {name: getattr(record, name) for name in names}
    for name in TIME_FIELDS & set(names):
        values[name] = iso(values[name], tz)
    return values


class ReportWriter(Protocol):
    """Writes one export, record by record, to a text stream."""

    def begin(self) -> None: ...

    def write(self, record: TipRecord) -> None: ...

    def end(self) -> None: ...


@dataclass(frozen=True)
class CsvLabels:
    """The header and the names of codes, in one language."""

    columns: dict[str, str]
    values: dict[tuple[str, str], str]
    yes: str
    no: str


def csv_labels(catalog: Catalog, language: str | None) -> CsvLabels:
    """Column and value names from the catalogue (`exports.column.*`, `exports.<field>.*`)."""
    messages = catalog.messages[catalog.language(language)]
    columns = {name: catalog.t(language, f"exports.column.{name}") for name in POLICE_FIELDS}
    prefixes = {f"exports.{field}.": field for field in LABELLED_FIELDS}
    values: dict[tuple[str, str], str] = {}
    for key in messages:
        for prefix, field in prefixes.items():
            if key.startswith(prefix):
                values[(field, key[len(prefix) :])] = catalog.t(language, key)
    return CsvLabels(
        columns, values, catalog.t(language, "exports.yes"), catalog.t(language, "exports.no")
    )


def defused(text: str) -> str:
    """A spreadsheet shows the cell as text instead of running it as a formula (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class CsvReport:
    """Tips as CSV: a BOM, a header row in the reader's language, one row per tip."""

    def __init__(self, out: TextIO, role: ExportRole, labels: CsvLabels, tz: tzinfo) -> None:
        self._out = out
        self._names = role_fields(role)
        self._labels = labels
        self._tz = tz
        self._writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180

    def begin(self) -> None:
        """The BOM and the header row."""
        self._out.write(BOM)
        self._writer.writerow([self._labels.columns[name] for name in self._names])

    def write(self, record: TipRecord) -> None:
        """One tip's row."""
        values = plain_values(record, self._names, self._tz)
        self._writer.writerow([self._cell(name, values[name]) for name in self._names])

    def end(self) -> None:
        self._out.flush()

    def _cell(self, name: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return self._labels.yes if value else self._labels.no
        if name in LABELLED_FIELDS:
            return self._labels.values.get((name, value), value)
        if name in FREE_TEXT_FIELDS:
            return defused(str(value))
        return str(value)


def feature(record: TipRecord, role: ExportRole, tz: tzinfo) -> dict[str, Any]:
    """A GeoJSON Feature: a Point at [lon, lat], or no geometry for a tip without a position."""
    names = tuple(n for n in role_fields(role) if n not in ("lat", "lon"))
    geometry = None
    if record.lat is not None and record.lon is not None:
        geometry = {"type": "Point", "coordinates": [record.lon, record.lat]}
    return {
        "type": "Feature",
        "id": record.id,
        "geometry": geometry,
        "properties": plain_values(record, names, tz),
    }


class GeoJsonReport:
    """Tips as one GeoJSON FeatureCollection, written feature by feature."""

    def __init__(self, out: TextIO, role: ExportRole, tz: tzinfo) -> None:
        self._out = out
        self._role = role
        self._tz = tz
        self._first = True

    def begin(self) -> None:
        self._out.write('{"type": "FeatureCollection", "features": [')

    def write(self, record: TipRecord) -> None:
        """One feature, after a comma unless it is the first."""
        text = json.dumps(feature(record, self._role, self._tz), ensure_ascii=False)
        self._out.write(("\n" if self._first else ",\n") + text)
        self._first = False

    def end(self) -> None:
        self._out.write("\n]}\n")
        self._out.flush()
