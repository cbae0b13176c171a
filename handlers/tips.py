"""The resident's side of tips: /baotin (/report), its questions and buttons, /tincuatoi.

The conversation is the telegram-free `TipFlow` behind `services.tips`, its draft a row of
`tip_drafts` (a restart loses nothing) and a conversation of the private chat's router: plain
messages reach `take_input`, another conversation closes it, /huy ends it. This module turns an
update into flow events and a question into a message with buttons.

- Inline buttons carry "tp:<draft token>:<step>:<value>": a button of an older draft, or of a
  step already answered, is refused by the service and changes nothing.
- The where-step shows a custom keyboard under the input field: «📍 Gửi vị trí» (request_location)
  and its options as text buttons; the next question removes it (a message carries one keyboard,
  so "👌" removes it first when that question has inline buttons).
- In a group, /baotin collects nothing: it answers with a t.me link that opens the private chat
  with the group's area (`bot/services/tip_links.py`); the welcome, the subscription's
  confirmation and every alert copy carry the same link.
- An image sent as a file keeps its EXIF (GPS, device, time): it is downloaded, re-encoded
  without any metadata (`bot/services/photo_privacy.py`), sent back into the reporter's own chat
  as a photo, and only that photo's file_id joins the tip. Voice messages are refused by the flow.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import command
from bot.i18n import Markup
from bot.services.conversations import ConversationKind, OpenConversation
from bot.services.photo_privacy import UnreadableImage, strip_metadata
from bot.services.tip_flow import (
    Choice,
    Draft,
    Event,
    Label,
    Location,
    Photo,
    Question,
    RenderedQuestion,
    Step,
    Text,
    Voice,
    render_question,
    translate,
)
from bot.services.tip_links import TIP_LINK_PREFIX, area_of_payload, tip_url
from bot.services.tip_types import MAX_PHOTOS
from bot.services.tips import Refused, TipSubmitted
from handlers.base import Context, is_group, language, question_buttons, replace_buttons, services
from handlers.common import on_deep_link
from handlers.private import SEED_NO, SEED_PREFIX, SEED_YES, on_conversation, open_conversation

log = logging.getLogger(__name__)
PREFIX = "tp"  # tp:<draft token>:<step>:<value>: an answer to one question of one draft
MAX_FILE_MB = 20  # the Bot API's getFile serves files up to 20 MB
ANSWER_LIMIT = 200  # characters of a button press's answer
STALE = Label("tips.stale_button")
Answer = Question | TipSubmitted | Refused


# -- starting -------------------------------------------------------------------------------


async def start_tip(update: Update, context: Context) -> None:
    """/baotin: begin a tip in the private chat; in a group, a link to the private chat."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return
    lang = await language(update, context)
    if is_group(chat):
        area = await services(context).tips.group_area(chat.id)
        text = services(context).catalog.t(lang, "tips.group_link")
        await message.reply_text(text, reply_markup=tip_link_keyboard(context, lang, area))
        return
    await begin(chat, context, lang, user.id)


async def open_from_link(update: Update, context: Context, rest: str) -> None:
    """/start tip[_<area id>]: the link of a group's button; the tip knows the group's area."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    lang = await language(update, context)
    await begin(chat, context, lang, user.id, area_id=area_of_payload(rest))


async def begin(
    chat: Chat,
    context: Context,
    lang: str,
    person: int,
    seed: Event | None = None,
    area_id: int | None = None,
    caption: str | None = None,
) -> None:
    """Start a tip (closing what else is open), seeded by what was sent before; a photo's
    caption is taken as what happened."""
    tips = services(context).tips
    refused = await tips.can_start(person)  # before closing anything for a tip that cannot be
    if refused is not None:
        await _show(chat, context, lang, refused)
        return
    await open_conversation(chat, context, lang, person)
    result: Answer = await tips.start(person, seed, area_id)
    if isinstance(result, Question) and caption:
        result = await tips.answer(person, Text(caption), language=lang)
    await _show(chat, context, lang, result)


def tip_link_keyboard(context: Context, lang: str, area_id: int | None) -> InlineKeyboardMarkup:
    """The «📨 Gửi tin báo» button: opens the private chat and starts a tip with the area."""
    label = services(context).catalog.t(lang, "tips.link_button")
    url = tip_url(context.bot.username, area_id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])


# -- showing questions and results ----------------------------------------------------------


async def _show(
    chat: Chat, context: Context, lang: str, result: Answer, keyboard_shown: bool = False
) -> None:
    """The next question, the submitted tip's number and thanks, or why nothing changed."""
    if isinstance(result, Question):
        await show_question(chat, context, lang, result, keyboard_shown)
        return
    text = translate(services(context).catalog, lang, result.notice)
    await chat.send_message(text, reply_markup=ReplyKeyboardRemove() if keyboard_shown else None)


