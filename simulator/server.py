"""The HTTP side: an aiohttp server speaking the Bot API, with validation, limits and faults."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from simulator.methods import ATTACHMENTS, HANDLERS
from simulator.models import (
    ApiCall,
    ApiError,
    CallbackRecord,
    Faults,
    Limits,
    RateLimiter,
    SimUser,
    Stats,
    Violation,
    bad_request,
)
from simulator.spec import Spec, Upload, load_spec
from simulator.world import World, now

log = logging.getLogger(__name__)


@dataclass
class Webhook:
    """The current webhook and its delivery state."""

    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


_COPIES = ("copyMessage", "copyMessages", "forwardMessage", "forwardMessages")


def _is_counted(method: str) -> bool:
    """Calls that count against Telegram's message limits."""
    if method in _COPIES:
        return True
    return method.startswith(("send", "edit")) and method != "sendChatAction"


def _weight(method: str, params: dict[str, Any]) -> int:
    """Messages one call puts in the chat, as Telegram counts them: an album of N counts N."""
    items = None
    if method == "sendMediaGroup":
        items = params.get("media")
    elif method in ("copyMessages", "forwardMessages"):
        items = params.get("message_ids")
    return max(1, len(items)) if isinstance(items, list) else 1


def _uploads(raw: dict[str, Any], attachments: dict[str, Upload]) -> int:
    """Files uploaded with one call (multipart parts, including attach:// ones)."""
    return len(attachments) + sum(isinstance(v, Upload) for v in raw.values())


