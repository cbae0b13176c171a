"""Running the bot: prepare the database, then long-poll or serve a webhook until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application, start_application, stop_application
from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from bot.settings import Settings, SettingsError
from storage.db import create_engine, session_factory
from storage.migrate import upgrade

log = logging.getLogger(__name__)


async def prepare_database(settings: Settings) -> AsyncEngine:
    """Apply pending migrations and load the official administrative units."""
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    await sync_admin_units(session_factory(engine), AdminUnits.load())
    return engine


def check_webhook(settings: Settings) -> None:
    """A webhook needs its public URL and a secret token (requests without it are rejected)."""
    if not settings.webhook_url:
        raise SettingsError("WEBHOOK_URL must be set to run with --webhook.")
    if not settings.webhook_secret:
        raise SettingsError("WEBHOOK_SECRET must be set to run with --webhook.")


async def _serve(app: Application, settings: Settings, webhook: bool) -> None:
    assert app.updater is not None
    if webhook:
        host, port = settings.webhook_host_port
        await app.updater.start_webhook(
            listen=host,
            port=port,
            url_path=urlsplit(settings.webhook_url or "").path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        log.info("serving the webhook on %s:%s", host, port)
    else:
        await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        log.info("long polling %s", settings.telegram_api_base_url)


async def run_bot(settings: Settings, *, webhook: bool = False) -> None:
    """Run until SIGINT or SIGTERM."""
    if webhook:
        check_webhook(settings)
    engine = await prepare_database(settings)
    app = build_application(settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with app:
            await start_application(app)
            await app.start()
            await _serve(app, settings, webhook)
            await stop.wait()
            log.info("stopping")
            assert app.updater is not None
            await app.updater.stop()
            await stop_application(app)
            await app.stop()
    finally:
        await engine.dispose()
