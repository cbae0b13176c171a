"""The Bot API calls of one copy: its main message (text, photo, generated photo, document or
copy), its album and its pin, and edits of the main message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.delivery.config import DeliveryConfig
from bot.delivery.fastpath import FastApi, Prepared, members, prepare
from bot.delivery.files import UploadCache, upload_key
from bot.delivery.limiter import bulk_args
from bot.delivery.outgoing import Outgoing, Pin, album_chunks

_URL_PREFIXES = ("http://", "https://", "tg://")
# What follows the main message, in order: album chunks (photo file_ids), then the pin.
Part = tuple[str, ...] | Pin


def to_markup(out: Outgoing) -> InlineKeyboardMarkup | None:
    """Inline keyboard of an `Outgoing` (None without buttons)."""
    if not out.buttons:
        return None
    rows = [
        [
            InlineKeyboardButton(label, url=value)
            if value.startswith(_URL_PREFIXES)
            else InlineKeyboardButton(label, callback_data=value)
            for label, value in row
        ]
        for row in out.buttons
    ]
    return InlineKeyboardMarkup(rows)


def markup_json(out: Outgoing) -> dict[str, Any] | None:
    """The inline keyboard as the Bot API takes it: `to_markup(out).to_dict()`, without PTB."""
    if not out.buttons:
        return None
    return {
        "inline_keyboard": [
            [
                {"text": label, "url": value}
                if value.startswith(_URL_PREFIXES)
                else {"text": label, "callback_data": value}
                for label, value in row
            ]
            for row in out.buttons
        ]
    }


@dataclass
class Rendered:
    """A rendering of one copy (shared by every chat when its kind is not per chat): the
    content, and its PTB keyboard and fast-path bodies, each made at first use."""

    out: Outgoing
    bodies: dict[str, Prepared] = field(default_factory=dict)

    @classmethod
    def of(cls, out: Outgoing) -> Rendered:
        return cls(out)

    @cached_property
    def markup(self) -> InlineKeyboardMarkup | None:
        """The keyboard as PTB objects (for calls through PTB)."""
        return to_markup(self.out)

    @property
    def fast_main(self) -> bool:
        """Whether the main message is HTML text or a photo by file_id (the hot sends)."""
        out = self.out
        return out.copy_of is None and out.document is None and out.photo_data is None

    def body(self, method: str, paid: bool) -> Prepared:
        """The prepared body of `method` (sendMessage, sendPhoto, editMessageText or
        editMessageCaption) for this content: what PTB would send, less the chat id."""
        prepared = self.bodies.get(method)
        if prepared is None:
            prepared = self.bodies[method] = prepare(method, self._params(method, paid))
        return prepared

    def _params(self, method: str, paid: bool) -> dict[str, Any]:
        out = self.out
        params: dict[str, Any] = {"parse_mode": ParseMode.HTML.value}
        if method in ("sendMessage", "editMessageText"):
            params["text"] = out.text
            params["link_preview_options"] = {"is_disabled": out.disable_preview}
        else:
            params["caption"] = out.text or None
        if method == "sendPhoto":
            params["photo"] = out.photo
        if method.startswith("send") and paid:
            params["allow_paid_broadcast"] = True
        params["reply_markup"] = markup_json(out)
        return params


def later_parts(out: Outgoing) -> list[Part]:
    """The parts sent after the main message, in order."""
    parts: list[Part] = list(album_chunks(out.album))
    if out.location is not None:
        parts.append(out.location)
    return parts


def _file_refused(exc: BadRequest) -> bool:
    """Telegram does not know a file_id we cached ("wrong file identifier", …)."""
    return "file" in exc.message.lower()


class PartSender:
    """Sends the parts of copies through one bot, as bulk calls under the rate limiter."""

    def __init__(
        self,
        bot: ExtBot[Any],
        config: DeliveryConfig,
        files: UploadCache,
        fast: FastApi | None = None,
    ) -> None:
        self.bot = bot
        self.config = config
        self.files = files
        self.fast = fast  # None: every call through PTB

    def _common(self, priority: int, reply_to: int | None) -> dict[str, Any]:
        args: dict[str, Any] = {"rate_limit_args": bulk_args(priority)}
        if self.config.paid_broadcast:
            args["allow_paid_broadcast"] = True
        if reply_to is not None:
            args["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        return args

    async def send_main(self, chat_id: int, rendered: Rendered, priority: int) -> int:
        """Send the main message; its message id."""
        out = rendered.out
        if self.fast is not None and rendered.fast_main:
            method = "sendPhoto" if out.photo is not None else "sendMessage"
            paid = self.config.paid_broadcast
            reply = _reply_parameters(out.reply_to_message_id)
            body = rendered.body(method, paid).body(chat_id, members(reply_parameters=reply))
            result = await self.fast.call(method, body, chat_id, paid=paid, priority=priority)
            return int(result["message_id"])
        markup = rendered.markup
        common = {**self._common(priority, out.reply_to_message_id), "reply_markup": markup}
        caption: dict[str, Any] = {"caption": out.text or None, "parse_mode": ParseMode.HTML}
        if out.copy_of is not None:
            from_chat, message_id = out.copy_of
            kept = {} if not out.text else caption  # no caption given: the original stays
            copied = await self.bot.copy_message(chat_id, from_chat, message_id, **kept, **common)
            return copied.message_id
        if out.document is not None or out.photo_data is not None:
            return (await self._send_file(chat_id, out, {**caption, **common})).message_id
        if out.photo is not None:
            sent = await self.bot.send_photo(chat_id, out.photo, **caption, **common)
            return sent.message_id
        preview = LinkPreviewOptions(is_disabled=out.disable_preview)
        sent = await self.bot.send_message(
            chat_id, out.text, parse_mode=ParseMode.HTML, link_preview_options=preview, **common
        )
        return sent.message_id

    async def _send_file(self, chat_id: int, out: Outgoing, args: dict[str, Any]) -> Message:
        """A document (by file_id, or generated bytes) or a generated photo."""
        doc = out.document
        if doc is not None and doc.file_id is not None:
            return await self.bot.send_document(chat_id, doc.file_id, **args)
        if doc is not None and doc.data is not None:
            key = upload_key("document", doc.data, out.cache_key)
            send = _sender(self.bot.send_document, chat_id, doc.filename, args)
            return await self._generated(key, doc.data, send, _document_id)
        assert out.photo_data is not None
        key = upload_key("photo", out.photo_data, out.cache_key)
        send = _sender(self.bot.send_photo, chat_id, "photo.png", args)
        return await self._generated(key, out.photo_data, send, _photo_id)

    async def _generated(
        self,
        key: str,
        data: bytes,
        send: Callable[[str | bytes], Awaitable[Message]],
        file_of: Callable[[Message], str | None],
    ) -> Message:
        """Send generated bytes by the file_id of their first upload; upload them only when no
        sender has yet (concurrent sends wait for the first one's file_id). A file_id Telegram
        refuses (another bot's, a wiped test server) is forgotten and the bytes uploaded again,
        by one sender."""
        for _ in range(2):
            async with self.files.uploading(key) as file_id:
                if file_id is None:
                    return await self._upload(key, data, send, file_of)
                try:
                    return await send(file_id)
                except BadRequest as exc:
                    if not _file_refused(exc):
                        raise
                    await self.files.forget(key, file_id)
        return await self._upload(key, data, send, file_of)

    async def _upload(
        self,
        key: str,
        data: bytes,
        send: Callable[[str | bytes], Awaitable[Message]],
        file_of: Callable[[Message], str | None],
    ) -> Message:
        message = await send(data)
        uploaded = file_of(message)
        if uploaded is not None:
            await self.files.remember(key, uploaded)
        return message

    async def send_part(self, chat_id: int, part: Part, main_id: int, priority: int) -> list[int]:
        """Send an album chunk or the pin, as a reply to the main message (which keeps them
        together when other messages arrive in between); their message ids."""
        common = self._common(priority, main_id)
        if isinstance(part, Pin):
            return [await self._send_pin(chat_id, part, common)]
        if len(part) == 1:  # Telegram wants 2-10 items in an album
            photo = await self.bot.send_photo(chat_id, part[0], **common)
            return [photo.message_id]
        media = [InputMediaPhoto(file_id) for file_id in part]
        album = await self.bot.send_media_group(chat_id, media, **common)
        return [m.message_id for m in album]

    async def _send_pin(self, chat_id: int, pin: Pin, common: dict[str, Any]) -> int:
        """sendVenue or sendLocation. Neither takes a parse_mode, yet PTB sends the Defaults'
        one along (Telegram ignores it; the spec, and so the simulator, refuse it): an explicit
        None in `api_kwargs` replaces it, and PTB drops None values."""
        unset: dict[str, Any] = {"parse_mode": None}
        if pin.is_venue:
            assert pin.title is not None and pin.address is not None
            venue = await self.bot.send_venue(
                chat_id, pin.lat, pin.lon, pin.title, pin.address, api_kwargs=unset, **common
            )
            return venue.message_id
        sent = await self.bot.send_location(chat_id, pin.lat, pin.lon, api_kwargs=unset, **common)
        return sent.message_id

    async def edit_main(
        self, chat_id: int, message_id: int, has_caption: bool, rendered: Rendered, priority: int
    ) -> str | None:
        """Edit the main message (text or caption, and buttons); a note when it is gone."""
        out = rendered.out
        try:
            if self.fast is not None and (out.copy_of is None or out.text):
                method = "editMessageCaption" if has_caption else "editMessageText"
                body = rendered.body(method, False).body(chat_id, members(message_id=message_id))
                await self.fast.call(method, body, chat_id, priority=priority)
            else:
                await self._edit_ptb(
                    chat_id, message_id, has_caption, out, rendered.markup, priority
                )
        except BadRequest as exc:
            text = exc.message.lower()
            if "message is not modified" in text:
                return None
            if "message to edit not found" in text:
                return "message to edit not found"
            raise
        return None

    async def _edit_ptb(
        self,
        chat_id: int,
        message_id: int,
        has_caption: bool,
        out: Outgoing,
        markup: InlineKeyboardMarkup | None,
        priority: int,
    ) -> None:
        args: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "reply_markup": markup,
            "rate_limit_args": bulk_args(priority),
        }
        if out.copy_of is not None and not out.text:  # a copy kept as it was: buttons only
            await self.bot.edit_message_reply_markup(**args)
        elif has_caption:
            await self.bot.edit_message_caption(
                caption=out.text or None, parse_mode=ParseMode.HTML, **args
            )
        else:
            preview = LinkPreviewOptions(is_disabled=out.disable_preview)
            await self.bot.edit_message_text(
                out.text, parse_mode=ParseMode.HTML, link_preview_options=preview, **args
            )


def _reply_parameters(message_id: int | None) -> dict[str, Any] | None:
    """What `ReplyParameters(message_id, allow_sending_without_reply=True)` sends."""
    if message_id is None:
        return None
    return {"message_id": message_id, "allow_sending_without_reply": True}


def _sender(
    method: Callable[..., Awaitable[Message]], chat_id: int, filename: str, args: dict[str, Any]
) -> Callable[[str | bytes], Awaitable[Message]]:
    """`send(file)`: one call of `method` with a file_id, or bytes uploaded as `filename`."""

    async def send(file: str | bytes) -> Message:
        named = {"filename": filename} if isinstance(file, bytes) else {}
        return await method(chat_id, file, **named, **args)

    return send


def _photo_id(message: Message) -> str | None:
    return message.photo[-1].file_id if message.photo else None


def _document_id(message: Message) -> str | None:
    return message.document.file_id if message.document else None
