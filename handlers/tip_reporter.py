"""The reporter's buttons under the bot's news about their tip: «Vẫn còn» and «Trả lời cán bộ».

The notices and an officer's messages reach the reporter through the outbox; these buttons
carry only the tip id, so each press is checked against who sent the tip. The reporter's answer
goes to the officers signed "Người báo tin #R-12", re-sent as text by the bot.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.services.prompts import PendingPrompt
from bot.services.tip_cards import REPORTER_PREFIX, ReporterButton, parse_press
from bot.services.tip_flow import Label, translate
from bot.services.tip_outbox import TipOutbox
from bot.services.tip_types import tip_number
from bot.services.tips import Refused, Relayed
from handlers.base import Context, is_group, language, replace_buttons, services
from handlers.private import ask
from handlers.relay import relay_answer
from handlers.replies import on_prompt

log = logging.getLogger(__name__)
PROMPT_ANSWER = "tip_answer"  # the reporter's answer to the officers; payload: the tip id


def _say(context: Context, lang: str, label: Label) -> str:
    return translate(services(context).catalog, lang, label)


async def press_reporter_button(update: Update, context: Context) -> None:
    """«Vẫn còn» under a resolved tip's notice, or «Trả lời cán bộ» under an officer's words."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    svc, lang = services(context), await language(update, context)
    press = parse_press(query.data)
    if press is None or press.prefix != REPORTER_PREFIX or is_group(chat):
        await query.answer(_say(context, lang, Label("tips.triage.unknown_action")))
        return
    person, number = query.from_user.id, tip_number(press.tip_id)
    if press.code == ReporterButton.STILL:
        done = await svc.tip_outbox.still_happening(person, press.tip_id)
        if isinstance(done, Refused):
            await query.answer(_say(context, lang, done.notice), show_alert=True)
            return
        log.info("tip %s reopened by its reporter (update %s)", done.tip_id, update.update_id)
        await query.answer(svc.catalog.t(lang, "tips.reporter.reopened", number=number))
        await replace_buttons(query, None)
        return
    if not await svc.tips.is_reporter(person, press.tip_id):
        await query.answer(_say(context, lang, Label("tips.unknown_tip", {"number": number})))
        return
    await query.answer()
    text = svc.catalog.t(lang, "tips.reporter.ask_answer", number=number)
    await ask(chat, context, lang, person, text, PROMPT_ANSWER, str(press.tip_id))


async def answer_officers(update: Update, context: Context, pending: PendingPrompt) -> None:
    """The reporter's words: through the outbox to the officers, who never see who wrote."""
    await relay_answer(update, context, pending, TipOutbox.to_officers, _answer_sent, "reporter")


def _answer_sent(sent: Relayed) -> Label:
    key = "tips.reporter.answer_sent" if sent.officers else "tips.reporter.answer_kept"
    return Label(key, {"number": sent.number})


def register(app: Application) -> None:
    """Add the reporter's buttons and the answer prompt."""
    app.add_handler(CallbackQueryHandler(press_reporter_button, pattern=rf"^{REPORTER_PREFIX}:"))
    on_prompt(app, PROMPT_ANSWER, answer_officers)
