"""The officer's side of tips: the card's buttons, the reply relay, /xulytin and /nhomtruc.

A card reaches officers (and the commune's duty group) through the outbox; its buttons carry
the tip id and the version the card showed (`bot/services/tip_cards.py`), and the tip service
decides: a press on an older card, a second «Tiếp nhận» or forged data is answered and changes
nothing. After a change the pressed card is redrawn at once; the outbox edits every other copy.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Chat, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.commands import command
from bot.delivery.engine import to_markup
from bot.delivery.outgoing import Outgoing
from bot.services.prompts import PendingPrompt
from bot.services.tip_cards import (
    CARD_PREFIX,
    LIST_PREFIX,
    TRIAGE_CODES,
    CardButton,
    Press,
    block_question,
    open_tips_view,
    parse_list_press,
    parse_press,
)
from bot.services.tip_flow import Label, translate
from bot.services.tip_outbox import TipOutbox
from bot.services.tip_types import tip_number
from bot.services.tips import Refused, Relayed, TipCard, TipFilter, TriageChanged
from handlers.base import Context, group_command, is_group, language, services
from handlers.private import ask
from handlers.relay import relay_answer
from handlers.replies import on_prompt

log = logging.getLogger(__name__)
PROMPT_REPLY = "tip_reply"  # the officer's message to a tip's reporter; payload: the tip id


def _say(context: Context, lang: str, label: Label) -> str:
    return translate(services(context).catalog, lang, label)


# -- the card's buttons -------------------------------------------------------------------


async def press_card_button(update: Update, context: Context) -> None:
    """Any button of a tip card (or of the questions it leads to)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    lang = await language(update, context)
    press = parse_press(query.data)
    if press is None or press.prefix != CARD_PREFIX:
        await query.answer(_say(context, lang, Label("tips.triage.unknown_action")))
        return
    if press.code in TRIAGE_CODES:
        await _triage(query, chat, context, lang, press)
        log.info("tip %s: %s pressed (update %s)", press.tip_id, press.code, update.update_id)
        return
    if is_group(chat):  # replies and blocks belong in the officer's private chat
        await query.answer(_say(context, lang, Label("tips.card.private_only")), show_alert=True)
        return
    if press.code == CardButton.REPLY:
        await _ask_reply(query, chat, context, lang, press.tip_id)
    elif press.code == CardButton.BLOCK:
        await _ask_block(query, chat, context, lang, press.tip_id)
    elif press.code == CardButton.BLOCK_YES:
        await _block(query, context, lang, press.tip_id)
        log.info("tip %s: block confirmed (update %s)", press.tip_id, update.update_id)
    else:  # CardButton.BLOCK_NO: the question loses its buttons, nothing changes
        await query.answer()
        kept = Label("tips.card.not_blocked", {"number": tip_number(press.tip_id)})
        await _edit(query, Outgoing(text=_say(context, lang, kept)))


async def _triage(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, press: Press
) -> None:
    """Tiếp nhận, Có giá trị, Không có giá trị, Đã xử lý, Từ chối: the service decides."""
    svc = services(context)
    done = await svc.tip_outbox.act(query.from_user.id, press.tip_id, press.code, press.version)
    if isinstance(done, Refused):
        await query.answer(_say(context, lang, done.notice), show_alert=True)
        if done.notice.key == "tips.triage.stale":  # show what changed, to decide again
            await _redraw(query, chat, context, lang, press.tip_id)
        return
    await query.answer(_say(context, lang, _done_label(done)))
    await _redraw(query, chat, context, lang, press.tip_id)


def _done_label(done: TriageChanged) -> Label:
    return Label(f"tips.card.done.{done.action.value}", {"number": done.number})


async def _redraw(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, tip_id: int
) -> None:
    """Redraw the pressed card now (the outbox edits the others, and this one if it sent it)."""
    view = await services(context).tip_outbox.card_view(tip_id, lang, chat.id)
    await _edit(query, view)


async def _edit(query: CallbackQuery, out: Outgoing) -> None:
    """Show `out` in the pressed message (the outbox may have shown it there already)."""
    if not isinstance(query.message, Message) or query.message.text is None:
        return
    try:
        await query.edit_message_text(out.text, reply_markup=to_markup(out))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def _card_answered(
    query: CallbackQuery, context: Context, lang: str, tip_id: int
) -> TipCard | None:
    """The tip's card if the officer who pressed may see it; the press is answered either way
    (refused: with the reason, and None)."""
    card = await services(context).tips.card(query.from_user.id, tip_id)
    if isinstance(card, Refused):
        await query.answer(_say(context, lang, card.notice), show_alert=True)
        return None
    await query.answer()
    return card


