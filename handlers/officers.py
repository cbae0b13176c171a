"""Superadmins grant and revoke officer rights in their private chat with the bot.

`/capquyen ID CODE [tên]` grants at once. `/capquyen ID` asks for the area by name with the same
commune search picker as /dangky, then for the officer's name (a reply prompt that can be
skipped), then grants. That conversation is the chat's grant flow (`FlowKind.GRANT`): its
buttons and prompts carry the flow's token, and a new /capquyen replaces it.
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.commands import command
from bot.menus import sync_person
from bot.services.flows import Flow, FlowKind, StaleFlow
from bot.services.officers import OfficerView, UnknownJurisdiction
from bot.services.prompts import PendingPrompt
from bot.services.subscriptions import UnknownArea
from handlers.base import Context, language, services
from handlers.pickers import (
    CommunePicker,
    PickerTexts,
    Press,
    begin_flow,
    end_flow_messages,
    parse_press,
    refuse_stale,
    stale_text,
)
from handlers.replies import on_prompt

log = logging.getLogger(__name__)
PREFIX = "cap"
PROMPT_AREA = "grant_area"
PROMPT_NAME = "grant_name"
NAME_LIMIT = 128
PICKER = CommunePicker(
    PREFIX,
    FlowKind.GRANT,
    PickerTexts("grant.choose_commune", "grant.no_match", "grant.query_invalid"),
)


async def _superadmin(update: Update, context: Context) -> tuple[Message, User, str] | None:
    """Message, sender and language of a superadmin's command; None (and the sender is told the
    command is not for them) for anyone else."""
    user, message = update.effective_user, update.effective_message
    if message is None or user is None:
        return None
    svc, lang = services(context), await language(update, context)
    if svc.officers.is_superadmin(user.id):
        return message, user, lang
    await message.reply_text(svc.catalog.t(lang, "errors.superadmin_only"))
    return None


def area_label(context: Context, lang: str, officer: OfficerView) -> str:
    """The officer's jurisdiction as the chat reads it: "Toàn quốc" / "Whole country" for the
    ministry, else the official name."""
    if officer.jurisdiction.national:
        return services(context).catalog.t(lang, "jurisdiction.country")
    return officer.jurisdiction.label


def _granted_text(context: Context, lang: str, officer: OfficerView) -> str:
    return services(context).catalog.t(
        lang,
        "officers.granted",
        id=officer.telegram_id,
        name=officer.name or "—",
        area=area_label(context, lang, officer),
    )


async def grant_officer(update: Update, context: Context) -> None:
    """/capquyen <telegram_id> [<area code> [name]]."""
    allowed = await _superadmin(update, context)
    if allowed is None:
        return
    message, user, lang = allowed
    svc = services(context)
    t = svc.catalog.t
    args = context.args or []
    if len(args) == 1 and args[0].isdigit():
        await _ask_area(message, context, lang, user, int(args[0]))
        return
    if len(args) < 2 or not args[0].isdigit():
        await message.reply_text(t(lang, "officers.usage_grant"))
        return
    name = " ".join(args[2:])[:NAME_LIMIT] or None
    try:
        officer = await svc.officers.grant(user.id, int(args[0]), args[1], name)
    except UnknownJurisdiction:
        await message.reply_text(t(lang, "officers.unknown_area", code=args[1]))
        return
    await sync_person(context.bot, svc, officer.telegram_id)  # /canhbao in their menu at once
    await message.reply_text(_granted_text(context, lang, officer))


async def _ask_area(
    message: Message, context: Context, lang: str, user: User, officer_id: int
) -> None:
    """Start the grant flow: ask for the area's name with a reply prompt."""
    svc = services(context)
    chat_id = message.chat.id
    token = await begin_flow(context, chat_id, FlowKind.GRANT, lang, officer=str(officer_id))
    prompt = await message.reply_text(
        svc.catalog.t(lang, "grant.ask_area", id=officer_id),
        reply_markup=ForceReply(
            input_field_placeholder=svc.catalog.t(lang, "subscribe.commune_placeholder")
        ),
    )
    await svc.prompts.remember(chat_id, prompt.message_id, user.id, PROMPT_AREA, token)


