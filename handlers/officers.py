"""Superadmins grant and revoke officer rights in their private chat with the bot."""

from __future__ import annotations

from telegram import Message, Update, User
from telegram.ext import Application, CommandHandler, filters

from bot.commands import command
from bot.menus import sync_person
from bot.services.officers import UnknownJurisdiction
from handlers.base import Context, language, services


async def _superadmin(update: Update, context: Context) -> tuple[Message, User, str] | None:
    """Message, sender and language of a superadmin's command; None (and the sender is told the
    command is not for them) for anyone else."""
    user, message = update.effective_user, update.effective_message
    if message is None or user is None:
        return None
    svc, lang = services(context), await language(update, context)
    if svc.officers.is_superadmin(user.id):
        return message, user, lang
    await message.reply_text(svc.catalog.t(lang, "errors.superadmin_only"))
    return None


async def grant_officer(update: Update, context: Context) -> None:
    """/capquyen <telegram_id> <area code> [name]."""
    allowed = await _superadmin(update, context)
    if allowed is None:
        return
    message, user, lang = allowed
    svc = services(context)
    t = svc.catalog.t
    args = context.args or []
    if len(args) < 2 or not args[0].isdigit():
        await message.reply_text(t(lang, "officers.usage_grant"))
        return
    name = " ".join(args[2:])[:128] or None
    try:
        officer = await svc.officers.grant(user.id, int(args[0]), args[1], name)
    except UnknownJurisdiction:
        await message.reply_text(t(lang, "officers.unknown_area", code=args[1]))
        return
    await sync_person(context.bot, svc, officer.telegram_id)  # /canhbao in their menu at once
    await message.reply_text(
        t(
            lang,
            "officers.granted",
            id=officer.telegram_id,
            name=officer.name or "—",
            area=officer.jurisdiction.label,
        )
    )


async def revoke_officer(update: Update, context: Context) -> None:
    """/thuhoi <telegram_id>."""
    allowed = await _superadmin(update, context)
    if allowed is None:
        return
    message, user, lang = allowed
    svc = services(context)
    t = svc.catalog.t
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await message.reply_text(t(lang, "officers.usage_revoke"))
        return
    revoked = await svc.officers.revoke(user.id, int(args[0]))
    if revoked:
        await sync_person(context.bot, svc, int(args[0]))  # back to everyone's menu
    await message.reply_text(
        t(lang, "officers.revoked" if revoked else "officers.not_officer", id=args[0])
    )


async def list_officers(update: Update, context: Context) -> None:
    """/canbo: every active officer."""
    allowed = await _superadmin(update, context)
    if allowed is None:
        return
    message, _, lang = allowed
    svc = services(context)
    t = svc.catalog.t
    officers = await svc.officers.all()
    if not officers:
        await message.reply_text(t(lang, "officers.list_empty"))
        return
    lines = [t(lang, "officers.list_title")] + [
        t(
            lang,
            "officers.list_line",
            id=o.telegram_id,
            name=o.name or "",
            area=o.jurisdiction.label,
        )
        for o in officers
    ]
    await message.reply_text("\n".join(lines))


def register(app: Application) -> None:
    """Add the officer administration commands (private chats only)."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler(command("grant").names, grant_officer, filters=private))
    app.add_handler(CommandHandler(command("revoke").names, revoke_officer, filters=private))
    app.add_handler(CommandHandler(command("officers").names, list_officers, filters=private))