class BotApiSimulator:
    """A local Telegram Bot API server for one bot, validating every call against the spec."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "canhgac_test_bot",
        bot_first_name: str = "Canh Gác",
        *,
        local: bool = False,
    ) -> None:
        self.token = token
        # Behave as a local Bot API server (`telegram-bot-api --local`): webhooks may be plain
        # HTTP on any port. Off, setWebhook refuses them as Telegram does.
        self.local = local
        self.spec: Spec = load_spec()
        self.bot = SimUser(
            id=int(token.split(":", 1)[0]),
            first_name=bot_first_name,
            username=bot_username,
            is_bot=True,
        )
        self.world = World(self.bot)
        self.violations: list[Violation] = []
        self.unsupported: list[str] = []
        # Results that do not match the spec: bugs of the simulator itself.
        self.response_errors: list[str] = []
        self.limits: Limits | None = None
        self.faults = Faults()
        self.stats = Stats()
        self.calls: list[ApiCall] = []  # every call, in order (privacy tests read them all)
        self.callbacks: dict[str, CallbackRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: Webhook | None = None
        self.stopping = False
        self.poll_generation = 0
        self.host = "127.0.0.1"
        self.port = 0
        self.extra_routes: list[web.RouteDef] = []
        self._limiter = RateLimiter()
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What to pass to ApplicationBuilder().base_url()."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ApplicationBuilder().base_file_url()."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (port 0: any free port)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.add_routes(self.extra_routes)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.host, self.port = host, sockets[0].getsockname()[1] if sockets else port
        self.stopping = False

    async def stop(self) -> None:
        """Release hanging long polls, stop webhook delivery and the server."""
        self.stopping = True
        self.world.notify_updates()
        self.world.notify()
        task = self._webhook_task
        self.set_webhook(None)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def unanswered_callbacks(self) -> list[CallbackRecord]:
        """Callback queries the bot never answered with answerCallbackQuery."""
        return [c for c in self.callbacks.values() if not c.answered]

    # -- webhook --------------------------------------------------------------------------

    def set_webhook(
        self, url: str | None, secret_token: str | None = None, max_connections: int = 40
    ) -> None:
        """Start (url) or stop (None) webhook delivery."""
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        self.webhook = None
        if url is not None:
            self.webhook = Webhook(url, secret_token, max_connections)
            self._webhook_task = asyncio.get_running_loop().create_task(
                self._deliver_webhook(self.webhook)
            )

    async def _deliver_webhook(self, hook: Webhook) -> None:
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        )
        backoff = 0.05
        async with aiohttp.ClientSession() as session:
            while not self.stopping:
                changed = self.world.updates_event()
                batch = self.world.pending(1)
                if not batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), 1.0)
                    continue
                update = batch[0]
                error = await self._post_update(session, hook.url, update, headers)
                if error is None:
                    self.world.confirm(update["update_id"] + 1)
                    backoff = 0.05
                    continue
                hook.last_error_date, hook.last_error_message = now(), error
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    @staticmethod
    async def _post_update(
        session: aiohttp.ClientSession, url: str, update: dict[str, Any], headers: dict[str, str]
    ) -> str | None:
        try:
            async with session.post(url, json=update, headers=headers) as resp:
                if 200 <= resp.status < 300:
                    return None
                return f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return f"Connection failed: {exc}"

    # -- HTTP -----------------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        record = self.world.files_by_path.get(request.match_info["path"])
        if record is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=record.content, content_type=record.mime_type)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = self.spec.method_name(request.match_info["method"])
        if method is None:
            return self._error(ApiError(404, "Not Found"))
        self.stats.calls[method] += 1
        raw: dict[str, Any] = {}
        try:
            raw, form = await _read_params(request)
            self.calls.append(ApiCall(method, _printable(raw)))
            result = await self._call(method, raw, form)
        except ApiError as exc:
            if exc.violation:
                self.violations.append(Violation(method, exc.description, _printable(raw)))
            return self._error(exc)
        errors = self.spec.validate(result, self.spec.returns(method), "result")
        if errors:
            log.error("simulator answered %s off-spec: %s", method, errors)
            self.response_errors.append(f"{method}: {'; '.join(errors)}")
        return json_response({"ok": True, "result": result})

    def _error(self, exc: ApiError) -> web.Response:
        self.stats.errors[exc.status] += 1
        if exc.status == 429:
            self.stats.http_429 += 1
        return json_response(exc.body(), status=exc.status)

    async def _call(self, method: str, raw: dict[str, Any], form: bool) -> Any:
        chat_id = _chat_id_of(raw)
        delay = self.faults.take_delay(method, chat_id)
        if delay:
            await asyncio.sleep(delay)
        failure = self.faults.take_failure(method, chat_id)
        if failure is not None and not failure.after_delivery:
            raise ApiError(failure.status, failure.description)
        attachments = _split_attachments(self.spec.fields(method), raw)
        uploads = _uploads(raw, attachments)
        if uploads:  # Telegram has received the bytes, whatever it answers
            self.stats.uploads[method] += uploads
        params, errors = self.spec.check_params(method, raw, form)
        if attachments:
            params[ATTACHMENTS] = attachments
        if errors:
            raise bad_request("; ".join(errors), violation=True)
        if _is_counted(method):
            self._check_limits(params, _weight(method, params))
        result = await self._dispatch(method, params)
        if failure is not None:
            raise ApiError(failure.status, failure.description)
        return result

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handler = HANDLERS.get(method)
        if handler is None:
            if self.spec.returns(method) == ["Boolean"]:
                self.unsupported.append(method)
                return True
            raise bad_request(f"method {method} not supported by simulator", violation=True)
        result = handler(self, params)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _check_limits(self, params: dict[str, Any], weight: int = 1) -> None:
        if self.limits is None:
            return
        chat_id = params.get("chat_id")
        chat = self.world.chats.get(chat_id) if isinstance(chat_id, int) else None
        group = chat is not None and chat.type != "private"
        paid = bool(params.get("allow_paid_broadcast"))
        wait = self._limiter.acquire(
            self.limits,
            chat_id if isinstance(chat_id, int) else None,
            group,
            paid,
            time.monotonic(),
            weight,
        )
        if wait is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})


async def _read_params(request: web.Request) -> tuple[dict[str, Any], bool]:
    """Request parameters and whether they came form-encoded (strings to coerce)."""
    raw: dict[str, Any] = dict(request.query) if request.query_string else {}
    if not request.body_exists:
        return raw, True
    if request.content_type == "application/json":
        try:
            body = orjson.loads(await request.read())
        except ValueError as exc:
            raise bad_request("can't parse JSON body", violation=True) from exc
        if not isinstance(body, dict):
            raise bad_request("JSON body must be an object", violation=True)
        if raw:
            raise bad_request("mixing query and JSON parameters", violation=True)
        return body, False
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            raw[key] = Upload(value.filename, value.file.read(), value.content_type)
        else:
            raw[key] = value
    _resolve_attachments(raw)
    return raw, True


def _resolve_attachments(raw: dict[str, Any]) -> None:
    for key, value in list(raw.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            name = value[len("attach://") :]
            if isinstance(raw.get(name), Upload):
                raw[key] = raw.pop(name)


def _split_attachments(fields: dict[str, Any], raw: dict[str, Any]) -> dict[str, Upload]:
    """Remove uploads referenced from inside JSON values (attach://name in InputMedia)."""
    found = {k: v for k, v in raw.items() if isinstance(v, Upload) and k not in fields}
    for key in found:
        del raw[key]
    return found


def _chat_id_of(raw: dict[str, Any]) -> int | None:
    value = raw.get("chat_id")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return None


def _printable(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<file {v.filename}>" if isinstance(v, Upload) else v) for k, v in raw.items()}


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer (UTF-8, not ASCII-escaped), encoded by orjson."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