async def _superadmin_reply(update: Update, context: Context) -> tuple[Message, User, str] | None:
    """A superadmin's reply to a prompt of the grant flow, in their private chat."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return None
    return await _superadmin(update, context)


async def answer_area_prompt(update: Update, context: Context, pending: PendingPrompt) -> None:
    """The superadmin replied with the area's name: offer the matching communes."""
    allowed = await _superadmin_reply(update, context)
    if allowed is None:
        return
    message, _, lang = allowed
    svc = services(context)
    # A plain message answers too (the private chat's router): the prompt, not a reply, names it.
    prompt_id = pending.message_id
    if await svc.flows.current(message.chat.id, FlowKind.GRANT, pending.payload) is None:
        await svc.prompts.forget(message.chat.id, prompt_id)
        await message.reply_text(stale_text(svc.catalog, lang, "grant"))
        return
    if await PICKER.offer(message, context, lang, message.text or "", pending.payload):
        await svc.prompts.forget(message.chat.id, prompt_id)


async def answer_name_prompt(update: Update, context: Context, pending: PendingPrompt) -> None:
    """The superadmin replied with the officer's name: grant."""
    allowed = await _superadmin_reply(update, context)
    if allowed is None:
        return
    message, user, lang = allowed
    svc = services(context)
    name = " ".join((message.text or "").split())[:NAME_LIMIT] or None
    token, _, code = pending.payload.partition(":")
    await svc.prompts.forget(message.chat.id, pending.message_id)
    try:
        flow = await svc.flows.finish(message.chat.id, FlowKind.GRANT, token)
        officer = await _grant(context, user, flow, code, name)
    except (StaleFlow, UnknownJurisdiction):
        await message.reply_text(stale_text(svc.catalog, lang, "grant"))
        return
    await end_flow_messages(context, message.chat.id, flow.messages, lang)
    await message.reply_text(_granted_text(context, lang, officer))


async def _grant(
    context: Context, user: User, flow: Flow, code: str, name: str | None
) -> OfficerView:
    officer_id = flow.data.get("officer", "")
    if not officer_id.isdigit():
        raise StaleFlow(flow.token)
    svc = services(context)
    officer = await svc.officers.grant(user.id, int(officer_id), code, name)
    await sync_person(context.bot, svc, officer.telegram_id)  # /canhbao in their menu at once
    return officer


async def press_grant_button(update: Update, context: Context) -> None:
    """The buttons of the grant flow: superadmins only, in their own private chat, and only
    the buttons of the chat's current flow."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    svc, lang = services(context), await language(update, context)
    if chat.type != ChatType.PRIVATE or not svc.officers.is_superadmin(query.from_user.id):
        await query.answer(svc.catalog.t(lang, "errors.superadmin_only"), show_alert=True)
        return
    press = parse_press(query.data, PREFIX)
    flow = await svc.flows.current(chat.id, FlowKind.GRANT, press.token) if press else None
    if press is None or flow is None or press.action not in _ACTIONS:
        log.info("stale grant button in update %s", update.update_id)
        await refuse_stale(query, context, lang, FlowKind.GRANT, "grant")
        return
    try:
        await _ACTIONS[press.action](query, context, lang, press, flow)
    except (ValueError, UnknownArea, UnknownJurisdiction):
        log.info("malformed grant button in update %s", update.update_id)
        await query.answer(svc.catalog.t(lang, "errors.expired"), show_alert=True)
    except StaleFlow:  # another press ended the flow a moment ago
        await refuse_stale(query, context, lang, FlowKind.GRANT, "grant")


async def _page(
    query: CallbackQuery, context: Context, lang: str, press: Press, flow: Flow
) -> None:
    await PICKER.turn_page(query, context, lang, press)


async def _choose_commune(
    query: CallbackQuery, context: Context, lang: str, press: Press, flow: Flow
) -> None:
    """The area is chosen: show it, offer Skip, and ask the officer's name."""
    svc = services(context)
    t = svc.catalog.t
    commune = svc.subscriptions.commune(press.rest)
    officer = flow.data.get("officer", "")
    buttons = [
        InlineKeyboardButton(
            t(lang, "grant.btn_skip_name"),
            callback_data=PICKER.data(press.token, "s", commune.code),
        ),
        PICKER.cancel_button(svc.catalog, lang, press.token),
    ]
    await query.answer()
    await query.edit_message_text(
        t(lang, "grant.chosen", id=officer, area=commune.label),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )
    prompt = await context.bot.send_message(
        query.from_user.id,
        t(lang, "grant.ask_name", id=officer),
        reply_markup=ForceReply(input_field_placeholder=t(lang, "grant.name_placeholder")),
    )
    await svc.prompts.remember(
        query.from_user.id,
        prompt.message_id,
        query.from_user.id,
        PROMPT_NAME,
        f"{press.token}:{commune.code}",
    )


