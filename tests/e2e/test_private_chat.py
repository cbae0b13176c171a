"""The private chat end to end: one router, one open conversation, /huy, deep links, own menus.

The real Application polls the simulator; every test ends with no spec violation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Update

from bench.officer import OfficerAtKeyboard
from bot.areas import AdminUnits
from handlers.base import Context
from handlers.common import on_deep_link
from simulator import BotApiSimulator, SimDriver
from simulator.methods import menu_of
from simulator.models import SimMessage, SimUser
from tests.support.botrunner import BotRunner, running, settings_for

DONG_DA = "00235"
RESIDENT_MENU = ["start", "help", "baotin", "tincuatoi", "ngonngu", "tonghop", "huy"]
OFFICER_MENU = [
    "start",
    "help",
    "baotin",
    "tincuatoi",
    "ngonngu",
    "tonghop",
    "canhbao",
    "xulytin",
    "thongke",
    "xuatdulieu",
    "huy",
]


@pytest.fixture
def superadmin(driver: SimDriver) -> SimUser:
    return driver.create_user("Quản trị hệ thống")


@pytest_asyncio.fixture
async def runner(
    sim: BotApiSimulator, database_url: str, units: AdminUnits, superadmin: SimUser
) -> AsyncIterator[BotRunner]:
    settings = settings_for(sim, database_url, superadmin_ids=frozenset({superadmin.id}))
    async with running(sim, settings, units) as bot:
        yield bot


async def officer_of(runner: BotRunner, driver: SimDriver) -> OfficerAtKeyboard:
    user = driver.create_user("Cán bộ", username="officer_dong_da")
    await runner.services.officers.grant(0, user.id, DONG_DA, "Thiếu tá Nguyễn Văn An")
    return OfficerAtKeyboard(driver, user)


async def answer(driver: SimDriver, user: SimUser, text: str) -> SimMessage:
    """`user` writes `text` in their private chat; the bot's first answer."""
    sent = await driver.send_text(user, user, text)
    return await driver.wait_for_bot_message(user, after=sent.message_id)


async def sent_alert(officer: OfficerAtKeyboard) -> int:
    audience = await officer.compose("Đối tượng lạ đi xe máy đỏ.")
    await officer.confirm(audience)
    return await officer.sent_number()


async def test_a_plain_message_answers_the_open_question(
    runner: BotRunner, driver: SimDriver
) -> None:
    officer = await officer_of(runner, driver)
    number = await sent_alert(officer)
    await officer.press("✏️ Đính chính")
    await officer.wait(contains="THAY TOÀN BỘ")
    photo = await driver.send_photo(officer.user, officer.chat)  # a question asks for words
    refused = await driver.wait_for_bot_message(officer.chat, after=photo.message_id)
    assert "bằng chữ" in (refused.text or "")
    answer = await driver.send_text(officer.user, officer.chat, "Đối tượng đi xe máy màu xanh.")
    # Not a Telegram reply, and still the answer: the corrected copy is previewed.
    preview = await officer.wait(contains="Bản xem trước", after=answer.message_id)
    assert f"cảnh báo #{number}" in (preview.text or "")
    after = await officer.say("cảm ơn")  # the question is answered: nothing is open now
    assert "Bot làm việc theo lệnh" in (after.text or "") and "/canhbao" in (after.text or "")


