"""Officers compose, send, correct and end alerts in their private chat with the bot.

The composer is the telegram-free `AlertFlow` behind `services.alerts` (its draft a row of
`alert_drafts`, so a restart loses nothing, and the officer's open conversation in the private
chat's router, which hands typed input to `compose_input`). This module turns an update into a
flow event and a question into a message with buttons:

- Buttons carry "al:<draft token>:<step>:<value>": a button of an older draft is refused, a
  button only answers the step it was shown for, and Confirm sends at most once (the alert row is
  unique per draft token; a press of an older draft's Confirm only says it was sent).
- An answered step's message is edited to show the choice; a question without one (the
  residential toggles, the preview's edit menu, Cancel) takes the pressed message's place.

A correction shows the current text, previews the corrected copy and waits for Confirm; the
pending correction is a database row named (id and token) by the Confirm and Cancel buttons.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import command
from bot.delivery.engine import to_markup
from bot.delivery.outgoing import Outgoing
from bot.services.alert_flow import CONFIRM, SEND, Event, with_audience
from bot.services.alert_types import Draft, Step
from bot.services.alerts import (
    CANCELLED,
    AlertError,
    AlertStatus,
    PreviewExpired,
)
from bot.services.conversations import ConversationKind, OpenConversation
from bot.services.flow_types import (
    Choice,
    Location,
    Other,
    Photo,
    Question,
    RenderedQuestion,
    Text,
    Voice,
    render_question,
    translate,
)
from bot.services.officers import OfficerView
from bot.services.prompts import PendingPrompt
from handlers.base import Context, is_group, language, question_buttons, services
from handlers.private import ask, on_conversation, open_conversation
from handlers.replies import on_prompt

log = logging.getLogger(__name__)
PREFIX = "al"  # al:<draft token>:<step>:<value>: an answer to one question of one draft
PROMPT_CORRECTION = "alert_correction"
ANSWER_LIMIT = 200  # characters of a button press's answer
Row = list[InlineKeyboardButton]
ManageAction = Callable[[CallbackQuery, Chat, Context, str, list[str]], Coroutine[Any, Any, None]]


async def _officer(update: Update, context: Context) -> OfficerView | None:
    user = update.effective_user
    return await services(context).officers.officer(user.id) if user is not None else None


# -- starting --------------------------------------------------------------------------


async def start_alert(update: Update, context: Context) -> None:
    """/canhbao: start composing; `/canhbao trangthai N` shows alert N's delivery."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    svc, lang = services(context), await language(update, context)
    args = context.args or []
    if args and args[0].lower() in ("trangthai", "status"):
        await show_status_command(update, context, args[1:])
        return
    if is_group(chat):
        await message.reply_text(svc.catalog.t(lang, "errors.private_only"))
        return
    officer = await _officer(update, context)
    if officer is None:
        await message.reply_text(svc.catalog.t(lang, "errors.not_officer"))
        return
    await open_conversation(chat, context, lang, officer.telegram_id)
    draft, question = await svc.alerts.start(officer)
    await show_question(chat, context, lang, officer, draft, question)


# -- showing questions ----------------------------------------------------------------------


async def show_question(
    chat: Chat, context: Context, lang: str, officer: OfficerView, draft: Draft, question: Question
) -> None:
    """Send a question of the draft (the preview: the alert as groups will see it first)."""
    if question.step is Step.PREVIEW:
        await send_preview(chat, context, lang, officer, draft, question)
        return
    rendered = render_question(services(context).catalog, lang, question)
    await chat.send_message(rendered.text, reply_markup=_keyboard(question, rendered))


async def send_outgoing(chat: Chat, out: Outgoing) -> Message:
    """Show rendered content in a chat exactly as the delivery engine would."""
    markup = to_markup(out)
    if out.photo:
        return await chat.send_photo(out.photo, caption=out.text, reply_markup=markup)
    return await chat.send_message(out.text, reply_markup=markup)


async def send_preview(
    chat: Chat, context: Context, lang: str, officer: OfficerView, draft: Draft, question: Question
) -> None:
    """The alert as groups will see it, then the audience and Confirm / Edit / Cancel."""
    svc = services(context)
    outgoing, audience = await svc.alerts.preview(officer, draft, lang)
    await send_outgoing(chat, outgoing)
    question = with_audience(question, audience.recipients, audience.filtered)
    rendered = render_question(svc.catalog, lang, question)
    await chat.send_message(rendered.text, reply_markup=_keyboard(question, rendered))


def _keyboard(question: Question, rendered: RenderedQuestion) -> InlineKeyboardMarkup | None:
    buttons = question_buttons(PREFIX, question, rendered)
    if not buttons:
        return None
    return InlineKeyboardMarkup(_LAYOUTS.get(question.step, _column)(buttons))


