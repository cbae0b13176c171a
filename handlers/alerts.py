"""Officers compose, send, correct and end alerts in their private chat with the bot.

The draft lives in the database (a restart loses nothing) and its steps are asked with inline
keyboards; typed input (text, photo, location, a commune's name) is read by `compose_input`, to
which the private chat's router hands the messages of an officer whose open conversation is
the draft.
Button data carry the draft's token, so buttons of an older draft are refused, a button only
answers the step it asked, and Confirm sends at most once (the alert row is unique per draft
token). An answered step's message is edited to show the choice.

A correction shows the current text, previews the corrected copy and waits for Confirm; the
pending correction is a database row named (id and token) by the Confirm and Cancel buttons.
"""

from __future__ import annotations

import logging
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
from bot.services.alert_types import (
    CAPTION_TEXT_LIMIT,
    CATEGORIES,
    TEXT_LIMIT,
    VALIDITY_HOURS,
    Draft,
    Severity,
)
from bot.services.alerts import (
    CANCELLED,
    AlertError,
    AlertStatus,
    PreviewExpired,
    check_text,
)
from bot.services.conversations import ConversationKind, OpenConversation
from bot.services.officers import OfficerView
from bot.services.prompts import PendingPrompt
from handlers.base import Context, is_group, language, replace_buttons, services
from handlers.private import ask, on_conversation, open_conversation
from handlers.replies import on_prompt

log = logging.getLogger(__name__)
STEPS = ("target", "severity", "category", "text", "photo", "location", "validity", "exercise")
PROMPT_CORRECTION = "alert_correction"
Row = list[InlineKeyboardButton]
ComposeAction = Callable[
    [CallbackQuery, Context, str, OfficerView, Draft, str], Coroutine[Any, Any, None]
]
ManageAction = Callable[[CallbackQuery, Chat, Context, str, list[str]], Coroutine[Any, Any, None]]


def _button(label: str, draft: Draft, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=f"al:{draft.token}:{action}:{value}")


def _advance(draft: Draft, done: str) -> None:
    """Go to the step after `done` (back to the preview when editing from it)."""
    if draft.editing:
        draft.step = "preview"
        return
    following = STEPS.index(done) + 1
    draft.step = STEPS[following] if following < len(STEPS) else "preview"


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
    draft = await svc.alerts.new_draft(officer)
    await ask_step(chat, context, lang, officer, draft)


# -- asking each step ---------------------------------------------------------------------


async def ask_step(
    chat: Chat, context: Context, lang: str, officer: OfficerView, draft: Draft
) -> None:
    """Send the question of the draft's current step."""
    svc = services(context)
    t = svc.catalog.t
    step = draft.step
    if step == "preview":
        await send_preview(chat, context, lang, officer, draft)
        return
    if step in ("text", "target_commune"):
        key = "compose.ask_text" if step == "text" else "compose.ask_commune"
        await chat.send_message(t(lang, key, limit=TEXT_LIMIT, caption_limit=CAPTION_TEXT_LIMIT))
        return
    text, rows = await _step_question(context, lang, officer, draft)
    await chat.send_message(text, reply_markup=InlineKeyboardMarkup(rows))


