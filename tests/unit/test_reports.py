"""Tips as CSV and GeoJSON: what each role sees (table-driven), the rounding of public
positions, the BOM, spreadsheet formulas defused, and RFC 7946 GeoJSON with [lon, lat]."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.areas import AdminUnits
from bot.exports.reports import (
    BOM,
    POLICE_FIELDS,
    PUBLIC_FIELDS,
    CsvReport,
    ExportRole,
    GeoJsonReport,
    TipRecord,
    csv_labels,
    feature,
    tip_record,
)
from bot.i18n import load_catalog
from storage.queries.exports import TipRow
from tests.support.geojson import rfc7946_problems

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
NAME = "Chú Ba bán nước"
STORY = "Có người lạ đi xe máy không biển số, nhìn vào các nhà trong ngõ 12."
POLICE, PUBLIC = ExportRole.POLICE, ExportRole.PUBLIC


def row(**values: object) -> TipRow:
    """A tip of Phường Đống Đa as a police export reads it (the private fields filled)."""
    base = TipRow(
        id=12,
        category="suspicious",
        state="acknowledged",
        assessment="unassessed",
        commune_code="00235",
        province_code="01",
        created_at=AT,
        acknowledged_at=AT + timedelta(minutes=9),
        resolved_at=None,
        closed_at=None,
        lat=21.0181234,
        lon=105.8292987,
        anonymous=False,
        display_name=NAME,
        text=STORY,
        address=None,
        venue_title="Quán nước chè",
        venue_address="Ngõ 12 Tôn Đức Thắng",
        photos=2,
    )
    return replace(base, **values)  # type: ignore[arg-type]


def public_row(**values: object) -> TipRow:
    """What the public query reads: no private column at all."""
    private = dict.fromkeys(("anonymous", "display_name", "text", "address"), None)
    return row(**{**private, "venue_title": None, "venue_address": None, "photos": None, **values})


@pytest.mark.parametrize(
    ("role", "source", "name", "text", "anonymous", "position"),
    [
        (POLICE, row(), NAME, STORY, False, (21.018123, 105.829299)),
        (
            POLICE,
            row(anonymous=True, display_name=None),
            None,
            STORY,
            True,
            (21.018123, 105.829299),
        ),
        # An anonymous tip has no name even if a row carried one by mistake.
        (POLICE, row(anonymous=True), None, STORY, True, (21.018123, 105.829299)),
        (PUBLIC, public_row(), None, None, None, (21.018, 105.829)),
        # Even handed a full row, the public view drops every private field.
        (PUBLIC, row(), None, None, None, (21.018, 105.829)),
    ],
    ids=[
        "police named",
        "police anonymous",
        "police anonymous row with a name",
        "public",
        "public from a full row",
    ],
)
def test_each_role_sees_what_it_may(
    units: AdminUnits,
    role: ExportRole,
    source: TipRow,
    name: str | None,
    text: str | None,
    anonymous: bool | None,
    position: tuple[float, float],
) -> None:
    record = tip_record(source, role, units)
    assert (record.reporter_name, record.text, record.anonymous) == (name, text, anonymous)
    assert (record.lat, record.lon) == position
    assert (record.number, record.commune, record.province) == (
        "R-12",
        "Phường Đống Đa",
        "Thành phố Hà Nội",
    )
    if role is PUBLIC:
        assert (record.place, record.photos) == (None, None)
    else:
        assert (record.place, record.photos) == ("Quán nước chè, Ngõ 12 Tôn Đức Thắng", 2)


def written(role: ExportRole, records: list[TipRecord], kind: str, lang: str = "vi") -> str:
    out = io.StringIO(newline="")
    writer = (
        CsvReport(out, role, csv_labels(load_catalog(), lang), TZ)
        if kind == "csv"
        else GeoJsonReport(out, role, TZ)
    )
    writer.begin()
    for record in records:
        writer.write(record)
    writer.end()
    return out.getvalue()


@pytest.mark.parametrize("role", [POLICE, PUBLIC])
def test_csv_has_a_bom_a_header_in_the_language_and_parses(
    units: AdminUnits, role: ExportRole
) -> None:
    records = [
        tip_record(row(), role, units),
        tip_record(row(id=13, lat=None, lon=None), role, units),
    ]
    text = written(role, records, "csv")
    assert text.startswith(BOM) and text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(text.removeprefix(BOM), newline="")))
    assert len(table) == 2
    header = list(table[0])
    expected = POLICE_FIELDS if role is POLICE else PUBLIC_FIELDS
    assert len(header) == len(expected)
    assert header[:4] == ["Mã số", "Số tin", "Loại tin", "Tình trạng"]
    first = table[0]
    assert first["Số tin"] == "R-12" and first["Loại tin"] == "Đối tượng khả nghi"
    assert first["Tình trạng"] == "Đã tiếp nhận" and first["Mã xã/phường"] == "00235"
    assert first["Thời điểm gửi"] == "2026-11-26T08:00:00+07:00"
    assert first["Thời điểm xử lý xong"] == ""
    assert table[1]["Vĩ độ"] == table[1]["Kinh độ"] == ""
    if role is POLICE:
        assert first["Tên người báo tin"] == NAME and first["Nội dung"] == STORY
        assert first["Ẩn danh"] == "Không" and first["Số ảnh"] == "2"
    else:
        assert NAME not in text and STORY not in text and "Quán nước" not in text
        assert first["Vĩ độ"] == "21.018"


def test_csv_header_in_english(units: AdminUnits) -> None:
    text = written(PUBLIC, [tip_record(row(), PUBLIC, units)], "csv", "en")
    header, first = list(csv.reader(io.StringIO(text.removeprefix(BOM))))[:2]
    assert header[:3] == ["ID", "Number", "Category"]
    assert first[2] == "Suspicious person"


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+84 912", "'+84 912"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Bình thường", "Bình thường"),
    ],
)
def test_residents_text_never_becomes_a_spreadsheet_formula(
    units: AdminUnits, typed: str, cell: str
) -> None:
    record = tip_record(row(text=typed, display_name=typed), POLICE, units)
    (line,) = list(csv.DictReader(io.StringIO(written(POLICE, [record], "csv").removeprefix(BOM))))
    assert line["Nội dung"] == cell and line["Tên người báo tin"] == cell


@pytest.mark.parametrize("role", [POLICE, PUBLIC])
def test_geojson_is_an_rfc7946_feature_collection_in_lon_lat_order(
    units: AdminUnits, role: ExportRole
) -> None:
    records = [
        tip_record(row(), role, units),
        tip_record(row(id=13, lat=None, lon=None, anonymous=True, display_name=None), role, units),
    ]
    document = json.loads(written(role, records, "geojson"))
    assert rfc7946_problems(document) == []
    assert set(document) == {"type", "features"}
    located, unlocated = document["features"]
    lon, lat = located["geometry"]["coordinates"]
    assert (lon, lat) == (records[0].lon, records[0].lat)
    assert 102 < lon < 110 and 8 < lat < 24  # Việt Nam: [lon, lat], not [lat, lon]
    assert unlocated["geometry"] is None  # no position: a Feature without geometry
    assert located["id"] == 12 and located["properties"]["number"] == "R-12"
    assert located["properties"]["created_at"] == "2026-11-26T08:00:00+07:00"
    assert "lat" not in located["properties"] and "lon" not in located["properties"]
    assert unlocated["properties"].get("reporter_name") is None
    if role is PUBLIC:
        assert (lon, lat) == (105.829, 21.018)
        assert set(located["properties"]) == set(PUBLIC_FIELDS) - {"lat", "lon"}
    else:
        assert located["properties"]["reporter_name"] == NAME
        assert located["properties"]["text"] == STORY


def test_an_empty_export_is_still_valid(units: AdminUnits) -> None:
    document = json.loads(written(PUBLIC, [], "geojson"))
    assert document == {"type": "FeatureCollection", "features": []}
    text = written(PUBLIC, [], "csv")
    assert len(list(csv.reader(io.StringIO(text.removeprefix(BOM))))) == 1  # the header


def test_the_rfc7946_checker_finds_what_is_wrong() -> None:
    bad = {
        "type": "FeatureCollection",
        "crs": {"type": "name"},
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [185.0, 21.0]}},
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": ["1", 2]},
            },
        ],
    }
    problems = rfc7946_problems(bad)
    assert any("crs" in p for p in problems)
    assert any("features[0]: a Feature has" in p for p in problems)
    assert any("longitude 185.0" in p for p in problems)
    assert any("features[1]: coordinates must be numbers" in p for p in problems)


def test_public_features_carry_nothing_private(units: AdminUnits) -> None:
    properties = feature(tip_record(row(), PUBLIC, units), PUBLIC, TZ)["properties"]
    for private in ("anonymous", "reporter_name", "text", "place", "photos"):
        assert private not in properties
