"""CAP 1.2 export: every message validates against the official OASIS schema
(tests/data/cap/CAP-v1.2.xsd), versions chain with `references`, drills are Exercise, the
circle appears only around an officer's pin, and the Atom feed carries the same alerts."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from bot.areas import AdminUnits
from bot.exports.cap import (
    ATOM_NS,
    CAP_NS,
    AtomFeed,
    CapBuilder,
    CapMessage,
    InvalidSender,
    area_of,
    document,
    messages,
)
from bot.i18n import load_catalog
from storage.queries.exports import VersionRow

SCHEMA = etree.XMLSchema(etree.parse(Path(__file__).parents[1] / "data/cap/CAP-v1.2.xsd"))
NS = {"cap": CAP_NS, "atom": ATOM_NS}
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SENDER = "canhgac@congan.example.vn"
SENT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
DONG_DA, HA_NOI = "00235", "01"
CAP_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"


def version(
    version: int = 1, kind: str = "original", at: timedelta = timedelta(), **alert: object
) -> VersionRow:
    """A stored version of alert #7 (a warning about a scam in Phường Đống Đa)."""
    base = VersionRow(
        alert_id=7,
        version=version,
        kind=kind,
        text=f"Cảnh giác cuộc gọi giả danh công an (bản {version}) & chuyển tiền <ngay>.",
        sent_at=SENT + at,
        issuer="Công an Phường Đống Đa",
        target_kind="commune",
        target_codes=json.dumps({"province": HA_NOI, "commune": DONG_DA, "residential": []}),
        target_label="Phường Đống Đa — Thành phố Hà Nội",
        severity="warning",
        category="scam",
        lat=None,
        lon=None,
        valid_until=SENT + timedelta(hours=24),
        exercise=False,
    )
    return replace(base, **alert)  # type: ignore[arg-type]


STORY = (
    version(1, "original"),
    version(2, "correction", timedelta(minutes=20)),
    version(3, "cancel", timedelta(hours=2)),
)


async def _rows(rows: Iterable[VersionRow]) -> AsyncIterator[VersionRow]:
    for row in rows:
        yield row


async def cap_messages(
    units: AdminUnits, rows: Iterable[VersionRow], since: datetime | None = None
) -> list[CapMessage]:
    return [m async for m in messages(_rows(rows), units, since)]


@pytest.fixture
def builder() -> CapBuilder:
    return CapBuilder(load_catalog(), SENDER, TZ)


def valid(element: etree._Element) -> etree._Element:
    """The element, parsed back from its document, once the schema accepts it."""
    parsed = etree.fromstring(document(element))
    assert SCHEMA.validate(parsed), SCHEMA.error_log
    return parsed


def field(alert: etree._Element, path: str) -> str:
    found = alert.find(path, NS)
    assert found is not None, path
    return found.text or ""


async def test_original_correction_and_end_validate_and_reference_each_other(
    units: AdminUnits, builder: CapBuilder
) -> None:
    alerts = [valid(builder.alert(m)) for m in await cap_messages(units, STORY)]

    assert [field(a, "cap:msgType") for a in alerts] == ["Alert", "Update", "Cancel"]
    ids = [field(a, "cap:identifier") for a in alerts]
    assert ids == ["canhgac-alert-7-v1", "canhgac-alert-7-v2", "canhgac-alert-7-v3"]
    sent = [field(a, "cap:sent") for a in alerts]
    assert sent == [
        "2026-11-26T08:00:00+07:00",
        "2026-11-26T08:20:00+07:00",
        "2026-11-26T10:00:00+07:00",
    ]
    assert alerts[0].find("cap:references", NS) is None
    assert field(alerts[1], "cap:references") == f"{SENDER},{ids[0]},{sent[0]}"
    assert field(alerts[2], "cap:references").split() == [
        f"{SENDER},{ids[0]},{sent[0]}",
        f"{SENDER},{ids[1]},{sent[1]}",
    ]
    assert "kết thúc" in field(alerts[2], "cap:note")
    for alert, row in zip(alerts, STORY, strict=True):
        assert field(alert, "cap:sender") == SENDER
        assert field(alert, "cap:status") == "Actual"
        assert field(alert, "cap:scope") == "Public"
        assert field(alert, "cap:info/cap:description") == row.text  # escaped by lxml, once
        assert field(alert, "cap:info/cap:language") == "vi-VN"