def _column(buttons: Row) -> list[Row]:
    return [[button] for button in buttons]


def _pairs(buttons: Row) -> list[Row]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _first_alone(buttons: Row) -> list[Row]:
    return [buttons[:1], buttons[1:]]


# How each question lays out its buttons (one per row unless named here).
_LAYOUTS: dict[str, Callable[[Row], list[Row]]] = {
    Step.CATEGORY: _pairs,  # eight short labels
    Step.VALIDITY: lambda buttons: [buttons],  # four durations in one row
    Step.PREVIEW: _first_alone,  # Confirm alone on top, then Edit and Cancel
    Step.EDIT: _pairs,
    Step.PROVINCES: _pairs,  # 34 provinces, then Done
}
# The presses that send a draft: after sending, pressing them again only says it was sent.
_SENDING = ((Step.PREVIEW.value, CONFIRM), (Step.RECONFIRM.value, SEND))


def _plain(text: str) -> str:
    """A catalogue text (HTML) as a button press's answer shows it: plain and short."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))[:ANSWER_LIMIT]


# -- buttons ------------------------------------------------------------------------------


async def press_compose_button(update: Update, context: Context) -> None:
    """Every composer button: the officer's current draft, matched by its token and step."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    parts = query.data.split(":", 3)
    officer = await _officer(update, context)
    if len(parts) != 4 or officer is None or is_group(chat):
        await query.answer(svc.catalog.t(lang, "compose.expired"), show_alert=True)
        return
    _, token, step, value = parts
    draft = await svc.alerts.draft(officer.telegram_id)
    if draft is None or draft.token != token:
        if (step, value) in _SENDING:  # pressed again after sending
            await _confirm(query, context, lang, officer, token)
            return
        await query.answer(svc.catalog.t(lang, "compose.expired"), show_alert=True)
        return
    question = await svc.alerts.answer(officer, draft, Choice(value, step))
    await _show_answer(query, chat, context, lang, officer, draft, question)


async def _show_answer(
    query: CallbackQuery,
    chat: Chat,
    context: Context,
    lang: str,
    officer: OfficerView,
    draft: Draft,
    question: Question,
) -> None:
    """A press's result: refused (an alert), sent, or the next question."""
    catalog = services(context).catalog
    if question.notice is not None:
        await query.answer(_plain(translate(catalog, lang, question.notice)), show_alert=True)
        return
    if question.step is Step.CONFIRM:
        # The flow reaches Confirm for a national draft only through its second question.
        await _confirm(query, context, lang, officer, draft.token, reconfirmed=draft.national)
        return
    await query.answer()
    if question.answered is None:  # this question takes the pressed message's place
        rendered = render_question(catalog, lang, question)
        await query.edit_message_text(rendered.text, reply_markup=_keyboard(question, rendered))
        return
    await query.edit_message_text(translate(catalog, lang, question.answered))
    await show_question(chat, context, lang, officer, draft, question)


async def _confirm(
    query: CallbackQuery,
    context: Context,
    lang: str,
    officer: OfficerView,
    token: str,
    reconfirmed: bool = False,
) -> None:
    """Send the alert (once); a repeated press only says it was sent; a preview older than ten
    minutes is shown again with a new expiry instead."""
    svc = services(context)
    t = svc.catalog.t
    try:
        sent = await svc.alerts.confirm(officer.telegram_id, token, reconfirmed=reconfirmed)
    except PreviewExpired as problem:
        await query.answer()
        await query.edit_message_text(t(lang, problem.key))
        draft = await svc.alerts.draft(officer.telegram_id)
        if draft is not None and draft.step is Step.RECONFIRM:  # back to the preview's Confirm
            draft.step = Step.PREVIEW
            await svc.alerts.save_draft(officer.telegram_id, draft)
        if draft is not None and query.message is not None:
            question = await svc.alerts.question(officer, draft)
            await send_preview(query.message.chat, context, lang, officer, draft, question)
        return
    except AlertError as problem:
        await query.answer(t(lang, problem.key, **problem.values), show_alert=True)
        return
    if sent.already:
        await query.answer(t(lang, "compose.already_sent", number=sent.alert_id), show_alert=True)
        return
    await query.answer()
    text = t(
        lang,
        "compose.sent",
        number=sent.alert_id,
        recipients=sent.recipients,
        filtered=sent.filtered,
    )
    await query.edit_message_text(text, reply_markup=manage_keyboard(context, lang, sent.alert_id))


# -- typed input --------------------------------------------------------------------------


async def take_draft_input(update: Update, context: Context, _draft: OpenConversation) -> None:
    """The router's entry point: the officer's open conversation is their draft."""
    await compose_input(update, context)


