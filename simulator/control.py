"""A small JSON control API under /_sim/ so a person or another process can drive the world."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from simulator.driver import SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from simulator.server import BotApiSimulator


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
        "buttons": m.buttons,
        "edit_count": m.edit_count,
        "deleted": m.deleted,
        "reply_to_message_id": m.reply_to_message_id,
        "service": m.service,
    }


class ControlApi:
    """Routes that wrap a SimDriver."""

    def __init__(self, sim: BotApiSimulator) -> None:
        self.sim = sim
        self.driver = SimDriver(sim)

    def routes(self) -> list[web.RouteDef]:
        """The aiohttp routes to add to the simulator's app."""
        return [
            web.get("/_sim/state", self.state),
            web.post("/_sim/users", self.create_user),
            web.post("/_sim/groups", self.create_group),
            web.post("/_sim/start", self.start_private),
            web.post("/_sim/bot/add", self.add_bot),
            web.post("/_sim/bot/remove", self.remove_bot),
            web.post("/_sim/send", self.send_text),
            web.post("/_sim/press", self.press_button),
            web.get("/_sim/messages", self.messages),
        ]

    def _u(self, user_id: Any) -> SimUser:
        user = self.sim.world.users.get(int(user_id))
        if user is None:
            raise web.HTTPNotFound(text=f"no user {user_id}")
        return user

    def _c(self, chat_id: Any) -> SimChat:
        chat = self.sim.world.chats.get(int(chat_id))
        if chat is None:
            raise web.HTTPNotFound(text=f"no chat {chat_id}")
        return chat

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
        body = await request.json()
        user = self.driver.create_user(
            body["first_name"], body.get("username"), body.get("language_code", "vi")
        )
        return _json(_user(user))

    async def create_group(self, request: web.Request) -> web.Response:
        """{"title", "members": [ids], "admins": [ids], "supergroup"?} -> chat."""
        body = await request.json()
        chat = self.driver.create_group(
            body["title"],
            members=[self._u(i) for i in body.get("members", [])],
            admins=[self._u(i) for i in body.get("admins", [])],
            supergroup=bool(body.get("supergroup")),
        )
        return _json(_chat(chat))

    async def start_private(self, request: web.Request) -> web.Response:
        """{"user_id", "payload"?} -> the private chat."""
        body = await request.json()
        chat = await self.driver.start_private(self._u(body["user_id"]), body.get("payload"))
        return _json(_chat(chat))

    async def add_bot(self, request: web.Request) -> web.Response:
        """{"chat_id", "by", "as_admin"?}."""
        body = await request.json()
        chat, by = self._c(body["chat_id"]), self._u(body["by"])
        await self.driver.add_bot(chat, by=by, as_admin=bool(body.get("as_admin")))
        return _json(_chat(chat))

    async def remove_bot(self, request: web.Request) -> web.Response:
        """{"chat_id", "by"}."""
        body = await request.json()
        chat = self._c(body["chat_id"])
        await self.driver.remove_bot(chat, by=self._u(body["by"]))
        return _json(_chat(chat))

    async def send_text(self, request: web.Request) -> web.Response:
        """{"user_id", "chat_id", "text", "reply_to"? (message id)} -> message."""
        body = await request.json()
        chat = self._c(body["chat_id"])
        reply = chat.messages.get(int(body["reply_to"])) if body.get("reply_to") else None
        msg = await self.driver.send_text(self._u(body["user_id"]), chat, body["text"], reply)
        return _json(_message(msg))

    async def press_button(self, request: web.Request) -> web.Response:
        """{"user_id", "chat_id", "label", "message_id"?} -> {"callback_query_id"}."""
        body = await request.json()
        chat = self._c(body["chat_id"])
        msg = chat.messages.get(int(body["message_id"])) if body.get("message_id") else None
        try:
            query_id = await self.driver.press_button(
                self._u(body["user_id"]), chat, body["label"], msg
            )
        except AssertionError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return _json({"callback_query_id": query_id})

    async def messages(self, request: web.Request) -> web.Response:
        """?chat_id=… -> all messages of the chat."""
        chat = self._c(request.query["chat_id"])
        return _json([_message(m) for m in self.driver.messages(chat)])


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda o: json.dumps(o, ensure_ascii=False))
