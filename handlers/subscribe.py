"""Subscribing a group to its area: /dangky, /trangthai, /huydangky and their buttons.

Privacy mode means the bot sees commands, button presses and replies to its own messages in a
group, not ordinary chatter: the flow takes the commune from the command's arguments or from a
reply to a ForceReply prompt, and everything else from buttons. /dangky and /huydangky start the
group's subscription flow (`FlowKind.SUBSCRIPTION`): its buttons and prompts carry the flow's
token, so they work after a restart, and once the flow is done or replaced by a new command its
keyboards are closed and any older press is refused without changing anything.
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.commands import command
from bot.i18n import Catalog
from bot.services.flows import FlowKind, StaleFlow
from bot.services.prompts import PendingPrompt
from bot.services.subscriptions import (
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
from handlers.pickers import (
    CommunePicker,
    PickerTexts,
    Press,
    begin_flow,
    end_flow_messages,
    nav_row,
    parse_press,
    refuse_stale,
    stale_text,
)
from handlers.replies import on_prompt
from handlers.tips import tip_link_keyboard

log = logging.getLogger(__name__)
PREFIX = "sub"
PROMPT_COMMUNE = "commune"
PROMPT_RESIDENTIAL = "residential"
PICKER = CommunePicker(
    PREFIX,
    FlowKind.SUBSCRIPTION,
    PickerTexts("subscribe.choose_commune", "subscribe.no_match", "subscribe.query_invalid"),
)


def residential_keyboard(
    catalog: Catalog, lang: str, page: Page[ResidentialOption], code: str, token: str
) -> InlineKeyboardMarkup:
    """Existing residential areas, then paging, new area, whole commune and cancel."""
    data = PICKER.data
    rows = [
        [InlineKeyboardButton(o.name, callback_data=data(token, "r", f"{code}:{o.id}"))]
        for o in page.items
    ]
    nav = nav_row(catalog, lang, page, lambda p: data(token, "rp", f"{code}:{p}"))
    rows += [nav] if nav else []
    rows.append(
        [
            InlineKeyboardButton(
                catalog.t(lang, "subscribe.btn_new_residential"),
                callback_data=data(token, "n", code),
            ),
            InlineKeyboardButton(
                catalog.t(lang, "subscribe.btn_whole_commune"),
                callback_data=data(token, "w", code),
            ),
        ]
    )
    rows.append([PICKER.cancel_button(catalog, lang, token)])
    return InlineKeyboardMarkup(rows)


async def start_subscribe(update: Update, context: Context) -> None:
    """/dangky [name]: admins only, in groups; search at once or prompt for the name."""
    allowed = await group_command(update, context, admins_only=True)
    if allowed is None:
        return
    chat, message, lang = allowed
    svc, user = services(context), update.effective_user
    token = await begin_flow(context, chat.id, FlowKind.SUBSCRIPTION, lang)
    query = " ".join(context.args or [])
    if query:
        await PICKER.offer(message, context, lang, query, token)
        return
    prompt = await message.reply_text(
        svc.catalog.t(lang, "subscribe.ask_commune"),
        reply_markup=ForceReply(
            selective=True,
            input_field_placeholder=svc.catalog.t(lang, "subscribe.commune_placeholder"),
        ),
    )
    asker = user.id if user is not None else chat.id
    await svc.prompts.remember(chat.id, prompt.message_id, asker, PROMPT_COMMUNE, token)


async def answer_commune_prompt(update: Update, context: Context, pending: PendingPrompt) -> None:
    """The admin replied to "type the commune's name"."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None and message.reply_to_message is not None
    svc, lang = services(context), await language(update, context)
    prompt_id = message.reply_to_message.message_id
    if await svc.flows.current(chat.id, FlowKind.SUBSCRIPTION, pending.payload) is None:
        await svc.prompts.forget(chat.id, prompt_id)
        await message.reply_text(stale_text(svc.catalog, lang, "subscribe"))
        return
    if await PICKER.offer(message, context, lang, message.text or "", pending.payload):
        await svc.prompts.forget(chat.id, prompt_id)


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
    token, _, code = pending.payload.partition(":")
    flow = await svc.flows.current(chat.id, FlowKind.SUBSCRIPTION, token)
    try:
        if flow is None:
            raise StaleFlow(token)
        area = await svc.subscriptions.create_residential(code, message.text or "", user.id)
        view = await svc.subscriptions.subscribe(chat_ref(chat), code, area.id, user.id, token)
    except InvalidAreaName:
        await message.reply_text(svc.catalog.t(lang, "subscribe.invalid_residential_name"))
        return
    except (StaleFlow, UnknownArea):
        await svc.prompts.forget(chat.id, message.reply_to_message.message_id)
        await message.reply_text(stale_text(svc.catalog, lang, "subscribe"))
        return
    await svc.prompts.forget(chat.id, message.reply_to_message.message_id)
    await end_flow_messages(context, chat.id, flow.messages, lang)
    await message.reply_text(
        svc.catalog.t(lang, "subscribe.done", place=view.place),
        reply_markup=await _tip_link(context, lang, chat.id),
    )


