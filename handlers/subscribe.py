"""Subscribing a group to its area: /dangky, /trangthai, /huydangky and their buttons.

Privacy mode means the bot sees commands, button presses and replies to its own messages in a
group, not ordinary chatter: the flow takes the commune from the command's arguments or from a
reply to a ForceReply prompt, and everything else from buttons. Button data carry the whole state
(commune code, area id, page, query), so a button still works after the bot restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import command
from bot.i18n import Catalog
from bot.services.prompts import PendingPrompt
from bot.services.subscriptions import (
    CommuneOption,
    InvalidAreaName,
    Page,
    ResidentialOption,
    UnknownArea,
)
from handlers.base import (
    Context,
    chat_ref,
    group_command,
    is_chat_admin,
    is_group,
    language,
    services,
)
from handlers.replies import on_prompt

log = logging.getLogger(__name__)
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
PROMPT_COMMUNE = "commune"
PROMPT_RESIDENTIAL = "residential"


def _fit(prefix: str, query: str) -> str:
    """`prefix + query`, the query cut on a character boundary to fit Telegram's 64 bytes."""
    room = CALLBACK_LIMIT - len(prefix.encode())
    return prefix + query.encode()[:room].decode(errors="ignore")


def _nav(
    catalog: Catalog, lang: str, page: Page[Any], data: Callable[[int], str]
) -> list[InlineKeyboardButton]:
    """Previous/next buttons; `data(n)` is the callback data that shows page n."""
    row = []
    if page.page > 0:
        label = catalog.t(lang, "subscribe.btn_prev")
        row.append(InlineKeyboardButton(label, callback_data=data(page.page - 1)))
    if page.page + 1 < page.pages:
        label = catalog.t(lang, "subscribe.btn_next")
        row.append(InlineKeyboardButton(label, callback_data=data(page.page + 1)))
    return row


def commune_keyboard(
    catalog: Catalog, lang: str, page: Page[CommuneOption], query: str
) -> InlineKeyboardMarkup:
    """One button per matching commune, then paging and cancel."""
    rows = [[InlineKeyboardButton(o.label, callback_data=f"sub:c:{o.code}")] for o in page.items]
    nav = _nav(catalog, lang, page, lambda p: _fit(f"sub:q:{p}:", query))
    rows += [nav] if nav else []
    rows.append(
        [InlineKeyboardButton(catalog.t(lang, "subscribe.btn_cancel"), callback_data="sub:x")]
    )
    return InlineKeyboardMarkup(rows)


def residential_keyboard(
    catalog: Catalog, lang: str, page: Page[ResidentialOption], code: str
) -> InlineKeyboardMarkup:
    """Existing residential areas, then paging, new area, whole commune and cancel."""
    rows = [
        [InlineKeyboardButton(o.name, callback_data=f"sub:r:{code}:{o.id}")] for o in page.items
    ]
    nav = _nav(catalog, lang, page, lambda p: f"sub:rp:{code}:{p}")
    rows += [nav] if nav else []
    rows.append(
        [
            InlineKeyboardButton(
                catalog.t(lang, "subscribe.btn_new_residential"), callback_data=f"sub:n:{code}"
            ),
            InlineKeyboardButton(
                catalog.t(lang, "subscribe.btn_whole_commune"), callback_data=f"sub:w:{code}"
            ),
        ]
    )
    rows.append(
        [InlineKeyboardButton(catalog.t(lang, "subscribe.btn_cancel"), callback_data="sub:x")]
    )
    return InlineKeyboardMarkup(rows)


async def start_subscribe(update: Update, context: Context) -> None:
    """/dangky [name]: admins only, in groups; search at once or prompt for the name."""
    allowed = await group_command(update, context, admins_only=True)
    if allowed is None:
        return
    chat, message, lang = allowed
    svc, user = services(context), update.effective_user
    query = " ".join(context.args or [])
    if query:
        await offer_communes(message, context, lang, query)
        return
    prompt = await message.reply_text(
        svc.catalog.t(lang, "subscribe.ask_commune"),
        reply_markup=ForceReply(
            selective=True,
            input_field_placeholder=svc.catalog.t(lang, "subscribe.commune_placeholder"),
        ),
    )
    asker = user.id if user is not None else chat.id
    await svc.prompts.remember(chat.id, prompt.message_id, asker, PROMPT_COMMUNE)