async def _step_question(
    context: Context, lang: str, officer: OfficerView, draft: Draft
) -> tuple[str, list[Row]]:
    t = services(context).catalog.t
    step = draft.step
    if step == "target":
        return _target_question(context, lang, officer, draft)
    if step == "commune_scope":
        commune = services(context).units.commune(draft.commune_code or "")
        label = commune.label if commune else ""
        rows = [
            [_button(t(lang, "compose.btn_whole_commune"), draft, "tcw")],
            [_button(t(lang, "compose.btn_residential"), draft, "tr")],
        ]
        return t(lang, "compose.commune_scope", commune=label), rows
    if step == "residential":
        return await _residential_question(context, lang, draft)
    if step == "severity":
        rows = [[_button(t(lang, f"severity.{s.value}"), draft, "sv", s.value)] for s in Severity]
        return t(lang, "compose.ask_severity"), rows
    if step == "category":
        buttons = [_button(t(lang, f"category.{c}"), draft, "ct", c) for c in CATEGORIES]
        return t(lang, "compose.ask_category"), [buttons[i : i + 2] for i in range(0, 8, 2)]
    if step in ("photo", "location"):
        return t(lang, f"compose.ask_{step}"), [
            [_button(t(lang, "compose.btn_skip"), draft, "skp", step)]
        ]
    if step == "validity":
        labels = [
            t(lang, "compose.hours", n=h) if h < 72 else t(lang, "compose.days", n=h // 24)
            for h in VALIDITY_HOURS
        ]
        row = [
            _button(label, draft, "vd", str(h))
            for label, h in zip(labels, VALIDITY_HOURS, strict=True)
        ]
        return t(lang, "compose.ask_validity"), [row]
    rows = [
        [_button(t(lang, "compose.btn_real"), draft, "ex", "0")],
        [_button(t(lang, "compose.btn_exercise"), draft, "ex", "1")],
    ]
    return t(lang, "compose.ask_exercise"), rows


def _target_question(
    context: Context, lang: str, officer: OfficerView, draft: Draft
) -> tuple[str, list[Row]]:
    t = services(context).catalog.t
    area = officer.jurisdiction.name
    rows = [[_button(t(lang, "compose.btn_whole", area=area), draft, "tw")]]
    if officer.jurisdiction.kind == "province":
        rows.append([_button(t(lang, "compose.btn_one_commune"), draft, "tc")])
    else:
        rows.append([_button(t(lang, "compose.btn_residential"), draft, "tr")])
    return t(lang, "compose.start", jurisdiction=officer.jurisdiction.label), rows


async def _residential_question(context: Context, lang: str, draft: Draft) -> tuple[str, list[Row]]:
    svc = services(context)
    t = svc.catalog.t
    choices = await svc.alerts.residential_choices(draft.commune_code or "")
    if not choices:
        rows = [[_button(t(lang, "compose.btn_whole_commune"), draft, "tcw")]]
        return t(lang, "compose.no_residential"), rows
    rows = [
        [
            _button(
                ("☑️ " if c.id in draft.residential_ids else "⬜ ") + c.name, draft, "rt", str(c.id)
            )
        ]
        for c in choices
    ]
    rows.append([_button(t(lang, "compose.btn_done"), draft, "rd")])
    return t(lang, "compose.choose_residential"), rows


async def send_outgoing(chat: Chat, out: Outgoing) -> Message:
    """Show rendered content in a chat exactly as the delivery engine would."""
    markup = to_markup(out)
    if out.photo:
        return await chat.send_photo(out.photo, caption=out.text, reply_markup=markup)
    return await chat.send_message(out.text, reply_markup=markup)


async def send_preview(
    chat: Chat, context: Context, lang: str, officer: OfficerView, draft: Draft
) -> None:
    """The alert as groups will see it, then the audience and Confirm / Edit / Cancel."""
    svc = services(context)
    t = svc.catalog.t
    outgoing, audience = await svc.alerts.preview(officer, draft, lang)
    await send_outgoing(chat, outgoing)
    rows = [
        [_button(t(lang, "compose.btn_confirm"), draft, "ok")],
        [
            _button(t(lang, "compose.btn_edit"), draft, "ed"),
            _button(t(lang, "compose.btn_cancel"), draft, "x"),
        ],
    ]
    text = t(lang, "compose.audience", recipients=audience.recipients, filtered=audience.filtered)
    await chat.send_message(text, reply_markup=InlineKeyboardMarkup(rows))


# -- buttons ------------------------------------------------------------------------------


async def press_compose_button(update: Update, context: Context) -> None:
    """Every composer button: the officer's current draft, matched by its token."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    _, token, action, value = ([*query.data.split(":", 3), "", "", "", ""])[:4]
    officer = await _officer(update, context)
    draft = await svc.alerts.draft(query.from_user.id) if officer else None
    if officer is None or draft is None or draft.token != token:
        if action == "ok" and officer is not None:
            await _confirm(query, context, lang, officer, token)
            return
        await query.answer(svc.catalog.t(lang, "compose.expired"), show_alert=True)
        return
    if draft.step not in _ACTION_STEPS.get(action, ()):
        await query.answer(svc.catalog.t(lang, "compose.stale_button"), show_alert=True)
        return
    try:
        await _COMPOSE_ACTIONS[action](query, context, lang, officer, draft, value)
    except AlertError as problem:
        await query.answer(svc.catalog.t(lang, problem.key, **problem.values), show_alert=True)
    except (KeyError, ValueError):
        await query.answer(svc.catalog.t(lang, "compose.expired"), show_alert=True)


async def _next(
    query: CallbackQuery,
    context: Context,
    lang: str,
    officer: OfficerView,
    draft: Draft,
    chosen: str,
) -> None:
    """Save the answered step, show what was chosen in its message, ask the next step."""
    await services(context).alerts.save_draft(officer.telegram_id, draft)
    await query.answer()
    await query.edit_message_text(chosen)
    assert query.message is not None
    await ask_step(query.message.chat, context, lang, officer, draft)


def _chosen(context: Context, lang: str, field: str, value: str) -> str:
    """ "Mức độ: 🟠 CẢNH BÁO ✓": the answer of a step, shown in place of its buttons."""
    t = services(context).catalog.t
    return t(lang, "compose.chosen", field=t(lang, f"compose.field_{field}"), value=value)


def _pressed_label(query: CallbackQuery) -> str:
    """The label of the button that was pressed (already in the chat's language)."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


async def _target_chosen(context: Context, lang: str, officer: OfficerView, draft: Draft) -> str:
    area = await services(context).alerts.target_label(officer, draft)
    return _chosen(context, lang, "target", area)


async def _whole_jurisdiction(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    if officer.jurisdiction.kind == "province":
        draft.target_kind, draft.commune_code = "province", None
    else:
        draft.target_kind, draft.commune_code = "commune", officer.jurisdiction.code
    draft.residential_ids = []
    _advance(draft, "target")
    chosen = await _target_chosen(context, lang, officer, draft)
    await _next(query, context, lang, officer, draft, chosen)


async def _one_commune(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    draft.step = "target_commune"
    chosen = _chosen(context, lang, "target", _pressed_label(query))
    await _next(query, context, lang, officer, draft, chosen)


async def _pick_commune(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, code: str
) -> None:
    commune = services(context).alerts.choose_commune(officer, draft, code)
    draft.step = "commune_scope"
    chosen = _chosen(context, lang, "target", commune.label)
    await _next(query, context, lang, officer, draft, chosen)


async def _whole_commune(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    draft.target_kind, draft.residential_ids = "commune", []
    _advance(draft, "target")
    chosen = await _target_chosen(context, lang, officer, draft)
    await _next(query, context, lang, officer, draft, chosen)


async def _choose_residential(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    draft.step = "residential"
    chosen = _chosen(context, lang, "target", _pressed_label(query))
    await _next(query, context, lang, officer, draft, chosen)


async def _toggle_residential(
    query: CallbackQuery,
    context: Context,
    lang: str,
    officer: OfficerView,
    draft: Draft,
    value: str,
) -> None:
    area_id = int(value)
    if area_id in draft.residential_ids:
        draft.residential_ids.remove(area_id)
    else:
        draft.residential_ids.append(area_id)
    await services(context).alerts.save_draft(officer.telegram_id, draft)
    _, rows = await _residential_question(context, lang, draft)
    await query.answer()
    await replace_buttons(query, InlineKeyboardMarkup(rows))


async def _residential_done(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    if not draft.residential_ids:
        raise AlertError("compose.pick_one")
    draft.target_kind = "residential"
    _advance(draft, "target")
    chosen = await _target_chosen(context, lang, officer, draft)
    await _next(query, context, lang, officer, draft, chosen)


async def _skip(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, step: str
) -> None:
    if step != draft.step:  # the Skip of a step answered meanwhile by a photo or location
        raise AlertError("compose.stale_button")
    if step == "photo":
        draft.photo_file_id = None
    else:
        draft.lat = draft.lon = None
    _advance(draft, step)
    skipped = services(context).catalog.t(lang, "compose.skipped")
    await _next(query, context, lang, officer, draft, _chosen(context, lang, step, skipped))


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError(value)
    return value


def _validity(value: str) -> int:
    if int(value) not in VALIDITY_HOURS:
        raise ValueError(value)
    return int(value)


# Buttons that answer one step with one value: action -> (step, draft field, reading the value).
_CHOICES: dict[str, tuple[str, str, Callable[[str], object]]] = {
    "sv": ("severity", "severity", lambda v: Severity(v).value),
    "ct": ("category", "category", _category),
    "vd": ("validity", "validity_hours", _validity),
    "ex": ("exercise", "exercise", lambda v: v == "1"),
}


def _choice(action: str) -> ComposeAction:
    step, field, read = _CHOICES[action]

    async def choose(
        query: CallbackQuery,
        context: Context,
        lang: str,
        officer: OfficerView,
        draft: Draft,
        value: str,
    ) -> None:
        setattr(draft, field, read(value))
        _advance(draft, step)
        chosen = _chosen(context, lang, step, _pressed_label(query))
        await _next(query, context, lang, officer, draft, chosen)

    return choose


async def _edit_menu(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    t = services(context).catalog.t
    buttons = [_button(t(lang, f"compose.field_{s}"), draft, "ef", s) for s in STEPS]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await query.answer()
    await query.edit_message_text(
        t(lang, "compose.edit_what"), reply_markup=InlineKeyboardMarkup(rows)
    )


async def _edit_field(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, step: str
) -> None:
    if step not in STEPS:
        raise ValueError(step)
    draft.step, draft.editing = step, True
    t = services(context).catalog.t
    chosen = t(
        lang, "compose.chosen", field=t(lang, "compose.btn_edit"), value=_pressed_label(query)
    )
    await _next(query, context, lang, officer, draft, chosen)


async def _discard(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    await services(context).alerts.discard_draft(officer.telegram_id)
    await query.answer()
    await query.edit_message_text(services(context).catalog.t(lang, "compose.cancelled"))


async def _confirm_pressed(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, draft: Draft, _v: str
) -> None:
    await _confirm(query, context, lang, officer, draft.token)


async def _confirm(
    query: CallbackQuery, context: Context, lang: str, officer: OfficerView, token: str
) -> None:
    """Send the alert (once); a repeated press only says it was sent; a preview older than ten
    minutes is shown again with a new expiry instead."""
    svc = services(context)
    t = svc.catalog.t
    try:
        sent = await svc.alerts.confirm(officer.telegram_id, token)
    except PreviewExpired as problem:
        await query.answer()
        await query.edit_message_text(t(lang, problem.key))
        draft = await svc.alerts.draft(officer.telegram_id)
        if draft is not None and query.message is not None:
            await send_preview(query.message.chat, context, lang, officer, draft)
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


# The steps at which each action's button is asked; a press at another step is stale.
_ACTION_STEPS: dict[str, tuple[str, ...]] = {
    "tw": ("target",),
    "tc": ("target",),
    "tp": ("target_commune",),
    "tcw": ("commune_scope", "residential"),
    "tr": ("target", "commune_scope"),
    "rt": ("residential",),
    "rd": ("residential",),
    "skp": ("photo", "location"),
    **{action: (step,) for action, (step, _, _) in _CHOICES.items()},
    **{action: ("preview",) for action in ("ed", "ef", "x", "ok")},
}
_COMPOSE_ACTIONS: dict[str, ComposeAction] = {
    "tw": _whole_jurisdiction,
    "tc": _one_commune,
    "tp": _pick_commune,
    "tcw": _whole_commune,
    "tr": _choose_residential,
    "rt": _toggle_residential,
    "rd": _residential_done,
    "skp": _skip,
    **{action: _choice(action) for action in _CHOICES},
    "ed": _edit_menu,
    "ef": _edit_field,
    "x": _discard,
    "ok": _confirm_pressed,
}


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
    t = svc.catalog.t
    if draft.step == "target_commune":
        await _typed_commune(message, context, lang, officer, draft)
        return
    problem = _take_input(message, draft)
    if problem is not None:
        await message.reply_text(t(lang, problem.key, **problem.values))
        if draft.step == "text":
            await ask_step(chat, context, lang, officer, draft)
        return
    _advance(draft, draft.step)
    await svc.alerts.save_draft(officer.telegram_id, draft)
    await ask_step(chat, context, lang, officer, draft)


def _take_input(message: Message, draft: Draft) -> AlertError | None:
    """Store what the message brings for the draft's step, or say why it can't be used."""
    if draft.step == "text":
        problem = check_text(message.text, draft.photo_file_id is not None)
        if problem is None:
            draft.text = (message.text or "").strip()
        return problem
    if draft.step == "photo":
        if not message.photo:
            return AlertError("compose.not_a_photo")
        problem = check_text(draft.text, has_photo=True)
        if problem is None:
            draft.photo_file_id = message.photo[-1].file_id
            return None
        return AlertError("compose.text_too_long_photo", **problem.values)
    if draft.step == "location":
        location = message.location or (message.venue.location if message.venue else None)
        if location is None:
            return AlertError("compose.not_a_location")
        draft.lat, draft.lon = location.latitude, location.longitude
        return None
    return AlertError("compose.use_buttons")


async def _typed_commune(
    message: Message, context: Context, lang: str, officer: OfficerView, draft: Draft
) -> None:
    svc = services(context)
    query = (message.text or "").strip()
    found = svc.alerts.communes_in(officer, query) if 2 <= len(query) <= 100 else []
    if not found:
        await message.reply_text(svc.catalog.t(lang, "compose.no_commune", query=query[:100]))
        return
    rows = [[_button(c.label, draft, "tp", c.code)] for c in found]
    text = svc.catalog.t(lang, "compose.choose_commune")
    await message.reply_text(text, reply_markup=InlineKeyboardMarkup(rows))


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
