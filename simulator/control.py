"""A small JSON control API under /_sim/ so a person or another process can drive the world.

Every answer is JSON. A request with a missing or malformed field, or one naming a user, chat or
message that does not exist, is answered 400 with `{"error": ..., "field": ...}`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any, NoReturn

from aiohttp import web

from simulator.driver import SimDriver
from simulator.models import CallbackRecord, SentRecord, SimChat, SimMessage, SimUser
from simulator.server import BotApiSimulator, json_response

PRESS_WAIT = 5.0  # seconds /_sim/press waits for the bot's answer unless told otherwise
PRESS_WAIT_MAX = 30.0


def _user(u: SimUser) -> dict[str, Any]:
    return {**u.to_api(), "started": u.started, "blocked": u.blocked}


def _chat(c: SimChat) -> dict[str, Any]:
    return {**c.to_api(), "members": {str(k): v for k, v in c.members.items()}}


def _message(m: SimMessage) -> dict[str, Any]:
    return {
        "message_id": m.message_id,
        "chat_id": m.chat_id,
        "from_bot": m.from_bot,
        "from": m.from_user.to_api() if m.from_user else None,
        "text": m.text,
        "caption": m.caption,
        "photo": bool(m.photo),
        "album": m.extra.get("media_group_id"),  # photos sent as one album share it
        "document": m.document.get("file_name") if m.document else None,
        "location": m.location,
        "venue": {k: m.venue[k] for k in ("title", "address")} if m.venue else None,
        "buttons": m.buttons,
        # A link button's label -> its URL (a t.me deep link is opened with /_sim/start).
        "links": {b["text"]: b["url"] for row in m.inline_keyboard for b in row if "url" in b},
        # The custom keyboard the message put under the input field (its labels), if any.
        "keyboard": [
            [b.get("text", "") for b in row] for row in (m.reply_markup or {}).get("keyboard", [])
        ],
        "force_reply": m.force_reply,
        "edit_count": m.edit_count,
        "deleted": m.deleted,
        "reply_to_message_id": m.reply_to_message_id,
        "service": m.service,
    }


def _answer(c: CallbackRecord) -> dict[str, Any]:
    """A button press and the bot's answer to it (answerCallbackQuery), if any yet."""
    return {
        "callback_query_id": c.id,
        "user_id": c.user.id,
        "chat_id": c.chat_id,
        "message_id": c.message_id,
        "data": c.data,
        "answered": c.answered,
        "text": c.answer.get("text"),
        "show_alert": bool(c.answer.get("show_alert", False)),
    }


def _bad(field: str, error: str) -> NoReturn:
    """Answer 400 naming the field."""
    if f'"{field}"' not in error:
        error = f'field "{field}": {error}'
    body = json.dumps({"error": error, "field": field}, ensure_ascii=False)
    raise web.HTTPBadRequest(text=body, content_type="application/json")


