"""Privacy mode: what the bot hears in groups."""

from telegram import Bot

from simulator import BotApiSimulator, SimDriver


async def _texts(bot: Bot) -> list[str]:
    updates = await bot.get_updates(timeout=0)
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return [u.message.text or "" for u in updates if u.message and u.message.text]


async def test_privacy_mode_in_groups(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    bob = driver.create_user("Bob")
    group = driver.create_group("Tổ dân phố 5", members=[alice, bob], admins=[alice])
    await driver.add_bot(group, by=alice)
    await _texts(bot)
    await driver.send_text(bob, group, "chào cả nhà")
    await driver.send_text(bob, group, "/dangky Đống Đa")
    await driver.send_text(bob, group, "/dangky@canhgac_test_bot Ba Đình")
    await driver.send_text(bob, group, "/dangky@other_bot Hoàn Kiếm")
    await driver.send_text(bob, group, "hỏi @canhgac_test_bot nhé")
    assert await _texts(bot) == [
        "/dangky Đống Đa",
        "/dangky@canhgac_test_bot Ba Đình",
        "hỏi @canhgac_test_bot nhé",
    ]


async def test_reply_to_bot_is_delivered(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    group = driver.create_group("Tổ 5", members=[alice], admins=[alice])
    await driver.add_bot(group, by=alice)
    prompt = await bot.send_message(group.id, "Bạn ở phường nào?")
    own = driver.messages(group)[-1]
    assert own.message_id == prompt.message_id
    user_msg = await driver.send_text(alice, group, "chuyện khác")
    await _texts(bot)
    await driver.send_text(alice, group, "Đống Đa", reply_to=own)
    await driver.send_text(alice, group, "trả lời người", reply_to=user_msg)
    assert await _texts(bot) == ["Đống Đa"]


async def test_admin_bot_hears_everything(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    group = driver.create_group("Tổ 5", members=[alice], admins=[alice], supergroup=True)
    await driver.add_bot(group, by=alice, as_admin=True)
    await _texts(bot)
    await driver.send_text(alice, group, "chào cả nhà")
    assert await _texts(bot) == ["chào cả nhà"]


async def test_private_chat_delivers_everything(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    await driver.send_text(alice, chat, "chào")
    assert await _texts(bot) == ["/start", "chào"]


async def test_group_without_bot_delivers_nothing(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    group = driver.create_group("Tổ 5", members=[alice], admins=[alice])
    await driver.send_text(alice, group, "/dangky")
    assert await _texts(bot) == []
