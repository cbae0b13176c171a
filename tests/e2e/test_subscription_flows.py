"""Old subscription pickers and confirmations are closed and refused; /huydangky asks first.

A Telegram client may still show a keyboard the bot has since replaced (another device, a
message opened before the edit arrived), and anyone can send callback data they were never
given: `press_old` plays such a press with the data a button carried before.
"""

from __future__ import annotations

import pytest

from simulator import BotApiSimulator, SimDriver
from simulator.models import CallbackRecord, SimChat, SimMessage, SimUser
from tests.e2e.test_subscription import DONG_DA, PLACE, add_bot, joined_and_subscribed, say
from tests.support.botrunner import BotRunner

STALE = "Lựa chọn này đã cũ, hãy gõ /dangky lại."
STALE_UNSUBSCRIBE = "Lựa chọn này đã cũ, hãy gõ /huydangky lại."
ADMINS_ONLY = "Chỉ quản trị viên"
CLOSED = "⌛ Lựa chọn này đã cũ."
CAM_GIANG_TN = "Xã Cẩm Giàng — Tỉnh Thái Nguyên"


@pytest.fixture
def people(driver: SimDriver) -> tuple[SimUser, SimUser]:
    return driver.create_user("Lan"), driver.create_user("Minh")


@pytest.fixture
def group(driver: SimDriver, people: tuple[SimUser, SimUser]) -> SimChat:
    admin, member = people
    return driver.create_group("Tổ dân phố 5 — Đống Đa", members=[member], admins=[admin])


