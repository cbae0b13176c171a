"""Who gets their own command menu: officers and superadmins see every command they may use.

Telegram shows one menu per scope; a person's own (chat-scoped) menu replaces everyone's, so it
lists all the commands that person may use in their private chat, in their chat's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands import Command, Role, Where, visible
from bot.services.chats import ChatService
from storage.db import SessionFactory
from storage.models import Officer, User


@dataclass(frozen=True)
class PersonMenu:
    """The private-chat menu of one person; no `commands`: everyone's menu applies."""

    telegram_id: int
    ref: str  # for logs: row ids, never the chat id
    language: str
    commands: tuple[Command, ...]


class MenuService:
    """Roles of a person in their private chat and the menu that follows from them."""

    def __init__(
        self, sessions: SessionFactory, chats: ChatService, superadmins: frozenset[int]
    ) -> None:
        self._sessions = sessions
        self._chats = chats
        self._superadmins = superadmins

    async def roles(self, telegram_id: int) -> frozenset[Role]:
        """What the person may do in private: send alerts, grant rights (or neither)."""
        async with self._sessions() as session:
            officer = await _officer(session, telegram_id)
        return self._roles(telegram_id, officer)

    async def of(self, telegram_id: int, user_language: str | None = None) -> PersonMenu | None:
        """The person's own menu; None for someone who never was an officer or superadmin."""
        async with self._sessions() as session:
            officer = await _officer(session, telegram_id)
            user = (
                await session.exec(select(User).where(col(User.telegram_id) == telegram_id))
            ).first()
        if officer is None and telegram_id not in self._superadmins:
            return None
        roles = self._roles(telegram_id, officer)
        language = await self._chats.language(
            telegram_id, user_language or (user.language_code if user else None)
        )
        if officer is not None:
            ref = f"officer #{officer.id}"
        else:
            ref = f"user #{user.id}" if user else "a superadmin not seen yet"
        commands = tuple(visible(Where.PRIVATE, roles)) if roles else ()
        return PersonMenu(telegram_id, ref, language, commands)

    async def everyone(self) -> list[PersonMenu]:
        """Every officer (revoked ones too: their menu goes back to everyone's) and superadmin."""
        async with self._sessions() as session:
            ids = set((await session.exec(select(Officer.telegram_id))).all())
        menus = [await self.of(telegram_id) for telegram_id in sorted(ids | self._superadmins)]
        return [m for m in menus if m is not None]

    def _roles(self, telegram_id: int, officer: Officer | None) -> frozenset[Role]:
        roles = {Role.SUPERADMIN} if telegram_id in self._superadmins else set()
        if officer is not None and officer.active:
            roles.add(Role.OFFICER)
        return frozenset(roles)


async def _officer(session: AsyncSession, telegram_id: int) -> Officer | None:
    result = await session.exec(select(Officer).where(col(Officer.telegram_id) == telegram_id))
    return result.first()
