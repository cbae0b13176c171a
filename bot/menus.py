"""The command menus Telegram shows: everyone's, per kind of chat and language, and the own menu
(chat scope) of each officer and superadmin.

Telegram refuses a chat scope for a person who never opened the bot (400 "chat not found"), and
`canhgac officer add` runs without the bot: own menus are set at start-up, again when the person
sends /start or changes language, and at once when a grant or revocation happens in the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import BadRequest, TelegramError

from bot.commands import Command, Role, Where, visible
from bot.container import Services
from bot.i18n import LANGUAGES, Catalog
from bot.services.menus import PersonMenu

log = logging.getLogger(__name__)


def bot_commands(catalog: Catalog, language: str, commands: Iterable[Command]) -> list[BotCommand]:
    """The menu entries of these commands in one language."""
    return [
        BotCommand(c.name(language), catalog.t(language, f"commands.{c.key}")) for c in commands
    ]


async def publish_everyones_menus(bot: Bot, services: Services) -> None:
    """setMyCommands for private chats, groups and group admins, in every language."""
    everyone, admins = frozenset({Role.EVERYONE}), frozenset({Role.GROUP_ADMIN})
    # Officers and superadmins get their own menus (`sync_menu`), not everyone's.
    scopes = (
        (Where.PRIVATE, everyone, BotCommandScopeAllPrivateChats()),
        (Where.GROUP, everyone, BotCommandScopeAllGroupChats()),
        (Where.GROUP, admins, BotCommandScopeAllChatAdministrators()),
    )
    catalog, default = services.catalog, services.settings.default_language
    try:
        for where, roles, scope in scopes:
            commands = visible(where, roles)
            await bot.set_my_commands(bot_commands(catalog, default, commands), scope=scope)
            for language in LANGUAGES:
                await bot.set_my_commands(
                    bot_commands(catalog, language, commands),
                    scope=scope,
                    language_code=language,
                )
    except TelegramError as exc:  # the menu is a convenience; the bot works without it
        log.warning("could not publish the command menu: %s", exc)


async def sync_menu(bot: Bot, catalog: Catalog, menu: PersonMenu) -> bool:
    """Set the person's own menu, or delete it so everyone's applies; False if refused."""
    scope = BotCommandScopeChat(menu.telegram_id)
    try:
        if menu.commands:
            commands = bot_commands(catalog, menu.language, menu.commands)
            await bot.set_my_commands(commands, scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except BadRequest as exc:  # most often: the person has not opened the bot yet
        log.info("own command menu of %s not set yet: %s", menu.ref, exc)
        return False
    except TelegramError as exc:
        log.warning("could not set the own command menu of %s: %s", menu.ref, exc)
        return False
    return True


async def sync_person(
    bot: Bot, services: Services, telegram_id: int, user_language: str | None = None
) -> None:
    """Bring one person's own menu up to date with their roles and language."""
    menu = await services.menus.of(telegram_id, user_language)
    if menu is not None:
        await sync_menu(bot, services.catalog, menu)


async def sync_everyone(bot: Bot, services: Services) -> None:
    """At start-up: the own menu of every officer (revoked ones too) and superadmin."""
    menus = await services.menus.everyone()
    refused = 0
    for menu in menus:
        refused += not await sync_menu(bot, services.catalog, menu)
    log.info("own command menus: %d set, %d refused", len(menus) - refused, refused)
