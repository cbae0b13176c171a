"""Running the bot: prepare the database, then long-poll or serve a webhook until stopped."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application, start_application, stop_application
from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from bot.settings import DEFAULT_API_BASE_URL, Settings, SettingsError, StartupError, redact_url
from storage.db import check_sqlite_file, create_engine, is_sqlite, ping, session_factory
from storage.migrate import upgrade

log = logging.getLogger(__name__)


async def prepare_database(settings: Settings) -> AsyncEngine:
    """Apply pending migrations and load the official administrative units."""
    engine = await open_database(settings)
    try:
        await upgrade(engine)
        await sync_admin_units(session_factory(engine), AdminUnits.load())
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def open_database(settings: Settings) -> AsyncEngine:
    """The engine, once one connection succeeded; else a StartupError naming DATABASE_URL."""
    engine: AsyncEngine | None = None
    try:
        if is_sqlite(settings.database_url):
            check_sqlite_file(settings.database_url)
        engine = create_engine(settings.database_url)
        await ping(engine)
    except Exception as exc:  # whatever the driver raises, the URL does not work here
        if engine is not None:
            await engine.dispose()
        raise StartupError(
            f"cannot open DATABASE_URL {redact_url(settings.database_url)}: "
            f"{_database_reason(exc, settings.database_url)}."
        ) from None
    return engine


def _database_reason(exc: Exception, url: str) -> str:
    """The driver's own words, on one line (SQLAlchemy adds the SQL and a help link)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    password = urlsplit(url).password
    return (text.replace(password, "***") if password else text).rstrip(".")


@contextmanager
def bot_api_errors(settings: Settings, *, webhook: bool = False) -> Iterator[None]:
    """Turn what the Bot API answers at start-up into one sentence without the token
    (`webhook`: a refusal is about WEBHOOK_URL)."""
    url = settings.telegram_api_base_url
    try:
        yield
    except InvalidToken:  # its message contains the token
        raise StartupError(
            f"TELEGRAM_BOT_TOKEN was rejected by the Bot API at {url}: "
            "check the token @BotFather gave you."
        ) from None
    except BadRequest as exc:
        raise StartupError(_refused(settings, exc, webhook)) from None
    except NetworkError:  # connection refused, DNS, TLS, timeouts
        hint = (
            "is this machine online?"
            if url == DEFAULT_API_BASE_URL
            else "is the local Bot API server or the simulator running?"
        )
        raise StartupError(f"cannot reach TELEGRAM_API_BASE_URL {url}: {hint}") from None
    except TelegramError as exc:
        raise StartupError(_refused(settings, exc, webhook)) from None


def _refused(settings: Settings, exc: TelegramError, webhook: bool) -> str:
    message = exc.message.replace(settings.telegram_bot_token, "<redacted>").rstrip(".")
    if webhook:
        return f"WEBHOOK_URL {settings.webhook_url} was refused by Telegram: {message}."
    url = settings.telegram_api_base_url
    return f"the Bot API at TELEGRAM_API_BASE_URL {url} refused to start the bot: {message}."


def check_webhook(settings: Settings) -> None:
    """A webhook needs its public URL and a secret token (requests without it are rejected)."""
    if not settings.webhook_url:
        raise SettingsError("WEBHOOK_URL must be set to run with --webhook.")
    if not settings.webhook_secret:
        raise SettingsError("WEBHOOK_SECRET must be set to run with --webhook.")


async def _set_webhook(app: Application, settings: Settings) -> None:
    """Set the webhook before anything starts, so that a refused URL is one sentence (PTB's own
    attempt in start_webhook logs a traceback first); start_webhook then sets it again."""
    await app.bot.set_webhook(
        settings.webhook_url or "",
        secret_token=settings.webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )


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


def settle_heap() -> None:
    """Once started: what start-up made (modules, the administrative units, catalogues) lives
    as long as the process, so the garbage collector stops walking it at every full collection
    (~70 ms each on this heap, several a minute while a broadcast runs)."""
    gc.collect()
    gc.freeze()


async def run_bot(settings: Settings, *, webhook: bool = False) -> None:
    """Run until SIGINT or SIGTERM; a start-up failure raises StartupError."""
    if webhook:
        check_webhook(settings)
    engine = await prepare_database(settings)
    try:
        await _run(build_application(settings, engine), settings, webhook)
    finally:
        await engine.dispose()


async def _run(app: Application, settings: Settings, webhook: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        with bot_api_errors(settings):
            await app.initialize()  # getMe: the Bot API is reachable and accepts the token
        if webhook:
            with bot_api_errors(settings, webhook=True):
                await _set_webhook(app, settings)
        await start_application(app)
        settle_heap()
        await app.start()
        try:
            with bot_api_errors(settings, webhook=webhook):
                await _serve(app, settings, webhook)
            await stop.wait()
            log.info("stopping")
            assert app.updater is not None
            await app.updater.stop()
        finally:
            await stop_application(app)
            await app.stop()
    finally:
        await app.shutdown()
