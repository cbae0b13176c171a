"""National alerts (the ministry's officers, area VN) against real databases: the delivery rows
are written by one INSERT ... SELECT, filtered by each group's minimum severity, one per chat,
none outside the chosen provinces; a second confirmation is required."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.i18n import load_catalog
from bot.services.alert_types import Draft
from bot.services.alerts import AlertError, AlertService
from bot.services.chats import ChatRef, ChatService
from bot.services.digest_figures import StatsFigures
from bot.services.digest_types import DigestConfig
from bot.services.digests import DigestService, RequestStatus
from bot.services.officers import OfficerService, OfficerView
from bot.services.stats import PeriodName, Scope, StatisticsService
from bot.services.subscriptions import SubscriptionService
from bot.services.tip_types import TipConfig
from storage.db import SessionFactory
from storage.models import Alert, AlertTarget, Area, Delivery
from storage.queries import alerts as alert_queries
from storage.types import utcnow
from tests.support.services import SUPERADMIN

HA_NOI, HAI_PHONG = "01", "31"
DONG_DA = "00235"
MINISTRY, OTHER_MINISTRY, PROVINCE_OFFICER = 5_000_000_100, 5_000_000_101, 5_000_000_102


def hai_phong_commune(units: AdminUnits) -> str:
    return units.communes_of(HAI_PHONG)[0].code


async def seed_groups(sessions: SessionFactory, units: AdminUnits) -> dict[str, list[int]]:
    """3 groups in Hà Nội (one urgent-only, one English), 2 in Hải Phòng, and one group in Hà
    Nội the bot was removed from; their Telegram ids by province."""
    subscriptions = SubscriptionService(sessions, units)
    placed = {HA_NOI: [-4_100_000_001, -4_100_000_002, -4_100_000_003, -4_100_000_009]}
    placed[HAI_PHONG] = [-4_300_000_001, -4_300_000_002]
    plan = [(ChatRef(t, "group", f"Tổ {t}"), DONG_DA) for t in placed[HA_NOI]]
    plan += [(ChatRef(t, "group", f"Tổ {t}"), hai_phong_commune(units)) for t in placed[HAI_PHONG]]
    await subscriptions.subscribe_many(plan, 1)
    await subscriptions.set_min_severity(-4_100_000_001, "urgent")
    chats = ChatService(sessions, "vi")
    await chats.set_language(ChatRef(-4_100_000_002, "group", "Tổ en"), "en")
    await chats.bot_left(-4_100_000_009)
    return placed


async def national_draft(
    alerts: AlertService, officer: OfficerView, provinces: list[str] | None = None
) -> Draft:
    draft = await alerts.new_draft(officer)
    if provinces is None:
        draft.target_kind = "country"
    for code in provinces or ():
        alerts.toggle_province(officer, draft, code)
    draft.severity, draft.category, draft.text = "warning", "scam", "Cảnh giác lừa đảo."
    draft.validity_hours, draft.exercise = 24, False
    await alerts.save_draft(officer.telegram_id, draft)
    return draft


async def copies(sessions: SessionFactory, alert_id: int) -> dict[int, tuple[str, str | None]]:
    """Telegram chat id -> (status, language) of the alert's delivery rows (one per chat)."""
    async with sessions() as session:
        rows = (
            await session.exec(
                select(Delivery.telegram_chat_id, Delivery.status, Delivery.language).where(
                    col(Delivery.kind) == "alert", col(Delivery.ref_id) == alert_id
                )
            )
        ).all()
    found = {chat: (status, language) for chat, status, language in rows}
    assert len(found) == len(rows), "one row per chat"
    return found


