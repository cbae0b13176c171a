"""An alert's target areas as rows and its issuer's code: written at Confirm, backfilled by
migration 0008 from the JSON older alerts kept, and deciding who may manage an alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.services.alerts import AlertError, AlertService
from bot.services.chats import ChatRef
from bot.services.officers import OfficerService, OfficerView
from bot.services.subscriptions import SubscriptionService
from storage.db import SessionFactory
from storage.migrate import MIGRATIONS_DIR, downgrade, upgrade
from storage.models import Alert, AlertTarget, Area, AreaKind
from storage.queries.alerts import targets_of
from tests.support.services import SUPERADMIN

DONG_DA, BA_DINH, HA_NOI = "00235", "00004", "01"


async def send(
    alerts: AlertService, officer: OfficerView, kind: str, residential: list[int] | None = None
) -> int:
    draft = await alerts.new_draft(officer)
    if officer.jurisdiction.kind == "province" and kind != "province":
        alerts.choose_commune(officer, draft, DONG_DA)
    draft.target_kind, draft.severity, draft.category = kind, "warning", "scam"
    draft.residential_ids = residential or []
    draft.text, draft.validity_hours, draft.exercise = "Cảnh giác.", 24, False
    await alerts.save_draft(officer.telegram_id, draft)
    return (await alerts.confirm(officer.telegram_id, draft.token)).alert_id


async def rows_of(sessions: SessionFactory, alert_id: int) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        found = await session.exec(
            select(AlertTarget.area_kind, AlertTarget.area_code)
            .where(col(AlertTarget.alert_id) == alert_id)
            .order_by(col(AlertTarget.area_id))
        )
        return [(kind, code) for kind, code in found]


async def test_confirm_writes_target_rows_and_the_issuer_code(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    subscriptions = SubscriptionService(sessions, small_units)
    await subscriptions.subscribe(ChatRef(-4_200_000_000, "group", "Tổ 1"), DONG_DA, None, 1)
    to_5 = await subscriptions.create_residential(DONG_DA, "Tổ dân phố 5", 1)
    to_7 = await subscriptions.create_residential(DONG_DA, "Tổ dân phố 7", 1)
    await subscriptions.create_residential(DONG_DA, "Tổ dân phố 9", 1)  # not chosen
    commune = await officers.grant(SUPERADMIN, 5_000_000_100, DONG_DA)
    provincial = await officers.grant(SUPERADMIN, 5_000_000_101, HA_NOI)

    whole = await send(alerts, commune, "commune")
    some = await send(alerts, commune, "residential", [to_7.id, to_5.id, 999_999])
    province = await send(alerts, provincial, "province")
    chosen_by_province = await send(alerts, provincial, "commune")

    assert await rows_of(sessions, whole) == [("commune", DONG_DA)]
    assert await rows_of(sessions, some) == [("residential", None), ("residential", None)]
    assert await rows_of(sessions, province) == [("province", HA_NOI)]
    assert await rows_of(sessions, chosen_by_province) == [("commune", DONG_DA)]
    async with sessions() as session:
        issuers = dict((await session.exec(select(Alert.id, Alert.issuer_code))).all())
        targets = await targets_of(session, some)
    assert issuers == {whole: DONG_DA, some: DONG_DA, province: HA_NOI, chosen_by_province: HA_NOI}
    assert {t.area_id for t in targets} == {to_5.id, to_7.id}
    assert {(t.commune_code, t.province_code) for t in targets} == {(DONG_DA, HA_NOI)}


async def test_who_may_manage_follows_the_target_rows(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    subscriptions = SubscriptionService(sessions, small_units)
    to_5 = await subscriptions.create_residential(DONG_DA, "Tổ dân phố 5", 1)
    provincial = await officers.grant(SUPERADMIN, 5_000_000_101, HA_NOI)
    dong_da = await officers.grant(SUPERADMIN, 5_000_000_102, DONG_DA)
    ba_dinh = await officers.grant(SUPERADMIN, 5_000_000_103, BA_DINH)
    hai_phong = await officers.grant(SUPERADMIN, 5_000_000_104, "31")
    to_dong_da = await send(alerts, provincial, "commune")
    to_residential = await send(alerts, dong_da, "residential", [to_5.id])
    to_province = await send(alerts, provincial, "province")

    allowed = {
        (to_dong_da, dong_da),
        (to_residential, dong_da),
        (to_residential, provincial),
        (to_dong_da, provincial),
        (to_province, provincial),
    }
    for alert_id in (to_dong_da, to_residential, to_province):
        for actor in (provincial, dong_da, ba_dinh, hai_phong):
            if (alert_id, actor) in allowed:
                await alerts.status(actor.telegram_id, alert_id)
                continue
            with pytest.raises(AlertError) as refused:
                await alerts.status(actor.telegram_id, alert_id)
            assert refused.value.key == "manage.not_yours"


def _parent_of_0008() -> str:
    config = Config()
    config.set_main_option("script_location", str(Path(MIGRATIONS_DIR)))
    revision = ScriptDirectory.from_config(config).get_revision("0008")
    assert revision is not None and isinstance(revision.down_revision, str)
    return revision.down_revision


async def _old_alert(engine: AsyncEngine, officer: int, kind: str, codes: object) -> None:
    """An alert as the schema before 0008 stored it, target areas as JSON only."""
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).replace(tzinfo=None)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO alerts (draft_token, officer_telegram_id, issuer, target_kind, "
                "target_codes, target_label, severity, category, text, valid_until, exercise, "
                "status, version, recipients, created_at, updated_at) VALUES (:token, :officer, "
                "'Công an', :kind, :codes, 'Nơi', 'warning', 'scam', 'Cảnh giác.', :at, false, "
                "'active', 1, 0, :at, :at)"
            ),
            {
                "token": f"t{kind}{officer}",
                "officer": officer,
                "kind": kind,
                "codes": codes if isinstance(codes, str) else json.dumps(codes),
                "at": now,
            },
        )


async def test_migration_0008_backfills_targets_from_the_json(
    engine: AsyncEngine, sessions: SessionFactory, small_units: AdminUnits
) -> None:
    residential = await SubscriptionService(sessions, small_units).create_residential(
        DONG_DA, "Tổ dân phố 5", 1
    )
    await downgrade(engine, _parent_of_0008())
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO officers (telegram_id, area_code, active, created_at, updated_at) "
                "VALUES (7001, :code, true, :at, :at)"
            ),
            {"code": DONG_DA, "at": datetime(2026, 11, 1)},
        )
    await _old_alert(engine, 7001, "commune", {"province": HA_NOI, "commune": DONG_DA})
    await _old_alert(
        engine,
        7001,
        "residential",
        {"province": HA_NOI, "commune": DONG_DA, "residential": [residential.id, 999_999]},
    )
    await _old_alert(engine, 7002, "province", {"province": HA_NOI, "commune": None})
    await _old_alert(engine, 7003, "commune", "not json")
    await upgrade(engine)

    async with sessions() as session:
        alerts = (await session.exec(select(Alert).order_by(col(Alert.id)))).all()
        ids = [a.id or 0 for a in alerts]
        province_area = (
            await session.exec(
                select(Area.id).where(
                    col(Area.code) == HA_NOI, col(Area.kind) == AreaKind.PROVINCE.value
                )
            )
        ).one()
        province_targets = await targets_of(session, ids[2])
    assert [a.issuer_code for a in alerts] == [DONG_DA, DONG_DA, HA_NOI, None]
    assert await rows_of(sessions, ids[0]) == [("commune", DONG_DA)]
    assert await rows_of(sessions, ids[1]) == [("residential", None)]
    assert [t.area_id for t in province_targets] == [province_area]
    assert await rows_of(sessions, ids[3]) == []
