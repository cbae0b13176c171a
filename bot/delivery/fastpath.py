"""A lean Bot API client for the delivery engine's hot sends (alert copies and their edits).

PTB builds a `RequestData`, posts it through httpx and turns every answer into `Message`
objects: most of the bot's CPU during a broadcast. Here a copy's JSON body is encoded once per
rendered content (`Prepared`), the chat id (and any per-copy parameter) spliced in per call,
posted through a small pool of keep-alive connections (`bot.delivery.http11`), and the answer
parsed with orjson for what the engine reads: `message_id`. Errors are raised as PTB's own
exceptions, mapped as PTB maps them, so the engine has one code path; every call goes through
the bot's rate limiter, so interactive replies still go first and the window stays shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import BaseRateLimiter, ExtBot

from bot.delivery.http11 import Http11Pool
from bot.delivery.limiter import bulk_args

CONNECTIONS = 8  # the limiter keeps few requests on the wire; more connections cost CPU


@dataclass(frozen=True)
class Prepared:
    """The JSON body of one call without its chat id: encoded once, sent to many chats."""

    method: str
    tail: bytes  # the object's members after chat_id, with the closing brace

    def body(self, chat_id: int, extra: bytes = b"") -> bytes:
        """The body for `chat_id`; `extra` are further encoded members (`,"key":value`)."""
        return b'{"chat_id":%d%s%s' % (chat_id, extra, self.tail)


def prepare(method: str, params: dict[str, Any]) -> Prepared:
    """Encode `params` (no chat_id; None values dropped, as PTB drops them) once."""
    encoded = orjson.dumps({k: v for k, v in params.items() if v is not None})
    return Prepared(method, b"}" if encoded == b"{}" else b"," + encoded[1:])


def members(**params: Any) -> bytes:
    """Per-call members to splice into a prepared body: `,"key":value` for each non-None."""
    kept = {k: v for k, v in params.items() if v is not None}
    return b"," + orjson.dumps(kept)[1:-1] if kept else b""


def raise_for(status: int, payload: bytes) -> None:
    """Raise what PTB raises for a non-2xx answer (its `BaseRequest._request_wrapper`)."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        message = data.get("description") or message
        parameters = data.get("parameters")
        if isinstance(parameters, dict) and parameters:
            if parameters.get("migrate_to_chat_id"):
                raise ChatMigrated(int(parameters["migrate_to_chat_id"]))
            if parameters.get("retry_after"):
                raise RetryAfter(int(parameters["retry_after"]))
            message += f". The server response contained unknown parameters: {parameters}"
    else:
        message += f". Parsing the server response {payload[:200]!r} failed"
    if status == HTTPStatus.FORBIDDEN:
        raise Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        raise InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        raise BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        raise Conflict(message)
    raise NetworkError(message)


def result_of(payload: bytes) -> Any:
    """The `result` of a 2xx answer."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise TelegramError("Invalid server response") from exc
    if not isinstance(data, dict) or not data.get("ok"):
        raise TelegramError(f"Unexpected server response: {payload[:200]!r}")
    return data.get("result")


class FastApi:
    """Posts prepared bodies to the bot's Bot API server under the bot's rate limiter."""

    def __init__(
        self,
        bot: ExtBot[Any],
        *,
        connections: int = CONNECTIONS,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
    ) -> None:
        self._pool = Http11Pool(
            f"{bot.base_url}/",
            connections=connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._limiter: BaseRateLimiter[Any] | None = bot.rate_limiter

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._pool.close()

    async def call(
        self, method: str, body: bytes, chat_id: int, *, paid: bool = False, priority: int = 0
    ) -> Any:
        """One bulk call: its `result`, or PTB's exception for the answer."""
        if self._limiter is None:
            return await self._post(method, body)
        data = {"chat_id": chat_id, "allow_paid_broadcast": paid}
        return await self._limiter.process_request(
            self._post, (method, body), {}, method, data, bulk_args(priority)
        )

    async def _post(self, method: str, body: bytes) -> Any:
        try:
            status, payload = await self._pool.post_json(method, body)
        except TimeoutError as exc:
            raise TimedOut(f"{method} timed out") from exc
        except OSError as exc:  # refused, reset, closed early, not HTTP
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= status <= 299:
            return result_of(payload)
        raise_for(status, payload)
