"""/thongke end to end: a group's admins see their area's figures (small tip counts hidden),
others are refused; an officer sees the jurisdiction, a province officer its communes; every
period button is answered and checked again at the press."""

from __future__ import annotations

from datetime import timedelta

from bot.areas import AdminUnits
from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from storage.models import Tip
from storage.types import utcnow
from tests.support.alerting import confirmed_alert, police_officer
from tests.support.botrunner import BotRunner
from tests.support.world import subscribed_groups

DONG_DA, HA_NOI = "00235", "01"
ACK = "✅ Đã nhận"
PERIOD_BUTTONS = [["✓ 7 ngày", "30 ngày", "Năm nay"]]


async def an_alert_acknowledged(
    bot: BotRunner, driver: SimDriver, police: SimUser, admin: SimUser, group: SimChat
) -> None:
    """One alert of the commune, delivered to `group` and acknowledged by its admin."""
    svc = bot.services
    number = await confirmed_alert(
        bot, police, "Cảnh giác trộm xe.", severity="urgent", category="theft"
    )
    await driver.wait_for(lambda: (m := driver.last_bot_message(group)) and [ACK] in m.buttons, 20)
    pressed = await driver.press_button(admin, group, ACK)
    await driver.wait_for(lambda: driver.sim.callbacks[pressed].answered, timeout=20)
    assert (await svc.alerts.status(police.id, number)).acknowledged == 1


async def tips(bot: BotRunner, count: int) -> None:
    """Tips about Đống Đa received an hour ago (rows as the tip service writes them)."""
    async with bot.services.sessions() as session, session.begin():
        for n in range(count):
            session.add(
                Tip(
                    draft_token=f"e2e{n}",
                    category="theft",
                    text="Có người lạ.",
                    commune_code=DONG_DA,
                    province_code=HA_NOI,
                    area_source="chosen",
                    created_at=utcnow() - timedelta(hours=1),
                )
            )


async def answer_of(sim: BotApiSimulator, driver: SimDriver, query: str) -> str:
    await driver.wait_for(lambda: sim.callbacks[query].answered, timeout=10)
    return str(sim.callbacks[query].answer.get("text") or "")


async def ask(
    driver: SimDriver, user: SimUser, chat: SimChat, text: str = "/thongke"
) -> SimMessage:
    sent = await driver.send_text(user, chat, text)
    return await driver.wait_for_bot_message(chat, after=sent.message_id, timeout=10)


async def test_in_a_group_for_its_admins_with_small_tip_counts_hidden(
    bot: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin, member = driver.create_user("Tổ trưởng"), driver.create_user("Người dân")
    (group,) = await subscribed_groups(driver, bot.services.sessions, units, DONG_DA, 1, admin)
    group.members[member.id] = "member"
    await an_alert_acknowledged(
        bot, driver, await police_officer(bot, driver, DONG_DA), admin, group
    )
    await tips(bot, 2)

    refused = await ask(driver, member, group)
    assert refused.text == "⛔ Chỉ quản trị viên của nhóm mới dùng được lệnh này."
    shown = await ask(driver, admin, group, "/thongke@canhgac_test_bot")
    text = shown.text or ""
    assert "Số liệu 7 ngày qua" in text and "Phường Đống Đa — Thành phố Hà Nội" in text
    assert "Cảnh báo đã gửi: 1" in text and "Khẩn cấp 1" in text
    assert "bấm «Đã nhận»: 100% (1/1 lượt)" in text
    assert "Tin báo của người dân: dưới 3" in text  # two tips: not shown exactly in a group
    assert "Trộm cắp" not in text.split("Tin báo")[1]  # no tip's category either
    assert "Mô hình đang hoạt động: 1 nhóm" in text
    assert "Nhóm này đã bấm «Đã nhận» 1/1 cảnh báo." in text
    assert "Cần kiểm tra" not in text
    assert shown.buttons == PERIOD_BUTTONS

    # A member's press is refused and changes nothing; the admin's shows 30 days.
    denied = await driver.press_button(member, group, "30 ngày", shown)
    assert await answer_of(sim, driver, denied) == "Chỉ quản trị viên của nhóm mới thao tác được."
    assert shown.edit_count == 0
    await answer_of(sim, driver, await driver.press_button(admin, group, "30 ngày", shown))
    await driver.wait_for(lambda: shown.edit_count == 1, timeout=10)
    assert "Số liệu 30 ngày qua" in (shown.text or "")
    assert shown.buttons == [["7 ngày", "✓ 30 ngày", "Năm nay"]]
    again = await driver.press_button(admin, group, "✓ 30 ngày", shown)  # nothing changed
    junk = await driver.press_callback_data(admin, group, shown, "st:forever")
    assert await answer_of(sim, driver, again) == ""
    assert await answer_of(sim, driver, junk) == (
        "Thao tác này đã hết hạn. Hãy gõ lại lệnh để bắt đầu lại."
    )
    copy = next(m for m in driver.bot_messages(group) if "Cảnh giác trộm xe." in (m.text or ""))
    forged = await driver.press_callback_data(admin, group, copy, "st:7d")  # on the alert copy
    assert await answer_of(sim, driver, forged) == (
        "Thao tác này đã hết hạn. Hãy gõ lại lệnh để bắt đầu lại."
    )
    assert "Cảnh giác trộm xe." in (copy.text or "") and "Số liệu" not in (copy.text or "")
    assert sim.unanswered_callbacks() == []


async def test_in_private_for_an_officer_of_the_commune_and_of_the_province(
    bot: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin = driver.create_user("Tổ trưởng")
    svc = bot.services
    (group,) = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 1, admin)
    police = await police_officer(bot, driver, DONG_DA)
    await an_alert_acknowledged(bot, driver, police, admin, group)
    await tips(bot, 2)

    resident = driver.create_user("Người dân")
    private = await driver.start_private(resident)
    await driver.wait_for_bot_message(private, contains="Canh Gác")
    assert (await ask(driver, resident, private)).text == (
        "⛔ Trong tin nhắn riêng, /thongke chỉ dành cho cán bộ công an. "
        "Quản trị viên nhóm hãy gõ /thongke trong nhóm của mình."
    )

    chat = await driver.start_private(police)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    text = (await ask(driver, police, chat)).text or ""
    assert "Số liệu 7 ngày qua" in text and "Phường Đống Đa" in text
    assert "Tin báo của người dân: 2" in text and "Quá hạn 0" in text  # exact for officers
    assert "Nhiều nhất: 🔓 Trộm cắp 2" in text
    assert "Không có nhóm nào cần kiểm tra." in text
    assert "Xã, phường cần quan tâm nhất" not in text

    provincial = await police_officer(bot, driver, HA_NOI)
    chat = await driver.start_private(provincial)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    shown = await ask(driver, provincial, chat)
    text = shown.text or ""
    assert "Thành phố Hà Nội" in text and "Cảnh báo đã gửi: 1" in text
    assert "Xã, phường cần quan tâm nhất" not in text  # every copy acknowledged, none overdue
    await answer_of(sim, driver, await driver.press_button(provincial, chat, "Năm nay", shown))
    await driver.wait_for(lambda: "từ đầu năm" in (shown.text or ""), timeout=10)
    assert sim.unanswered_callbacks() == []
