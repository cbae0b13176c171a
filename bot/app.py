"""The composition root: builds the PTB Application, its services, the delivery engine and
every handler."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.areas import AdminUnits
from bot.commands import Role, Where, visible
from bot.container import Services, build_services
from bot.delivery import DeliveryConfig, DeliveryEngine, build_rate_limiter
from bot.delivery.outgoing import Renderer
from bot.i18n import LANGUAGES, Catalog, load_catalog
from bot.services.alerts import ALERT_KIND
from bot.settings import Settings
from handlers import (
    alerts,
    common,
    group_settings,
    membership,
    officers,
    receipts,
    replies,
    subscribe,
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
    alerts,  # last: its catch-all for private messages must not shadow commands above
)
# Requests waiting for a connection queue in the pool; the limiter keeps the wire rate at
# Telegram's limit. httpcore scans every pooled connection per request, so a large pool costs
# CPU (29% of the bot's time with 128 connections during a broadcast) without adding throughput.
CONNECTION_POOL_SIZE = 32
DELIVERY = "delivery"


def renderers(services: Services) -> dict[str, Renderer]:
    """How each kind of outbox job is rendered at send time."""
    return {ALERT_KIND: services.alerts.render}


def sender_renderers(settings: Settings) -> Callable[[SessionFactory], dict[str, Renderer]]:
    """Renderers for an extra sender process (`canhgac sender`), over its own sessions."""

    def factory(sessions: SessionFactory) -> dict[str, Renderer]:
        catalog = load_catalog(settings.default_language)
        return renderers(build_services(settings, sessions, catalog, AdminUnits.load()))

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
    delivery = DeliveryEngine(services.sessions, app.bot, config)
    for kind, renderer in renderers(services).items():
        delivery.register(kind, renderer, per_chat=False)
    services.alerts.set_notifier(delivery.notify)
    app.bot_data["services"] = services
    app.bot_data[DELIVERY] = delivery
    for module in HANDLER_MODULES:
        module.register(app)
    return app


async def start_application(app: Application) -> None:
    """After `initialize()`: publish the command menus and start the delivery engine."""
    await app.bot_data["services"].tips.prepare()  # TIP_HASH_SECRET, generated once if unset
    await publish_commands(app)
    await app.bot_data[DELIVERY].start()


async def stop_application(app: Application, *, abort: bool = False) -> None:
    """Before `stop()`: let the delivery engine finish what it has in flight (`abort`: drop it,
    as a crash would; the rows' leases then expire and another sender takes them)."""
    await app.bot_data[DELIVERY].stop(abort=abort)


def bot_commands(
    services: Services, language: str, where: Where, roles: frozenset[Role]
) -> list[BotCommand]:
    """The command menu for one language, kind of chat and set of roles."""
    return [
        BotCommand(c.name(language), services.catalog.t(language, f"commands.{c.key}"))
        for c in visible(where, roles)
    ]


async def publish_commands(app: Application) -> None:
    """setMyCommands for private chats, groups and group admins, in every language."""
    services: Services = app.bot_data["services"]
    everyone, admins = frozenset({Role.EVERYONE}), frozenset({Role.GROUP_ADMIN})
    # Officer and superadmin commands are listed by /help for them, not in everyone's menu.
    scopes = (
        (Where.PRIVATE, everyone, BotCommandScopeAllPrivateChats()),
        (Where.GROUP, everyone, BotCommandScopeAllGroupChats()),
        (Where.GROUP, admins, BotCommandScopeAllChatAdministrators()),
    )
    try:
        for where, roles, scope in scopes:
            default = bot_commands(services, services.settings.default_language, where, roles)
            await app.bot.set_my_commands(default, scope=scope)
            for language in LANGUAGES:
                await app.bot.set_my_commands(
                    bot_commands(services, language, where, roles),
                    scope=scope,
                    language_code=language,
                )
    except TelegramError as exc:  # the menu is a convenience; the bot works without it
        log.warning("could not publish the command menu: %s", exc)