@pytest.fixture
async def joined(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> SimChat:
    """The group, the bot added to it by its admin (and greeting it)."""
    await add_bot(driver, group, people[0])
    return group


@pytest.fixture
async def subscribed(
    bot: BotRunner, driver: SimDriver, people: tuple[SimUser, SimUser], group: SimChat
) -> SimChat:
    """The group, the bot in it and subscribed to the whole of Đống Đa."""
    await joined_and_subscribed(driver, people[0], group)
    return group


def button_data(message: SimMessage, label: str) -> str:
    """The callback data of the button labelled `label` in the message as it is now."""
    return message.callback_data[label]


async def press(
    driver: SimDriver, user: SimUser, chat: SimChat, label: str, message: SimMessage
) -> str:
    """`user` presses the button labelled `label` under `message`; the answer's text."""
    record = driver.sim.callbacks[await driver.press_button(user, chat, label, message=message)]
    await driver.wait_for(lambda: record.answered)
    return str(record.answer.get("text", ""))


async def press_old(
    driver: SimDriver, user: SimUser, chat: SimChat, message: SimMessage, data: str
) -> CallbackRecord:
    """`user` presses a button carrying `data` under `message`; the answer once it is given."""
    query_id = driver._callback(user, chat, message, {"text": "old", "callback_data": data})
    record = driver.sim.callbacks[query_id]
    await driver.wait_for(lambda: record.answered)
    return record


async def area_of(driver: SimDriver, user: SimUser, group: SimChat) -> str:
    return (await say(driver, user, group, "/trangthai")).text or ""


async def test_the_picker_of_a_finished_flow_is_closed_and_its_press_changes_nothing(
    sim: BotApiSimulator, driver: SimDriver, people: tuple[SimUser, SimUser], joined: SimChat
) -> None:
    (admin, member), group = people, joined
    picker = await say(driver, admin, group, "/dangky dong da")
    await driver.press_button(admin, group, DONG_DA)
    await driver.wait_for(lambda: "✅ Cả xã/phường" in str(picker.buttons))
    whole_commune = button_data(picker, "✅ Cả xã/phường")
    await driver.press_button(admin, group, "➕ Thôn/tổ mới")
    prompt = await driver.wait_for_bot_message(group, contains="Trả lời tin nhắn này")
    done = await say(driver, admin, group, "Tổ dân phố 5", reply_to=prompt)
    assert PLACE in (done.text or "")

    await driver.wait_for(lambda: picker.buttons == [])  # its keyboard was taken away
    assert picker.text == CLOSED
    answer = await press_old(driver, admin, group, picker, whole_commune)
    assert answer.answer.get("text") == STALE
    assert PLACE in await area_of(driver, member, group)  # still the residential area

    await driver.send_text(admin, group, "Tổ dân phố 7", reply_to=prompt)  # answered already
    assert PLACE in await area_of(driver, member, group)
    assert sim.unanswered_callbacks() == []


async def test_a_picker_replaced_by_a_new_dangky_is_refused_and_the_new_one_works(
    bot: BotRunner,
    sim: BotApiSimulator,
    driver: SimDriver,
    people: tuple[SimUser, SimUser],
    joined: SimChat,
) -> None:
    (admin, member), group = people, joined
    first = await say(driver, admin, group, "/dangky dong da")
    dong_da = button_data(first, DONG_DA)
    second = await say(driver, admin, group, "/dangky cam giang")
    assert CAM_GIANG_TN in str(second.buttons)
    await driver.wait_for(lambda: first.buttons == [])
    assert first.text == CLOSED

    answer = await press_old(driver, admin, group, first, dong_da)
    assert answer.answer.get("text") == STALE
    forged = await press_old(driver, admin, group, second, "sub:AAAAAAAA:w:00235")
    assert forged.answer.get("text") == STALE
    assert "chưa đăng ký" in await area_of(driver, member, group)

    await bot.restart()  # the flow is kept in the database
    await driver.press_button(admin, group, CAM_GIANG_TN, message=second)
    await driver.wait_for(lambda: "✅ Cả xã/phường" in str(second.buttons))
    await driver.press_button(admin, group, "✅ Cả xã/phường", message=second)
    await driver.wait_for(lambda: "Đã đăng ký" in (second.text or ""))
    assert CAM_GIANG_TN in await area_of(driver, member, group)
    assert sim.unanswered_callbacks() == []


async def test_unsubscribe_asks_first_and_only_an_admin_at_the_press_confirms(
    sim: BotApiSimulator, driver: SimDriver, people: tuple[SimUser, SimUser], subscribed: SimChat
) -> None:
    (admin, member), group = people, subscribed
    ask = await say(driver, admin, group, "/huydangky")
    assert ask.text == f"Hủy đăng ký nhận cảnh báo của {DONG_DA}?"
    assert ask.buttons == [["Hủy đăng ký", "Không"]]
    confirm = button_data(ask, "Hủy đăng ký")
    assert ADMINS_ONLY in await press(driver, member, group, "Hủy đăng ký", ask)

    await driver.press_button(admin, group, "Không", message=ask)
    await driver.wait_for(lambda: "Đã giữ nguyên" in (ask.text or ""))
    assert ask.buttons == []
    answer = await press_old(driver, admin, group, ask, confirm)
    assert answer.answer.get("text") == STALE_UNSUBSCRIBE
    assert DONG_DA in await area_of(driver, member, group)

    again = await say(driver, admin, group, "/huydangky")
    driver.set_member_status(group, admin, "member")  # no longer an admin when pressing
    assert ADMINS_ONLY in await press(driver, admin, group, "Hủy đăng ký", again)
    assert DONG_DA in await area_of(driver, member, group)

    driver.set_member_status(group, admin, "administrator")
    await driver.press_button(admin, group, "Hủy đăng ký", message=again)
    await driver.wait_for(lambda: "Đã huỷ đăng ký" in (again.text or ""))
    assert "chưa đăng ký" in await area_of(driver, member, group)
    assert sim.unanswered_callbacks() == []


async def test_a_new_dangky_closes_an_open_unsubscribe_question(
    driver: SimDriver, people: tuple[SimUser, SimUser], subscribed: SimChat
) -> None:
    (admin, member), group = people, subscribed
    ask = await say(driver, admin, group, "/huydangky")
    confirm = button_data(ask, "Hủy đăng ký")
    await say(driver, admin, group, "/dangky cam giang")
    await driver.wait_for(lambda: ask.buttons == [])
    answer = await press_old(driver, admin, group, ask, confirm)
    assert answer.answer.get("text") == STALE_UNSUBSCRIBE
    assert DONG_DA in await area_of(driver, member, group)