async def compose_input(update: Update, context: Context) -> None:
    """Text, photo, location or anything else the officer sends while composing."""
    chat, message = update.effective_chat, update.effective_message
    officer = await _officer(update, context)
    if chat is None or message is None or officer is None:
        return
    svc, lang = services(context), await language(update, context)
    draft = await svc.alerts.draft(officer.telegram_id)
    if draft is None:
        return
    question = await svc.alerts.answer(officer, draft, _event(message))
    if question.notice is not None:
        await message.reply_text(translate(svc.catalog, lang, question.notice))
        if not question.ask_again:  # the question above still stands
            return
    await show_question(chat, context, lang, officer, draft, question)


def _event(message: Message) -> Event:
    """The flow event a message brings."""
    if message.text is not None:
        return Text(message.text)
    if message.photo:
        return Photo(message.photo[-1].file_id)
    if message.venue is not None:
        place = message.venue.location
        return Location(place.latitude, place.longitude, message.venue.title, message.venue.address)
    if message.location is not None:
        return Location(message.location.latitude, message.location.longitude)
    if message.document is not None:  # a file keeps what Telegram strips from photos
        document = message.document
        return Photo(document.file_id, as_document=True, mime=document.mime_type)
    if message.voice is not None:
        return Voice()
    return Other()


# -- after sending: status, correct, end ----------------------------------------------------


def manage_keyboard(context: Context, lang: str, alert_id: int) -> InlineKeyboardMarkup:
    """Status / Correct / End buttons under the officer's "sent" message."""
    t = services(context).catalog.t
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t(lang, "manage.btn_status"), callback_data=f"am:st:{alert_id}")],
            [
                InlineKeyboardButton(
                    t(lang, "manage.btn_correct"), callback_data=f"am:co:{alert_id}"
                ),
                InlineKeyboardButton(t(lang, "manage.btn_end"), callback_data=f"am:en:{alert_id}"),
            ],
        ]
    )


def status_text(context: Context, lang: str, status: AlertStatus) -> str:
    """The delivery figures of one alert."""
    catalog = services(context).catalog
    t = catalog.t

    def seconds(value: float | None) -> str:
        return (
            t(lang, "manage.not_reached")
            if value is None
            else t(lang, "manage.seconds", n=catalog.number(lang, value, 1))
        )

    stats = status.stats
    return t(
        lang,
        "manage.status",
        number=status.alert_id,
        state=t(lang, f"manage.state_{status.status}"),
        area=status.target_label,
        delivered=stats.delivered,
        pending=stats.pending,
        failed=stats.failed,
        filtered=stats.filtered,
        withdrawn=stats.withdrawn,
        acknowledged=status.acknowledged,
        t50=seconds(stats.t50_seconds),
        t100=seconds(stats.t100_seconds),
    )


async def show_status_command(update: Update, context: Context, args: list[str]) -> None:
    """/canhbao trangthai N."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    svc, lang = services(context), await language(update, context)
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        await message.reply_text(svc.catalog.t(lang, "manage.usage"))
        return
    try:
        status = await svc.alerts.status(user.id, int(args[0].lstrip("#")))
    except AlertError as problem:
        await message.reply_text(svc.catalog.t(lang, problem.key, **problem.values))
        return
    await message.reply_text(status_text(context, lang, status))


async def press_manage_button(update: Update, context: Context) -> None:
    """Status, Correct (and its Confirm / Cancel), End (and its Confirm / Cancel) of an alert."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    _, action, *args = query.data.split(":")
    try:
        handle = _MANAGE_ACTIONS.get(action)
        if handle is None or not args or not all(a.isalnum() for a in args):
            raise AlertError("compose.expired")
        await handle(query, chat, context, lang, args)
    except AlertError as problem:
        await query.answer(svc.catalog.t(lang, problem.key, **problem.values), show_alert=True)


def _number(args: list[str]) -> int:
    if not args[0].isdigit():
        raise AlertError("compose.expired")
    return int(args[0])


async def _show_status(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, args: list[str]
) -> None:
    status = await services(context).alerts.status(query.from_user.id, _number(args))
    await query.answer()
    await chat.send_message(status_text(context, lang, status))


async def _ask_correction(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, args: list[str]
) -> None:
    """Show the current text (tap to copy), warn that the reply replaces all of it, ask."""
    svc = services(context)
    t = svc.catalog.t
    start = await svc.alerts.correction_start(query.from_user.id, _number(args))
    await query.answer()
    text = t(
        lang, "manage.ask_correction", number=start.alert_id, text=start.text, limit=start.limit
    )
    placeholder = t(lang, "manage.correction_placeholder")
    await ask(
        chat,
        context,
        lang,
        query.from_user.id,
        text,
        PROMPT_CORRECTION,
        str(start.alert_id),
        placeholder=placeholder,
    )


