"""Corrections, versions, the fixed preview expiry and operator logs, on both databases."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.delivery import outbox
from bot.services.alert_render import PREVIEW_ACK
from bot.services.alert_types import Draft
from bot.services.alerts import (
    ALERT_KIND,
    NOTICE_KIND,
    AlertError,
    AlertService,
    PreviewExpired,
)
from bot.services.chats import ChatRef
from bot.services.officers import OfficerService, OfficerView
from bot.services.subscriptions import SubscriptionService
from storage.db import SessionFactory
from storage.models import Alert, AlertCorrection, AlertVersion, AuditEntry, Delivery, Officer
from tests.support.services import SUPERADMIN, alert_service

DONG_DA = "00235"
ISSUER_ID, COLLEAGUE_ID = 5_000_000_100, 5_000_000_101
GROUP_BASE = -4_200_000_000
TEXT = "Cảnh giác cuộc gọi giả danh công an, số 0912 345 678."
FIXED = "Cảnh giác cuộc gọi giả danh công an, số đúng là 0987 654 321."


@pytest.fixture
def other_process(
    sessions: SessionFactory, small_units: AdminUnits, officers: OfficerService
) -> AlertService:
    """The service as another process (or this one after a restart) has it: only the database
    is shared."""
    return alert_service(sessions, small_units, officers)


async def composed(
    alerts: AlertService,
    officer: OfficerView,
    severity: str = "warning",
    category: str = "scam",
    hours: int = 24,
) -> Draft:
    """A draft of TEXT to the officer's commune, saved and ready to preview or confirm."""
    draft = await alerts.new_draft(officer)
    draft.target_kind, draft.severity, draft.category = "commune", severity, category
    draft.text, draft.validity_hours, draft.exercise = TEXT, hours, False
    await alerts.save_draft(officer.telegram_id, draft)
    return draft


Send = Callable[..., Awaitable[tuple[OfficerView, int]]]


