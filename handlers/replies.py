"""Answers to the bot's ForceReply prompts, dispatched by the prompt's kind.

A prompt is stored (chat, message, person, kind) by `PromptService`; features add the answer of
each kind with `on_prompt`. In groups the bot sees only replies (privacy mode), so this handler
runs before all others (group -1) and, when a reply answers an open prompt of its sender, hands it
to the feature that asked and stops there; replies that answer nothing flow on. In private chats
the router (`handlers/private.py`) hands the person's message to their open prompt, reply or not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, MessageHandler, filters

from bot.services.prompts import PendingPrompt
from handlers.base import Context, services

PromptAnswer = Callable[[Update, Context, PendingPrompt], Awaitable[None]]
_REGISTRY = "prompt_answers"
PROMPT_GROUP = -1  # before every feature handler


def on_prompt(app: Application, kind: str, answer: PromptAnswer) -> None:
    """Let `answer` handle answers to prompts of `kind`."""
    app.bot_data.setdefault(_REGISTRY, {})[kind] = answer


def prompt_answer(context: Context, kind: str) -> PromptAnswer | None:
    """The feature's answer to prompts of `kind`, if one is registered."""
    found: PromptAnswer | None = context.application.bot_data.get(_REGISTRY, {}).get(kind)
    return found


async def answer_prompt(update: Update, context: Context) -> None:
    """Dispatch a group reply to the prompt it answers, if open and addressed to the sender."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None or message.reply_to_message is None:
        return
    asked = message.reply_to_message
    if asked.from_user is None or asked.from_user.id != context.bot.id:
        return
    pending = await services(context).prompts.pending(chat.id, asked.message_id, user.id)
    answer = prompt_answer(context, pending.kind) if pending else None
    if pending is None or answer is None:
        return
    await answer(update, context, pending)
    raise ApplicationHandlerStop


def register(app: Application) -> None:
    """Add the group prompt dispatcher (features add their kinds with `on_prompt`)."""
    reply = filters.ChatType.GROUPS & filters.REPLY & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(reply, answer_prompt), group=PROMPT_GROUP)
