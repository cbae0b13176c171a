"""The alert service against real databases: one transaction per action, nothing sent twice."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, func, select

from bot.areas import AdminUnits
from bot.services.alert_types import Draft
from bot.services.alerts import AlertError, AlertService, check_text
from bot.services.chats import ChatRef
from bot.services.officers import OfficerService, OfficerView, UnknownJurisdiction
from bot.services.subscriptions import SubscriptionService
from storage.db import SessionFactory
from storage.models import Alert, AuditEntry, Delivery
from tests.support.services import SUPERADMIN

DONG_DA, BA_DINH = "00235", "00004"


async def groups(sessions: SessionFactory, units: AdminUnits, code: str, n: int, base: int) -> None:
    subscriptions = SubscriptionService(sessions, units)
    for i in range(n):
        await subscriptions.subscribe(ChatRef(base - i, "group", f"Tổ {i}"), code, None, 1)


async def draft_for(alerts: AlertService, officer: OfficerView, text: str = "Cảnh giác.") -> Draft:
    draft = await alerts.new_draft(officer)
    draft.target_kind, draft.severity, draft.category = "commune", "warning", "scam"
    draft.text, draft.validity_hours, draft.exercise = text, 24, False
    await alerts.save_draft(officer.telegram_id, draft)
    return draft


async def rows(sessions: SessionFactory, status: str | None = None) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Delivery)
        if status is not None:
            query = query.where(col(Delivery.status) == status)
        return int(await session.scalar(query) or 0)


async def test_confirm_writes_the_alert_and_one_row_per_group_once(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    await groups(sessions, small_units, DONG_DA, 6, -4_200_000_000)
    await groups(sessions, small_units, BA_DINH, 3, -4_300_000_000)
    await SubscriptionService(sessions, small_units).set_min_severity(-4_200_000_000, "urgent")
    officer = await officers.grant(SUPERADMIN, 5_000_000_100, DONG_DA, "Đại úy C")
    draft = await draft_for(alerts, officer)

    sent = await alerts.confirm(officer.telegram_id, draft.token)
    again = await alerts.confirm(officer.telegram_id, draft.token)
    assert (sent.recipients, sent.filtered, sent.already) == (5, 1, False)
    assert again.already and again.alert_id == sent.alert_id
    assert await rows(sessions) == 6 and await rows(sessions, "filtered") == 1
    assert await alerts.draft(officer.telegram_id) is None
    async with sessions() as session:
        audit = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    assert [a.action for a in audit] == ["officer_granted", "alert_sent"]
    assert audit[1].recipients == 5 and audit[1].actor_telegram_id == officer.telegram_id


async def test_ending_withdraws_unsent_copies_and_is_audited(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    await groups(sessions, small_units, DONG_DA, 4, -4_200_000_000)
    officer = await officers.grant(SUPERADMIN, 5_000_000_100, DONG_DA)
    sent = await alerts.confirm(officer.telegram_id, (await draft_for(alerts, officer)).token)
    corrected = await alerts.correct(officer.telegram_id, sent.alert_id, "Đã bắt được đối tượng.")
    assert corrected.version == 2
    ended = await alerts.end(officer.telegram_id, sent.alert_id)
    assert ended.status == "cancelled"
    assert await rows(sessions, "withdrawn") == 4  # nothing had been sent yet
    status = await alerts.status(officer.telegram_id, sent.alert_id)
    assert (status.stats.withdrawn, status.stats.pending) == (4, 0)
    with pytest.raises(AlertError) as again:
        await alerts.end(officer.telegram_id, sent.alert_id)
    assert again.value.key == "manage.already_ended"
    async with sessions() as session:
        actions = (await session.exec(select(AuditEntry.action))).all()
    assert {"alert_corrected", "alert_cancelled"} <= set(actions)


async def test_who_may_manage_an_alert(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    await groups(sessions, small_units, DONG_DA, 1, -4_200_000_000)
    issuer = await officers.grant(SUPERADMIN, 5_000_000_100, DONG_DA)
    colleague = await officers.grant(SUPERADMIN, 5_000_000_101, DONG_DA)
    provincial = await officers.grant(SUPERADMIN, 5_000_000_102, "01")
    elsewhere = await officers.grant(SUPERADMIN, 5_000_000_103, BA_DINH)
    sent = await alerts.confirm(issuer.telegram_id, (await draft_for(alerts, issuer)).token)
    for actor in (issuer, colleague, provincial):
        await alerts.status(actor.telegram_id, sent.alert_id)
    await alerts.status(SUPERADMIN, sent.alert_id)
    for stranger in (elsewhere.telegram_id, 5_000_000_999):
        with pytest.raises(AlertError) as refused:
            await alerts.correct(stranger, sent.alert_id, "Sửa trái phép.")
        assert refused.value.key == "manage.not_yours"
    with pytest.raises(AlertError) as unknown:
        await alerts.status(issuer.telegram_id, 999)
    assert unknown.value.key == "manage.unknown_alert"


async def test_jurisdiction_is_enforced(
    small_units: AdminUnits, officers: OfficerService, alerts: AlertService
) -> None:
    provincial = await officers.grant(SUPERADMIN, 5_000_000_102, "01")
    draft = await alerts.new_draft(provincial)
    with pytest.raises(AlertError):
        alerts.choose_commune(provincial, draft, "10888")  # Xã Cẩm Giang, Hải Phòng
    assert alerts.choose_commune(provincial, draft, DONG_DA).code == DONG_DA
    assert [c.code for c in alerts.communes_in(provincial, "cam giang")] == []
    with pytest.raises(UnknownJurisdiction):
        await officers.grant(SUPERADMIN, 5_000_000_104, "99999")
    assert await officers.revoke(SUPERADMIN, provincial.telegram_id)
    assert await officers.officer(provincial.telegram_id) is None
    with pytest.raises(AlertError) as revoked:
        await alerts.confirm(provincial.telegram_id, draft.token)
    assert revoked.value.key == "errors.not_officer"


@pytest.mark.parametrize(
    ("text", "photo", "problem"),
    [
        ("", False, "compose.text_empty"),
        ("   ", False, "compose.text_empty"),
        ("x" * 3500, False, None),
        ("x" * 3501, False, "compose.text_too_long"),
        ("x" * 550, True, None),
        ("x" * 551, True, "compose.text_too_long_photo"),
    ],
)
def test_text_limits(text: str, photo: bool, problem: str | None) -> None:
    error = check_text(text, photo)
    assert (error.key if error else None) == problem


async def test_two_simultaneous_confirms_send_one_alert(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> None:
    # Two presses of Confirm handled at once (two updates, two sessions): the unique draft
    # token must let exactly one of them write the alert and its rows.
    await groups(sessions, small_units, DONG_DA, 4, -4_200_000_000)
    officer = await officers.grant(SUPERADMIN, 5_000_000_100, DONG_DA)
    draft = await draft_for(alerts, officer)

    first, second = await asyncio.gather(
        alerts.confirm(officer.telegram_id, draft.token),
        alerts.confirm(officer.telegram_id, draft.token),
    )
    assert first.alert_id == second.alert_id
    assert sorted([first.already, second.already]) == [False, True]
    async with sessions() as session:
        alert_ids = (await session.exec(select(Alert.id))).all()
        chats = (await session.exec(select(Delivery.telegram_chat_id))).all()
        actions = (await session.exec(select(AuditEntry.action))).all()
    assert alert_ids == [first.alert_id] and actions.count("alert_sent") == 1
    assert sorted(chats) == sorted(-4_200_000_000 - i for i in range(4))
    assert await alerts.draft(officer.telegram_id) is None
