"""copyMessage, forwardMessage, sendMediaGroup (with attach:// uploads), chat actions."""

import pytest
from telegram import Bot, InputMediaDocument, InputMediaPhoto
from telegram.error import BadRequest

from simulator import BotApiSimulator, SimDriver


async def test_copy_and_forward_a_residents_photo(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    resident = driver.create_user("Dân")
    officer = driver.create_user("Công an")
    report_chat = await driver.start_private(resident)
    officer_chat = await driver.start_private(officer)
    photo = await driver.send_photo(resident, report_chat, caption="xe lạ")
    copied = await bot.copy_message(officer_chat.id, report_chat.id, photo.message_id)
    forwarded = await bot.forward_message(officer_chat.id, report_chat.id, photo.message_id)
    stored = {m.message_id: m for m in driver.messages(officer_chat)}
    assert stored[copied.message_id].photo == photo.photo
    assert stored[copied.message_id].caption == "xe lạ"
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.type == "user"
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(officer_chat.id, report_chat.id, 999)
    assert await bot.send_chat_action(officer_chat.id, "typing")
    assert sim.violations == [] and sim.unsupported == []


async def test_media_group_uploads(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await driver.start_private(driver.create_user("Alice"))
    album = await bot.send_media_group(
        chat.id,
        [
            InputMediaPhoto(b"one", caption="<b>1</b>", parse_mode="HTML"),
            InputMediaPhoto(b"two"),
        ],
    )
    assert [m.caption for m in album] == ["1", None]
    assert album[0].media_group_id == album[1].media_group_id
    docs = await bot.send_media_group(
        chat.id, [InputMediaDocument(b"a", filename="a.pdf"), InputMediaDocument(b"b")]
    )
    assert docs[0].document is not None and docs[0].document.file_name == "a.pdf"
    file = await bot.get_file(album[1].photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == b"two"
    assert sim.violations == []
    with pytest.raises(BadRequest, match="2-10"):
        await bot.send_media_group(chat.id, [InputMediaPhoto(b"x")])


async def test_member_status_changes_reach_the_bot(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    bob = driver.create_user("Bob")
    group = driver.create_group("Tổ 5", members=[alice, bob], admins=[alice], supergroup=True)
    await driver.add_bot(group, by=alice, as_admin=True)
    await bot.get_updates(allowed_updates=["chat_member", "my_chat_member"])
    driver.set_member_status(group, bob, "administrator")
    driver.set_member_status(group, sim.bot, "member")
    updates = await bot.get_updates()
    assert [u.chat_member.new_chat_member.status for u in updates if u.chat_member] == [
        "administrator"
    ]
    assert [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member] == [
        "administrator",
        "member",
    ]
