"""A real PTB Application polling the simulator, end to end."""

from collections.abc import AsyncIterator

import pytest_asyncio
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from simulator import BotApiSimulator, SimDriver


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Đăng ký", callback_data="reg")]])
    await update.effective_message.reply_html("<b>Chào</b> bạn!", reply_markup=keyboard)


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text("Đã đăng ký ✅")


async def _echo_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.location is not None
    await message.reply_text(f"{message.location.latitude:.1f},{message.location.longitude:.1f}")


@pytest_asyncio.fixture
async def app(sim: BotApiSimulator) -> AsyncIterator[Application]:
    application = (
        ApplicationBuilder()
        .token(sim.token)
        .base_url(sim.base_url)
        .base_file_url(sim.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CallbackQueryHandler(_pressed))
    application.add_handler(MessageHandler(filters.LOCATION, _echo_location))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_conversation_round_trip(
    sim: BotApiSimulator,
    driver: SimDriver,
    app: Application,
) -> None:
    alice = driver.create_user("Alice", username="alice")
    chat = await driver.start_private(alice)
    greeting = await driver.wait_for_bot_message(chat, contains="Chào")
    assert greeting.buttons == [["Đăng ký"]]
    await driver.press_button(alice, chat, "Đăng ký")
    await driver.wait_for(lambda: greeting.text == "Đã đăng ký ✅")
    await driver.wait_for(lambda: not sim.unanswered_callbacks())
    await driver.send_location(alice, chat, 21.0, 105.8)
    reply = await driver.wait_for_bot_message(chat, after=greeting.message_id)
    assert reply.text == "21.0,105.8"
    assert sim.violations == []
