"""/thongke (/stats): in a group, its administrators see the figures of the group's area; in a
private chat, an officer sees those of their jurisdiction. Buttons switch the period.

The button data name only the period: what the figures are about is always the chat pressed in
(a group) or the presser's own jurisdiction (private), checked again at every press.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import command
from bot.services.stats import PeriodName, Scope, UnknownScope
from bot.services.stats_render import render_figures
from handlers.base import Context, is_chat_admin, is_group, language, services

log = logging.getLogger(__name__)
# Callback data "st:<period>": the period buttons under the figures.
PREFIX = "st:"
PERIODS = (PeriodName.DAYS_7, PeriodName.DAYS_30, PeriodName.YEAR)


def _keyboard(context: Context, lang: str, current: PeriodName) -> InlineKeyboardMarkup:
    t = services(context).catalog.t

    def label(period: PeriodName) -> str:
        text = t(lang, f"stats.button_{period.value}")
        return t(lang, "stats.chosen", label=text) if period == current else text

    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label(p), callback_data=f"{PREFIX}{p.value}") for p in PERIODS]]
    )


def _shows_figures(message: object) -> bool:
    """Whether the pressed message is one of ours showing figures (its buttons come from
    Telegram, not from the presser): forged data on an alert copy must not turn it into them."""
    markup = message.reply_markup if isinstance(message, Message) else None
    buttons = markup.inline_keyboard if markup is not None else ()
    return any(str(b.callback_data or "").startswith(PREFIX) for row in buttons for b in row)


async def _figures_text(
    update: Update, context: Context, lang: str, period: PeriodName
) -> tuple[str | None, str | None]:
    """(the figures, None) for whoever asked, or (None, the catalogue key saying why not)."""
    chat, user = update.effective_chat, update.effective_user
    svc = services(context)
    if chat is None or user is None:
        return None, "errors.expired"
    if is_group(chat):
        scope = await svc.stats.area_of_group(chat.id)
        if scope is None:
            return None, "settings.not_subscribed"
        group: int | None = chat.id
    else:
        officer = await svc.officers.officer(user.id)
        if officer is None:
            return None, "stats.officers_only"
        scope, group = Scope.of_code(officer.jurisdiction.code), None
    try:
        figures = await svc.stats.figures(scope, svc.stats.period(period))
    except UnknownScope:
        return None, "settings.not_subscribed"
    tz = svc.settings.tz
    return render_figures(svc.catalog, lang, figures, period, tz, group=group), None


async def show_stats(update: Update, context: Context) -> None:
    """/thongke: the last 7 days, with buttons for 30 days and this year."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    svc, lang = services(context), await language(update, context)
    if is_group(chat) and not await is_chat_admin(context, chat, update.effective_user, message):
        await message.reply_text(svc.catalog.t(lang, "errors.admins_only"))
        return
    text, problem = await _figures_text(update, context, lang, PeriodName.DAYS_7)
    if text is None:
        await message.reply_text(svc.catalog.t(lang, problem or "errors.expired"))
        return
    await message.reply_text(text, reply_markup=_keyboard(context, lang, PeriodName.DAYS_7))


async def choose_period(update: Update, context: Context) -> None:
    """A period button: the same checks as the command, then the message shows that period."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    wanted = query.data.removeprefix(PREFIX)
    if wanted not in {p.value for p in PERIODS} or not _shows_figures(query.message):
        await query.answer(t(lang, "errors.expired"), show_alert=True)
        return
    if is_group(chat) and not await is_chat_admin(context, chat, query.from_user):
        await query.answer(t(lang, "errors.admins_only_button"), show_alert=True)
        return
    period = PeriodName(wanted)
    text, problem = await _figures_text(update, context, lang, period)
    if text is None:
        await query.answer(t(lang, problem or "errors.expired"), show_alert=True)
        return
    await query.answer()
    try:
        await query.edit_message_text(text, reply_markup=_keyboard(context, lang, period))
    except BadRequest as exc:  # the same period pressed again, nothing changed since
        if "not modified" not in str(exc).lower():
            raise
        log.debug("figures of update %s unchanged", update.update_id)


def register(app: Application) -> None:
    """Add /thongke and its period buttons."""
    names = list(dict.fromkeys(command("group_stats").names + command("stats").names))
    app.add_handler(CommandHandler(names, show_stats))
    app.add_handler(CallbackQueryHandler(choose_period, pattern=rf"^{PREFIX}"))
