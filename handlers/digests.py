"""/tonghop (/digest): this week's digest on demand and each person's own switch; the deep link
of the groups' "open the bot" note; and the thin adapter through which digest runs read group
administrators from Telegram (the digest service itself knows nothing of Telegram)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest, ChatMigrated, Forbidden
from telegram.ext import Application, CommandHandler, ExtBot

from bot.commands import command
from bot.delivery.limiter import bulk_args
from bot.services.digest_types import START_PAYLOAD
from bot.services.digests import PRIORITY, AdminReader, RequestOutcome, RequestStatus
from handlers.base import Context, is_chat_admin, is_group, language, services
from handlers.common import on_deep_link
from storage.types import utcnow

log = logging.getLogger(__name__)
# What people type after /tonghop, with and without diacritics.
OFF_WORDS = frozenset({"tat", "tắt", "off", "stop"})
ON_WORDS = frozenset({"bat", "bật", "on", "start"})


def admin_reader(bot: ExtBot[Any]) -> AdminReader:
    """getChatAdministrators in the limiter's bulk lane: the ids of a group's human admins.

    A group the bot cannot read any more gives None (its digest goes to nobody); a network
    error or a flood wait raises, so the run is retried with what it already read kept.
    """

    async def read(telegram_chat_id: int) -> Sequence[int] | None:
        try:
            members = await bot.get_chat_administrators(
                telegram_chat_id, rate_limit_args=bulk_args(PRIORITY)
            )
        except (Forbidden, BadRequest, ChatMigrated) as exc:
            log.info("group administrators unreadable: %s", type(exc).__name__)
            return None
        return [m.user.id for m in members if not m.user.is_bot]

    return read


def start_link(bot: ExtBot[Any]) -> Callable[[str], str]:
    """The bot's deep link for a payload (the username is known once the bot is initialised)."""

    def url(payload: str) -> str:
        return f"https://t.me/{bot.username}?start={payload}"

    return url


async def digest_command(update: Update, context: Context) -> None:
    """/tonghop [tat|bat]: the digest now, or the person's own weekly switch."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    word = " ".join(context.args or []).strip().lower()
    if word in OFF_WORDS or word in ON_WORDS:
        await svc.digests.set_person_enabled(user.id, word in ON_WORDS)
        await message.reply_text(t(lang, "digest.on" if word in ON_WORDS else "digest.off"))
    elif word:
        await message.reply_text(t(lang, "digest.usage"))
    elif is_group(chat):
        await _for_group(context, chat, user, message, lang)
    else:
        outcome = await svc.digests.request_private(user.id, utcnow())
        if outcome.status is RequestStatus.NONE:
            await message.reply_text(t(lang, "digest.nothing_private"))


async def _for_group(context: Context, chat: Chat, user: User, message: Message, lang: str) -> None:
    """Asked in a group: an administrator gets the group's digest privately."""
    svc = services(context)
    t = svc.catalog.t
    if message.sender_chat is not None:  # an anonymous administrator: no one to send it to
        await message.reply_text(t(lang, "digest.anonymous"))
        return
    if not await is_chat_admin(context, chat, user, message):
        await message.reply_text(t(lang, "errors.admins_only"))
        return
    outcome = await svc.digests.request_for_group(user.id, chat.id, utcnow())
    await _tell_group(context, message, lang, outcome)


async def _tell_group(
    context: Context, message: Message, lang: str, outcome: RequestOutcome
) -> None:
    t = services(context).catalog.t
    if outcome.status is RequestStatus.UNSUBSCRIBED:
        await message.reply_text(t(lang, "settings.not_subscribed"))
    elif outcome.status is RequestStatus.START:
        url = start_link(context.bot)(f"{START_PAYLOAD}_{outcome.chat_row_id}")
        button = InlineKeyboardButton(t(lang, "digest.open_bot_button"), url=url)
        await message.reply_text(
            t(lang, "digest.open_bot_first"), reply_markup=InlineKeyboardMarkup([[button]])
        )
    else:
        await message.reply_text(t(lang, "digest.sent_private"))


async def open_from_link(update: Update, context: Context, rest: str) -> None:
    """/start dg[_<group row>]: the person opened the bot from a digest note or button; an
    administrator of that group (asked of Telegram again) gets its digest at once."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    svc, lang = services(context), await language(update, context)
    await message.reply_text(svc.catalog.t(lang, "digest.started"))
    group = await _linked_group(context, rest, user)
    now = utcnow()
    if group is not None:
        await svc.digests.request_for_group(user.id, group, now)
    else:
        await svc.digests.request_private(user.id, now)


async def _linked_group(context: Context, rest: str, user: User) -> int | None:
    """The group a deep link names, if the person administers it (else None)."""
    digits = rest.removeprefix("_")
    if not rest.startswith("_") or not digits.isdigit():
        return None
    telegram_id = await services(context).digests.group_telegram_id(int(digits))
    if telegram_id is None:
        return None
    try:
        member = await context.bot.get_chat_member(telegram_id, user.id)
    except (Forbidden, BadRequest):  # the bot left the group, or the person is not in it
        return None
    return telegram_id if member.status in ("administrator", "creator") else None


def register(app: Application) -> None:
    """Add /tonghop, the digest deep link, and the digest jobs on the scheduler."""
    svc = app.bot_data["services"]
    app.add_handler(CommandHandler(command("digest").names, digest_command))
    on_deep_link(app, START_PAYLOAD, open_from_link)
    svc.digests.register_jobs(svc.scheduler, admin_reader(app.bot), start_link(app.bot))