async def _ask_reply(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, tip_id: int
) -> None:
    """«Trả lời»: ask the officer for the words to relay to the reporter."""
    card = await _card_answered(query, context, lang, tip_id)
    if card is None:
        return
    t = services(context).catalog.t
    text = t(lang, "tips.card.ask_reply", number=card.number)
    placeholder = t(lang, "tips.card.reply_placeholder")
    await ask(
        chat,
        context,
        lang,
        query.from_user.id,
        text,
        PROMPT_REPLY,
        str(tip_id),
        placeholder=placeholder,
    )


async def answer_reply(update: Update, context: Context, pending: PendingPrompt) -> None:
    """The officer's words: through the outbox to the reporter (who stays unknown to them)."""
    await relay_answer(update, context, pending, TipOutbox.to_reporter, _reply_sent, "officer")


def _reply_sent(sent: Relayed) -> Label:
    return Label("tips.card.reply_sent", {"number": sent.number})


async def _ask_block(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, tip_id: int
) -> None:
    """«Chặn người gửi»: ask first; the officer never learns who the sender is."""
    card = await _card_answered(query, context, lang, tip_id)
    if card is None:
        return
    question = block_question(services(context).catalog, lang, tip_id, card.number)
    await chat.send_message(question.text, reply_markup=to_markup(question))


async def _block(query: CallbackQuery, context: Context, lang: str, tip_id: int) -> None:
    blocked = await services(context).tips.block_sender(query.from_user.id, tip_id)
    if isinstance(blocked, Refused):
        await query.answer(_say(context, lang, blocked.notice), show_alert=True)
        return
    key = "tips.block.already" if blocked.already else "tips.block.done"
    text = _say(context, lang, Label(key, {"number": blocked.number}))
    await query.answer()
    await _edit(query, Outgoing(text=text))


# -- /xulytin ---------------------------------------------------------------------------------


async def show_open_tips(update: Update, context: Context) -> None:
    """/xulytin: the officer's open tips, newest first, with filters and pages."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    lang = await language(update, context)
    view = await _list(context, lang, user.id, TipFilter.ALL, 0)
    await message.reply_text(view.text, reply_markup=to_markup(view))


async def _list(
    context: Context, lang: str, officer: int, wanted: TipFilter, page: int
) -> Outgoing:
    svc = services(context)
    found = await svc.tips.open_tips(officer, wanted, page)
    if isinstance(found, Refused):
        return Outgoing(text=_say(context, lang, found.notice))
    return open_tips_view(svc.catalog, lang, found, wanted, svc.settings.tz)


async def press_list_button(update: Update, context: Context) -> None:
    """A filter, a page, or a tip of the /xulytin list (which opens its card here)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    lang = await language(update, context)
    press = parse_list_press(query.data)
    if press is None or is_group(chat):
        await query.answer(_say(context, lang, Label("tips.triage.unknown_action")))
        return
    if press.open_tip is None:
        await query.answer()
        await _edit(query, await _list(context, lang, query.from_user.id, press.filter, press.page))
        return
    opened = await services(context).tip_outbox.open_card(query.from_user.id, press.open_tip, lang)
    if isinstance(opened, Refused):
        await query.answer(_say(context, lang, opened.notice), show_alert=True)
        return
    await query.answer(services(context).catalog.t(lang, "tips.list.opening", number=opened.number))


# -- /nhomtruc --------------------------------------------------------------------------------


async def set_duty_group(update: Update, context: Context) -> None:
    """/nhomtruc [mã xã] in a group: an officer makes it the commune's duty group."""
    found = await group_command(update, context)
    user = update.effective_user
    if found is None or user is None:
        return
    chat, message, lang = found
    svc = services(context)
    args = context.args or []
    code = args[0] if args else None
    if code is None:  # the commune the group subscribed to, else the officer's own
        subscription = await svc.subscriptions.status(chat.id)
        code = subscription.commune_code if subscription is not None else None
    done = await svc.tips.register_duty_group(user.id, chat.id, code)
    if isinstance(done, Refused):
        await message.reply_text(_say(context, lang, done.notice))
        return
    log.info("duty group of commune %s set (update %s)", done.commune_code, update.update_id)
    title = done.chat_title or chat.title or ""
    await message.reply_text(
        svc.catalog.t(lang, "tips.duty.set", title=title, commune=done.commune_label)
    )


def register(app: Application) -> None:
    """Add the card and list buttons, /xulytin, /nhomtruc and the reply prompt."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler(command("triage").names, show_open_tips, filters=private))
    app.add_handler(CommandHandler(command("duty_group").names, set_duty_group))
    app.add_handler(CallbackQueryHandler(press_card_button, pattern=rf"^{CARD_PREFIX}:"))
    app.add_handler(CallbackQueryHandler(press_list_button, pattern=rf"^{LIST_PREFIX}:"))
    on_prompt(app, PROMPT_REPLY, answer_reply)
