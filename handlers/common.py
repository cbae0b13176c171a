"""Start (with deep links), help, language, and the one error handler."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import Role, Where, command, visible
from bot.i18n import LANGUAGES, Markup
from bot.menus import sync_person
from handlers.base import (
    Context,
    chat_ref,
    is_chat_admin,
    is_group,
    language,
    person,
    services,
)

log = logging.getLogger(__name__)
# What Telegram lets a t.me/<bot>?start=<payload> link carry.
DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
DeepLink = Callable[[Update, Context, str], Awaitable[None]]
_DEEP_LINKS = "deep_links"


def on_deep_link(app: Application, prefix: str, handler: DeepLink) -> None:
    """Let `handler` open `/start <prefix><rest>` in private chats; it is given `rest`."""
    if not DEEP_LINK_PAYLOAD.fullmatch(prefix):
        raise ValueError(f"a deep-link prefix is 1-64 of A-Z a-z 0-9 _ -, not {prefix!r}")
    app.bot_data.setdefault(_DEEP_LINKS, {})[prefix] = handler


def deep_link(context: Context) -> tuple[DeepLink, str] | None:
    """The handler of the /start payload and what follows its prefix; None for a plain /start,
    a malformed payload or one no feature registered (the longest matching prefix wins)."""
    args = context.args or []
    if len(args) != 1 or not DEEP_LINK_PAYLOAD.fullmatch(args[0]):
        return None
    links: dict[str, DeepLink] = context.application.bot_data.get(_DEEP_LINKS, {})
    matching = [prefix for prefix in links if args[0].startswith(prefix)]
    if not matching:
        return None
    prefix = max(matching, key=len)
    return links[prefix], args[0][len(prefix) :]


async def roles_of(update: Update, context: Context) -> frozenset[Role]:
    """What the person may do in this chat: administer the group, send alerts, grant rights."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    if is_group(chat):
        admin = await is_chat_admin(context, chat, user, update.effective_message)
        return frozenset({Role.GROUP_ADMIN}) if admin else frozenset()
    if user is None:
        return frozenset()
    return await services(context).menus.roles(user.id)


async def command_list(update: Update, context: Context, lang: str) -> str:
    """The commands this person may use in this chat, one per line."""
    chat = update.effective_chat
    assert chat is not None
    catalog = services(context).catalog
    roles = await roles_of(update, context)
    commands = visible(Where.GROUP if is_group(chat) else Where.PRIVATE, roles)
    lines = [catalog.t(lang, "help.title")]
    lines += [catalog.t(lang, f"help.{c.key}") for c in commands]
    return "\n".join(lines)


async def start(update: Update, context: Context) -> None:
    """/start [payload]: in private, the bot may now message the person, their own menu is set,
    and a deep link opens the feature it names; otherwise the welcome."""
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and user is not None and not is_group(chat):
        svc = services(context)
        await svc.chats.person_started(person(user))
        await sync_person(context.bot, svc, user.id, user.language_code)
        link = deep_link(context)
        if link is not None:
            handler, rest = link
            await handler(update, context, rest)
            return
    await show_start(update, context)


async def show_start(update: Update, context: Context) -> None:
    """/start: what the bot is for and what the person can do here."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    lang = await language(update, context)
    catalog = services(context).catalog
    commands = Markup(await command_list(update, context, lang))
    if is_group(chat):
        await message.reply_text(catalog.t(lang, "start.group", commands=commands))
        return
    add_url = f"https://t.me/{context.bot.username}?startgroup=true"
    button = InlineKeyboardButton(catalog.t(lang, "start.add_to_group"), url=add_url)
    await message.reply_text(
        catalog.t(lang, "start.private", commands=commands),
        reply_markup=InlineKeyboardMarkup([[button]]),
    )


async def show_help(update: Update, context: Context) -> None:
    """/help: the commands the person may use in this chat."""
    message = update.effective_message
    if message is None:
        return
    lang = await language(update, context)
    await message.reply_text(await command_list(update, context, lang))


async def choose_language(update: Update, context: Context) -> None:
    """/language: offer the languages (group admins only in groups)."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    lang = await language(update, context)
    catalog = services(context).catalog
    if is_group(chat) and not await is_chat_admin(context, chat, update.effective_user, message):
        await message.reply_text(catalog.t(lang, "errors.admins_only"))
        return
    buttons = [
        InlineKeyboardButton(catalog.t(code, "language_name"), callback_data=f"lang:{code}")
        for code in LANGUAGES
    ]
    await message.reply_text(
        catalog.t(lang, "language.choose"), reply_markup=InlineKeyboardMarkup([buttons])
    )


async def set_language(update: Update, context: Context) -> None:
    """A language button was pressed."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    code = query.data.removeprefix("lang:")
    catalog = services(context).catalog
    if code not in LANGUAGES:
        await query.answer(catalog.t(await language(update, context), "errors.expired"))
        return
    if is_group(chat) and not await is_chat_admin(context, chat, query.from_user):
        await query.answer(
            catalog.t(await language(update, context), "errors.admins_only_button"), show_alert=True
        )
        return
    await services(context).chats.set_language(chat_ref(chat), code)
    await query.answer()
    await query.edit_message_text(catalog.t(code, "language.changed"))
    if not is_group(chat):  # an own menu speaks the chat's language
        await sync_person(context.bot, services(context), query.from_user.id)


def _where(chat: Chat | None) -> str:
    """A chat as logs may name it: a group by its id; a private chat is a person, so never."""
    if chat is None:
        return "no chat"
    return f"group {chat.id}" if is_group(chat) else "a private chat"


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its context and tell the person, without details, in their language."""
    chat = update.effective_chat if isinstance(update, Update) else None
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s in %s failed", update_id, _where(chat), exc_info=context.error)
    if not isinstance(update, Update) or chat is None:
        return
    try:
        message = services(context).catalog.t(await language(update, context), "errors.generic")
        if update.callback_query is not None:
            await update.callback_query.answer(message, show_alert=True)
        else:
            await context.bot.send_message(chat.id, message)
    except (TelegramError, LookupError, OSError) as exc:  # the error report must not fail loudly
        log.warning("could not tell update %s's sender about the error: %s", update_id, exc)


def register(app: Application) -> None:
    """Add the start, help and language handlers."""
    app.add_handler(CommandHandler(command("start").names, start))
    app.add_handler(CommandHandler(command("help").names, show_help))
    app.add_handler(CommandHandler(command("language").names, choose_language))
    app.add_handler(CallbackQueryHandler(set_language, pattern=r"^lang:"))
    app.add_error_handler(on_error)