def _valid_query(query: str) -> bool:
    return 2 <= len(query.strip()) <= 100


async def offer_communes(message: Message, context: Context, lang: str, query: str) -> bool:
    """Reply with the communes matching `query`; False if the query was unusable."""
    svc = services(context)
    if not _valid_query(query):
        await message.reply_text(svc.catalog.t(lang, "subscribe.query_invalid"))
        return False
    page = svc.subscriptions.search_communes(query)
    if page.total == 0:
        await message.reply_text(svc.catalog.t(lang, "subscribe.no_match", query=query))
        return True
    await message.reply_text(
        svc.catalog.t(lang, "subscribe.choose_commune", query=query, total=page.total),
        reply_markup=commune_keyboard(svc.catalog, lang, page, query),
    )
    return True


async def answer_commune_prompt(update: Update, context: Context, pending: PendingPrompt) -> None:
    """The admin replied to "type the commune's name"."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None and message.reply_to_message is not None
    lang = await language(update, context)
    if await offer_communes(message, context, lang, message.text or ""):
        await services(context).prompts.forget(chat.id, message.reply_to_message.message_id)


async def answer_residential_prompt(
    update: Update, context: Context, pending: PendingPrompt
) -> None:
    """The admin replied with the name of a new residential area: create it and subscribe."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    assert chat is not None and user is not None and message is not None
    assert message.reply_to_message is not None
    svc, lang = services(context), await language(update, context)
    if not await is_chat_admin(context, chat, user, message):
        await message.reply_text(svc.catalog.t(lang, "errors.admins_only"))
        return
    try:
        area = await svc.subscriptions.create_residential(
            pending.payload, message.text or "", user.id
        )
    except InvalidAreaName:
        await message.reply_text(svc.catalog.t(lang, "subscribe.invalid_residential_name"))
        return
    view = await svc.subscriptions.subscribe(chat_ref(chat), pending.payload, area.id, user.id)
    await svc.prompts.forget(chat.id, message.reply_to_message.message_id)
    await message.reply_text(svc.catalog.t(lang, "subscribe.done", place=view.place))