async def test_with_nothing_open_a_message_is_offered_as_a_tip_or_gets_a_hint(
    runner: BotRunner, driver: SimDriver
) -> None:
    resident = driver.create_user("Người dân")
    chat = await driver.start_private(resident)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    offer = await answer(driver, resident, "Nhà tôi vừa bị mất trộm xe đạp")
    assert offer.text == "📨 Gửi tin báo cho công an với nội dung này?"
    photo = await driver.send_photo(resident, chat)
    offer = await driver.wait_for_bot_message(chat, after=photo.message_id)
    assert offer.text == "📨 Gửi tin báo cho công an với ảnh này?"
    location = await driver.send_location(resident, chat, 21.0181, 105.8294)
    offer = await driver.wait_for_bot_message(chat, after=location.message_id)
    assert offer.text == "📨 Gửi tin báo cho công an với vị trí này?"
    document = await driver.send_document(resident, chat)  # nothing a tip starts with
    hint = await driver.wait_for_bot_message(chat, after=document.message_id)
    assert "Bot làm việc theo lệnh" in (hint.text or "")
    assert "/ngonngu" in (hint.text or "") and "/huy" in (hint.text or "")
    assert "/canhbao" not in (hint.text or "") and "/dangky" not in (hint.text or "")
    unknown = await answer(driver, resident, "/khongco")
    assert "Bot không hiểu lệnh này" in (unknown.text or "") and "/help" in (unknown.text or "")


async def test_cancel_for_everyone(runner: BotRunner, driver: SimDriver) -> None:
    resident = driver.create_user("Người dân")
    await driver.start_private(resident)
    await driver.wait_for_bot_message(resident, contains="Canh Gác")
    nothing = await answer(driver, resident, "/huy")
    assert nothing.text == "Bạn không có việc gì đang làm dở."

    officer = await officer_of(runner, driver)
    await officer.open()
    await officer.say("/canhbao")
    cancelled = await officer.say("/cancel")
    assert cancelled.text == "Đã huỷ soạn cảnh báo. Không có gì được gửi."
    assert await runner.services.alerts.draft(officer.user.id) is None
    again = await officer.say("/huy")
    assert again.text == "Bạn không có việc gì đang làm dở."


async def test_a_new_conversation_closes_the_open_one_with_a_note(
    runner: BotRunner, driver: SimDriver
) -> None:
    officer = await officer_of(runner, driver)
    number = await sent_alert(officer)
    await officer.press("✏️ Đính chính")
    question = await officer.wait(contains="THAY TOÀN BỘ")

    note = await officer.say("/canhbao")  # while the question is open
    assert note.text == "Đã bỏ câu hỏi đang chờ bạn trả lời."
    start = await officer.wait(contains="Soạn cảnh báo", after=note.message_id)
    reply = await officer.say("Đối tượng đi xe máy màu xanh.", reply_to=question)
    assert "Hãy chọn bằng các nút" in (reply.text or ""), reply.text  # the draft takes it
    assert (
        await runner.services.prompts.pending(officer.chat.id, question.message_id, officer.user.id)
        is None
    )

    manage = await officer.wait(contains=f"Đã gửi cảnh báo #{number}")
    await driver.press_button(officer.user, officer.chat, "✏️ Đính chính", message=manage)
    closed = await officer.wait(contains="Đã đóng bản nháp", after=start.message_id)
    assert closed.text == "Đã đóng bản nháp cảnh báo đang soạn dở."
    await officer.wait(contains="THAY TOÀN BỘ", after=closed.message_id)
    assert await runner.services.alerts.draft(officer.user.id) is None


async def test_start_dispatches_registered_deep_links_and_falls_back_otherwise(
    runner: BotRunner, driver: SimDriver
) -> None:
    opened: list[str] = []

    async def open_demo(update: Update, context: Context, rest: str) -> None:
        opened.append(rest)
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"demo {rest}")

    assert runner.app is not None
    on_deep_link(runner.app, "demo_", open_demo)
    resident = driver.create_user("Người dân")
    chat = await driver.start_private(resident, payload="demo_42-x")
    linked = await driver.wait_for_bot_message(chat)
    assert linked.text == "demo 42-x" and opened == ["42-x"]

    for payload in ("unknown_7", "demo_!", "demo_1 demo_2", "d" * 65):
        sent = await driver.send_text(resident, chat, f"/start {payload}")
        welcome = await driver.wait_for_bot_message(chat, after=sent.message_id)
        assert "Canh Gác" in (welcome.text or ""), payload
    assert opened == ["42-x"]