@pytest.fixture
def send(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> Send:
    """`await send(groups=4)`: an officer of Đống Đa and the number of the alert they sent,
    previewed then confirmed, to `groups` groups."""

    async def sent_to(groups: int = 4) -> tuple[OfficerView, int]:
        plan = [(ChatRef(GROUP_BASE - i, "group", f"Tổ {i}"), DONG_DA) for i in range(groups)]
        await SubscriptionService(sessions, small_units).subscribe_many(plan, 1)
        officer = await officers.grant(SUPERADMIN, ISSUER_ID, DONG_DA, "Đại úy C")
        draft = await composed(alerts, officer)
        await alerts.preview(officer, draft, "vi")
        return officer, (await alerts.confirm(officer.telegram_id, draft.token)).alert_id

    return sent_to


async def deliver(sessions: SessionFactory, alert_id: int, count: int) -> list[Delivery]:
    """Record the first `count` copies as delivered (message ids 100, 101, ...)."""
    async with sessions() as session:
        copies = (
            await session.exec(
                select(Delivery)
                .where(col(Delivery.kind) == ALERT_KIND, col(Delivery.ref_id) == alert_id)
                .order_by(col(Delivery.id))
            )
        ).all()
    done = [outbox.Done(c.id or 0, 1, 100 + i, False) for i, c in enumerate(copies[:count])]
    async with sessions() as session, session.begin():
        await outbox.mark_done(session, done)
    return list(copies[:count])


async def table(sessions: SessionFactory, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async with sessions() as session:
        query = select(model).where(*where).order_by(model.id)  # type: ignore[attr-defined]
        return list((await session.exec(query)).all())


async def alert_row(sessions: SessionFactory, alert_id: int) -> Alert:
    async with sessions() as session:
        alert = await session.get(Alert, alert_id)
    assert alert is not None
    return alert


async def test_every_version_is_kept(
    sessions: SessionFactory, alerts: AlertService, send: Send
) -> None:
    officer, number = await send()
    await alerts.correct(officer.telegram_id, number, FIXED)
    await alerts.correct(SUPERADMIN, number, FIXED + " Gọi 113.")
    await alerts.end(officer.telegram_id, number)

    versions = await table(sessions, AlertVersion, col(AlertVersion.alert_id) == number)
    assert [(v.version, v.kind) for v in versions] == [
        (1, "original"),
        (2, "correction"),
        (3, "correction"),
        (4, "cancel"),
    ]
    assert [v.text for v in versions] == [TEXT, FIXED, FIXED + " Gọi 113.", FIXED + " Gọi 113."]
    by = [v.officer_telegram_id for v in versions]
    assert by == [officer.telegram_id, officer.telegram_id, SUPERADMIN, officer.telegram_id]
    assert (await alert_row(sessions, number)).version == 4


async def test_a_pending_correction_survives_a_restart_and_applies_once(
    sessions: SessionFactory, alerts: AlertService, other_process: AlertService, send: Send
) -> None:
    officer, number = await send()
    await deliver(sessions, number, 4)
    proposed = await alerts.propose_correction(officer.telegram_id, number, FIXED, "vi")
    assert "ĐÍNH CHÍNH" in proposed.outgoing.text and "0987 654 321" in proposed.outgoing.text
    assert proposed.outgoing.buttons == [[("✅ Đã nhận", PREVIEW_ACK)]]
    untouched = await alert_row(sessions, number)
    assert (untouched.text, untouched.version) == (TEXT, 1)  # nothing changes before Confirm

    args = (officer.telegram_id, proposed.correction_id, proposed.token)
    first = await other_process.confirm_correction(*args)  # after a restart
    again = await other_process.confirm_correction(*args)
    assert (first.version, first.notices, first.already) == (2, 4, False)
    assert again.already and again.alert_id == number
    corrected = await alert_row(sessions, number)
    assert (corrected.text, corrected.version) == (FIXED, 2)
    assert len(await table(sessions, Delivery, col(Delivery.kind) == NOTICE_KIND)) == 4
    audit = await table(sessions, AuditEntry, col(AuditEntry.action) == "alert_corrected")
    assert len(audit) == 1


async def test_two_presses_at_once_apply_the_correction_once(
    sessions: SessionFactory, alerts: AlertService, other_process: AlertService, send: Send
) -> None:
    officer, number = await send()
    await deliver(sessions, number, 2)
    proposed = await alerts.propose_correction(officer.telegram_id, number, FIXED, "vi")
    args = (officer.telegram_id, proposed.correction_id, proposed.token)
    results = await asyncio.gather(
        alerts.confirm_correction(*args), other_process.confirm_correction(*args)
    )
    assert sorted(r.already for r in results) == [False, True]
    assert (await alert_row(sessions, number)).version == 2
    assert len(await table(sessions, Delivery, col(Delivery.kind) == NOTICE_KIND)) == 2


async def test_cancel_changes_nothing(
    sessions: SessionFactory, alerts: AlertService, send: Send
) -> None:
    officer, number = await send()
    await deliver(sessions, number, 2)
    before = [(d.id, d.content_version, d.status) for d in await table(sessions, Delivery)]
    proposed = await alerts.propose_correction(officer.telegram_id, number, FIXED, "vi")
    args = (officer.telegram_id, proposed.correction_id, proposed.token)

    assert await alerts.cancel_correction(*args) == number
    assert await alerts.cancel_correction(*args) == number  # a second press: still nothing
    with pytest.raises(AlertError) as refused:
        await alerts.confirm_correction(*args)
    assert refused.value.key == "manage.correction_was_cancelled"
    alert = await alert_row(sessions, number)
    assert (alert.text, alert.version) == (TEXT, 1)
    after = [(d.id, d.content_version, d.status) for d in await table(sessions, Delivery)]
    assert after == before  # no edit requested, no notice queued
    assert len(await table(sessions, AlertVersion)) == 1


async def _other_correction_first(alerts: AlertService, officer: OfficerView, number: int) -> None:
    await alerts.correct(officer.telegram_id, number, "Một bản đính chính khác.")


async def _ended(alerts: AlertService, officer: OfficerView, number: int) -> None:
    await alerts.end(officer.telegram_id, number)


async def _nothing(alerts: AlertService, officer: OfficerView, number: int) -> None:
    return None


@pytest.mark.parametrize(
    ("meanwhile", "actor", "token", "problem"),
    [
        (_nothing, ISSUER_ID, "deadbeef", "manage.correction_expired"),  # forged token
        (_nothing, COLLEAGUE_ID, None, "manage.correction_expired"),  # not who proposed it
        (_nothing, SUPERADMIN, None, "manage.correction_expired"),
        (_other_correction_first, ISSUER_ID, None, "manage.correction_stale"),
        (_ended, ISSUER_ID, None, "manage.already_ended"),
    ],
)
async def test_confirm_refusals_change_nothing(
    sessions: SessionFactory,
    officers: OfficerService,
    alerts: AlertService,
    send: Send,
    meanwhile: object,
    actor: int,
    token: str | None,
    problem: str,
) -> None:
    officer, number = await send()
    await officers.grant(SUPERADMIN, COLLEAGUE_ID, DONG_DA)
    proposed = await alerts.propose_correction(officer.telegram_id, number, FIXED, "vi")
    await meanwhile(alerts, officer, number)  # type: ignore[operator]
    before = await alert_row(sessions, number)
    with pytest.raises(AlertError) as refused:
        await alerts.confirm_correction(actor, proposed.correction_id, token or proposed.token)
    assert refused.value.key == problem
    after = await alert_row(sessions, number)
    assert (after.text, after.version, after.status) == (before.text, before.version, before.status)
    assert FIXED not in [v.text for v in await table(sessions, AlertVersion)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "compose.text_empty"),
        ("x" * 3501, "compose.text_too_long"),
        (TEXT, "manage.correction_unchanged"),
    ],
)
async def test_a_bad_new_text_is_refused_before_any_preview(
    sessions: SessionFactory,
    alerts: AlertService,
    send: Send,
    text: str,
    problem: str,
) -> None:
    officer, number = await send()
    with pytest.raises(AlertError) as refused:
        await alerts.propose_correction(officer.telegram_id, number, text, "vi")
    assert refused.value.key == problem
    assert await table(sessions, AlertCorrection) == []