async def test_whole_country_reaches_every_active_group_after_a_second_confirmation(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    placed = await seed_groups(sessions, small_units)
    officer = await officers.grant(SUPERADMIN, MINISTRY, "VN", "Đại tá A")
    draft = await national_draft(alerts, officer)
    assert draft.national

    _, audience = await alerts.preview(officer, draft, "vi")
    assert (audience.recipients, audience.filtered) == (4, 1)
    with pytest.raises(AlertError) as refused:
        await alerts.confirm(MINISTRY, draft.token)
    assert refused.value.key == "compose.reconfirm"
    assert await alerts.draft(MINISTRY) is not None  # nothing was written

    sent = await alerts.confirm(MINISTRY, draft.token, reconfirmed=True)
    assert (sent.recipients, sent.filtered) == (4, 1)
    rows = await copies(sessions, sent.alert_id)
    active = [t for t in placed[HA_NOI] if t != -4_100_000_009] + placed[HAI_PHONG]
    assert set(rows) == set(active)  # the group the bot left gets nothing
    assert rows[-4_100_000_001][0] == "filtered"
    assert rows[-4_100_000_002] == ("pending", "en")
    async with sessions() as session:
        alert = await session.get(Alert, sent.alert_id)
        assert alert is not None
        assert (alert.target_kind, alert.target_label, alert.issuer) == (
            "country",
            "Toàn quốc",
            "Bộ Công an",
        )
        assert alert.recipients == 4
        targets = await alert_queries.targets_of(session, sent.alert_id)
    assert sorted(t.province_code for t in targets) == [HA_NOI, HAI_PHONG]


async def test_chosen_provinces_reach_only_their_groups(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    placed = await seed_groups(sessions, small_units)
    officer = await officers.grant(SUPERADMIN, MINISTRY, "VN")
    draft = await national_draft(alerts, officer, [HAI_PHONG])
    assert not draft.national  # one province: one confirmation is enough
    assert await alerts.target_label(officer, draft) == small_units.province(HAI_PHONG).name  # type: ignore[union-attr]

    sent = await alerts.confirm(MINISTRY, draft.token)
    assert (sent.recipients, sent.filtered) == (2, 0)
    assert set(await copies(sessions, sent.alert_id)) == set(placed[HAI_PHONG])
    async with sessions() as session:
        targets = (
            await session.exec(
                select(Area.code)
                .join(AlertTarget, col(AlertTarget.area_id) == col(Area.id))
                .where(col(AlertTarget.alert_id) == sent.alert_id)
            )
        ).all()
    assert list(targets) == [HAI_PHONG]


async def test_two_provinces_need_the_second_confirmation(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    await seed_groups(sessions, small_units)
    officer = await officers.grant(SUPERADMIN, MINISTRY, "VN")
    draft = await national_draft(alerts, officer, [HAI_PHONG, HA_NOI])
    assert draft.province_codes == [HA_NOI, HAI_PHONG] and draft.national
    with pytest.raises(AlertError):
        await alerts.confirm(MINISTRY, draft.token)
    sent = await alerts.confirm(MINISTRY, draft.token, reconfirmed=True)
    assert (sent.recipients, sent.filtered) == (4, 1)


async def test_province_buttons_are_checked(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    ministry = await officers.grant(SUPERADMIN, MINISTRY, "VN")
    province = await officers.grant(SUPERADMIN, PROVINCE_OFFICER, HA_NOI)
    draft = await alerts.new_draft(ministry)
    for forged in ("99", "00235", "", "VN"):
        with pytest.raises(AlertError):
            alerts.toggle_province(ministry, draft, forged)
    assert draft.province_codes == []
    with pytest.raises(AlertError):
        alerts.toggle_province(province, draft, HAI_PHONG)
    alerts.toggle_province(ministry, draft, HA_NOI)
    alerts.toggle_province(ministry, draft, HA_NOI)  # pressed again: unselected
    assert draft.province_codes == []
    with pytest.raises(AlertError) as none_chosen:
        await alerts.target_label(ministry, draft)
    assert none_chosen.value.key == "compose.no_province"
    # A province officer's draft cannot be turned into a national one.
    forged_draft = await national_draft(alerts, province)
    with pytest.raises(AlertError):
        await alerts.confirm(PROVINCE_OFFICER, forged_draft.token, reconfirmed=True)


async def test_correcting_and_ending_a_national_alert(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    await seed_groups(sessions, small_units)
    officer = await officers.grant(SUPERADMIN, MINISTRY, "VN")
    await officers.grant(SUPERADMIN, OTHER_MINISTRY, "VN")
    await officers.grant(SUPERADMIN, PROVINCE_OFFICER, HA_NOI)
    draft = await national_draft(alerts, officer)
    sent = await alerts.confirm(MINISTRY, draft.token, reconfirmed=True)
    # Two copies already in their groups.
    async with sessions() as session, session.begin():
        delivered = (
            await session.exec(
                select(Delivery)
                .where(col(Delivery.ref_id) == sent.alert_id, col(Delivery.status) == "pending")
                .order_by(col(Delivery.id))
                .limit(2)
            )
        ).all()
        for n, row in enumerate(delivered):
            row.status, row.message_id, row.sent_version = "delivered", 100 + n, 1
            row.next_attempt_at = None
    with pytest.raises(AlertError) as refused:
        await alerts.status(PROVINCE_OFFICER, sent.alert_id)
    assert refused.value.key == "manage.not_yours"

    corrected = await alerts.correct(OTHER_MINISTRY, sent.alert_id, "Cảnh giác lừa đảo qua mạng.")
    assert corrected.notices == 2
    ended = await alerts.end(MINISTRY, sent.alert_id)
    assert ended.status == "cancelled"
    status = await alerts.status(MINISTRY, sent.alert_id)
    assert (status.stats.delivered, status.stats.withdrawn, status.stats.filtered) == (2, 2, 1)


async def test_figures_and_digests_of_the_ministry(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    """A national alert counts in the country's figures and in each province's; the ministry's
    officers get no weekly digest (it is made of provinces' and communes' figures)."""
    await seed_groups(sessions, small_units)
    officer = await officers.grant(SUPERADMIN, MINISTRY, "VN")
    draft = await national_draft(alerts, officer)
    await alerts.confirm(MINISTRY, draft.token, reconfirmed=True)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    stats = StatisticsService(sessions, small_units, TipConfig(), tz)
    period = stats.period(PeriodName.DAYS_7)
    country = await stats.figures(Scope.of_code("VN"), period)
    assert (country.scope.kind, country.area, country.current.alerts) == ("country", "Toàn quốc", 1)
    assert country.current.active_groups == 5
    province = await stats.figures(Scope.province(HAI_PHONG), period)
    assert province.current.alerts == 1
    digests = DigestService(
        sessions,
        small_units,
        load_catalog(),
        DigestConfig("0 8 * * 1", 24),
        tz,
        "vi",
        StatsFigures(stats, small_units, tz),
    )
    outcome = await digests.request_private(MINISTRY, utcnow())
    assert outcome.status is RequestStatus.NONE