async def test_info_carries_the_alerts_facts(units: AdminUnits, builder: CapBuilder) -> None:
    (message,) = await cap_messages(units, STORY[:1])
    alert = valid(builder.alert(message))
    children = alert.find("cap:info", NS)
    assert children is not None
    info = {child.tag.split("}")[1]: child.text for child in children}
    assert info["category"] == "Security"  # CATEGORIES["scam"]
    assert info["event"] == "Lừa đảo"
    assert (info["severity"], info["urgency"], info["certainty"]) == (
        "Severe",
        "Expected",
        "Likely",
    )
    assert info["expires"] == "2026-11-27T08:00:00+07:00"
    assert info["senderName"] == "Công an Phường Đống Đa"
    assert info["headline"] == "Cảnh báo: Lừa đảo — Phường Đống Đa — Thành phố Hà Nội"
    assert field(alert, "cap:info/cap:area/cap:areaDesc") == "Phường Đống Đa — Thành phố Hà Nội"
    geocodes = alert.findall("cap:info/cap:area/cap:geocode", NS)
    assert [(field(g, "cap:valueName"), field(g, "cap:value")) for g in geocodes] == [
        ("VN-commune", DONG_DA)
    ]
    assert field(alert, "cap:info/cap:parameter/cap:value") == "7"


@pytest.mark.parametrize(
    ("exercise", "status"), [(False, "Actual"), (True, "Exercise")], ids=["real", "drill"]
)
async def test_a_drill_is_status_exercise(
    units: AdminUnits, builder: CapBuilder, exercise: bool, status: str
) -> None:
    (message,) = await cap_messages(units, [version(exercise=exercise)])
    alert = valid(builder.alert(message))
    assert field(alert, "cap:status") == status
    assert (alert.find("cap:note", NS) is not None) is exercise


@pytest.mark.parametrize(
    ("pin", "circles"),
    [((None, None), []), ((21.0181, 105.8292), ["21.0181,105.8292 1.0"])],
    ids=["no pin", "pin"],
)
async def test_a_circle_only_around_the_officers_pin(
    units: AdminUnits,
    builder: CapBuilder,
    pin: tuple[float | None, float | None],
    circles: list[str],
) -> None:
    (message,) = await cap_messages(units, [version(lat=pin[0], lon=pin[1])])
    alert = valid(builder.alert(message))
    assert [c.text for c in alert.findall("cap:info/cap:area/cap:circle", NS)] == circles
    assert alert.findall(".//cap:polygon", NS) == []  # the area data has centres, not borders


async def test_a_province_alert_has_a_geocode_per_commune(
    units: AdminUnits, builder: CapBuilder
) -> None:
    row = version(target_kind="province", target_label="Thành phố Hà Nội")
    (message,) = await cap_messages(units, [row])
    alert = valid(builder.alert(message))
    pairs = [
        (field(g, "cap:valueName"), field(g, "cap:value"))
        for g in alert.findall("cap:info/cap:area/cap:geocode", NS)
    ]
    communes = [c.code for c in units.communes_of(HA_NOI)]
    assert pairs == [("VN-province", HA_NOI)] + [("VN-commune", c) for c in communes]
    assert len(communes) > 100


def test_residential_target_keeps_its_label_and_commune_code(units: AdminUnits) -> None:
    label = "Tổ dân phố 5, Tổ dân phố 6 — Phường Đống Đa — Thành phố Hà Nội"
    codes = json.dumps({"province": HA_NOI, "commune": DONG_DA, "residential": [3, 4]})
    area = area_of(
        version(target_kind="residential", target_codes=codes, target_label=label), units
    )
    assert (area.description, area.geocodes, area.circle) == (
        label,
        (("VN-commune", DONG_DA),),
        None,
    )


