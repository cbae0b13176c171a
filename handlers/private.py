"""The private chat's router: the one owner of what a person sends the bot privately.

A person has at most one open conversation (`ConversationService`): an alert draft, a question
the bot asked (a prompt), a tip draft, and next a relayed reply. Every message that is not a
command goes to it through the registry (`on_conversation`). With nothing open, a text, photo or
location is offered as the start of a tip (`offer_seed`: officers see their commands beside the
offer); anything else, and an unknown command, gets a short hint and the commands the person may
use. /huy ends whatever is open. Features start a conversation with `open_conversation` (or
`ask`, for a question), which closes the older one and says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from telegram import (
    Chat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.commands import Role, command
from bot.i18n import Markup
from bot.services.conversations import ConversationKind, OpenConversation
from bot.services.tip_types import TEXT_MIN
from handlers.base import Context, language, services
from handlers.common import command_list, roles_of
from handlers.replies import prompt_answer

ConversationInput = Callable[[Update, Context, OpenConversation], Awaitable[None]]
_REGISTRY = "conversation_inputs"
# The offer to start a tip with what was just sent is a reply to that message: its Yes button
# ("ts:y") reads the seed back from the pressed message's reply_to_message (handlers/tips.py),
# so nothing needs keeping meanwhile. "ts:n" declines.
SEED_PREFIX = "ts:"
SEED_YES, SEED_NO = "ts:y", "ts:n"
SEED_WORDS = 3  # fewer words is a greeting or thanks more often than a tip


def on_conversation(app: Application, kind: ConversationKind, handler: ConversationInput) -> None:
    """Let `handler` take the messages of people whose open conversation is of `kind`."""
    app.bot_data.setdefault(_REGISTRY, {})[kind] = handler


async def open_conversation(chat: Chat, context: Context, lang: str, user_id: int) -> None:
    """Before a new conversation starts: close the open one and tell the person."""
    closed = await services(context).conversations.replace(user_id)
    await _tell_closed(chat, context, lang, closed)


async def ask(
    chat: Chat,
    context: Context,
    lang: str,
    user_id: int,
    text: str,
    kind: str,
    payload: str = "",
    *,
    placeholder: str | None = None,
) -> Message:
    """Ask the person a question in their private chat; their next message answers it."""
    await open_conversation(chat, context, lang, user_id)
    markup = ForceReply(input_field_placeholder=placeholder)
    question = await chat.send_message(text, reply_markup=markup)
    await services(context).prompts.remember(chat.id, question.message_id, user_id, kind, payload)
    return question


async def _tell_closed(
    chat: Chat, context: Context, lang: str, closed: Iterable[ConversationKind]
) -> None:
    t = services(context).catalog.t
    for kind in closed:
        await chat.send_message(t(lang, f"conversation.closed.{kind}"), reply_markup=_after(kind))


def _after(kind: ConversationKind | None) -> ReplyKeyboardRemove | None:
    """A tip draft may have left its «📍 Gửi vị trí» keyboard under the input field."""
    return ReplyKeyboardRemove() if kind is ConversationKind.TIP_DRAFT else None


async def route(update: Update, context: Context) -> None:
    """Any private message that is not a command: to the sender's open conversation."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return
    lang = await language(update, context)
    lookup = await services(context).conversations.current(user.id)
    await _tell_closed(chat, context, lang, lookup.closed)
    found = lookup.open
    inputs: dict[ConversationKind, ConversationInput] = context.application.bot_data.get(
        _REGISTRY, {}
    )
    handler = inputs.get(found.kind) if found is not None else None
    if found is None and seed_kind(message) is not None:
        await offer_seed(update, context, message, lang)
        return
    if found is None or handler is None:
        await _hint(update, context, message, lang, "private.nothing_open")
        return
    await handler(update, context, found)


def seed_kind(message: Message) -> str | None:
    """What a message could start a tip with: "text", "photo", "location", or None."""
    if message.text is not None:  # "cảm ơn", "alo": not what happened
        text = message.text.strip()
        return "text" if len(text) >= TEXT_MIN and len(text.split()) >= SEED_WORDS else None
    if message.photo:
        return "photo"
    if message.location is not None or message.venue is not None:
        return "location"
    return None


async def offer_seed(update: Update, context: Context, message: Message, lang: str) -> None:
    """Offer to start a tip with the message (as a reply to it); an officer also sees their
    commands, since they may have meant one."""
    t = services(context).catalog.t
    text = t(lang, f"tips.seed_offer_{seed_kind(message)}")
    if await roles_of(update, context) - {Role.EVERYONE}:
        text += "\n\n" + await command_list(update, context, lang)
    buttons = [
        InlineKeyboardButton(t(lang, "tips.btn_seed_yes"), callback_data=SEED_YES),
        InlineKeyboardButton(t(lang, "tips.btn_seed_no"), callback_data=SEED_NO),
    ]
    await message.reply_text(text, do_quote=True, reply_markup=InlineKeyboardMarkup([buttons]))


async def answer_open_prompt(
    update: Update, context: Context, conversation: OpenConversation
) -> None:
    """The person's message answers the question the bot asked, a Telegram reply or not."""
    message = update.effective_message
    if message is None:
        return
    lang = await language(update, context)
    asked = conversation.prompt
    answer = prompt_answer(context, asked.kind) if asked is not None else None
    if asked is None or answer is None:  # a question no feature answers any more
        await _hint(update, context, message, lang, "private.nothing_open")
        return
    if message.text is None:  # every question asks for words
        await message.reply_text(services(context).catalog.t(lang, "private.text_please"))
        return
    await answer(update, context, asked)


async def cancel(update: Update, context: Context) -> None:
    """/huy: end whatever the person is doing (nothing is sent)."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    svc, lang = services(context), await language(update, context)
    closed = await svc.conversations.cancel(user.id)
    key = f"conversation.cancelled.{closed}" if closed else "conversation.nothing_open"
    await message.reply_text(svc.catalog.t(lang, key), reply_markup=_after(closed))


async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have: say so, with the commands the person may use."""
    message = update.effective_message
    if message is None:
        return
    await _hint(update, context, message, await language(update, context), "private.unknown")


async def _hint(update: Update, context: Context, message: Message, lang: str, key: str) -> None:
    commands = Markup(await command_list(update, context, lang))
    await message.reply_text(services(context).catalog.t(lang, key, commands=commands))


def register(app: Application) -> None:
    """Add /huy, the router and the unknown-command answer (after every feature's commands)."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler(command("cancel").names, cancel, filters=private))
    # Service messages (a pin, ...) are not the person talking to the bot.
    talk = private & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    app.add_handler(MessageHandler(talk, route))
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    on_conversation(app, ConversationKind.PROMPT, answer_open_prompt)