async def _skip_name(
    query: CallbackQuery, context: Context, lang: str, press: Press, flow: Flow
) -> None:
    """Grant without a name."""
    chat_id = query.from_user.id
    ended = await services(context).flows.finish(chat_id, FlowKind.GRANT, press.token)
    officer = await _grant(context, query.from_user, ended, press.rest, None)
    await query.answer()
    await query.edit_message_text(_granted_text(context, lang, officer))
    pressed = query.message.message_id if query.message is not None else None
    await end_flow_messages(context, chat_id, ended.messages, lang, pressed)


async def _cancel(
    query: CallbackQuery, context: Context, lang: str, press: Press, flow: Flow
) -> None:
    chat_id = query.from_user.id
    ended = await services(context).flows.finish(chat_id, FlowKind.GRANT, press.token)
    await query.answer()
    await query.edit_message_text(services(context).catalog.t(lang, "grant.cancelled"))
    pressed = query.message.message_id if query.message is not None else None
    await end_flow_messages(context, chat_id, ended.messages, lang, pressed)


# Callback actions of the grant flow, after "cap:<token>:".
_ACTIONS = {
    "q": _page,  # q:<page>:<search text>
    "c": _choose_commune,  # c:<commune code>
    "s": _skip_name,  # s:<commune code>: grant without a name
    "x": _cancel,
}


async def revoke_officer(update: Update, context: Context) -> None:
    """/thuhoi <telegram_id>."""
    allowed = await _superadmin(update, context)
    if allowed is None:
        return
    message, user, lang = allowed
    svc = services(context)
    t = svc.catalog.t
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await message.reply_text(t(lang, "officers.usage_revoke"))
        return
    revoked = await svc.officers.revoke(user.id, int(args[0]))
    if revoked:
        await sync_person(context.bot, svc, int(args[0]))  # back to everyone's menu
    await message.reply_text(
        t(lang, "officers.revoked" if revoked else "officers.not_officer", id=args[0])
    )


def officer_line(context: Context, lang: str, officer: OfficerView) -> str:
    """One line of /canbo; an officer without a name gets no empty gap."""
    t = services(context).catalog.t
    if officer.name:
        return t(
            lang,
            "officers.list_line",
            id=officer.telegram_id,
            name=officer.name,
            area=area_label(context, lang, officer),
        )
    return t(
        lang,
        "officers.list_line_unnamed",
        id=officer.telegram_id,
        area=area_label(context, lang, officer),
    )


async def list_officers(update: Update, context: Context) -> None:
    """/canbo: every active officer."""
    allowed = await _superadmin(update, context)
    if allowed is None:
        return
    message, _, lang = allowed
    t = services(context).catalog.t
    officers = await services(context).officers.all()
    if not officers:
        await message.reply_text(t(lang, "officers.list_empty"))
        return
    lines = [t(lang, "officers.list_title")] + [officer_line(context, lang, o) for o in officers]
    await message.reply_text("\n".join(lines))


def register(app: Application) -> None:
    """Add the officer administration commands (private chats only)."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler(command("grant").names, grant_officer, filters=private))
    app.add_handler(CommandHandler(command("revoke").names, revoke_officer, filters=private))
    app.add_handler(CommandHandler(command("officers").names, list_officers, filters=private))
    app.add_handler(CallbackQueryHandler(press_grant_button, pattern=rf"^{PREFIX}:"))
    on_prompt(app, PROMPT_AREA, answer_area_prompt)
    on_prompt(app, PROMPT_NAME, answer_name_prompt)