async def test_a_national_alert_names_its_provinces(units: AdminUnits, builder: CapBuilder) -> None:
    country = version(
        target_kind="country", target_codes=json.dumps({"country": "VN"}), target_label="Toàn quốc"
    )
    (message,) = await cap_messages(units, [country])
    valid(builder.alert(message))
    assert area_of(country, units).geocodes == tuple(
        ("VN-province", p.code) for p in units.provinces
    )
    chosen = version(
        target_kind="provinces",
        target_codes=json.dumps({"provinces": [HA_NOI, "31"]}),
        target_label="Thành phố Hà Nội, Thành phố Hải Phòng",
    )
    assert area_of(chosen, units).geocodes == (("VN-province", HA_NOI), ("VN-province", "31"))


async def test_since_skips_older_versions_but_still_references_them(units: AdminUnits) -> None:
    found = await cap_messages(units, STORY, since=SENT + timedelta(minutes=10))
    assert [(m.version, [v for v, _ in m.earlier]) for m in found] == [(2, [1]), (3, [1, 2])]
    other = version(alert_id=8, at=timedelta(minutes=30))
    found = await cap_messages(units, [*STORY, other])
    assert [(m.alert_id, m.version, len(m.earlier)) for m in found][-1] == (8, 1, 0)


async def test_identifiers_are_stable_and_allowed(units: AdminUnits, builder: CapBuilder) -> None:
    first = await cap_messages(units, STORY)
    again = await cap_messages(units, STORY)
    assert [m.identifier for m in first] == [m.identifier for m in again]
    assert len({m.identifier for m in first}) == len(first)
    for message in first:
        assert not set(" ,<&") & set(message.identifier)  # CAP 1.2 §3.2.1


@pytest.mark.parametrize("sender", ["", "canh gac", "a,b", "x<y", "a&b"])
def test_a_sender_cap_forbids_is_refused(sender: str) -> None:
    with pytest.raises(InvalidSender):
        CapBuilder(load_catalog(), sender, TZ)


async def test_the_atom_feed_holds_every_version_as_valid_cap(
    units: AdminUnits, builder: CapBuilder
) -> None:
    out = io.BytesIO()
    count = await AtomFeed(out, builder, SENT + timedelta(hours=3), TZ).write(
        messages(_rows(STORY), units)
    )
    feed = etree.fromstring(out.getvalue())
    assert count == 3 and feed.tag == f"{{{ATOM_NS}}}feed"
    for required in ("atom:id", "atom:title", "atom:updated", "atom:author/atom:name"):
        assert feed.find(required, NS) is not None, required
    entries = feed.findall("atom:entry", NS)
    assert len(entries) == 3
    for entry in entries:
        for required in ("atom:id", "atom:title", "atom:updated"):
            assert (entry.find(required, NS).text or "").strip(), required  # type: ignore[union-attr]
        content = entry.find("atom:content", NS)
        assert content is not None and content.get("type") == "application/cap+xml"
        (alert,) = list(content)
        assert SCHEMA.validate(etree.fromstring(etree.tostring(alert))), SCHEMA.error_log
    assert len({e.find("atom:id", NS).text for e in entries}) == 3  # type: ignore[union-attr]


def test_times_have_an_offset_and_no_fraction(builder: CapBuilder) -> None:
    from bot.exports.cap import cap_time

    moment = datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=UTC)
    assert cap_time(moment, TZ) == "2026-11-26T08:02:03+07:00"
    assert cap_time(moment, UTC) == "2026-11-26T01:02:03+00:00"


async def test_control_characters_xml_cannot_carry_are_dropped(
    units: AdminUnits, builder: CapBuilder
) -> None:
    (message,) = await cap_messages(units, [version(text="Cảnh báo\x0b\x00 ngay\ttối nay")])
    alert = valid(builder.alert(message))
    assert field(alert, "cap:info/cap:description") == "Cảnh báo ngay\ttối nay"