async def _tip_link(context: Context, lang: str, chat_id: int) -> InlineKeyboardMarkup:
    """The «📨 Gửi tin báo» link under the confirmation, carrying the area just chosen."""
    return tip_link_keyboard(context, lang, await services(context).tips.group_area(chat_id))


async def press_subscribe_button(update: Update, context: Context) -> None:
    """Every button of the flow: admins only (checked with Telegram at each press), and only
    the buttons of the group's current flow."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    if not is_group(chat) or not await is_chat_admin(context, chat, query.from_user):
        await query.answer(svc.catalog.t(lang, "errors.admins_only_button"), show_alert=True)
        return
    press = parse_press(query.data, PREFIX)
    flow = await svc.flows.current(chat.id, FlowKind.SUBSCRIPTION, press.token) if press else None
    if press is None or flow is None or press.action not in _ACTIONS:
        log.info("stale subscribe button in update %s", update.update_id)
        await refuse_stale(query, context, lang, FlowKind.SUBSCRIPTION, _command_of(press))
        return
    try:
        await _ACTIONS[press.action](query, context, lang, press)
    except (ValueError, UnknownArea):
        log.info("malformed subscribe button in update %s", update.update_id)
        await query.answer(svc.catalog.t(lang, "errors.expired"), show_alert=True)
    except StaleFlow:  # another press ended the flow a moment ago
        await refuse_stale(query, context, lang, FlowKind.SUBSCRIPTION, _command_of(press))


def _command_of(press: Press | None) -> str:
    """The command that starts afresh what the pressed button belonged to."""
    return "unsubscribe" if press is not None and press.action in ("u", "k") else "subscribe"


async def _show_residential(
    query: CallbackQuery, context: Context, lang: str, token: str, code: str, page_no: int = 0
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
        text, reply_markup=residential_keyboard(svc.catalog, lang, page, code, token)
    )


async def _page_communes(query: CallbackQuery, context: Context, lang: str, press: Press) -> None:
    await PICKER.turn_page(query, context, lang, press)


async def _choose_commune(query: CallbackQuery, context: Context, lang: str, press: Press) -> None:
    await _show_residential(query, context, lang, press.token, press.rest)


async def _page_residential(
    query: CallbackQuery, context: Context, lang: str, press: Press
) -> None:
    code, _, page_no = press.rest.partition(":")
    await _show_residential(query, context, lang, press.token, code, int(page_no))


async def _finish(
    query: CallbackQuery, context: Context, lang: str, press: Press, area_id: int | None
) -> None:
    svc = services(context)
    message = query.message
    if message is None:
        raise ValueError("button without a message")
    code = press.rest.partition(":")[0]
    flow = await svc.flows.current(message.chat.id, FlowKind.SUBSCRIPTION, press.token)
    view = await svc.subscriptions.subscribe(
        chat_ref(message.chat), code, area_id, query.from_user.id, press.token
    )
    await query.answer()
    await query.edit_message_text(
        svc.catalog.t(lang, "subscribe.done", place=view.place),
        reply_markup=await _tip_link(context, lang, message.chat.id),
    )
    if flow is not None:
        await end_flow_messages(context, message.chat.id, flow.messages, lang, message.message_id)


async def _choose_residential(
    query: CallbackQuery, context: Context, lang: str, press: Press
) -> None:
    await _finish(query, context, lang, press, int(press.rest.partition(":")[2]))


async def _choose_whole_commune(
    query: CallbackQuery, context: Context, lang: str, press: Press
) -> None:
    await _finish(query, context, lang, press, None)


async def _ask_new_residential(
    query: CallbackQuery, context: Context, lang: str, press: Press
) -> None:
    svc = services(context)
    commune = svc.subscriptions.commune(press.rest)
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
        message.chat.id,
        prompt.message_id,
        query.from_user.id,
        PROMPT_RESIDENTIAL,
        f"{press.token}:{commune.code}",
    )


async def _cancel(query: CallbackQuery, context: Context, lang: str, press: Press) -> None:
    await _end_with(query, context, lang, press, "subscribe.cancelled")


async def _end_with(
    query: CallbackQuery, context: Context, lang: str, press: Press, key: str, **values: str
) -> None:
    """End the flow without a change and say `key` in the pressed message."""
    message = query.message
    if message is None:
        raise ValueError("button without a message")
    flow = await services(context).flows.finish(message.chat.id, FlowKind.SUBSCRIPTION, press.token)
    await query.answer()
    await query.edit_message_text(services(context).catalog.t(lang, key, **values))
    await end_flow_messages(context, message.chat.id, flow.messages, lang, message.message_id)


async def _unsubscribe(query: CallbackQuery, context: Context, lang: str, press: Press) -> None:
    svc = services(context)
    message = query.message
    if message is None:
        raise ValueError("button without a message")
    flow = await svc.flows.current(message.chat.id, FlowKind.SUBSCRIPTION, press.token)
    view = await svc.subscriptions.unsubscribe(message.chat.id, press.token)
    await query.answer()
    key, place = ("unsubscribe.none", "") if view is None else ("unsubscribe.done", view.place)
    await query.edit_message_text(svc.catalog.t(lang, key, place=place))
    if flow is not None:
        await end_flow_messages(context, message.chat.id, flow.messages, lang, message.message_id)


async def _keep_subscription(
    query: CallbackQuery, context: Context, lang: str, press: Press
) -> None:
    message = query.message
    if message is None:
        raise ValueError("button without a message")
    view = await services(context).subscriptions.status(message.chat.id)
    if view is None:
        await _end_with(query, context, lang, press, "unsubscribe.none")
    else:
        await _end_with(query, context, lang, press, "unsubscribe.kept", place=view.place)


# Callback actions of the subscription flow, after "sub:<token>:".
_ACTIONS = {
    "q": _page_communes,  # q:<page>:<search text>
    "c": _choose_commune,  # c:<commune code>
    "rp": _page_residential,  # rp:<commune code>:<page>
    "r": _choose_residential,  # r:<commune code>:<residential area id>
    "w": _choose_whole_commune,  # w:<commune code>
    "n": _ask_new_residential,  # n:<commune code>
    "x": _cancel,
    "u": _unsubscribe,  # /huydangky confirmed
    "k": _keep_subscription,  # /huydangky: "Không"
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
    """/huydangky: admins are asked to confirm, naming the area."""
    allowed = await group_command(update, context, admins_only=True)
    if allowed is None:
        return
    chat, message, lang = allowed
    svc = services(context)
    t = svc.catalog.t
    view = await svc.subscriptions.status(chat.id)
    if view is None:
        await message.reply_text(t(lang, "unsubscribe.none"))
        return
    token = await begin_flow(context, chat.id, FlowKind.SUBSCRIPTION, lang)
    buttons = [
        InlineKeyboardButton(t(lang, "unsubscribe.btn_yes"), callback_data=PICKER.data(token, "u")),
        InlineKeyboardButton(t(lang, "unsubscribe.btn_no"), callback_data=PICKER.data(token, "k")),
    ]
    sent = await message.reply_text(
        t(lang, "unsubscribe.confirm", place=view.place),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )
    await svc.flows.attach(chat.id, FlowKind.SUBSCRIPTION, token, sent.message_id)


def register(app: Application) -> None:
    """Add the subscription handlers."""
    app.add_handler(CommandHandler(command("subscribe").names, start_subscribe))
    app.add_handler(CommandHandler(command("status").names, show_status))
    app.add_handler(CommandHandler(command("unsubscribe").names, unsubscribe))
    app.add_handler(CallbackQueryHandler(press_subscribe_button, pattern=rf"^{PREFIX}:"))
    on_prompt(app, PROMPT_COMMUNE, answer_commune_prompt)
    on_prompt(app, PROMPT_RESIDENTIAL, answer_residential_prompt)
