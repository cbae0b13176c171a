"""A neighbourhood group subscribes to its area, end to end against the Bot API simulator."""

from __future__ import annotations

import pytest
from telegram import BotCommandScopeAllChatAdministrators, BotCommandScopeAllGroupChats

from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from tests.support.botrunner import BotRunner

DONG_DA = "Phường Đống Đa — Thành phố Hà Nội"
PLACE = "Tổ dân phố 5 — Phường Đống Đa — Thành phố Hà Nội"


@pytest.fixture
def people(driver: SimDriver) -> tuple[SimUser, SimUser]:
    return driver.create_user("Lan", username="lan"), driver.create_user("Minh", username="minh")


@pytest.fixture
def group(driver: SimDriver, people: tuple[SimUser, SimUser]) -> SimChat:
    admin, member = people
    return driver.create_group("Tổ dân phố 5 — Đống Đa", members=[member], admins=[admin])


async def say(
    driver: SimDriver, user: SimUser, chat: SimChat, text: str, **kw: object
) -> SimMessage:
    """The user writes; returns the bot's first answer after it."""
    sent = await driver.send_text(user, chat, text, **kw)  # type: ignore[arg-type]
    return await driver.wait_for_bot_message(chat, after=sent.message_id)


async def add_bot(driver: SimDriver, group: SimChat, admin: SimUser) -> SimMessage:
    """Add the bot to the group and wait for its greeting."""
    before = driver.last_bot_message(group)
    await driver.add_bot(group, by=admin)
    return await driver.wait_for_bot_message(group, after=before.message_id if before else None)


async def subscribe_whole_commune(driver: SimDriver, admin: SimUser, group: SimChat) -> None:
    """The admin subscribes the group, the bot already in it, to the whole of Đống Đa."""
    results = await say(driver, admin, group, "/dangky Đống Đa")
    assert results.buttons, [m.text for m in driver.bot_messages(group)]
    await driver.press_button(admin, group, DONG_DA)
    await driver.wait_for_bot_message(
        group, predicate=lambda m: "✅ Cả xã/phường" in str(m.buttons)
    )
    await driver.press_button(admin, group, "✅ Cả xã/phường")
    await driver.wait_for(lambda: "Đã đăng ký" in (driver.last_bot_message(group).text or ""))


async def joined_and_subscribed(driver: SimDriver, admin: SimUser, group: SimChat) -> None:
    """The admin adds the bot to the group and subscribes it to the whole of Đống Đa."""
    await add_bot(driver, group, admin)
    await subscribe_whole_commune(driver, admin, group)


async def test_group_goes_from_bot_added_to_subscribed_residential_area(
    bot: BotRunner,
    sim: BotApiSimulator,
    driver: SimDriver,
    people: tuple[SimUser, SimUser],
    group: SimChat,
) -> None:
    admin, member = people
    await driver.add_bot(group, by=admin)
    welcome = await driver.wait_for_bot_message(group, contains="/dangky")
    assert "Xin chào" in (welcome.text or "")

    refused = await say(driver, member, group, "/dangky Đống Đa")
    assert "Chỉ quản trị viên" in (refused.text or "")

    results = await say(driver, admin, group, f"/dangky@{sim.bot.username} dong da")
    assert results.buttons[0] == [DONG_DA]

    await driver.press_button(member, group, DONG_DA)  # a member's press changes nothing
    await driver.wait_for(lambda: not sim.unanswered_callbacks())
    assert driver.last_bot_message(group).buttons[0] == [DONG_DA]

    await driver.press_button(admin, group, DONG_DA)
    choice = await driver.wait_for_bot_message(
        group, predicate=lambda m: "Thôn/tổ mới" in str(m.buttons)
    )
    assert "Phường Đống Đa" in (choice.text or "")
    await driver.press_button(admin, group, "➕ Thôn/tổ mới")
    prompt = await driver.wait_for_bot_message(group, contains="Trả lời tin nhắn này")

    invalid = await say(driver, admin, group, "!!!", reply_to=prompt)
    assert "không hợp lệ" in (invalid.text or "")
    done = await say(driver, admin, group, "Tổ dân phố 5", reply_to=prompt)
    assert PLACE in (done.text or "")

    status = await say(driver, member, group, "/trangthai")
    assert PLACE in (status.text or "")
    assert sim.unanswered_callbacks() == []


