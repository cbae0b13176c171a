""" "Đã nhận" end to end: the group's copy shows it, forged or junk button data changes nothing,
and every press is answered.

Alerts are written through `AlertService` (confirm, correct, end) rather than the officer's
buttons: this file is about the groups' side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlmodel import col, func, select

from bot.app import DELIVERY
from bot.areas import AdminUnits
from bot.delivery import DeliveryEngine
from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimMessage
from simulator.world import TINY_PNG
from storage.models import AlertAck, Delivery
from tests.support.alerting import confirmed_alert, police_officer
from tests.support.botrunner import BotRunner
from tests.support.world import subscribed_groups

DONG_DA, BA_DINH = "00235", "00004"
ACK = "✅ Đã nhận"
TIP = "📨 Gửi tin báo"  # the link to a tip in the private chat: under every copy, always
FOOTER = "✅ Đã nhận lúc"
NOT_HERE = "Nút này không dùng được ở nhóm này."
UNKNOWN = "Nút này không còn dùng được."


def body(message: SimMessage | None) -> str:
    if message is None:
        return ""
    return message.text if message.text is not None else (message.caption or "")


async def copies_arrive(driver: SimDriver, *groups: SimChat) -> list[SimMessage]:
    """Each group's copy, once all have one."""
    await driver.wait_for(lambda: all(driver.last_bot_message(g) for g in groups), timeout=20)
    found = [driver.last_bot_message(g) for g in groups]
    assert all(m is not None and m.buttons == [[ACK], [TIP]] for m in found)
    return [m for m in found if m is not None]


async def answers(sim: BotApiSimulator, driver: SimDriver, *query_ids: str) -> list[str]:
    """The text each press was answered with."""
    await driver.wait_for(lambda: all(sim.callbacks[q].answered for q in query_ids), timeout=10)
    return [str(sim.callbacks[q].answer.get("text")) for q in query_ids]


async def acks(bot: BotRunner) -> int:
    async with bot.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AlertAck)) or 0)


async def test_the_first_admin_press_marks_that_groups_copy_only(
    bot: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin, member = driver.create_user("Tổ trưởng"), driver.create_user("Người dân")
    svc = bot.services
    groups = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 3, admin)
    groups[0].members[member.id] = "member"
    police = await police_officer(bot, driver, DONG_DA)
    number = await confirmed_alert(bot, police, "Mất trộm xe máy tại chợ.")
    first, *others = await copies_arrive(driver, *groups)

    pressed = [
        await driver.press_button(member, groups[0], ACK),
        await driver.press_button(admin, groups[0], ACK),
    ]
    by_member, by_admin = await answers(sim, driver, *pressed)
    assert "Quản trị viên" in by_member and "Đã ghi nhận" in by_admin
    await driver.wait_for(lambda: FOOTER in body(first), timeout=10)
    async with svc.sessions() as session:
        ack = (await session.exec(select(AlertAck))).one()
    when = ack.created_at.astimezone(svc.settings.tz).strftime("%H:%M %d/%m")
    assert body(first).endswith(f"{FOOTER} {when}") and "Mất trộm xe máy" in body(first)
    assert first.buttons == [[TIP]] and "Tổ trưởng" not in body(first)  # nobody is named

    stale = await driver.press_callback_data(admin, groups[0], first, f"ack:{number}")
    assert "rồi" in (await answers(sim, driver, stale))[0]
    assert all(m.edit_count == 0 and m.buttons == [[ACK], [TIP]] for m in others)
    assert FOOTER not in body(others[0]) and first.edit_count == 1
    assert (await svc.alerts.status(police.id, number)).acknowledged == 1
    assert sim.stats.calls["answerCallbackQuery"] == 3  # one answer per press, none twice


async def test_forged_and_junk_button_data_is_answered_and_changes_nothing(
    bot: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin, other_admin = driver.create_user("Tổ trưởng"), driver.create_user("Trưởng thôn")
    svc = bot.services
    (dong_da,) = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 1, admin)
    (ba_dinh,) = await subscribed_groups(driver, svc.sessions, units, BA_DINH, 1, other_admin)
    here = await confirmed_alert(
        bot, await police_officer(bot, driver, DONG_DA), "Cảnh giác lừa đảo."
    )
    await confirmed_alert(bot, await police_officer(bot, driver, BA_DINH), "Mất điện khu vực.")
    theirs, mine = await copies_arrive(driver, dong_da, ba_dinh)

    # An admin of Ba Đình sends, from their own copy, what a modified client can send.
    forged = {
        f"ack:{here}": NOT_HERE,  # another area's alert
        "ack:abc": NOT_HERE,
        "ack:0": NOT_HERE,
        "ack:-1": NOT_HERE,
        "ack:2147483648": NOT_HERE,
        f"ack:{10**40}": NOT_HERE,
        "ack:٣": NOT_HERE,
        "zzz": UNKNOWN,
        "v0:ack:1": UNKNOWN,
        "x" * 64: UNKNOWN,
    }
    pressed = [
        await driver.press_callback_data(other_admin, ba_dinh, mine, data) for data in forged
    ]
    assert await answers(sim, driver, *pressed) == list(forged.values())

    resident = driver.create_user("Người dân")
    private = await driver.start_private(resident)
    welcome = await driver.wait_for_bot_message(private, contains="Canh Gác")
    junk = await driver.press_callback_data(resident, private, welcome, "old:button:v1")
    forged_in_private = await driver.press_callback_data(resident, private, welcome, f"ack:{here}")
    assert await answers(sim, driver, junk, forged_in_private) == [UNKNOWN, NOT_HERE]

    assert await acks(bot) == 0
    assert theirs.edit_count == mine.edit_count == 0
    assert sim.stats.calls["editMessageText"] == sim.stats.calls["editMessageCaption"] == 0
    assert sim.unanswered_callbacks() == []


