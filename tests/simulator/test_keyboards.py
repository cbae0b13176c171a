"""The custom keyboard under a private chat's input field, and what people send with it:
locations, venues, voice messages, files (downloadable through getFile)."""

from datetime import timedelta

import pytest
from telegram import Bot, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from simulator import BotApiSimulator, SimDriver


async def updates(bot: Bot, count: int) -> list[Update]:
    found = await bot.get_updates(timeout=1)
    assert len(found) == count, found
    await bot.get_updates(offset=found[-1].update_id + 1, timeout=0)
    return list(found)


async def test_the_keyboard_stays_until_removed_and_its_buttons_send(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    user = driver.create_user("Lan")
    chat = await driver.start_private(user)
    await updates(bot, 1)
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("📍 Gửi vị trí", request_location=True)], [KeyboardButton("Bỏ qua")]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await bot.send_message(chat.id, "Ở đâu?", reply_markup=keyboard)
    assert chat.reply_keyboard is not None
    await bot.send_message(chat.id, "Không đổi bàn phím")  # no markup: the keyboard stays
    assert chat.reply_keyboard is not None

    shared = await driver.press_reply_button(user, "📍 Gửi vị trí", 21.02, 105.83)
    skipped = await driver.press_reply_button(user, "Bỏ qua")
    first, second = await updates(bot, 2)
    assert first.message is not None and first.message.location is not None
    assert first.message.location.latitude == 21.02 and shared.location is not None
    assert second.message is not None and second.message.text == "Bỏ qua" == skipped.text
    with pytest.raises(AssertionError, match="latitude"):
        await driver.press_reply_button(user, "📍 Gửi vị trí")
    with pytest.raises(AssertionError, match="no keyboard button"):
        await driver.press_reply_button(user, "Không có")

    await bot.send_message(chat.id, "Xong", reply_markup=ReplyKeyboardRemove())
    assert chat.reply_keyboard is None
    assert sim.violations == []


async def test_venues_voice_and_files_reach_the_bot(driver: SimDriver, bot: Bot) -> None:
    user = driver.create_user("Lan")
    chat = await driver.start_private(user)
    await updates(bot, 1)
    await driver.send_venue(user, chat, 21.02, 105.83, "Chợ Đồng Xuân", "Hàng Chiếu, Hà Nội")
    await driver.send_voice(user, chat, duration=4)
    await driver.send_document(user, chat, "anh.jpg", b"\xff\xd8 jpeg", mime_type="image/jpeg")
    venue, voice, document = (u.message for u in await updates(bot, 3))
    assert venue is not None and venue.venue is not None and venue.location is not None
    assert (venue.venue.title, venue.venue.address) == ("Chợ Đồng Xuân", "Hàng Chiếu, Hà Nội")
    assert (
        voice is not None
        and voice.voice is not None
        and voice.voice.duration == timedelta(seconds=4)
    )
    assert document is not None and document.document is not None
    assert document.document.mime_type == "image/jpeg"
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"\xff\xd8 jpeg"
