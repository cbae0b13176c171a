"""Webhook mode: Telegram's requests carry the secret token; anything else is rejected."""

from __future__ import annotations

import socket

import httpx

from bot.app import ALLOWED_UPDATES, build_application, start_application, stop_application
from bot.areas import AdminUnits
from simulator import BotApiSimulator, SimDriver
from storage.db import create_engine
from tests.support.botrunner import settings_for

SECRET = "s3cret-webhook_token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_webhook_accepts_telegram_and_rejects_requests_without_the_secret(
    sim: BotApiSimulator, driver: SimDriver, database_url: str, units: AdminUnits
) -> None:
    sim.local = True  # plain HTTP to a local port, as a local Bot API server allows
    port = free_port()
    url = f"http://127.0.0.1:{port}/canhgac/hook"
    settings = settings_for(
        sim,
        database_url,
        webhook_url=url,
        webhook_secret=SECRET,
        webhook_listen=f"127.0.0.1:{port}",
    )
    engine = create_engine(database_url)
    app = build_application(settings, engine, units=units)
    await app.initialize()
    await start_application(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="canhgac/hook",
        webhook_url=url,
        secret_token=SECRET,
        allowed_updates=ALLOWED_UPDATES,
    )
    try:
        user = driver.create_user("Lan")
        chat = await driver.start_private(user)
        welcome = await driver.wait_for_bot_message(chat, contains="Canh Gác")
        assert welcome.buttons == [["➕ Thêm bot vào nhóm"]]

        forged = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "text": "/start",
            },
        }
        async with httpx.AsyncClient() as client:
            without = await client.post(url, json=forged)
            wrong = await client.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
        assert without.status_code == 403 and wrong.status_code == 403
    finally:
        await app.updater.stop()
        await stop_application(app)
        await app.stop()
        await app.shutdown()
        await engine.dispose()
    assert sim.violations == []
