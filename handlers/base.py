"""What every handler needs: the services, the chat's language, and who is an admin."""

from __future__ import annotations

from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from bot.container import Services
from bot.services.chats import ChatRef, Person
from bot.services.flow_types import Question, RenderedQuestion

Context = ContextTypes.DEFAULT_TYPE
ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def services(context: Context) -> Services:
    """The services the composition root stored on the application."""
    found: Services = context.application.bot_data["services"]
    return found


def chat_ref(chat: Chat) -> ChatRef:
    return ChatRef(telegram_id=chat.id, kind=chat.type, title=chat.title)


def person(user: User) -> Person:
    return Person(user.id, user.language_code)


def is_group(chat: Chat) -> bool:
    return chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def language(update: Update, context: Context) -> str:
    """The language to answer in, for the chat the update came from."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return services(context).settings.default_language
    return await services(context).chats.language(chat.id, user.language_code if user else None)


async def text(update: Update, context: Context, key: str, **values: Any) -> str:
    """The catalogue text for `key` in the update's language."""
    return services(context).catalog.t(await language(update, context), key, **values)


async def is_chat_admin(
    context: Context, chat: Chat, user: User | None, message: Message | None = None
) -> bool:
    """Ask Telegram whether the user administers the chat (anonymous admins write as the chat)."""
    if (
        message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    ):
        return True
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in ADMIN_STATUSES


async def group_command(
    update: Update, context: Context, *, admins_only: bool = False
) -> tuple[Chat, Message, str] | None:
    """Chat, message and language of a command meant for groups; None (and the person is told
    why) when it is used in a private chat or, if `admins_only`, by a non-administrator."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return None
    svc, lang = services(context), await language(update, context)
    if not is_group(chat):
        await message.reply_text(svc.catalog.t(lang, "errors.groups_only"))
        return None
    if admins_only and not await is_chat_admin(context, chat, update.effective_user, message):
        await message.reply_text(svc.catalog.t(lang, "errors.admins_only"))
        return None
    return chat, message, lang


async def replace_buttons(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Change (or remove) the keyboard under the pressed message, keeping its text.

    editMessageText rather than editMessageReplyMarkup: with `Defaults(parse_mode=...)` PTB
    also sends parse_mode to the latter, a parameter that method does not have.
    """
    message = query.message
    if isinstance(message, Message) and message.text:
        await query.edit_message_text(message.text_html, reply_markup=markup)


def question_buttons(
    prefix: str, question: Question, rendered: RenderedQuestion
) -> list[InlineKeyboardButton]:
    """A flow question's answers as buttons whose data name the flow, the draft's token and the
    step they answer (`<prefix>:<token>:<step>:<value>`), so that stale ones are refused."""
    head = f"{prefix}:{question.token}:{question.step.value}:"
    return [
        InlineKeyboardButton(label, callback_data=head + value) for value, label in rendered.buttons
    ]
