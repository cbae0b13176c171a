"""/caidat: group admins choose the least severe alert their group receives, and when (or
whether) the group's weekly digest goes out and is also posted in the group."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import command
from bot.services.alert_types import Severity
from bot.services.digest_types import Slot
from bot.services.digests import GroupPrefs
from handlers.base import Context, group_command, is_chat_admin, is_group, language, services
from storage.types import utcnow

LEVELS = (Severity.INFO, Severity.WARNING, Severity.URGENT)
# Digest buttons carry "set:dg:<action>[:<value>]":
#   p        show the digest panel
#   d / h    the weekday (1-7) / hour (0-23) pickers; d:<n> and h:<n> choose
#   x        back to the usual schedule (DIGEST_SCHEDULE)
#   on, off  the group's digest on or off
#   g:1, g:0 also post the digest in the group, or not
DIGEST = "set:dg:"
WEEKDAYS = range(1, 8)
HOURS = range(24)


def _keyboard(context: Context, lang: str, prefs: GroupPrefs | None) -> InlineKeyboardMarkup:
    t = services(context).catalog.t
    rows = [
        [
            InlineKeyboardButton(
                t(lang, f"settings.level_{s.value}"), callback_data=f"set:sev:{s.value}"
            )
        ]
        for s in LEVELS
    ]
    if prefs is not None:
        label = t(lang, "digest.settings.button", when=_when(context, lang, prefs))
        rows.append([InlineKeyboardButton(label, callback_data=f"{DIGEST}p")])
    return InlineKeyboardMarkup(rows)


async def show_settings(update: Update, context: Context) -> None:
    """Offer the three levels, naming the current one, and the digest's settings."""
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
    prefs = await svc.digests.group_prefs(chat.id, utcnow())
    level = t(lang, f"settings.level_{current}")
    await message.reply_text(
        t(lang, "settings.choose", current=level), reply_markup=_keyboard(context, lang, prefs)
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


# -- the weekly digest --------------------------------------------------------------------------


def _when(context: Context, lang: str, prefs: GroupPrefs) -> str:
    """ "Thứ Hai, 08:00", or "đang tắt"."""
    t = services(context).catalog.t
    if not prefs.enabled:
        return t(lang, "digest.settings.off_state")
    weekday, hour, minute = prefs.effective
    return _at(context, lang, weekday, f"{hour:02d}:{minute:02d}")


def _at(context: Context, lang: str, weekday: int, time: str) -> str:
    t = services(context).catalog.t
    return t(lang, "digest.settings.when", weekday=t(lang, f"digest.wd_{weekday}"), time=time)


def _button(
    context: Context, lang: str, key: str, data: str, **values: str
) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        services(context).catalog.t(lang, key, **values), callback_data=data
    )


def _panel(context: Context, lang: str, prefs: GroupPrefs) -> tuple[str, InlineKeyboardMarkup]:
    t = services(context).catalog.t
    post = t(lang, "digest.settings.yes" if prefs.post_in_group else "digest.settings.no")
    text = t(lang, "digest.settings.panel", when=_when(context, lang, prefs), post=post)
    b = _button
    rows = [
        [
            b(context, lang, "digest.settings.btn_day", f"{DIGEST}d"),
            b(context, lang, "digest.settings.btn_hour", f"{DIGEST}h"),
        ]
    ]
    if prefs.slot is not None:
        at = prefs.default_at
        usual = _at(context, lang, at.isoweekday(), f"{at:%H:%M}")
        rows.append([b(context, lang, "digest.settings.btn_default", f"{DIGEST}x", when=usual)])
    if prefs.enabled:
        rows.append([b(context, lang, "digest.settings.btn_off", f"{DIGEST}off")])
    else:
        rows.append([b(context, lang, "digest.settings.btn_on", f"{DIGEST}on")])
    if prefs.post_in_group:
        rows.append([b(context, lang, "digest.settings.btn_post_off", f"{DIGEST}g:0")])
    else:
        rows.append([b(context, lang, "digest.settings.btn_post_on", f"{DIGEST}g:1")])
    return text, InlineKeyboardMarkup(rows)


def _days(context: Context, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    t = services(context).catalog.t
    buttons = [
        InlineKeyboardButton(t(lang, f"digest.wd_{d}"), callback_data=f"{DIGEST}d:{d}")
        for d in WEEKDAYS
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_button(context, lang, "digest.settings.btn_back", f"{DIGEST}p")])
    return t(lang, "digest.settings.choose_day"), InlineKeyboardMarkup(rows)


def _hours(context: Context, lang: str, prefs: GroupPrefs) -> tuple[str, InlineKeyboardMarkup]:
    t = services(context).catalog.t
    buttons = [InlineKeyboardButton(f"{h:02d}:00", callback_data=f"{DIGEST}h:{h}") for h in HOURS]
    rows = [buttons[i : i + 6] for i in range(0, len(buttons), 6)]
    rows.append([_button(context, lang, "digest.settings.btn_back", f"{DIGEST}p")])
    weekday = t(lang, f"digest.wd_{prefs.effective[0]}")
    return t(lang, "digest.settings.choose_hour", weekday=weekday), InlineKeyboardMarkup(rows)


Screen = tuple[str, InlineKeyboardMarkup]


async def _apply(
    context: Context, chat_id: int, lang: str, action: str, prefs: GroupPrefs
) -> Screen | None:
    """What the press changes and the screen it leads to; None for data no button carries."""
    if action == "p":
        return _panel(context, lang, prefs)
    if action == "d":
        return _days(context, lang)
    if action == "h":
        return _hours(context, lang, prefs)
    digests, now = services(context).digests, utcnow()
    weekday, hour, _ = prefs.effective
    name, _, value = action.partition(":")
    number = int(value) if value.isdigit() else -1
    updated: GroupPrefs | None
    if action == "x":
        updated = await digests.set_slot(chat_id, None, now)
    elif action in ("on", "off"):
        updated = await digests.set_enabled(chat_id, action == "on", now)
    elif name == "d" and number in WEEKDAYS:
        updated = await digests.set_slot(chat_id, Slot(number, hour), now)
    elif name == "h" and number in HOURS:
        updated = await digests.set_slot(chat_id, Slot(weekday, number), now)
    elif name == "g" and value in ("0", "1"):
        updated = await digests.set_post_in_group(chat_id, value == "1", now)
    else:
        return None
    return None if updated is None else _panel(context, lang, updated)


async def digest_button(update: Update, context: Context) -> None:
    """A digest setting was pressed: admins only (asked of Telegram), answered every time."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    if not is_group(chat) or not await is_chat_admin(context, chat, query.from_user):
        await query.answer(t(lang, "errors.admins_only_button"), show_alert=True)
        return
    prefs = await svc.digests.group_prefs(chat.id, utcnow())
    if prefs is None:
        await query.answer(t(lang, "settings.not_subscribed"), show_alert=True)
        return
    screen = await _apply(context, chat.id, lang, query.data.removeprefix(DIGEST), prefs)
    if screen is None:
        await query.answer(t(lang, "errors.expired"), show_alert=True)
        return
    await query.answer()
    text, markup = screen
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:  # the same choice pressed again: the screen is already right
        if "not modified" not in exc.message.lower():
            raise


def register(app: Application) -> None:
    """Add /caidat and its buttons."""
    app.add_handler(CommandHandler(command("settings").names, show_settings))
    app.add_handler(CallbackQueryHandler(choose_level, pattern=r"^set:sev:"))
    app.add_handler(CallbackQueryHandler(digest_button, pattern=r"^set:dg:"))