async def press_subscribe_button(update: Update, context: Context) -> None:
    """Every button of the flow: admins only, checked with Telegram at each press."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    if not is_group(chat) or not await is_chat_admin(context, chat, query.from_user):
        await query.answer(svc.catalog.t(lang, "errors.admins_only_button"), show_alert=True)
        return
    action, _, rest = query.data.removeprefix("sub:").partition(":")
    try:
        await _ACTIONS[action](query, context, lang, rest)
    except (KeyError, ValueError, UnknownArea):
        log.info("stale or unknown subscribe button %r in chat %s", query.data, chat.id)
        await query.answer(svc.catalog.t(lang, "errors.expired"), show_alert=True)


async def _page_communes(query: CallbackQuery, context: Context, lang: str, rest: str) -> None:
    page_no, _, text = rest.partition(":")
    svc = services(context)
    page = svc.subscriptions.search_communes(text, int(page_no))
    await query.answer()
    await query.edit_message_text(
        svc.catalog.t(lang, "subscribe.choose_commune", query=text, total=page.total),
        reply_markup=commune_keyboard(svc.catalog, lang, page, text),
    )


async def _show_residential(
    query: CallbackQuery, context: Context, lang: str, code: str, page_no: int = 0
) -> None:
    svc = services(context)
    commune = svc.subscriptions.commune(code)
    page = await svc.subscriptions.residential_areas(code, page_no)
    text = svc.catalog.t(lang, "subscribe.choose_residential", commune=commune.label)
    if page.total == 0:
        text += "\n" + svc.catalog.t(lang, "subscribe.no_residential_yet")
    elif page.pages > 1:
        text += "\n" + svc.catalog.t(lang, "subscribe.page", page=page.page + 1, pages=page.pages)
    await query.answer()
    await query.edit_message_text(
        text, reply_markup=residential_keyboard(svc.catalog, lang, page, code)
    )


async def _choose_commune(query: CallbackQuery, context: Context, lang: str, rest: str) -> None:
    await _show_residential(query, context, lang, rest)


async def _page_residential(query: CallbackQuery, context: Context, lang: str, rest: str) -> None:
    code, _, page_no = rest.partition(":")
    await _show_residential(query, context, lang, code, int(page_no))


async def _finish(
    query: CallbackQuery, context: Context, lang: str, code: str, area_id: int | None
) -> None:
    svc = services(context)
    chat = query.message.chat if query.message is not None else None
    if chat is None:
        raise ValueError("button without a message")
    view = await svc.subscriptions.subscribe(chat_ref(chat), code, area_id, query.from_user.id)
    await query.answer()
    await query.edit_message_text(svc.catalog.t(lang, "subscribe.done", place=view.place))


async def _choose_residential(query: CallbackQuery, context: Context, lang: str, rest: str) -> None:
    code, _, area_id = rest.partition(":")
    await _finish(query, context, lang, code, int(area_id))


async def _choose_whole_commune(
    query: CallbackQuery, context: Context, lang: str, rest: str
) -> None:
    await _finish(query, context, lang, rest, None)


async def _ask_new_residential(
    query: CallbackQuery, context: Context, lang: str, rest: str
) -> None:
    svc = services(context)
    commune = svc.subscriptions.commune(rest)
    message = query.message
    if message is None:
        raise ValueError("button without a message")
    await query.answer()
    prompt = await context.bot.send_message(
        message.chat.id,
        svc.catalog.t(lang, "subscribe.ask_residential", commune=commune.name),
        reply_markup=ForceReply(
            selective=False,
            input_field_placeholder=svc.catalog.t(lang, "subscribe.residential_placeholder"),
        ),
    )
    await svc.prompts.remember(
        message.chat.id, prompt.message_id, query.from_user.id, PROMPT_RESIDENTIAL, commune.code
    )


async def _cancel(query: CallbackQuery, context: Context, lang: str, rest: str) -> None:
    await query.answer()
    await query.edit_message_text(services(context).catalog.t(lang, "subscribe.cancelled"))


_ACTIONS = {
    "q": _page_communes,
    "c": _choose_commune,
    "rp": _page_residential,
    "r": _choose_residential,
    "w": _choose_whole_commune,
    "n": _ask_new_residential,
    "x": _cancel,
}


async def show_status(update: Update, context: Context) -> None:
    """/trangthai: the group's area."""
    allowed = await group_command(update, context)
    if allowed is None:
        return
    chat, message, lang = allowed
    svc = services(context)
    view = await svc.subscriptions.status(chat.id)
    if view is None:
        await message.reply_text(svc.catalog.t(lang, "status.none"))
    else:
        key = "status.paused" if view.paused else "status.subscribed"
        await message.reply_text(svc.catalog.t(lang, key, place=view.place))


async def unsubscribe(update: Update, context: Context) -> None:
    """/huydangky: admins remove the group's subscription."""
    allowed = await group_command(update, context, admins_only=True)
    if allowed is None:
        return
    chat, message, lang = allowed
    svc = services(context)
    view = await svc.subscriptions.unsubscribe(chat.id)
    if view is None:
        await message.reply_text(svc.catalog.t(lang, "unsubscribe.none"))
    else:
        await message.reply_text(svc.catalog.t(lang, "unsubscribe.done", place=view.place))


def register(app: Application) -> None:
    """Add the subscription handlers."""
    app.add_handler(CommandHandler(command("subscribe").names, start_subscribe))
    app.add_handler(CommandHandler(command("status").names, show_status))
    app.add_handler(CommandHandler(command("unsubscribe").names, unsubscribe))
    app.add_handler(CallbackQueryHandler(press_subscribe_button, pattern=r"^sub:"))
    on_prompt(app, PROMPT_COMMUNE, answer_commune_prompt)
    on_prompt(app, PROMPT_RESIDENTIAL, answer_residential_prompt)