async def test_own_menus_follow_grants_and_revocations(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, superadmin: SimUser
) -> None:
    admin = superadmin
    await driver.start_private(admin)  # refused at start-up (never pressed Start), set now
    await driver.wait_for_bot_message(admin, contains="Canh Gác")
    assert menu_of(sim, admin.id, admin.id) == [
        *["start", "help", "baotin", "tincuatoi", "ngonngu", "tonghop", "huy"],
        *["capquyen", "thuhoi", "canbo"],
    ]

    person = driver.create_user("Cán bộ mới")
    await driver.start_private(person)
    await driver.wait_for_bot_message(person, contains="Canh Gác")
    assert menu_of(sim, person.id, person.id, "vi") == RESIDENT_MENU
    granted = await answer(driver, admin, f"/capquyen {person.id} {DONG_DA} Đại úy Lê Văn Bình")
    assert "là cán bộ của Phường Đống Đa" in (granted.text or ""), granted.text
    assert menu_of(sim, person.id, person.id, "vi") == OFFICER_MENU  # at once, no /start needed

    await answer(driver, person, "/ngonngu")
    await driver.press_button(person, person, "English")
    await driver.wait_for(lambda: menu_of(sim, person.id, person.id, "vi")[6] == "alert")
    assert menu_of(sim, person.id, person.id, "vi") == [
        "start",
        "help",
        "report",
        "myreports",
        "language",
        "digest",
        "alert",
        "triage",
        "stats",
        "export",
        "cancel",
    ]

    revoked = await answer(driver, admin, f"/thuhoi {person.id}")
    assert "Đã thu hồi" in (revoked.text or ""), revoked.text
    assert menu_of(sim, person.id, person.id, "vi") == RESIDENT_MENU  # everyone's menu again
    assert menu_of(sim, person.id, person.id, "en") == [
        "start",
        "help",
        "report",
        "myreports",
        "language",
        "digest",
        "cancel",
    ]

    stranger = driver.create_user("Chưa bấm Start")  # the chat scope is refused until Start
    granted = await answer(driver, admin, f"/capquyen {stranger.id} {DONG_DA}")
    assert "là cán bộ của Phường Đống Đa" in (granted.text or ""), granted.text
    await driver.start_private(stranger)
    await driver.wait_for_bot_message(stranger, contains="Canh Gác")
    assert menu_of(sim, stranger.id, stranger.id, "vi") == OFFICER_MENU


async def test_start_up_brings_own_menus_up_to_date(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver
) -> None:
    officer, former = await officer_of(runner, driver), driver.create_user("Cán bộ cũ")
    await runner.services.officers.grant(0, former.id, DONG_DA)
    for user in (officer.user, former):
        await driver.start_private(user)
        await driver.wait_for_bot_message(user, contains="Canh Gác")
    assert menu_of(sim, former.id, former.id, "vi") == OFFICER_MENU
    # As `canhgac officer add/remove` would, without the bot: rights change, menus do not.
    await runner.services.officers.revoke(0, former.id)
    newcomer = driver.create_user("Cán bộ vừa thêm")
    await driver.start_private(newcomer)
    await driver.wait_for_bot_message(newcomer, contains="Canh Gác")
    await runner.services.officers.grant(0, newcomer.id, DONG_DA)
    assert menu_of(sim, newcomer.id, newcomer.id, "vi") == RESIDENT_MENU

    await runner.restart()
    await driver.wait_for(lambda: menu_of(sim, newcomer.id, newcomer.id, "vi") == OFFICER_MENU)
    await driver.wait_for(lambda: menu_of(sim, former.id, former.id, "vi") == RESIDENT_MENU)
    assert menu_of(sim, officer.user.id, officer.user.id, "vi") == OFFICER_MENU
