"""The relayed dialogue of a tip: an officer's words to its reporter, the reporter's answer.

Each is typed as the answer to a prompt (its payload: the tip id) and carried by the outbox to
the other side, who never learns who wrote on the other end beyond "Người báo tin #R-12" or the
officer's unit. One implementation for both directions; only the call and the thanks differ.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update

from bot.services.flow_types import Label, translate
from bot.services.prompts import PendingPrompt
from bot.services.tip_outbox import TipOutbox
from bot.services.tips import Refused, Relayed
from handlers.base import Context, language, services

log = logging.getLogger(__name__)
# Problems a second try can fix: the prompt stays open for it.
TEXT_PROBLEMS = ("tips.relay.empty", "tips.relay.too_long")
Send = Callable[[TipOutbox, int, int, str], Awaitable[Relayed | Refused]]


async def relay_answer(
    update: Update,
    context: Context,
    pending: PendingPrompt,
    send: Send,
    thanks: Callable[[Relayed], Label],
    writer: str,
) -> None:
    """Relay the prompt's answer with `send`, then tell the writer (`thanks`) or why not."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not pending.payload.isdigit():
        return
    svc, lang = services(context), await language(update, context)
    tip_id = int(pending.payload)
    sent = await send(svc.tip_outbox, user.id, tip_id, message.text or "")
    if isinstance(sent, Refused):
        await message.reply_text(translate(svc.catalog, lang, sent.notice))
        if sent.notice.key not in TEXT_PROBLEMS:  # answering again cannot help: close it
            await svc.prompts.forget(pending.chat_id, pending.message_id)
        return
    await svc.prompts.forget(pending.chat_id, pending.message_id)
    log.info(
        "tip %s: %s message %s relayed (update %s)",
        tip_id,
        writer,
        sent.message_id,
        update.update_id,
    )
    await message.reply_text(translate(svc.catalog, lang, thanks(sent)))
