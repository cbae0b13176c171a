"""The answer to a button no handler knows: junk data, or a button of an older version."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from handlers.base import Context, text


async def answer_unknown_button(update: Update, context: Context) -> None:
    """Answer the press, so the person's button stops spinning, and change nothing."""
    query = update.callback_query
    if query is not None:
        await query.answer(await text(update, context, "fallback.unknown_button"))


def register(app: Application) -> None:
    """Add the fallback; registered last in the group of every other button handler, so it runs
    only for a press none of them took (PTB runs the first matching handler of a group)."""
    app.add_handler(CallbackQueryHandler(answer_unknown_button))
