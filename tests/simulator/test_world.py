"""Buttons, memberships, migration, edits, chats and members — through the real PTB Bot."""

import pytest
from telegram import Bot, ChatMemberAdministrator, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden

from simulator import BotApiSimulator, SimDriver
from tests.simulator.conftest import assert_spec_shape


def _keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"cb:{label}")] for label in labels]
    )


async def test_press_button_and_answer(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    sent = await bot.send_message(chat.id, "Chọn", reply_markup=_keyboard("Có", "Không"))
    query_id = await driver.press_button(alice, chat, "Không")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None and query.id == query_id
    assert query.data == "cb:Không" and query.from_user.id == alice.id
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.chat_instance
    assert [c.id for c in sim.unanswered_callbacks()] == [query_id]
    assert await query.answer("Đã ghi nhận")
    assert sim.unanswered_callbacks() == []
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(AssertionError, match=r"available: \['Có', 'Không'\]"):
        await driver.press_button(alice, chat, "Có lẽ")


async def test_a_modified_client_sends_any_callback_data(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    group = driver.create_group("Tổ 1", admins=[alice], with_bot=True)
    sent = await bot.send_message(group.id, "Chọn", reply_markup=_keyboard("Có"))
    message = group.messages[sent.message_id]
    query_id = await driver.press_callback_data(alice, group, message, "ack:99999999999999999999")
    query = (await bot.get_updates())[-1].callback_query
    assert query is not None and query.id == query_id
    assert query.data == "ack:99999999999999999999" and query.from_user.id == alice.id
    assert query.message is not None and query.message.message_id == sent.message_id
    assert sim.callbacks[query_id].data == "ack:99999999999999999999"
    with pytest.raises(AssertionError, match="1-64 bytes"):
        await driver.press_callback_data(alice, group, message, "x" * 65)
    other = driver.create_group("Tổ 2", admins=[alice], with_bot=True)
    with pytest.raises(AssertionError, match="is not in chat"):
        await driver.press_callback_data(alice, other, message, "cb:Có")


async def test_my_chat_member_on_add_promote_remove(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    group = driver.create_group("Tổ dân phố 5", members=[alice], admins=[alice])
    await driver.add_bot(group, by=alice)
    await driver.set_bot_admin(group, True, by=alice)
    await bot.send_message(group.id, "xin chào")
    await driver.remove_bot(group, by=alice)
    updates = await bot.get_updates()
    changes = [
        (u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status)
        for u in updates
        if u.my_chat_member
    ]
    assert changes == [("left", "member"), ("member", "administrator"), ("administrator", "left")]
    members = [u.my_chat_member.new_chat_member for u in updates if u.my_chat_member]
    assert isinstance(members[1], ChatMemberAdministrator)
    service = [u.message for u in updates if u.message]
    assert service[0].new_chat_members[0].id == sim.bot.id
    left_member = service[1].left_chat_member
    assert left_member is not None and left_member.id == sim.bot.id
    with pytest.raises(Forbidden, match="kicked from the group chat"):
        await bot.send_message(group.id, "còn đây không?")
    other = driver.create_group("Tổ 6", members=[alice], admins=[alice])
    with pytest.raises(Forbidden, match="not a member of the group chat"):
        await bot.send_message(other.id, "chào")


async def test_migration_to_supergroup(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    bob = driver.create_user("Bob")
    group = driver.create_group("Tổ 5", members=[alice, bob], admins=[alice])
    await driver.add_bot(group, by=alice)
    new = await driver.migrate_to_supergroup(group)
    assert new.type == "supergroup" and new.id < -1_000_000_000_000
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(group.id, "chào")
    assert info.value.new_chat_id == new.id
    sent = await bot.send_message(new.id, "chào siêu nhóm")
    assert sent.chat.id == new.id and sent.chat.type == "supergroup"
    migrations = [
        (u.message.chat.id, u.message.migrate_to_chat_id, u.message.migrate_from_chat_id)
        for u in await bot.get_updates()
        if u.message and (u.message.migrate_to_chat_id or u.message.migrate_from_chat_id)
    ]
    assert migrations == [(group.id, new.id, None), (new.id, None, group.id)]
    member = await bot.get_chat_member(new.id, bob.id)
    assert member.status == "member"
    assert (await bot.get_chat_member(new.id, sim.bot.id)).status == "member"
    with pytest.raises(AssertionError, match="migrated"):
        await driver.send_text(bob, group, "/dangky")


async def test_edits_and_deletes(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    sent = await bot.send_message(chat.id, "Cảnh báo", reply_markup=_keyboard("Xem"))
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text(
            "Cảnh báo", chat.id, sent.message_id, reply_markup=_keyboard("Xem")
        )
    edited = await bot.edit_message_text(
        "<b>Đã huỷ</b>", chat.id, sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, type(sent)) and edited.edit_date is not None
    stored = driver.last_bot_message(chat)
    assert stored is not None
    assert (stored.text, stored.edited, stored.edit_count, stored.buttons) == (
        "Đã huỷ",
        True,
        1,
        [],
    )
    assert stored.entities == [{"type": "bold", "offset": 0, "length": 6}]
    assert stored.edit_history[0]["text"] == "Cảnh báo"
    await bot.edit_message_reply_markup(chat.id, sent.message_id, reply_markup=_keyboard("Mở"))
    assert stored.buttons == [["Mở"]] and stored.edit_count == 2
    photo = await bot.send_photo(chat.id, b"img", caption="cũ")
    await bot.edit_message_caption(chat.id, photo.message_id, caption="mới")
    assert driver.last_bot_message(chat).caption == "mới"  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat.id, 999)
    assert await bot.delete_message(chat.id, sent.message_id)
    assert driver.messages(chat)[1].deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(chat.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("y", chat.id, sent.message_id)
    assert sim.violations == []


async def test_chat_queries_with_64_bit_ids(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice", username="alice", language_code="vi")
    bob = driver.create_user("Bob")
    assert alice.id > 2**32 and bob.id > 2**32
    group = driver.create_group("Tổ 5", members=[alice, bob], admins=[alice], supergroup=True)
    assert group.id < -(2**32)
    await driver.add_bot(group, by=alice, as_admin=True)
    full = await bot.get_chat(group.id)
    assert (full.id, full.type, full.title) == (group.id, "supergroup", "Tổ 5")
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.id: a.status for a in admins} == {
        alice.id: "creator",
        sim.bot.id: "administrator",
    }
    assert await bot.get_chat_member_count(group.id) == 3
    driver.set_member_status(group, bob, "kicked")
    assert (await bot.get_chat_member(group.id, bob.id)).status == "kicked"
    assert await bot.get_chat_member_count(group.id) == 2
    private = await driver.start_private(alice)
    info = await bot.get_chat(private.id)
    assert (info.id, info.type, info.username) == (alice.id, "private", "alice")
    assert_spec_shape(sim.world.member_to_api(bob, "kicked"), ["ChatMember"])
    assert await bot.leave_chat(group.id)
    left = [u.my_chat_member for u in await bot.get_updates() if u.my_chat_member]
    assert left[-1].new_chat_member.status == "left"
    assert sim.violations == []


async def test_user_photo_is_downloadable(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    await driver.send_photo(alice, chat, caption="hiện trường", content=b"jpeg-bytes")
    await driver.send_document(alice, chat, filename="x.pdf")
    updates = await bot.get_updates()
    photo_msg = updates[1].message
    assert photo_msg is not None and photo_msg.caption == "hiện trường"
    largest = max(photo_msg.photo, key=lambda p: p.width)
    file = await bot.get_file(largest.file_id)
    assert bytes(await file.download_as_bytearray()) == b"jpeg-bytes"
    doc = updates[2].message.document  # type: ignore[union-attr]
    assert doc is not None and doc.file_name == "x.pdf"
    resent = await bot.send_photo(chat.id, largest.file_id)
    assert resent.photo