async def test_only_delivered_copies_get_a_notice_as_a_reply(
    sessions: SessionFactory, alerts: AlertService, send: Send
) -> None:
    officer, number = await send(5)
    delivered = await deliver(sessions, number, 2)
    start = await alerts.correction_start(officer.telegram_id, number)
    assert (start.text, start.limit) == (TEXT, 3500)

    done = await alerts.correct(officer.telegram_id, number, FIXED)
    assert done.notices == 2
    notices = await table(sessions, Delivery, col(Delivery.kind) == NOTICE_KIND)
    assert [n.ref_id for n in notices] == [d.id for d in delivered]
    assert [n.telegram_chat_id for n in notices] == [d.telegram_chat_id for d in delivered]
    assert all(n.status == "pending" for n in notices)
    copies = await table(sessions, Delivery, col(Delivery.kind) == ALERT_KIND)
    assert all(c.content_version == 2 for c in copies)  # delivered: edited; pending: corrected

    notice = await alerts.render_notice(notices[1].ref_id, "vi", notices[1].telegram_chat_id)
    assert notice.reply_to_message_id == 101
    assert (
        notice.text
        == f"⚠️ Cảnh báo #{number} vừa được đính chính. Xem lại nội dung ở tin nhắn trên."
    )
    english = await alerts.render_notice(notices[0].ref_id, "en", notices[0].telegram_chat_id)
    assert english.reply_to_message_id == 100 and "has just been corrected" in english.text


async def _draft(alerts: AlertService, officer: OfficerView) -> Draft:
    draft = await alerts.draft(officer.telegram_id)
    assert draft is not None
    return draft


async def age_preview(alerts: AlertService, officer: OfficerView, minutes: int) -> datetime:
    """Pretend the last preview was made `minutes` ago; the expiry it showed."""
    draft = await _draft(alerts, officer)
    assert draft.previewed_at is not None and draft.valid_until is not None
    shift = timedelta(minutes=minutes)
    draft.previewed_at = (datetime.fromisoformat(draft.previewed_at) - shift).isoformat()
    shown = datetime.fromisoformat(draft.valid_until) - shift
    draft.valid_until = shown.isoformat()
    await alerts.save_draft(officer.telegram_id, draft)
    return shown


@pytest.mark.parametrize(("minutes", "sent"), [(0, True), (5, True), (9, True), (11, False)])
async def test_confirm_sends_the_expiry_the_preview_showed(
    sessions: SessionFactory,
    officers: OfficerService,
    alerts: AlertService,
    minutes: int,
    sent: bool,
) -> None:
    officer = await officers.grant(SUPERADMIN, ISSUER_ID, DONG_DA)
    draft = await composed(alerts, officer, "info", "other", hours=6)
    await alerts.preview(officer, draft, "vi")
    shown = await age_preview(alerts, officer, minutes)
    if not sent:
        with pytest.raises(PreviewExpired):
            await alerts.confirm(officer.telegram_id, draft.token)
        assert await table(sessions, Alert) == []  # nothing sent; the draft waits
        refreshed = await _draft(alerts, officer)
        await alerts.preview(officer, refreshed, "vi")
        shown = datetime.fromisoformat((await _draft(alerts, officer)).valid_until or "")
    result = await alerts.confirm(officer.telegram_id, draft.token)
    assert (await alert_row(sessions, result.alert_id)).valid_until == shown


async def test_operator_logs_name_rows_only(
    sessions: SessionFactory,
    small_units: AdminUnits,
    alerts: AlertService,
    send: Send,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.services.alerts")
    officer, number = await send(3)
    await SubscriptionService(sessions, small_units).set_min_severity(GROUP_BASE, "urgent")
    draft = await composed(alerts, officer)
    second = await alerts.confirm(officer.telegram_id, draft.token)
    await alerts.correct(officer.telegram_id, number, FIXED)
    await alerts.end(SUPERADMIN, number)

    rows = await table(sessions, Officer, col(Officer.telegram_id) == officer.telegram_id)
    row = rows[0].id
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.services.alerts"]
    assert lines == [
        f"alert #{number} confirmed for 3 groups (0 filtered) by officer row #{row}",
        f"alert #{second.alert_id} confirmed for 2 groups (1 filtered) by officer row #{row}",
        f"alert #{number} corrected (version 2) by officer row #{row}",
        f"alert #{number} ended by a superadmin",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "bot.services.alerts")
    for secret in (str(ISSUER_ID), str(SUPERADMIN), "Đại úy", "0987", "Cảnh giác"):
        assert not any(secret in line for line in lines)
