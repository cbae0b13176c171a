"""The bot joining, leaving and following groups that become supergroups."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.ext import Application, ChatMemberHandler, MessageHandler, filters

from handlers.base import Context, chat_ref, is_group, language, services, text
from handlers.tips import tip_link_keyboard

log = logging.getLogger(__name__)
PRESENT = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.RESTRICTED)
GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def track_bot_membership(update: Update, context: Context) -> None:
    """my_chat_member: welcome on join, resume on re-join, pause on removal."""
    change, chat = update.my_chat_member, update.effective_chat
    if change is None or chat is None or not is_group(chat):
        return
    was, now = change.old_chat_member.status, change.new_chat_member.status
    chats = services(context).chats
    if now in GONE and was not in GONE:
        paused = await chats.bot_left(chat.id)
        log.info("bot removed from chat %s (subscription paused: %s)", chat.id, paused)
    elif now in PRESENT and was in GONE:
        resumed = await chats.bot_joined(chat_ref(chat))
        await _greet(update, context, resumed)


async def _greet(update: Update, context: Context, resumed: bool) -> None:
    """The welcome, with the «📨 Gửi tin báo» link (carrying the group's area once it has one)."""
    chat = update.effective_chat
    assert chat is not None
    svc = services(context)
    view = await svc.subscriptions.status(chat.id) if resumed else None
    area = await svc.tips.group_area(chat.id) if view is not None else None
    button = tip_link_keyboard(context, await language(update, context), area)
    if view is not None:
        await context.bot.send_message(
            chat.id,
            await text(update, context, "membership.resumed", place=view.place),
            reply_markup=button,
        )
    else:
        await context.bot.send_message(
            chat.id, await text(update, context, "membership.welcome"), reply_markup=button
        )


async def follow_migration(update: Update, context: Context) -> None:
    """A group became a supergroup: move the chat and its subscription to the new id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    else:
        return
    moved = await services(context).chats.migrated(old_id, new_id)
    log.info("chat %s migrated to %s (moved: %s)", old_id, new_id, moved)


def register(app: Application) -> None:
    """Add the membership and migration handlers."""
    app.add_handler(ChatMemberHandler(track_bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, follow_migration))
