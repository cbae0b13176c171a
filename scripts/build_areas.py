"""Build bot/data/admin_units.json from the vietnamadminunits package's dataset.

The bot ships the generated file, so vietnamadminunits (which pulls shapely and geopy) is only
needed to regenerate it:

    pip install vietnamadminunits==1.0.4 && python scripts/build_areas.py

The output is deterministic: units sorted by code, keys sorted, UTF-8 without ASCII escapes,
one record per line so that a data update reads as a small diff. The package's MIT licence is
copied next to it as bot/data/LICENSE.vietnamadminunits.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from importlib import metadata, resources
from pathlib import Path
from typing import Any

PACKAGE = "vietnamadminunits"
SOURCE_URL = "https://github.com/tranngocminhhieu/vietnamadminunits"
REFORM_DATE = "2025-07-01"
DATA_DIR = Path(__file__).resolve().parent.parent / "bot" / "data"
OUTPUT = DATA_DIR / "admin_units.json"
LICENSE_OUT = DATA_DIR / "LICENSE.vietnamadminunits"

PROVINCE_KINDS = ("Thành phố", "Tỉnh")
COMMUNE_KINDS = ("Đặc khu", "Phường", "Xã")
QUERY = """
    SELECT provinceCode, province, provinceShort, provinceLat, provinceLon,
           wardCode, ward, wardShort, wardType, wardLat, wardLon
    FROM admin_units ORDER BY wardCode
"""


def kind_of(full_name: str, short_name: str, kinds: tuple[str, ...]) -> str:
    """Return the unit type taken from the full name's prefix ("Phường Đống Đa" -> "Phường")."""
    for kind in kinds:
        if full_name == f"{kind} {short_name}":
            return kind
    raise ValueError(f"unexpected unit name {full_name!r} (short name {short_name!r})")


def read_rows(db_path: Path) -> list[sqlite3.Row]:
    """Read the post-reform units from the package's SQLite dataset."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(QUERY))


def build(rows: list[sqlite3.Row], version: str) -> dict[str, Any]:
    """Turn dataset rows into the document written to admin_units.json."""
    provinces: dict[str, dict[str, Any]] = {}
    communes: list[dict[str, Any]] = []
    for row in rows:
        provinces[row["provinceCode"]] = {
            "code": row["provinceCode"],
            "name": row["province"],
            "short_name": row["provinceShort"],
            "kind": kind_of(row["province"], row["provinceShort"], PROVINCE_KINDS),
            "lat": row["provinceLat"],
            "lon": row["provinceLon"],
        }
        # The dataset's wardType disagrees with the full name for a few units; the name (as in
        # the National Assembly resolutions) wins.
        kind = kind_of(row["ward"], row["wardShort"], COMMUNE_KINDS)
        if kind != row["wardType"]:
            print(f"note: {row['wardCode']} {row['ward']}: wardType {row['wardType']!r} ignored")
        communes.append(
            {
                "code": row["wardCode"],
                "name": row["ward"],
                "short_name": row["wardShort"],
                "kind": kind,
                "province_code": row["provinceCode"],
                "lat": row["wardLat"],
                "lon": row["wardLon"],
            }
        )
    source = {
        "name": PACKAGE,
        "version": version,
        "url": SOURCE_URL,
        "licence": "MIT",
        "reform": REFORM_DATE,
    }
    return {
        "source": source,
        "provinces": sorted(provinces.values(), key=lambda p: p["code"]),
        "communes": sorted(communes, key=lambda c: c["code"]),
    }


def dump(doc: dict[str, Any]) -> str:
    """Serialise compactly, one unit per line, deterministic."""

    def enc(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    parts = [f'{{"source":{enc(doc["source"])}']
    for key in ("provinces", "communes"):
        body = ",\n".join(enc(item) for item in doc[key])
        parts.append(f'"{key}":[\n{body}\n]')
    return ",\n".join(parts) + "}\n"


def main() -> int:
    """Regenerate the data file and the licence copy."""
    package_dir = resources.files(PACKAGE)
    db_path = Path(str(package_dir.joinpath("data", "dataset.db")))
    version = metadata.version(PACKAGE)
    doc = build(read_rows(db_path), version)
    OUTPUT.write_text(dump(doc), encoding="utf-8")
    licence = next(
        (f for f in metadata.files(PACKAGE) or [] if f.name.upper().startswith("LICEN")), None
    )
    if licence is None:
        print("error: the package's LICENSE file was not found", file=sys.stderr)
        return 1
    LICENSE_OUT.write_text(licence.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(doc['provinces'])} provinces, {len(doc['communes'])} communes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
