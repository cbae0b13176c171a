"""/caidat: group admins choose the least severe alert their group receives."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import command
from bot.services.alert_types import Severity
from handlers.base import Context, group_command, is_chat_admin, is_group, language, services

LEVELS = (Severity.INFO, Severity.WARNING, Severity.URGENT)


def _keyboard(context: Context, lang: str) -> InlineKeyboardMarkup:
    t = services(context).catalog.t
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, f"settings.level_{s.value}"), callback_data=f"set:sev:{s.value}"
                )
            ]
            for s in LEVELS
        ]
    )


async def show_settings(update: Update, context: Context) -> None:
    """Offer the three levels, naming the current one."""
    allowed = await group_command(update, context, admins_only=True)
    if allowed is None:
        return
    chat, message, lang = allowed
    svc = services(context)
    t = svc.catalog.t
    current = await svc.subscriptions.min_severity(chat.id)
    if current is None:
        await message.reply_text(t(lang, "settings.not_subscribed"))
        return
    level = t(lang, f"settings.level_{current}")
    await message.reply_text(
        t(lang, "settings.choose", current=level), reply_markup=_keyboard(context, lang)
    )


async def choose_level(update: Update, context: Context) -> None:
    """A level was pressed: admins only, checked with Telegram."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    value = query.data.removeprefix("set:sev:")
    if not is_group(chat) or not await is_chat_admin(context, chat, query.from_user):
        await query.answer(t(lang, "errors.admins_only_button"), show_alert=True)
        return
    if value not in {s.value for s in LEVELS}:
        await query.answer(t(lang, "errors.expired"), show_alert=True)
        return
    if not await svc.subscriptions.set_min_severity(chat.id, value):
        await query.answer(t(lang, "settings.not_subscribed"), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(
        t(lang, "settings.saved", level=t(lang, f"settings.level_{value}"))
    )


def register(app: Application) -> None:
    """Add /caidat and its buttons."""
    app.add_handler(CommandHandler(command("settings").names, show_settings))
    app.add_handler(CallbackQueryHandler(choose_level, pattern=r"^set:sev:"))