async def _confirm_correction(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, args: list[str]
) -> None:
    svc = services(context)
    t = svc.catalog.t
    correction_id, token = _number(args), args[-1]
    done = await svc.alerts.confirm_correction(query.from_user.id, correction_id, token)
    if done.already:
        text = t(lang, "manage.correction_already_applied", number=done.alert_id)
        await query.answer(text, show_alert=True)
        return
    await query.answer()
    text = t(
        lang, "manage.corrected", number=done.alert_id, n=done.version - 1, notices=done.notices
    )
    await query.edit_message_text(text)


async def _cancel_correction(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, args: list[str]
) -> None:
    svc = services(context)
    number = await svc.alerts.cancel_correction(query.from_user.id, _number(args), args[-1])
    await query.answer()
    await query.edit_message_text(svc.catalog.t(lang, "manage.correction_cancelled", number=number))


async def _ask_end(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, args: list[str]
) -> None:
    svc = services(context)
    t = svc.catalog.t
    status = await svc.alerts.status(query.from_user.id, _number(args))
    if status.status == CANCELLED:
        raise AlertError("manage.already_ended", number=status.alert_id)
    number = status.alert_id
    rows = [
        [
            InlineKeyboardButton(
                t(lang, "manage.btn_confirm_end", number=number), callback_data=f"am:ee:{number}"
            )
        ],
        [InlineKeyboardButton(t(lang, "manage.btn_keep"), callback_data=f"am:ek:{number}")],
    ]
    await query.answer()
    await chat.send_message(
        t(lang, "manage.confirm_end", number=number), reply_markup=InlineKeyboardMarkup(rows)
    )


async def _end(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, args: list[str]
) -> None:
    svc = services(context)
    alert = await svc.alerts.end(query.from_user.id, _number(args))
    await query.answer()
    await query.edit_message_text(svc.catalog.t(lang, "manage.ended", number=alert.id))


async def _keep(
    query: CallbackQuery, chat: Chat, context: Context, lang: str, args: list[str]
) -> None:
    """ "Không, giữ cảnh báo": the question loses its buttons and nothing changes."""
    await query.answer()
    text = services(context).catalog.t(lang, "manage.end_kept", number=_number(args))
    await query.edit_message_text(text)


# Callback data "am:<action>:<alert or correction id>[:<token>]".
_MANAGE_ACTIONS: dict[str, ManageAction] = {
    "st": _show_status,
    "co": _ask_correction,
    "cy": _confirm_correction,  # am:cy:<correction id>:<token>
    "cn": _cancel_correction,  # am:cn:<correction id>:<token>
    "en": _ask_end,
    "ee": _end,
    "ek": _keep,
}


async def answer_correction(update: Update, context: Context, pending: PendingPrompt) -> None:
    """The officer sent the new text: preview the corrected copy with Confirm and Cancel."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    assert chat is not None and user is not None and message is not None
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    alert_id = int(pending.payload)
    try:
        preview = await svc.alerts.propose_correction(user.id, alert_id, message.text or "", lang)
    except AlertError as problem:
        await message.reply_text(t(lang, problem.key, **problem.values))
        if problem.key not in _TEXT_PROBLEMS:  # answering again cannot help: close the prompt
            await svc.prompts.forget(pending.chat_id, pending.message_id)
        return
    await svc.prompts.forget(pending.chat_id, pending.message_id)
    await send_outgoing(chat, preview.outgoing)
    data = f"{preview.correction_id}:{preview.token}"
    rows = [
        [
            InlineKeyboardButton(
                t(lang, "manage.btn_confirm_correction"), callback_data=f"am:cy:{data}"
            )
        ],
        [
            InlineKeyboardButton(
                t(lang, "manage.btn_cancel_correction"), callback_data=f"am:cn:{data}"
            )
        ],
    ]
    await chat.send_message(
        t(lang, "manage.correction_preview", number=alert_id),
        reply_markup=InlineKeyboardMarkup(rows),
    )


# Refusals of the text itself: the prompt stays open for a better answer.
_TEXT_PROBLEMS = frozenset(
    {
        "compose.text_empty",
        "compose.text_too_long",
        "compose.text_too_long_photo",
        "manage.correction_unchanged",
    }
)


def register(app: Application) -> None:
    """Add the composer, the management buttons and the correction prompt."""
    app.add_handler(CommandHandler(command("alert").names, start_alert))
    app.add_handler(CallbackQueryHandler(press_compose_button, pattern=r"^al:"))
    app.add_handler(CallbackQueryHandler(press_manage_button, pattern=r"^am:"))
    on_conversation(app, ConversationKind.ALERT_DRAFT, take_draft_input)
    on_prompt(app, PROMPT_CORRECTION, answer_correction)
