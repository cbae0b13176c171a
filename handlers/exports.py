"""Officers download their jurisdiction's tips: `/xuatdulieu [days]` in their private chat.

The CSV is a direct reply to the officer's own command (sendDocument with the bytes), so it
does not go through the outbox. The jurisdiction comes from the officer's row, never from the
message: an officer can only ever get their own area's tips.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.commands import command
from bot.exports.service import MAX_DAYS
from handlers.base import Context, is_group, language, services
from handlers.officers import area_label

log = logging.getLogger(__name__)


def _days(args: list[str]) -> int | None:
    """The days asked for, None for all; ValueError unless the arguments are one number."""
    if not args:
        return None
    if len(args) == 1 and args[0].isdigit() and 0 < int(args[0]) <= MAX_DAYS:
        return int(args[0])
    raise ValueError(args)


async def export_tips(update: Update, context: Context) -> None:
    """/xuatdulieu [days]: the CSV of the officer's jurisdiction's tips, as a document."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or message is None or user is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    if is_group(chat):
        await message.reply_text(t(lang, "errors.private_only"))
        return
    officer = await svc.officers.officer(user.id)
    if officer is None:
        await message.reply_text(t(lang, "errors.not_officer"))
        return
    try:
        days = _days(context.args or [])
    except ValueError:
        await message.reply_text(t(lang, "exports.usage"))
        return
    period = {"days": days} if days is not None else {}
    suffix = "days" if days is not None else "all"
    area = area_label(context, lang, officer)
    exported = await svc.exports.officer_csv(officer, days, lang)
    if exported.rows == 0:
        await message.reply_text(t(lang, f"exports.none_{suffix}", area=area, **period))
    elif exported.too_big:
        await message.reply_text(t(lang, "exports.too_big"))
    else:
        caption = t(lang, f"exports.caption_{suffix}", area=area, count=exported.rows, **period)
        await message.reply_document(exported.data, filename=exported.filename, caption=caption)
    log.info("update %s: tips export answered (%d tips)", update.update_id, exported.rows)


def register(app: Application) -> None:
    """Add /xuatdulieu (/export)."""
    app.add_handler(CommandHandler(command("export").names, export_tips))
