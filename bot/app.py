"""The composition root: builds the PTB Application, its services, the delivery engine and
every handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.areas import AdminUnits
from bot.container import Services, build_services
from bot.delivery import DeliveryConfig, DeliveryEngine, build_rate_limiter
from bot.delivery.kinds import KindRegistry
from bot.i18n import Catalog, load_catalog
from bot.menus import publish_everyones_menus, sync_everyone
from bot.settings import Settings
from handlers import (
    alerts,
    common,
    digests,
    exports,
    fallback,
    group_settings,
    membership,
    officers,
    private,
    receipts,
    replies,
    stats,
    subscribe,
    tip_reporter,
    tips,
    triage,
)
from storage.db import SessionFactory, session_factory

log = logging.getLogger(__name__)
# Updates the bot acts on; Telegram sends nothing else.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
HANDLER_MODULES = (
    replies,  # group -1: replies to the bot's prompts, before everything else
    common,
    membership,
    subscribe,
    group_settings,
    receipts,
    officers,
    alerts,
    exports,
    stats,
    digests,
    tips,  # the resident's side of tips: /baotin, its buttons, /tincuatoi, the tip deep link
    triage,
    tip_reporter,
    private,  # its catch-all for private messages must not shadow commands above
    fallback,  # last: answers a button press no handler above took (same handler group)
)
# Requests waiting for a connection queue in the pool; the limiter keeps the wire rate at
# Telegram's limit. httpcore scans every pooled connection per request, so a large pool costs
# CPU (29% of the bot's time with 128 connections during a broadcast) without adding throughput.
CONNECTION_POOL_SIZE = 32
DELIVERY = "delivery"
MENU_SYNC = "menu_sync"


def outgoing_kinds(services: Services) -> KindRegistry:
    """Every kind of outbox job, as the services declare them: the one registry the bot and
    `canhgac sender` both read."""
    return KindRegistry(
        [*services.alerts.kinds(), *services.tip_outbox.kinds(), *services.digests.kinds()]
    )


def sender_renderers(settings: Settings) -> Callable[[SessionFactory], KindRegistry]:
    """The kinds for an extra sender process (`canhgac sender`), over its own sessions."""

    def factory(sessions: SessionFactory) -> KindRegistry:
        catalog = load_catalog(settings.default_language)
        return outgoing_kinds(build_services(settings, sessions, catalog, AdminUnits.load()))

    return factory


def build_application(
    settings: Settings,
    engine: AsyncEngine,
    *,
    units: AdminUnits | None = None,
    catalog: Catalog | None = None,
    delivery_config: DeliveryConfig | None = None,
) -> Application:
    """Build the Application talking to `settings.telegram_api_base_url`, with all handlers.

    `delivery_config` replaces the engine's tuning derived from the settings (tests, benchmarks).
    """
    catalog = catalog or load_catalog(settings.default_language)
    units = units or AdminUnits.load()
    services = build_services(settings, session_factory(engine), catalog, units)
    config = delivery_config or settings.delivery
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        tzinfo=settings.tz,
    )
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .defaults(defaults)
        .rate_limiter(build_rate_limiter(config, engine))
        .connection_pool_size(CONNECTION_POOL_SIZE)
        .pool_timeout(30.0)
        .build()
    )
    delivery = DeliveryEngine(services.sessions, app.bot, config, kinds=outgoing_kinds(services))
    services.alerts.set_notifier(delivery.notify)
    services.tip_outbox.set_notifier(delivery.notify)
    # Cards commit with the tip; the tips' jobs: overdue escalation, the nightly erasure.
    services.tips.add_submitted_hook(services.tip_outbox.on_submitted)
    services.tip_outbox.register_jobs(services.scheduler)
    services.digests.set_notifier(delivery.notify)
    app.bot_data["services"] = services
    app.bot_data[DELIVERY] = delivery
    for module in HANDLER_MODULES:
        module.register(app)
    return app


async def start_application(app: Application) -> None:
    """After `initialize()`: publish the command menus, start the delivery engine and the
    scheduler's tick."""
    await app.bot_data["services"].tips.prepare()  # TIP_HASH_SECRET, generated once if unset
    await app.bot_data["services"].tip_links.remember(app.bot.username)  # known since getMe
    await publish_commands(app)
    await app.bot_data[DELIVERY].start()
    services: Services = app.bot_data["services"]
    await services.scheduler.start(services.settings.scheduler_tick_seconds)


async def stop_application(app: Application, *, abort: bool = False) -> None:
    """Before `stop()`: stop syncing menus and the scheduler; let the delivery engine finish
    what it has in flight (`abort`: drop it, as a crash would; the rows' leases then expire and
    another sender takes them)."""
    sync = app.bot_data.pop(MENU_SYNC, None)
    if sync is not None and not sync.done():
        sync.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sync
    await app.bot_data["services"].scheduler.stop(abort=abort)
    await app.bot_data[DELIVERY].stop(abort=abort)


async def publish_commands(app: Application) -> None:
    """Everyone's menus now; officers' and superadmins' own menus in the background (one call
    per person, refused for those who never opened the bot), so start-up does not wait."""
    services: Services = app.bot_data["services"]
    await publish_everyones_menus(app.bot, services)
    app.bot_data[MENU_SYNC] = asyncio.create_task(_sync_own_menus(app, services))


async def _sync_own_menus(app: Application, services: Services) -> None:
    try:
        await sync_everyone(app.bot, services)
    except Exception:  # menus are a convenience: a failure must not go unnoticed, nor stop the bot
        log.exception("could not bring the own command menus up to date")