async def show_question(
    chat: Chat, context: Context, lang: str, question: Question, keyboard_shown: bool = False
) -> None:
    """Ask `question`; `keyboard_shown`: the where-step's keyboard is still under the input."""
    catalog = services(context).catalog
    rendered = render_question(catalog, lang, question)
    text = rendered.text if rendered.notice is None else f"{rendered.notice}\n\n{rendered.text}"
    if rendered.location_button is not None:
        await chat.send_message(text, reply_markup=_location_keyboard(context, lang, rendered))
        return
    markup = _inline_keyboard(question, rendered)
    if keyboard_shown:  # one keyboard per message: remove the custom one first if need be
        if markup is None:
            await chat.send_message(text, reply_markup=ReplyKeyboardRemove())
            return
        closed = catalog.t(lang, "tips.keyboard_closed")
        await chat.send_message(closed, reply_markup=ReplyKeyboardRemove())
    await chat.send_message(text, reply_markup=markup)


def _location_keyboard(
    context: Context, lang: str, rendered: RenderedQuestion
) -> ReplyKeyboardMarkup:
    assert rendered.location_button is not None
    rows = [[KeyboardButton(rendered.location_button, request_location=True)]]
    rows += [[KeyboardButton(label)] for _, label in rendered.buttons]
    return ReplyKeyboardMarkup(
        rows,
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=services(context).catalog.t(lang, "tips.where_placeholder"),
    )


def _inline_keyboard(question: Question, rendered: RenderedQuestion) -> InlineKeyboardMarkup | None:
    buttons = question_buttons(PREFIX, question, rendered)
    if not buttons:
        return None
    if question.step is Step.CATEGORY:  # eight short labels
        rows = _pairs(buttons)
    elif question.step is Step.REVIEW:  # Send alone on top, then what to change
        rows = [buttons[:1], *_pairs(buttons[1:])]
    else:
        rows = [[button] for button in buttons]
    return InlineKeyboardMarkup(rows)