async def test_subscription_survives_restart_removal_and_migration(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> None:
    admin, member = people
    await joined_and_subscribed(driver, admin, group)

    await bot.restart()
    assert DONG_DA in ((await say(driver, member, group, "/trangthai")).text or "")

    await driver.remove_bot(group, by=admin)
    back = await add_bot(driver, group, admin)
    assert "Chào mừng trở lại" in (back.text or "")
    assert DONG_DA in (back.text or "")

    supergroup = await driver.migrate_to_supergroup(group)
    assert supergroup.id < -(2**32)
    status = await say(driver, member, supergroup, "/trangthai")
    assert DONG_DA in (status.text or "") and "tạm dừng" not in (status.text or "")


async def test_removal_pauses_without_deleting(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> None:
    admin, _ = people
    await joined_and_subscribed(driver, admin, group)
    assert bot.app is not None
    subscriptions = bot.app.bot_data["services"].subscriptions

    async def paused() -> bool:
        view = await subscriptions.status(group.id)
        return view is not None and view.paused and view.commune == "Phường Đống Đa"

    await driver.remove_bot(group, by=admin)
    await driver.wait_for(paused)


async def test_prompt_answer_after_a_restart(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> None:
    admin, _ = people
    await add_bot(driver, group, admin)
    prompt = await say(driver, admin, group, "/subscribe")
    assert prompt.force_reply
    await bot.restart()
    results = await say(driver, admin, group, "dong da", reply_to=prompt)
    assert results.buttons[0] == [DONG_DA]


async def test_same_names_are_told_apart(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> None:
    admin, _ = people
    await add_bot(driver, group, admin)
    results = await say(driver, admin, group, "/dangky cam giang")
    labels = [row[0] for row in results.buttons[:3]]
    assert "Xã Cẩm Giang — Thành phố Hải Phòng" in labels
    assert "Xã Cẩm Giàng — Thành phố Hải Phòng" in labels
    assert "Xã Cẩm Giàng — Tỉnh Thái Nguyên" in labels


async def test_paging_and_cancel(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> None:
    admin, _ = people
    await add_bot(driver, group, admin)
    first = await say(driver, admin, group, "/dangky tân")
    assert any("Sau ▶️" in row for row in first.buttons)
    first_page = [list(row) for row in first.buttons]
    await driver.press_button(admin, group, "Sau ▶️")
    await driver.wait_for(lambda: driver.last_bot_message(group).edited)
    second = driver.last_bot_message(group)
    assert second.buttons[0] != first_page[0]
    assert any("◀️ Trước" in row for row in second.buttons)
    await driver.press_button(admin, group, "✖️ Huỷ")
    await driver.wait_for(lambda: "Đã huỷ" in (driver.last_bot_message(group).text or ""))


@pytest.mark.parametrize(
    ("command", "answer"),
    [("/dangky x", "từ 2 đến 100 ký tự"), ("/dangky qqqzzzxxx", "Không tìm thấy")],
)
async def test_bad_search_gets_a_clear_message(
    bot: BotRunner,
    driver: SimDriver,
    people: tuple[SimUser, SimUser],
    group: SimChat,
    command: str,
    answer: str,
) -> None:
    admin, _ = people
    await add_bot(driver, group, admin)
    reply = await say(driver, admin, group, command)
    assert answer in (reply.text or "")
    status = await say(driver, admin, group, "/trangthai")
    assert "chưa đăng ký" in (status.text or "")


async def test_private_chat_explains_groups(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser]
) -> None:
    admin, _ = people
    chat = await driver.start_private(admin)
    welcome = await driver.wait_for_bot_message(chat, contains="Canh Gác")
    assert welcome.buttons == [["➕ Thêm bot vào nhóm"]]
    refusal = await say(driver, admin, chat, "/dangky Đống Đa")
    assert "dùng trong nhóm" in (refusal.text or "")


async def test_language_switch_and_help(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> None:
    admin, member = people
    await add_bot(driver, group, admin)
    member_help = await say(driver, member, group, "/help")
    assert "/trangthai" in (member_help.text or "") and "/dangky" not in (member_help.text or "")
    admin_help = await say(driver, admin, group, "/help")
    assert "/dangky" in (admin_help.text or "")

    refused = await say(driver, member, group, "/ngonngu")
    assert "Chỉ quản trị viên" in (refused.text or "")
    await say(driver, admin, group, "/ngonngu")
    await driver.press_button(admin, group, "English")
    await driver.wait_for(
        lambda: "Switched to English" in (driver.last_bot_message(group).text or "")
    )
    status = await say(driver, member, group, "/status")
    assert "has not subscribed" in (status.text or "")


async def test_command_menus_are_published(bot: BotRunner) -> None:
    assert bot.app is not None
    menu = bot.app.bot.get_my_commands
    members = await menu(scope=BotCommandScopeAllGroupChats(), language_code="vi")
    admins = await menu(scope=BotCommandScopeAllChatAdministrators(), language_code="vi")
    admins_en = await menu(scope=BotCommandScopeAllChatAdministrators(), language_code="en")
    assert [c.command for c in members] == [
        "start",
        "help",
        "baotin",
        "trangthai",
        "ngonngu",
        "tonghop",
    ]
    assert [c.command for c in admins] == [
        "start",
        "help",
        "baotin",
        "dangky",
        "trangthai",
        "huydangky",
        "caidat",
        "thongke",
        "ngonngu",
        "tonghop",
    ]
    assert [c.command for c in admins_en] == [
        "start",
        "help",
        "report",
        "subscribe",
        "status",
        "unsubscribe",
        "settings",
        "stats",
        "language",
        "digest",
    ]
    assert admins[3].description == "Đăng ký khu vực cho nhóm"


async def test_a_failure_is_reported_without_details(
    bot: BotRunner,
    sim: BotApiSimulator,
    driver: SimDriver,
    people: tuple[SimUser, SimUser],
    group: SimChat,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin, _ = people
    await add_bot(driver, group, admin)
    sim.faults.fail(method="getChatMember", status=500, description="Internal Server Error")
    reply = await say(driver, admin, group, "/dangky Đống Đa")
    assert (
        reply.text == "⚠️ Đã có lỗi xảy ra khi xử lý yêu cầu của bạn. Vui lòng thử lại sau ít phút."
    )
    assert "failed" in caplog.text and sim.token not in caplog.text
    status = await say(driver, admin, group, "/trangthai")  # the bot carries on
    assert "chưa đăng ký" in (status.text or "")
