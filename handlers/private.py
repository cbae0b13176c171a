"""The private chat's router: the one owner of what a person sends the bot privately.

A person has at most one open conversation (`ConversationService`): an alert draft, a question
the bot asked (a prompt), and next a tip draft or a relayed reply. Every message that is not a
command goes to it through the registry (`on_conversation`); with nothing open the person gets
a short hint and the commands they may use, as does an unknown command. /huy ends whatever is
open. Features start a conversation with `open_conversation` (or `ask`, for a question), which
closes the older one and says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from telegram import Chat, ForceReply, Message, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.commands import command
from bot.i18n import Markup
from bot.services.conversations import ConversationKind, OpenConversation
from handlers.base import Context, language, services
from handlers.common import command_list
from handlers.replies import prompt_answer

ConversationInput = Callable[[Update, Context, OpenConversation], Awaitable[None]]
_REGISTRY = "conversation_inputs"


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
        await chat.send_message(t(lang, f"conversation.closed.{kind}"))


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
    if found is None or handler is None:
        await _hint(update, context, message, lang, "private.nothing_open")
        return
    await handler(update, context, found)


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
    await message.reply_text(svc.catalog.t(lang, key))


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
