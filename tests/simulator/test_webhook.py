"""Webhook delivery with the secret token header, retries and the getUpdates conflict."""

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from simulator import BotApiSimulator, SimDriver


class Receiver:
    """A tiny webhook endpoint that fails the first `failures` posts."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((await request.json(), secret))
        return web.Response(text="ok")


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver(failures=2)
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    hook.runner = web.AppRunner(app)
    await hook.runner.setup()
    site = web.TCPSite(hook.runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hook.url = f"http://127.0.0.1:{port}/hook"
    yield hook
    await hook.runner.cleanup()


async def test_webhook_delivery_with_secret_and_retry(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot, receiver: Receiver
) -> None:
    sim.local = True  # the receiver is plain HTTP, as a local Bot API server allows
    alice = driver.create_user("Alice")
    await driver.start_private(alice)
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t")
    with pytest.raises(Conflict):
        await bot.get_updates()
    await driver.send_text(alice, alice, "chào")
    await driver.wait_for(lambda: len(receiver.received) == 2)
    texts = [u["message"]["text"] for u, _ in receiver.received]
    assert texts == ["/start", "chào"]
    assert {secret for _, secret in receiver.received} == {"s3cr3t"}
    info = await bot.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 0
    assert info.last_error_message is not None and "500" in info.last_error_message
    assert await bot.delete_webhook()
    await driver.send_text(alice, alice, "lại")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["lại"]


async def test_ptb_application_in_webhook_mode(sim: BotApiSimulator, driver: SimDriver) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Chào qua webhook")

    sim.local = True  # a plain-HTTP webhook, as a local Bot API server allows
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = (
        ApplicationBuilder()
        .token(sim.token)
        .base_url(sim.base_url)
        .base_file_url(sim.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="tg",
            webhook_url=f"http://127.0.0.1:{port}/tg",
            secret_token="webhook-secret",
        )
        chat = await driver.start_private(driver.create_user("Alice"))
        reply = await driver.wait_for_bot_message(chat, contains="webhook")
        assert reply.text == "Chào qua webhook"
        await app.updater.stop()
        await app.stop()
    assert sim.violations == []


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("http://bot.example.org/hook", "An HTTPS URL must be provided for webhook"),
        ("https://bot.example.org:8080/hook", "only on ports 80, 88, 443 or 8443"),
        ("not a url", "An HTTPS URL must be provided for webhook"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    sim: BotApiSimulator, bot: Bot, url: str, refusal: str
) -> None:
    with pytest.raises(BadRequest, match=f"(?i){refusal}"):
        await bot.set_webhook(url)
    assert sim.webhook is None
    assert await bot.set_webhook("https://bot.example.org:8443/hook")
    assert sim.webhook is not None and sim.webhook.url == "https://bot.example.org:8443/hook"
    await bot.delete_webhook()
