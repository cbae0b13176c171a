"""Groups' "Đã nhận" against real databases: counted once, only where the alert arrived, and
shown on that group's copy alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from bot.areas import AdminUnits
from bot.delivery import outbox
from bot.services.alert_copies import CopyLookup
from bot.services.alerts import ALERT_KIND, AlertError, AlertService, content_of
from bot.services.chats import ChatRef
from bot.services.officers import OfficerService, OfficerView
from bot.services.subscriptions import SubscriptionService
from storage.db import SessionFactory
from storage.models import Alert, AlertAck, Chat, Delivery
from storage.queries.deliveries import AckBy, ack_figures
from tests.support.services import SUPERADMIN, TZ

DONG_DA, BA_DINH = "00235", "00004"
# Groups of Đống Đa: A and B got their copy, C's is still waiting; D is a group of Ba Đình.
A, B, C, D = -4_200_000_000, -4_200_000_001, -4_200_000_002, -4_300_000_000
FOOTER = "✅ Đã nhận lúc"


async def subscribe(sessions: SessionFactory, units: AdminUnits, code: str, *chats: int) -> None:
    for chat in chats:
        await SubscriptionService(sessions, units).subscribe(
            ChatRef(chat, "group", f"Tổ {chat}"), code, None, 1
        )


async def send(alerts: AlertService, officer: OfficerView, text: str = "Cảnh giác.") -> int:
    draft = await alerts.new_draft(officer)
    draft.target_kind, draft.severity, draft.category = "commune", "warning", "scam"
    draft.text, draft.validity_hours, draft.exercise = text, 24, False
    await alerts.save_draft(officer.telegram_id, draft)
    return (await alerts.confirm(officer.telegram_id, draft.token)).alert_id


async def deliver(sessions: SessionFactory, alert_id: int, *chats: int) -> None:
    """What the engine records after sending the copies to `chats`."""
    async with sessions() as session, session.begin():
        claimed = await outbox.claim(session, "test", 1000, 60)
        done = [
            outbox.Done(c.id, c.content_version, 100 + i, False)
            for i, c in enumerate(claimed)
            if c.ref_id == alert_id and c.telegram_chat_id in chats
        ]
        await outbox.mark_done(session, done)
        await outbox.release(session, [c.id for c in claimed])


async def versions(sessions: SessionFactory, alert_id: int) -> dict[int, tuple[int, bool]]:
    """Telegram chat id -> (content version, due) of each copy."""
    async with sessions() as session:
        rows = await session.exec(
            select(Delivery).where(col(Delivery.kind) == ALERT_KIND, Delivery.ref_id == alert_id)
        )
        return {r.telegram_chat_id: (r.content_version, bool(r.next_attempt_at)) for r in rows}


@pytest.fixture
async def delivered(
    sessions: SessionFactory,
    small_units: AdminUnits,
    officers: OfficerService,
    alerts: AlertService,
) -> tuple[OfficerView, int, int]:
    """The Đống Đa alert delivered to A and B (not yet to C), and a Ba Đình alert delivered to D."""
    await subscribe(sessions, small_units, DONG_DA, A, B, C)
    await subscribe(sessions, small_units, BA_DINH, D)
    dong_da = await officers.grant(SUPERADMIN, 5_000_000_100, DONG_DA)
    ba_dinh = await officers.grant(SUPERADMIN, 5_000_000_101, BA_DINH)
    number, other = await send(alerts, dong_da), await send(alerts, ba_dinh)
    await deliver(sessions, number, A, B)
    await deliver(sessions, other, D)
    return dong_da, number, other


def refused(number: int) -> list[tuple[str, int | str, int, bool | None]]:
    """(case, alert number, group, outcome: first press / already counted / None = refused)."""
    return [
        ("first press", number, A, True),
        ("second admin", number, A, False),
        ("copy not sent yet", number, C, None),
        ("another area's group", number, D, None),
        ("a group the bot never served", number, -4_999_999_999, None),
        ("no such alert", 999, A, None),
        ("zero", 0, A, None),
        ("negative", -number, A, None),
        ("past the id range", 2**31, A, None),
        ("huge", 10**30, A, None),
        ("other group's first press", number, B, True),
    ]


async def test_only_groups_that_got_the_alert_acknowledge_it_once(
    sessions: SessionFactory, alerts: AlertService, delivered: tuple[OfficerView, int, int]
) -> None:
    officer, number, _ = delivered
    before = await versions(sessions, number)
    for case, alert_id, chat, outcome in refused(number):
        if outcome is None:
            with pytest.raises(AlertError) as problem:
                await alerts.acknowledge(int(alert_id), chat, 7)
            assert problem.value.key == "ack.not_here", case
        else:
            assert await alerts.acknowledge(int(alert_id), chat, 7) is outcome, case
    assert (await alerts.status(officer.telegram_id, number)).acknowledged == 2
    after = await versions(sessions, number)
    # Only the acknowledged copies are due again, each one version further; C still waits.
    assert after == {A: (before[A][0] + 1, True), B: (before[B][0] + 1, True), C: before[C]}


async def test_the_copy_shows_the_acknowledgement_through_corrections_and_the_end(
    sessions: SessionFactory, alerts: AlertService, delivered: tuple[OfficerView, int, int]
) -> None:
    officer, number, _ = delivered
    assert await alerts.acknowledge(number, A, 7)
    async with sessions() as session:
        ack = (await session.exec(select(AlertAck))).one()
    when = ack.created_at.astimezone(TZ).strftime("%H:%M %d/%m")

    def check(copy_a: str, copy_b: str, *present: str) -> None:
        assert copy_a.endswith(f"{FOOTER} {when}")
        assert FOOTER not in copy_b
        for text in present:
            assert text in copy_a and text in copy_b

    copy_a, copy_b = await alerts.render(number, "vi", A), await alerts.render(number, "vi", B)
    check(copy_a.text, copy_b.text, "Cảnh giác.")
    assert copy_a.buttons == [] and copy_b.buttons == [[("✅ Đã nhận", f"ack:{number}")]]
    english = await alerts.render(number, "en", A)
    assert english.text.endswith(f"✅ Received at {when}")

    await alerts.correct(officer.telegram_id, number, "Đã bắt được đối tượng.")
    copy_a, copy_b = await alerts.render(number, "vi", A), await alerts.render(number, "vi", B)
    check(copy_a.text, copy_b.text, "ĐÍNH CHÍNH", "Đã bắt được đối tượng.")
    assert copy_a.buttons == [] and copy_b.buttons != []

    await alerts.end(officer.telegram_id, number)
    copy_a, copy_b = await alerts.render(number, "vi", A), await alerts.render(number, "vi", B)
    check(copy_a.text, copy_b.text, "ĐÃ KẾT THÚC")
    assert copy_a.buttons == copy_b.buttons == []


async def test_a_group_that_became_a_supergroup_still_acknowledges(
    sessions: SessionFactory, alerts: AlertService, delivered: tuple[OfficerView, int, int]
) -> None:
    officer, number, _ = delivered
    supergroup = -1_002_200_000_000
    async with sessions() as session, session.begin():
        await outbox.migrate_chat(session, A, supergroup)
    with pytest.raises(AlertError):
        await alerts.acknowledge(number, A, 7)  # that id is gone
    assert await alerts.acknowledge(number, supergroup, 7) is True
    assert (await alerts.status(officer.telegram_id, number)).acknowledged == 1
    assert (await versions(sessions, number))[A] == (2, True)  # the copy sent to the old id
    assert FOOTER in (await alerts.render(number, "vi", A)).text


async def test_two_admins_pressing_at_once_count_once(
    sessions: SessionFactory, alerts: AlertService, delivered: tuple[OfficerView, int, int]
) -> None:
    _, number, _ = delivered
    presses = await asyncio.gather(*(alerts.acknowledge(number, A, user) for user in (7, 8, 9)))
    assert sorted(presses) == [False, False, True]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AlertAck)) == 1
    assert (await versions(sessions, number))[A][0] == 2  # bumped once


async def test_copies_rendered_together_share_one_lookup_and_see_new_acknowledgements(
    sessions: SessionFactory, alerts: AlertService, delivered: tuple[OfficerView, int, int]
) -> None:
    _, number, _ = delivered
    lookup = CopyLookup(sessions, ALERT_KIND, content_of)
    together = await asyncio.gather(*(lookup.get(number, chat) for chat in (A, B, C) * 20))
    assert lookup.loads == 1 and all(c is together[0] for c in together)
    assert together[0] is not None and together[0].acknowledged == {}
    assert await alerts.acknowledge(number, B, 7)
    later = await lookup.get(number, B)
    assert lookup.loads == 2 and later is not None and set(later.acknowledged) == {B}
    assert await lookup.get(999, A) is None


async def test_a_copy_in_a_senders_hands_acknowledges_before_its_message_id_is_written(
    sessions: SessionFactory, alerts: AlertService, delivered: tuple[OfficerView, int, int]
) -> None:
    _, number, _ = delivered
    with pytest.raises(AlertError):  # C's copy waits in the queue: not in the chat yet
        await alerts.acknowledge(number, C, 7)
    async with sessions() as session, session.begin():
        (held,) = [c for c in await outbox.claim(session, "test", 1000, 60) if c.ref_id == number]
    assert held.telegram_chat_id == C and held.message_id is None
    assert await alerts.acknowledge(number, C, 7) is True  # sent, outcome not yet written
    assert await alerts.acknowledge(number, C, 7) is False
    async with sessions() as session, session.begin():
        await outbox.mark_done(session, [outbox.Done(held.id, held.content_version, 300, False)])
    # The copy went out without its footer: it is due again, one version further, to be edited.
    assert (await versions(sessions, number))[C] == (held.content_version + 1, True)
    async with sessions() as session, session.begin():  # as if the writer took a minute
        ack = (await session.exec(select(AlertAck).where(col(AlertAck.alert_id) == number))).one()
        copy = await session.get(Delivery, held.id)
        assert copy is not None and copy.delivered_at is not None
        copy.delivered_at = ack.created_at + timedelta(minutes=1)
    async with sessions() as session:
        figures = await ack_figures(
            session, ALERT_KIND, select(Alert.id).where(col(Alert.id) == number), None, [AckBy.CHAT]
        )
    # C pressed before its copy was written down as delivered: it took no time, not less.
    c_row = await chat_row(sessions, C)
    assert figures[AckBy.CHAT][c_row].median_minutes == 0.0


async def chat_row(sessions: SessionFactory, telegram_id: int) -> int:
    async with sessions() as session:
        found = (
            await session.exec(select(Chat.id).where(col(Chat.telegram_id) == telegram_id))
        ).one()
    assert found is not None
    return found


async def test_a_copy_whose_lease_ran_out_unrecorded_does_not_acknowledge(
    sessions: SessionFactory, alerts: AlertService, delivered: tuple[OfficerView, int, int]
) -> None:
    _, number, _ = delivered
    async with sessions() as session, session.begin():
        await outbox.claim(session, "test", 1000, -1)  # a sender that crashed long ago
    with pytest.raises(AlertError) as problem:
        await alerts.acknowledge(number, C, 7)
    assert problem.value.key == "ack.not_here"