def _pairs(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


# -- typed input ----------------------------------------------------------------------------


async def take_input(update: Update, context: Context, _open: OpenConversation) -> None:
    """The router's entry: a message of a person whose open conversation is their tip."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return
    svc, lang = services(context), await language(update, context)
    draft = await svc.tips.draft(user.id)
    if draft is None:  # discarded a moment ago
        await _show(chat, context, lang, Refused(Label("tips.no_draft")))
        return
    events = await _events(update, context, lang, draft)
    if isinstance(events, Label):  # the message cannot be used: ask the same question again
        question = svc.tips.flow.question(draft, events)
        await show_question(chat, context, lang, question, draft.step is Step.WHERE)
        return
    result: Answer = Refused(Label("tips.no_draft"))
    for event in events:
        result = await svc.tips.answer(user.id, event, language=lang)
        if not isinstance(result, Question):
            break
    await _show(chat, context, lang, result, keyboard_shown=draft.step is Step.WHERE)


async def _events(update: Update, context: Context, lang: str, draft: Draft) -> list[Event] | Label:
    """The flow events a message brings, or why it cannot be used."""
    message = update.effective_message
    assert message is not None
    if message.text is not None:
        return [_typed(context, lang, draft, message.text)]
    if message.photo:
        events: list[Event] = [Photo(message.photo[-1].file_id)]
        if message.caption and draft.text is None:  # the caption says what happened
            events.append(Text(message.caption))
        return events
    if message.venue is not None:
        venue = message.venue
        place = venue.location
        return [Location(place.latitude, place.longitude, venue.title, venue.address)]
    if message.location is not None:
        return [Location(message.location.latitude, message.location.longitude)]
    if message.voice is not None or message.video_note is not None:
        return [Voice()]  # a voice identifies the speaker: the flow asks for text
    if message.document is not None:
        photo = await _document_photo(update, context, lang, draft)
        return photo if isinstance(photo, Label) else [photo]
    return Label("tips.unsupported")


def _typed(context: Context, lang: str, draft: Draft, text: str) -> Event:
    """Text; at the where-step, a press of one of its keyboard's text buttons is that choice."""
    if draft.step is Step.WHERE:
        svc = services(context)
        question = render_question(svc.catalog, lang, svc.tips.flow.question(draft))
        for value, label in question.buttons:
            if text.strip() == label:
                return Choice(value, Step.WHERE.value)
    return Text(text)


async def _document_photo(
    update: Update, context: Context, lang: str, draft: Draft
) -> Photo | Label:
    """An image sent as a file, re-encoded without its metadata and sent back as a photo into
    the reporter's own chat; only that photo's file_id reaches officers."""
    message = update.effective_message
    assert message is not None and message.document is not None
    document = message.document
    if not (document.mime_type or "").lower().startswith("image/"):
        return Photo(document.file_id, as_document=True, mime=document.mime_type)  # not a photo
    if len(draft.photos) >= MAX_PHOTOS:
        return Label("tips.too_many_photos", {"max": MAX_PHOTOS})
    if (document.file_size or 0) > MAX_FILE_MB * 1024 * 1024:
        return Label("tips.photo_too_large", {"max": MAX_FILE_MB})
    original = await (await context.bot.get_file(document.file_id)).download_as_bytearray()
    try:
        clean = await asyncio.to_thread(strip_metadata, bytes(original))  # CPU: off the loop
    except UnreadableImage:
        return Label("tips.not_a_photo")
    caption = services(context).catalog.t(lang, "tips.photo_cleaned")
    sent = await message.reply_photo(clean, caption=caption, do_quote=True)
    log.info("update %s: an image file was re-encoded without its metadata", update.update_id)
    return Photo(sent.photo[-1].file_id)


# -- buttons --------------------------------------------------------------------------------


async def press_tip_button(update: Update, context: Context) -> None:
    """A button of a tip question: the presser's own draft, matched by token and step."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    svc, lang = services(context), await language(update, context)
    parts = query.data.split(":", 3)
    if len(parts) != 4 or is_group(chat):  # tip buttons are only ever sent in private chats
        await query.answer(svc.catalog.t(lang, "errors.expired"), show_alert=True)
        return
    _, token, step, value = parts
    person = query.from_user.id
    before = await svc.tips.draft(person)
    result = await svc.tips.answer(person, Choice(value, step), token=token, language=lang)
    refusal = _refusal(result)
    if refusal is not None:
        log.info("tip button refused in update %s", update.update_id)
        await query.answer(_plain(translate(svc.catalog, lang, refusal)), show_alert=True)
        return
    await query.answer()
    await _mark_chosen(query, context, lang)
    await _show(chat, context, lang, result, keyboard_shown=before is not None and _shown(before))


def _refusal(result: Answer) -> Label | None:
    """What a press is answered with when it changed nothing (an old button, no draft, sent)."""
    if isinstance(result, Question) and result.notice == STALE:
        return STALE
    if isinstance(result, Refused):
        return result.notice
    if isinstance(result, TipSubmitted) and result.already:
        return Label("tips.already_sent", {"number": result.number})
    return None


def _shown(draft: Draft) -> bool:
    """Whether the draft's current question left the custom keyboard under the input."""
    return draft.step is Step.WHERE


async def _mark_chosen(query: CallbackQuery, context: Context, lang: str) -> None:
    """The answered question keeps its text, shows the choice and loses its buttons."""
    message = query.message
    if not isinstance(message, Message) or not message.text:
        return
    pressed = next(
        (
            button.text
            for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
            for button in row
            if button.callback_data == query.data
        ),
        None,
    )
    if pressed is None:
        return
    chosen = services(context).catalog.t(lang, "tips.chosen", label=pressed)
    try:
        await query.edit_message_text(f"{message.text_html}\n\n{chosen}", reply_markup=None)
    except BadRequest as exc:  # too old to edit: the next question is sent anyway
        log.info("could not mark a tip question answered: %s", exc)


def _plain(text: str) -> str:
    """A catalogue text (HTML) as a button press's answer shows it: plain and short."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))[:ANSWER_LIMIT]


# -- the seed offer -------------------------------------------------------------------------


async def press_seed_button(update: Update, context: Context) -> None:
    """Yes / No under "Gửi tin báo với nội dung này?"; Yes starts a tip with the message the
    offer replied to (as Telegram gives it with the press, so nothing was kept meanwhile)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    if query.data == SEED_NO:
        await query.answer(t(lang, "tips.seed_declined"))
        await replace_buttons(query, None)
        return
    if query.data != SEED_YES or is_group(chat):
        await query.answer(t(lang, "errors.expired"), show_alert=True)
        return
    offer = query.message
    seed = _seed_of(offer.reply_to_message if isinstance(offer, Message) else None, query)
    if seed is None:
        await query.answer(_plain(t(lang, "tips.seed_gone")), show_alert=True)
        return
    await query.answer()
    await replace_buttons(query, None)
    event, caption = seed
    await begin(chat, context, lang, query.from_user.id, seed=event, caption=caption)


def _seed_of(sent: Message | None, query: CallbackQuery) -> tuple[Event, str | None] | None:
    """The event the presser's own message starts a tip with, and a photo's caption."""
    if sent is None or sent.from_user is None or sent.from_user.id != query.from_user.id:
        return None
    if sent.text is not None:
        return Text(sent.text), None
    if sent.photo:
        return Photo(sent.photo[-1].file_id), sent.caption
    if sent.venue is not None:
        place = sent.venue.location
        return Location(place.latitude, place.longitude, sent.venue.title, sent.venue.address), None
    if sent.location is not None:
        return Location(sent.location.latitude, sent.location.longitude), None
    return None


# -- /tincuatoi -----------------------------------------------------------------------------


async def show_my_tips(update: Update, context: Context) -> None:
    """/tincuatoi: the person's tips and their states, newest first (private chat only)."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or user is None or message is None:
        return
    svc, lang = services(context), await language(update, context)
    t = svc.catalog.t
    if is_group(chat):
        await message.reply_text(t(lang, "tips.mine_private"))
        return
    mine = await svc.tips.my_tips(user.id)
    if not mine:
        await message.reply_text(t(lang, "tips.mine_none"))
        return
    lines = [t(lang, "tips.mine_title")]
    for tip in mine:
        lines.append(
            t(
                lang,
                "tips.mine_line",
                number=tip.number,
                category=Markup(t(lang, f"tips.category.{tip.category}")),
                state=Markup(t(lang, f"tips.state.{tip.state.value}")),
                time=svc.catalog.datetime(lang, tip.created_at, svc.settings.tz),
            )
        )
    await message.reply_text("\n".join(lines))


def register(app: Application) -> None:
    """Add /baotin, /tincuatoi, the tip buttons, the seed offer's buttons, the tip draft's
    input and the tip deep link (before the private chat's router and the fallback)."""
    app.add_handler(CommandHandler(command("tip").names, start_tip))
    app.add_handler(CommandHandler(command("my_tips").names, show_my_tips))
    app.add_handler(CallbackQueryHandler(press_tip_button, pattern=rf"^{PREFIX}:"))
    app.add_handler(CallbackQueryHandler(press_seed_button, pattern=rf"^{SEED_PREFIX}"))
    on_conversation(app, ConversationKind.TIP_DRAFT, take_input)
    on_deep_link(app, TIP_LINK_PREFIX, open_from_link)
