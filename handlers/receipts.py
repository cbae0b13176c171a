"""The "Đã nhận" (received) button under every alert copy."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.services.alert_render import ACK_PREFIX, PREVIEW_ACK, acked_number
from bot.services.alerts import AlertError
from handlers.base import Context, is_chat_admin, is_group, language, services


async def press_received(update: Update, context: Context) -> None:
    """Record the group's receipt once (the first administrator's press) and answer the press.

    The data may be forged or stale: only a group the alert was delivered to (or is being sent
    to right now: the sender writes the copy's message id a little after the send, and a quick
    resident presses before that) can acknowledge it; anything else is answered and changes
    nothing.
    """
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    if query.data == PREVIEW_ACK:
        await query.answer(t(lang, "ack.preview"))
        return
    number = acked_number(query.data)
    if chat is None or not is_group(chat) or number is None or _other_alerts_button(query):
        await query.answer(t(lang, "ack.not_here"))
        return
    if not await is_chat_admin(context, chat, query.from_user):
        await query.answer(t(lang, "ack.not_admin"))
        return
    try:
        first = await svc.alerts.acknowledge(number, chat.id, query.from_user.id)
    except AlertError as problem:
        await query.answer(t(lang, problem.key, **problem.values))
        return
    await query.answer(t(lang, "ack.recorded" if first else "ack.already"))


def _other_alerts_button(query: CallbackQuery) -> bool:
    """The pressed message shows a "received" button, but not the one pressed: data forged on
    another alert's copy. (A copy whose button is already gone after its group's receipt
    shows none: a late press there is answered "already".)"""
    if not isinstance(query.message, Message) or query.message.reply_markup is None:
        return False
    shown = [
        str(button.callback_data)
        for row in query.message.reply_markup.inline_keyboard
        for button in row
        if str(button.callback_data or "").startswith(ACK_PREFIX)
    ]
    return bool(shown) and query.data not in shown


def register(app: Application) -> None:
    """Add the receipt button handler."""
    app.add_handler(CallbackQueryHandler(press_received, pattern=rf"^{ACK_PREFIX}"))
