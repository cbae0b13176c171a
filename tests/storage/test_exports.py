"""Exports against real databases (SQLite and PostgreSQL): which tips each scope streams, what
each role may read, the officer's CSV of their own jurisdiction (audited), and the CAP messages
of an alert corrected and ended through the alert service."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.exports.cap import CAP_NS, CapBuilder
from bot.exports.reports import BOM, CsvReport, ExportRole, GeoJsonReport, csv_labels
from bot.exports.service import ExportService
from bot.i18n import load_catalog
from bot.services.alerts import AlertService
from bot.services.officers import OfficerService
from storage.db import SessionFactory
from storage.models import AlertVersionKind, AuditEntry, Tip, TipMedia
from storage.queries.exports import BATCH, TipScope
from tests.support.geojson import rfc7946_problems

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SCHEMA = etree.XMLSchema(etree.parse(Path(__file__).parents[1] / "data/cap/CAP-v1.2.xsd"))
DONG_DA, BA_DINH, HA_NOI = "00235", "00004", "01"
HAI_DUONG, HAI_PHONG = "10525", "31"
SUPERADMIN, OFFICER, PROVINCE_OFFICER = 42, 5_000_000_100, 5_000_000_200
REPORTER = 7_123_456_789
START = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
NAME = "Chú Ba bán nước"


def story(tip_id: int) -> str:
    return f"Tin thứ {tip_id}: có người lạ nhìn vào các nhà trong ngõ."


async def add_tips(
    sessions: SessionFactory, plan: list[tuple[str, bool]], day: int = 0, start: datetime = START
) -> list[int]:
    """One tip per (commune, named) of the plan, a day apart from `start` + `day` days."""
    ids = []
    async with sessions() as session, session.begin():
        for index, (commune, named) in enumerate(plan):
            province = HA_NOI if commune in (DONG_DA, BA_DINH) else HAI_PHONG
            created = start + timedelta(days=day + index)
            tip = Tip(
                draft_token=f"t{day}-{index}",
                category="theft",
                text="…",
                commune_code=commune,
                province_code=province,
                area_source="location",
                lat=21.01812345,
                lon=105.82929876,
                address="Số 5 ngõ 12",
                anonymous=not named,
                display_name=NAME if named else None,
                reporter_telegram_id=REPORTER,
                reporter_hash="ab" * 32,
                created_at=created,
                updated_at=created,
            )
            session.add(tip)
            await session.flush()
            assert tip.id is not None
            tip.text = story(tip.id)
            session.add(TipMedia(tip_id=tip.id, position=0, file_id="AgAC-photo"))
            ids.append(tip.id)
    return ids


def exports(sessions: SessionFactory, units: AdminUnits, now: datetime = START) -> ExportService:
    return ExportService(sessions, units, load_catalog(), TZ, clock=lambda: now)


PLAN = [(DONG_DA, True), (DONG_DA, False), (BA_DINH, False), (HAI_DUONG, True)]


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (TipScope(), [0, 1, 2, 3]),
        (TipScope("commune", DONG_DA), [0, 1]),
        (TipScope("province", HA_NOI), [0, 1, 2]),
        (TipScope("province", HAI_PHONG), [3]),
        (TipScope(since=START + timedelta(days=2)), [2, 3]),
        (TipScope("province", HA_NOI, START + timedelta(days=1)), [1, 2]),
        (TipScope("commune", "99999"), []),
    ],
    ids=["all", "commune", "province", "other province", "since", "province since", "none"],
)
async def test_each_scope_streams_its_tips_in_order(
    sessions: SessionFactory, small_units: AdminUnits, scope: TipScope, expected: list[int]
) -> None:
    ids = await add_tips(sessions, PLAN)
    service = exports(sessions, small_units)
    found = [r.id async for r in service.tips(scope, ExportRole.PUBLIC)]
    assert found == [ids[i] for i in expected]
    assert await service.count_tips(scope) == len(expected)


@pytest.mark.parametrize("role", [ExportRole.POLICE, ExportRole.PUBLIC])
@pytest.mark.parametrize("kind", ["csv", "geojson"])
async def test_no_export_carries_a_reporters_id_and_names_only_named_tips_for_police(
    sessions: SessionFactory, small_units: AdminUnits, role: ExportRole, kind: str
) -> None:
    ids = await add_tips(sessions, PLAN)
    service = exports(sessions, small_units)
    out = io.StringIO(newline="")
    writer = (
        CsvReport(out, role, csv_labels(load_catalog(), "en"), TZ)
        if kind == "csv"
        else GeoJsonReport(out, role, TZ)
    )
    assert await service.write_tips(TipScope(), role, writer) == 4
    text = out.getvalue()
    assert str(REPORTER) not in text and "ab" * 32 not in text and "AgAC" not in text
    if kind == "csv":
        table = list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))
        names = [line.get("Reporter's name") for line in table]
        texts = [line.get("Text") for line in table]
    else:
        document = json.loads(text)
        assert rfc7946_problems(document) == []
        names = [f["properties"].get("reporter_name") for f in document["features"]]
        texts = [f["properties"].get("text") for f in document["features"]]
        coordinates = document["features"][0]["geometry"]["coordinates"]
        digits = 6 if role is ExportRole.POLICE else 3
        assert coordinates == [round(105.82929876, digits), round(21.01812345, digits)]
    if role is ExportRole.POLICE:
        assert names == [NAME, "", "", NAME] if kind == "csv" else [NAME, None, None, NAME]
        assert texts == [story(i) for i in ids]
    else:
        assert NAME not in text and "ngõ" not in text and "Số 5" not in text
        assert set(names) == {None} and set(texts) == {None}


async def test_streaming_reads_every_row_across_batches(
    sessions: SessionFactory, small_units: AdminUnits
) -> None:
    ids = await add_tips(sessions, [(DONG_DA, False)] * (BATCH * 2 + 7))
    found = [r.id async for r in exports(sessions, small_units).tips(TipScope(), ExportRole.POLICE)]
    assert found == ids


@pytest.mark.parametrize(
    ("area", "days", "expected"),
    [(DONG_DA, None, [0, 1, 4]), (HA_NOI, None, [0, 1, 2, 4]), (DONG_DA, 3, [4])],
    ids=["commune officer", "province officer", "last 3 days"],
)
async def test_an_officer_gets_the_csv_of_their_own_jurisdiction_only(
    sessions: SessionFactory,
    small_units: AdminUnits,
    area: str,
    days: int | None,
    expected: list[int],
) -> None:
    ids = await add_tips(sessions, PLAN)
    ids += await add_tips(sessions, [(DONG_DA, False)], day=10)
    officers = OfficerService(sessions, small_units, frozenset({SUPERADMIN}))
    officer = await officers.grant(SUPERADMIN, OFFICER, area, "Đại úy C")
    now = START + timedelta(days=12)
    exported = await exports(sessions, small_units, now).officer_csv(officer, days, "vi")

    assert exported.data.startswith(b"\xef\xbb\xbf") and not exported.too_big
    assert exported.filename == f"tin-bao-{area}-20261202.csv"
    table = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [int(line["Mã số"]) for line in table] == [ids[i] for i in expected]
    assert exported.rows == len(expected)
    assert all(line["Nội dung"] for line in table)  # a police export
    async with sessions() as session:
        audit = (
            await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "tips_exported"))
        ).one()
    assert (audit.actor_telegram_id, audit.target, audit.recipients) == (
        OFFICER,
        area,
        len(expected),
    )


async def drill_corrected_and_ended(sessions: SessionFactory, units: AdminUnits) -> int:
    """A fire drill with a pin in Phường Đống Đa, corrected once, then ended: its number."""
    officers = OfficerService(sessions, units, frozenset({SUPERADMIN}))
    officer = await officers.grant(SUPERADMIN, OFFICER, DONG_DA, "Đại úy C")
    alerts = AlertService(sessions, units, load_catalog(), TZ, officers)
    draft = await alerts.new_draft(officer)
    draft.target_kind, draft.commune_code = "commune", DONG_DA
    draft.severity, draft.category, draft.validity_hours = "urgent", "fire", 6
    draft.text, draft.exercise = "Diễn tập chữa cháy tại chợ, không hoảng sợ.", True
    draft.lat, draft.lon = 21.0181, 105.8292
    await alerts.save_draft(OFFICER, draft)
    await alerts.preview(officer, draft, "vi")
    number = (await alerts.confirm(OFFICER, draft.token)).alert_id
    await alerts.correct(OFFICER, number, "Diễn tập chữa cháy tại chợ lúc 9 giờ, không hoảng sợ.")
    await alerts.end(OFFICER, number)
    return number


async def test_an_alert_corrected_and_ended_exports_three_valid_cap_messages(
    sessions: SessionFactory, small_units: AdminUnits
) -> None:
    await drill_corrected_and_ended(sessions, small_units)
    service = exports(sessions, small_units)
    found = [m async for m in service.alert_messages(None)]
    assert [m.kind for m in found] == list(AlertVersionKind)
    assert await service.count_alert_versions(None) == 3
    builder = CapBuilder(load_catalog(), "canhgac@congan.example.vn", TZ)
    ns = {"cap": CAP_NS}
    for message in found:
        alert = builder.alert(message)
        assert SCHEMA.validate(alert), SCHEMA.error_log
        assert alert.findtext("cap:status", namespaces=ns) == "Exercise"
        assert alert.findtext("cap:info/cap:category", namespaces=ns) == "Fire"
        assert alert.findtext("cap:info/cap:severity", namespaces=ns) == "Extreme"
        circle = alert.findtext("cap:info/cap:area/cap:circle", namespaces=ns)
        assert circle == "21.0181,105.8292 1.0"
    references = builder.alert(found[2]).findtext("cap:references", namespaces=ns) or ""
    assert len(references.split()) == 2

    later = found[2].sent - timedelta(microseconds=1)
    assert [m.version for m in [m async for m in service.alert_messages(later)]] == [3]
