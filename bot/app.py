"""The composition root: builds the PTB Application, its services and every handler."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.areas import AdminUnits
from bot.commands import Where, visible
from bot.container import Services, build_services
from bot.i18n import LANGUAGES, Catalog, load_catalog
from bot.settings import Settings
from handlers import common, membership, subscribe
from storage.db import session_factory

log = logging.getLogger(__name__)
# Updates the bot acts on; Telegram sends nothing else.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
HANDLER_MODULES = (common, membership, subscribe)


def build_application(
    settings: Settings,
    engine: AsyncEngine,
    *,
    units: AdminUnits | None = None,
    catalog: Catalog | None = None,
) -> Application:
    """Build the Application talking to `settings.telegram_api_base_url`, with all handlers."""
    catalog = catalog or load_catalog(settings.default_language)
    services = build_services(
        settings, session_factory(engine), catalog, units or AdminUnits.load()
    )
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
        .post_init(publish_commands)
        .build()
    )
    app.bot_data["services"] = services
    for module in HANDLER_MODULES:
        module.register(app)
    return app


def bot_commands(services: Services, language: str, where: Where) -> list[BotCommand]:
    """The command menu for one language and kind of chat."""
    return [
        BotCommand(c.name(language), services.catalog.t(language, f"commands.{c.key}"))
        for c in visible(where, admin=True)
    ]


async def publish_commands(app: Application) -> None:
    """setMyCommands for private chats and groups, in Vietnamese, English and the default."""
    services: Services = app.bot_data["services"]
    scopes = (
        (Where.PRIVATE, BotCommandScopeAllPrivateChats()),
        (Where.GROUP, BotCommandScopeAllGroupChats()),
    )
    try:
        for where, scope in scopes:
            default = bot_commands(services, services.settings.default_language, where)
            await app.bot.set_my_commands(default, scope=scope)
            for language in LANGUAGES:
                await app.bot.set_my_commands(
                    bot_commands(services, language, where), scope=scope, language_code=language
                )
    except TelegramError as exc:  # the menu is a convenience; the bot works without it
        log.warning("could not publish the command menu: %s", exc)
