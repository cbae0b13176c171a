"""Chats and people: the bot joining and leaving groups, migrations, languages.

`get_chat` and `subscription_of` live in the read model (storage/queries/chats.py); they are
imported here for the modules that still take them from this one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import SessionFactory
from storage.models import Chat, ChatKind, User
from storage.queries.chats import get_chat, subscription_of
from storage.types import utcnow


@dataclass(frozen=True)
class ChatRef:
    """What the service needs to know of a Telegram chat."""

    telegram_id: int
    kind: str
    title: str | None = None


@dataclass(frozen=True)
class Person:
    """What the service needs to know of a Telegram user (no name: it is not kept)."""

    telegram_id: int
    language_code: str | None = None


async def ensure_chat(session: AsyncSession, ref: ChatRef) -> Chat:
    """The chat row for `ref`, created if new, title and kind kept current."""
    chat = await get_chat(session, ref.telegram_id)
    if chat is None:
        chat = Chat(telegram_id=ref.telegram_id, kind=ref.kind, title=ref.title)
        session.add(chat)
        await session.flush()
    elif (chat.kind, chat.title) != (ref.kind, ref.title or chat.title):
        chat.kind, chat.title, chat.updated_at = ref.kind, ref.title or chat.title, utcnow()
    return chat


class ChatService:
    """Membership of the bot in groups, chat languages and the people who talk to the bot."""

    def __init__(self, sessions: SessionFactory, default_language: str) -> None:
        self._sessions = sessions
        self._default_language = default_language

    async def bot_joined(self, ref: ChatRef) -> bool:
        """Record that the bot is in the chat; resumes a paused subscription. True if resumed."""
        async with self._sessions() as session, session.begin():
            chat = await ensure_chat(session, ref)
            chat.bot_member, chat.updated_at = True, utcnow()
            sub = await subscription_of(session, chat)
            if sub is None or not sub.paused:
                return False
            sub.paused, sub.updated_at = False, utcnow()
            return True

    async def bot_left(self, telegram_id: int) -> bool:
        """Record that the bot was removed; pauses the subscription (nothing is deleted)."""
        async with self._sessions() as session, session.begin():
            chat = await get_chat(session, telegram_id)
            if chat is None:
                return False
            chat.bot_member, chat.updated_at = False, utcnow()
            sub = await subscription_of(session, chat)
            if sub is not None:
                sub.paused, sub.updated_at = True, utcnow()
            return sub is not None

    async def migrated(self, old_id: int, new_id: int) -> bool:
        """A group became a supergroup: the chat (and its subscription) moves to the new id."""
        async with self._sessions() as session, session.begin():
            return await move_chat(session, old_id, new_id)

    async def language(self, telegram_id: int, user_language: str | None = None) -> str:
        """The chat's language: its setting, else the user's (private chats), else the default."""
        async with self._sessions() as session:
            chat = await get_chat(session, telegram_id)
        if chat is not None and chat.language:
            return chat.language
        if telegram_id > 0 and user_language:
            base = user_language.split("-")[0].lower()
            if base in ("vi", "en"):
                return base
        return self._default_language

    async def set_language(self, ref: ChatRef, language: str) -> None:
        """Choose the chat's language."""
        async with self._sessions() as session, session.begin():
            chat = await ensure_chat(session, ref)
            chat.language, chat.updated_at = language, utcnow()

    async def person_started(self, person: Person) -> None:
        """A person opened a private chat with the bot: from now on it may message them."""
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                select(User).where(col(User.telegram_id) == person.telegram_id)
            )
            user = result.first()
            if user is None:
                user = User(telegram_id=person.telegram_id)
                session.add(user)
            user.language_code, user.can_message, user.last_seen_at = (
                person.language_code,
                True,
                utcnow(),
            )


async def move_chat(session: AsyncSession, old_id: int, new_id: int) -> bool:
    """Give the chat row of `old_id` the id `new_id`, merging with a row already made for it."""
    old = await get_chat(session, old_id)
    if old is None:
        return False
    new = await get_chat(session, new_id)
    if new is None:
        old.telegram_id, old.kind, old.updated_at = new_id, ChatKind.SUPERGROUP.value, utcnow()
        return True
    sub = await subscription_of(session, old)
    if sub is not None and new.id is not None and await subscription_of(session, new) is None:
        sub.chat_id, sub.updated_at = new.id, utcnow()
    new.language = new.language or old.language
    old.bot_member, old.updated_at = False, utcnow()
    return True
