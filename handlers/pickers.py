"""What the button flows share: flow tokens in button data, closing old keyboards, and the
commune search picker used by /dangky (groups) and /capquyen (superadmins).

Button data read `<prefix>:<token>:<action>[:<rest>]`: the prefix routes the press to its flow's
handler, the token must name the chat's current flow (`FlowService`), the action says what the
button does. Older buttons, and data nobody was given, name no current flow and are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import TelegramError

from bot.commands import command
from bot.i18n import Catalog
from bot.services.flows import FlowKind
from bot.services.subscriptions import CommuneOption, Page
from handlers.base import Context, services

log = logging.getLogger(__name__)
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
MAX_QUERY = 100  # characters of a commune search


@dataclass(frozen=True)
class Press:
    """A flow button's data, split."""

    token: str
    action: str
    rest: str


def parse_press(data: str, prefix: str) -> Press | None:
    """`<prefix>:<token>:<action>[:<rest>]` split; None for data of another shape."""
    head, token, action, rest = [*data.split(":", 3), "", "", ""][:4]
    if head != prefix or not token or not action:
        return None
    return Press(token, action, rest)


def fit(data: str) -> str:
    """`data` cut on a character boundary to fit Telegram's 64 bytes (the search text is last)."""
    return data.encode()[:CALLBACK_LIMIT].decode(errors="ignore")


def stale_text(catalog: Catalog, lang: str, command_key: str) -> str:
    """ "Lựa chọn này đã cũ, hãy gõ /dangky lại." with the command in the chat's language."""
    return catalog.t(lang, "picker.stale", command="/" + command(command_key).name(lang))


async def refuse_stale(
    query: CallbackQuery, context: Context, lang: str, kind: FlowKind, command_key: str
) -> None:
    """Answer a press of an old (or forged) button; nothing else changes, except that an old
    keyboard still showing (one from before flows had tokens) is taken away."""
    svc = services(context)
    await query.answer(stale_text(svc.catalog, lang, command_key))
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    if message.message_id not in await svc.flows.messages(message.chat.id, kind):
        await close_messages(context, message.chat.id, [message.message_id], lang)


async def close_messages(
    context: Context, chat_id: int, message_ids: Iterable[int], lang: str
) -> None:
    """Replace the keyboards of a finished or replaced flow with a short note."""
    note = services(context).catalog.t(lang, "picker.closed")
    for message_id in message_ids:
        try:
            await context.bot.edit_message_text(note, chat_id=chat_id, message_id=message_id)
        except TelegramError as exc:  # deleted by someone, or already closed: nothing to take away
            log.info("could not close flow message %s: %s", message_id, exc)


async def begin_flow(context: Context, chat_id: int, kind: FlowKind, lang: str, **data: str) -> str:
    """Start the chat's flow of this kind, closing the one it replaces; returns the token."""
    flow, replaced = await services(context).flows.begin(chat_id, kind, **data)
    await close_messages(context, chat_id, replaced, lang)
    return flow.token


async def end_flow_messages(
    context: Context, chat_id: int, messages: Iterable[int], lang: str, keep: int | None = None
) -> None:
    """Close the keyboards of a flow that just ended, except the message `keep` (the one the
    pressed button belongs to, which the caller edits itself)."""
    await close_messages(context, chat_id, [m for m in messages if m != keep], lang)


@dataclass(frozen=True)
class PickerTexts:
    """The catalogue keys a flow words its search with."""

    choose: str  # {query}, {total}
    no_match: str  # {query}
    invalid: str


@dataclass(frozen=True)
class CommunePicker:
    """Communes matching a search, as buttons (one per commune), paged, with Cancel.

    Actions: `q` shows page `<n>:<query>`, `c` chose the commune `<code>`, `x` cancels.
    """

    prefix: str
    kind: FlowKind
    texts: PickerTexts

    def data(self, token: str, action: str, rest: str = "") -> str:
        """Button data of this flow."""
        return fit(f"{self.prefix}:{token}:{action}" + (f":{rest}" if rest else ""))

    def keyboard(
        self, catalog: Catalog, lang: str, page: Page[CommuneOption], query: str, token: str
    ) -> InlineKeyboardMarkup:
        """One button per matching commune, then paging and cancel."""
        rows = [
            [InlineKeyboardButton(o.label, callback_data=self.data(token, "c", o.code))]
            for o in page.items
        ]
        nav = nav_row(catalog, lang, page, lambda p: self.data(token, "q", f"{p}:{query}"))
        rows += [nav] if nav else []
        rows.append([self.cancel_button(catalog, lang, token)])
        return InlineKeyboardMarkup(rows)

    def cancel_button(self, catalog: Catalog, lang: str, token: str) -> InlineKeyboardButton:
        """The flow's Cancel button."""
        return InlineKeyboardButton(
            catalog.t(lang, "picker.btn_cancel"), callback_data=self.data(token, "x")
        )

    async def offer(
        self, message: Message, context: Context, lang: str, query: str, token: str
    ) -> bool:
        """Reply with the communes matching `query`; False if the query was unusable."""
        svc = services(context)
        if not 2 <= len(query.strip()) <= MAX_QUERY:
            await message.reply_text(svc.catalog.t(lang, self.texts.invalid))
            return False
        page = svc.subscriptions.search_communes(query)
        if page.total == 0:
            await message.reply_text(svc.catalog.t(lang, self.texts.no_match, query=query))
            return True
        sent = await message.reply_text(
            svc.catalog.t(lang, self.texts.choose, query=query, total=page.total),
            reply_markup=self.keyboard(svc.catalog, lang, page, query, token),
        )
        await svc.flows.attach(message.chat.id, self.kind, token, sent.message_id)
        return True

    async def turn_page(
        self, query: CallbackQuery, context: Context, lang: str, press: Press
    ) -> None:
        """Show page `<n>` of the search `<query>` in the pressed message."""
        page_no, _, text = press.rest.partition(":")
        svc = services(context)
        page = svc.subscriptions.search_communes(text, int(page_no))
        await query.answer()
        await query.edit_message_text(
            svc.catalog.t(lang, self.texts.choose, query=text, total=page.total),
            reply_markup=self.keyboard(svc.catalog, lang, page, text, press.token),
        )


def nav_row(
    catalog: Catalog, lang: str, page: Page[Any], data: Callable[[int], str]
) -> list[InlineKeyboardButton]:
    """Previous/next buttons; `data(n)` is the callback data that shows page n."""
    row = []
    if page.page > 0:
        label = catalog.t(lang, "picker.btn_prev")
        row.append(InlineKeyboardButton(label, callback_data=data(page.page - 1)))
    if page.page + 1 < page.pages:
        label = catalog.t(lang, "picker.btn_next")
        row.append(InlineKeyboardButton(label, callback_data=data(page.page + 1)))
    return row