async def test_the_acknowledgement_survives_a_correction_and_the_end(
    bot: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin = driver.create_user("Tổ trưởng")
    svc = bot.services
    groups = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 2, admin)
    police = await police_officer(bot, driver, DONG_DA)
    photo = driver.world.store_file(TINY_PNG, "photos", ".jpg", "image/jpeg").file_id
    number = await confirmed_alert(bot, police, "Đối tượng lạ đi xe máy đỏ.", photo=photo)
    acknowledged, other = await copies_arrive(driver, *groups)
    assert acknowledged.caption is not None

    await answers(sim, driver, await driver.press_button(admin, groups[0], ACK))
    await driver.wait_for(lambda: FOOTER in body(acknowledged), timeout=10)

    await svc.alerts.correct(police.id, number, "Đối tượng đi xe máy màu xanh, biển 29.")
    await driver.wait_for(lambda: all("màu xanh" in body(m) for m in (acknowledged, other)), 10)
    assert "ĐÍNH CHÍNH" in body(acknowledged) and FOOTER in body(acknowledged)
    assert acknowledged.buttons == [[TIP]] and FOOTER not in body(other)
    assert other.buttons == [[ACK], [TIP]]

    await svc.alerts.end(police.id, number)
    await driver.wait_for(lambda: all("ĐÃ KẾT THÚC" in body(m) for m in (acknowledged, other)), 10)
    assert FOOTER in body(acknowledged) and FOOTER not in body(other)
    assert acknowledged.buttons == other.buttons == [[TIP]]
    # Two copies, and one "corrected" notice replying to each: the footer needed no new message.
    assert sim.stats.calls["sendPhoto"] == 2 and sim.stats.calls["sendMessage"] == 2
    async with svc.sessions() as session:
        rows = await session.exec(select(AlertAck.alert_id).where(col(AlertAck.alert_id) == number))
        assert len(rows.all()) == 1


@contextlib.asynccontextmanager
async def writer_held(bot: BotRunner) -> AsyncIterator[None]:
    """The delivery engine sends but writes no outcome (message ids) until the block ends."""
    assert bot.app is not None
    engine: DeliveryEngine = bot.app.bot_data[DELIVERY]
    release = asyncio.Event()
    write = engine._apply_outcomes

    async def held() -> None:
        await release.wait()
        await write()

    engine._apply_outcomes = held  # type: ignore[method-assign]
    try:
        yield
    finally:
        release.set()


async def message_ids(bot: BotRunner, number: int) -> list[int | None]:
    async with bot.services.sessions() as session:
        rows = await session.exec(select(Delivery.message_id).where(col(Delivery.ref_id) == number))
        return list(rows.all())


async def test_a_press_before_the_copy_is_recorded_counts_once(
    bot: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin, member = driver.create_user("Tổ trưởng"), driver.create_user("Người dân")
    svc = bot.services
    (group,) = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 1, admin)
    (elsewhere,) = await subscribed_groups(driver, svc.sessions, units, BA_DINH, 1, admin)
    group.members[member.id] = "member"
    police = await police_officer(bot, driver, DONG_DA)
    await driver.send_text(admin, elsewhere, "/baotin")  # a group this alert is not sent to
    link = await driver.wait_for_bot_message(elsewhere)
    async with writer_held(bot):
        number = await confirmed_alert(bot, police, "Mất trộm xe máy tại chợ.")
        other = await confirmed_alert(
            bot, await police_officer(bot, driver, BA_DINH), "Mất điện khu vực."
        )
        (copy,) = await copies_arrive(driver, group)
        other_copy = await driver.wait_for_bot_message(elsewhere, "Mất điện", timeout=20)
        assert await message_ids(bot, number) == await message_ids(bot, other) == [None]
        pressed = [
            await driver.press_button(admin, group, ACK),
            await driver.press_button(admin, group, ACK),  # the same person again
            await driver.press_button(member, group, ACK),
            # A modified client sends this alert's data where the alert was not sent.
            await driver.press_callback_data(admin, elsewhere, link, f"ack:{number}"),
            await driver.press_callback_data(admin, elsewhere, other_copy, f"ack:{number}"),
        ]
        first, again, by_member, *forged = await answers(sim, driver, *pressed)
        assert "Đã ghi nhận" in first and "rồi" in again and "Quản trị viên" in by_member
        assert forged == [NOT_HERE, NOT_HERE]
        assert await acks(bot) == 1 and await message_ids(bot, number) == [None]
    await driver.wait_for(lambda: FOOTER in body(copy), timeout=10)
    assert copy.buttons == [[TIP]] and copy.edit_count == 1
    assert await message_ids(bot, number) == [copy.message_id]
    assert other_copy.edit_count == 0 and other_copy.buttons == [[ACK], [TIP]]
    assert (await svc.alerts.status(police.id, number)).acknowledged == 1
    assert sim.unanswered_callbacks() == []