class Fields:
    """The fields of a request body (or query string), each checked for presence and type."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    @classmethod
    async def of(cls, request: web.Request) -> Fields:
        """The JSON object of a POST body; 400 if the body is not one."""
        try:
            values = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            _bad("body", "the body is not valid JSON")
        if not isinstance(values, dict):
            _bad("body", "the body must be a JSON object")
        return cls(values)

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def _get(self, name: str) -> Any:
        if not self.has(name):
            _bad(name, f'missing field "{name}"')
        return self.values[name]

    def integer(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int | str):
            _bad(name, f'field "{name}" must be an integer')
        try:
            return int(value)
        except ValueError:
            _bad(name, f'field "{name}" must be an integer')

    def number(self, name: str) -> float:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            _bad(name, f'field "{name}" must be a number')
        try:
            return float(value)
        except ValueError:
            _bad(name, f'field "{name}" must be a number')

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str) or not value:
            _bad(name, f'field "{name}" must be a non-empty string')
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if self.has(name) else None

    def integers(self, name: str) -> list[int]:
        value = self.values.get(name) or []
        if not isinstance(value, list):
            _bad(name, f'field "{name}" must be a list of integers')
        return [Fields({name: v}).integer(name) for v in value]


class ControlApi:
    """Routes that wrap a SimDriver."""

    def __init__(self, sim: BotApiSimulator) -> None:
        self.sim = sim
        self.driver = SimDriver(sim)

    def routes(self) -> list[web.RouteDef]:
        """The aiohttp routes to add to the simulator's app."""
        return [
            web.get("/_sim/state", self.state),
            web.get("/_sim/stats", self.stats),
            web.get("/_sim/sent", self.sent),
            web.post("/_sim/users", self.create_user),
            web.post("/_sim/groups", self.create_group),
            web.post("/_sim/groups/many", self.create_groups),
            web.post("/_sim/start", self.start_private),
            web.post("/_sim/bot/add", self.add_bot),
            web.post("/_sim/bot/remove", self.remove_bot),
            web.post("/_sim/send", self.send_text),
            web.post("/_sim/photo", self.send_photo),
            web.post("/_sim/location", self.send_location),
            web.post("/_sim/press", self.press_button),
            web.get("/_sim/messages", self.messages),
            web.get("/_sim/answers", self.answers),
        ]

    def _u(self, fields: Fields, name: str = "user_id") -> SimUser:
        user_id = fields.integer(name)
        user = self.sim.world.users.get(user_id)
        if user is None:
            _bad(name, f"no user {user_id}")
        return user

    def _c(self, fields: Fields, name: str = "chat_id") -> SimChat:
        chat_id = fields.integer(name)
        chat = self.sim.world.chats.get(chat_id)
        if chat is None:
            _bad(name, f"no chat {chat_id}")
        return chat

    def _m(self, chat: SimChat, fields: Fields, name: str) -> SimMessage | None:
        """The message of `chat` named by the optional field `name`."""
        if not fields.has(name):
            return None
        message_id = fields.integer(name)
        message = chat.messages.get(message_id)
        if message is None:
            _bad(name, f"no message {message_id} in chat {chat.id}")
        return message

    async def state(self, request: web.Request) -> web.Response:
        """Users, chats, violations and stats."""
        sim = self.sim
        return _json(
            {
                "users": [_user(u) for u in sim.world.users.values()],
                "chats": [_chat(c) for c in sim.world.chats.values()],
                "violations": [dataclasses.asdict(v) for v in sim.violations],
                "calls": dict(sim.stats.calls),
                "errors": {str(k): v for k, v in sim.stats.errors.items()},
                "http_429": sim.stats.http_429,
                "sent": len(sim.stats.sent),
                "unanswered_callbacks": [c.id for c in sim.unanswered_callbacks()],
            }
        )

    async def create_user(self, request: web.Request) -> web.Response:
        """{"first_name", "username"?, "language_code"?} -> user."""
        f = await Fields.of(request)
        language = f.optional_text("language_code") or "vi"
        user = self.driver.create_user(f.text("first_name"), f.optional_text("username"), language)
        return _json(_user(user))

    async def stats(self, request: web.Request) -> web.Response:
        """The counters alone (cheap to poll): calls, errors, 429s, sends, violations."""
        sim = self.sim
        return _json(
            {
                "calls": dict(sim.stats.calls),
                "errors": {str(k): v for k, v in sim.stats.errors.items()},
                "http_429": sim.stats.http_429,
                "sent": len(sim.stats.sent),
                "violations": len(sim.violations),
                "response_errors": len(sim.response_errors),
            }
        )

    async def sent(self, request: web.Request) -> web.Response:
        """?offset=N[&limit=M][&text=1] -> the send log from record N on: {"offset", "next",
        "records": [{"time" (the simulator's time.monotonic()), "chat_id", "message_id",
        "method", "text"? (the message's text or caption)}]}; read on from "next"."""
        query = Fields(dict(request.query))
        offset = query.integer("offset") if query.has("offset") else 0
        if offset < 0:
            _bad("offset", 'field "offset" must be at least 0')
        records = self.sim.stats.sent[offset:]
        if query.has("limit"):
            limit = query.integer("limit")
            if limit < 1:
                _bad("limit", 'field "limit" must be at least 1')
            records = records[:limit]
        with_text = query.values.get("text") in ("1", "true")
        found = [self._record(r, with_text) for r in records]
        return _json({"offset": offset, "next": offset + len(found), "records": found})

    def _record(self, record: SentRecord, with_text: bool) -> dict[str, Any]:
        data: dict[str, Any] = record._asdict()
        if with_text:
            message = self.sim.world.message(record.chat_id, record.message_id)
            data["text"] = (message.text or message.caption) if message else None
        return data

    async def create_group(self, request: web.Request) -> web.Response:
        """{"title", "members": [ids], "admins": [ids], "supergroup"?, "with_bot"?} -> chat.

        `with_bot`: the bot is already a member (no join updates), as SimDriver.create_group."""
        f = await Fields.of(request)
        return _json(_chat(self._group(f)))

    async def create_groups(self, request: web.Request) -> web.Response:
        """{"groups": [{the fields of /_sim/groups}, ...]} -> {"ids": [...]}, in order."""
        f = await Fields.of(request)
        specs = f.values.get("groups")
        if not isinstance(specs, list) or not all(isinstance(g, dict) for g in specs):
            _bad("groups", 'field "groups" must be a list of objects')
        checked = [Fields(g) for g in specs]
        for group in checked:  # every one is checked before any is created
            self._group_people(group)
            group.text("title")
        return _json({"ids": [self._group(g).id for g in checked]})

    def _group_people(self, f: Fields) -> dict[str, list[SimUser]]:
        users = self.sim.world.users
        people: dict[str, list[SimUser]] = {}
        for name in ("members", "admins"):
            for user_id in f.integers(name):
                if user_id not in users:
                    _bad(name, f"no user {user_id}")
            people[name] = [users[i] for i in f.integers(name)]
        return people

    def _group(self, f: Fields) -> SimChat:
        people = self._group_people(f)
        return self.driver.create_group(
            f.text("title"),
            members=people["members"],
            admins=people["admins"],
            supergroup=bool(f.values.get("supergroup")),
            with_bot=bool(f.values.get("with_bot")),
        )

    async def start_private(self, request: web.Request) -> web.Response:
        """{"user_id", "payload"?} -> the private chat."""
        f = await Fields.of(request)
        user = self._u(f)
        try:
            chat = await self.driver.start_private(user, f.optional_text("payload"))
        except AssertionError as exc:
            _bad("payload", str(exc))
        return _json(_chat(chat))

    async def add_bot(self, request: web.Request) -> web.Response:
        """{"chat_id", "by", "as_admin"?}."""
        f = await Fields.of(request)
        chat, by = self._c(f), self._u(f, "by")
        await self.driver.add_bot(chat, by=by, as_admin=bool(f.values.get("as_admin")))
        return _json(_chat(chat))

    async def remove_bot(self, request: web.Request) -> web.Response:
        """{"chat_id", "by"}."""
        f = await Fields.of(request)
        chat, by = self._c(f), self._u(f, "by")
        await self.driver.remove_bot(chat, by=by)
        return _json(_chat(chat))

    async def send_text(self, request: web.Request) -> web.Response:
        """{"user_id", "chat_id", "text", "reply_to"? (message id)} -> message."""
        f = await Fields.of(request)
        user, chat = self._u(f), self._c(f)
        text, reply = f.text("text"), self._m(chat, f, "reply_to")
        msg = await self._as_user(self.driver.send_text(user, chat, text, reply))
        return _json(_message(msg))

    async def send_photo(self, request: web.Request) -> web.Response:
        """{"user_id", "chat_id", "caption"?, "reply_to"?} -> message (a small PNG)."""
        f = await Fields.of(request)
        user, chat = self._u(f), self._c(f)
        caption, reply = f.optional_text("caption"), self._m(chat, f, "reply_to")
        msg = await self._as_user(self.driver.send_photo(user, chat, caption, reply_to=reply))
        return _json(_message(msg))

    async def send_location(self, request: web.Request) -> web.Response:
        """{"user_id", "chat_id", "latitude", "longitude", "reply_to"?} -> message."""
        f = await Fields.of(request)
        user, chat = self._u(f), self._c(f)
        latitude, longitude = f.number("latitude"), f.number("longitude")
        if not -90 <= latitude <= 90:
            _bad("latitude", 'field "latitude" must be between -90 and 90')
        if not -180 <= longitude <= 180:
            _bad("longitude", 'field "longitude" must be between -180 and 180')
        reply = self._m(chat, f, "reply_to")
        msg = await self._as_user(
            self.driver.send_location(user, chat, latitude, longitude, reply_to=reply)
        )
        return _json(_message(msg))

    async def _as_user(self, sending: Any) -> SimMessage:
        """Await a driver call that sends as a user; 400 if that user may not write there."""
        try:
            msg: SimMessage = await sending
        except AssertionError as exc:  # not a member, or a chat that migrated
            _bad("chat_id", str(exc))
        return msg

    async def press_button(self, request: web.Request) -> web.Response:
        """{"user_id", "chat_id", "label", "message_id"?, "wait"? (seconds, default 5)} -> the
        press and the bot's answer: {"callback_query_id", "answered", "text", "show_alert"}."""
        f = await Fields.of(request)
        user, chat = self._u(f), self._c(f)
        label, msg = f.text("label"), self._m(chat, f, "message_id")
        wait = f.number("wait") if f.has("wait") else PRESS_WAIT
        if not 0 <= wait <= PRESS_WAIT_MAX:
            _bad("wait", f'field "wait" must be between 0 and {PRESS_WAIT_MAX:g} seconds')
        try:
            query_id = await self.driver.press_button(user, chat, label, msg)
        except AssertionError as exc:
            _bad("label", str(exc))
        record = self.sim.callbacks[query_id]
        if wait > 0:
            with contextlib.suppress(TimeoutError):  # reported as "answered": false
                await self.driver.wait_for(lambda: record.answered, timeout=wait)
        return _json(_answer(record))

    async def messages(self, request: web.Request) -> web.Response:
        """?chat_id=…[&last=N] -> the chat's messages, oldest first (only the newest N)."""
        query = Fields(dict(request.query))
        found = self.driver.messages(self._c(query))
        if query.has("last"):
            last = query.integer("last")
            if last < 1:
                _bad("last", 'field "last" must be at least 1')
            found = found[-last:]
        return _json([_message(m) for m in found])

    async def answers(self, request: web.Request) -> web.Response:
        """?chat_id=… (optional) -> every button press, oldest first, with the bot's answer."""
        query = Fields(dict(request.query))
        chat_id = self._c(query).id if query.has("chat_id") else None
        records = [c for c in self.sim.callbacks.values() if chat_id in (None, c.chat_id)]
        return _json([_answer(c) for c in records])


def _json(data: Any) -> web.Response:
    return json_response(data)
