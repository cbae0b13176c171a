"""What a person is in the middle of in their private chat with the bot: one thing at a time.

A conversation is an alert draft, a question the bot asked (a prompt) or a resident's tip
draft; relayed replies come next. Each kind keeps its own rows (`alert_drafts`, `prompts`,
`tip_drafts`, ...) and a `ConversationStore` finds and closes them. This service is the one
place that decides:

- starting a conversation closes whatever was open (`replace`), and the person is told;
- /huy closes it (`cancel`);
- if two are open anyway (a feature wrote its rows without `replace`), the newest is the one the
  person is talking to and the older ones are closed (`current`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.prompts import PROMPT_LIFETIME, PendingPrompt
from storage.db import SessionFactory
from storage.models import AlertDraft, Officer, Prompt, TipDraft
from storage.types import utcnow


class ConversationKind(StrEnum):
    """The kinds of conversation; each has `conversation.closed.<kind>` and
    `conversation.cancelled.<kind>` texts in the catalogues."""

    ALERT_DRAFT = "alert_draft"
    PROMPT = "prompt"
    TIP_DRAFT = "tip_draft"


@dataclass(frozen=True)
class OpenConversation:
    """A conversation a person has open; `prompt` says what was asked (prompts only)."""

    kind: ConversationKind
    since: datetime  # its last activity: the newest one wins
    prompt: PendingPrompt | None = None


@dataclass(frozen=True)
class Lookup:
    """The conversation a message goes to, and the older ones just closed to keep one."""

    open: OpenConversation | None
    closed: tuple[ConversationKind, ...] = ()


class ConversationStore(Protocol):
    """Finds and closes one kind of conversation inside the caller's transaction."""

    kind: ConversationKind

    async def find(self, session: AsyncSession, user_id: int) -> OpenConversation | None: ...

    async def close(self, session: AsyncSession, user_id: int) -> None: ...


def newest_first(found: Sequence[OpenConversation]) -> Lookup:
    """Keep the most recently active conversation; every other one is to be closed."""
    ordered = sorted(found, key=lambda c: c.since, reverse=True)
    if not ordered:
        return Lookup(None)
    return Lookup(ordered[0], tuple(c.kind for c in ordered[1:]))


class ConversationService:
    """At most one open conversation per person, across every kind of store."""

    def __init__(self, sessions: SessionFactory, stores: Sequence[ConversationStore]) -> None:
        self._sessions = sessions
        self._stores = list(stores)

    async def current(self, user_id: int) -> Lookup:
        """The conversation the person's next message belongs to (older ones are closed)."""
        async with self._sessions() as session, session.begin():
            lookup = newest_first(await self._find_all(session, user_id))
            for store in self._stores:
                if store.kind in lookup.closed:
                    await store.close(session, user_id)
        return lookup

    async def replace(self, user_id: int) -> tuple[ConversationKind, ...]:
        """A new conversation starts: close what was open; the kinds closed, newest first."""
        async with self._sessions() as session, session.begin():
            return await self._close_all(session, user_id)

    async def cancel(self, user_id: int) -> ConversationKind | None:
        """/huy: close the open conversation; its kind, or None if nothing was open."""
        async with self._sessions() as session, session.begin():
            closed = await self._close_all(session, user_id)
        return closed[0] if closed else None

    async def _find_all(self, session: AsyncSession, user_id: int) -> list[OpenConversation]:
        found = [await store.find(session, user_id) for store in self._stores]
        return [c for c in found if c is not None]

    async def _close_all(self, session: AsyncSession, user_id: int) -> tuple[ConversationKind, ...]:
        lookup = newest_first(await self._find_all(session, user_id))
        for store in self._stores:
            await store.close(session, user_id)
        return (lookup.open.kind, *lookup.closed) if lookup.open else ()


class AlertDrafts:
    """An officer's unfinished alert (only while the person is an active officer)."""

    kind = ConversationKind.ALERT_DRAFT

    async def find(self, session: AsyncSession, user_id: int) -> OpenConversation | None:
        """The draft, if its author may still send alerts."""
        result = await session.exec(
            select(AlertDraft)
            .join(Officer, col(Officer.telegram_id) == col(AlertDraft.officer_telegram_id))
            .where(col(AlertDraft.officer_telegram_id) == user_id, col(Officer.active))
        )
        row = result.first()
        return OpenConversation(self.kind, row.updated_at) if row is not None else None

    async def close(self, session: AsyncSession, user_id: int) -> None:
        """Discard the draft (nothing is sent)."""
        await session.exec(delete(AlertDraft).where(col(AlertDraft.officer_telegram_id) == user_id))


class PrivatePrompts:
    """A question the bot asked in the person's private chat and waits to have answered."""

    kind = ConversationKind.PROMPT

    async def find(self, session: AsyncSession, user_id: int) -> OpenConversation | None:
        """The newest prompt still open (a private chat's id is the person's id)."""
        result = await session.exec(
            select(Prompt)
            .where(
                col(Prompt.chat_telegram_id) == user_id,
                col(Prompt.user_telegram_id) == user_id,
                col(Prompt.created_at) >= utcnow() - PROMPT_LIFETIME,
            )
            .order_by(col(Prompt.created_at).desc(), col(Prompt.id).desc())
        )
        row = result.first()
        if row is None:
            return None
        asked = PendingPrompt(row.kind, row.payload, row.chat_telegram_id, row.message_id)
        return OpenConversation(self.kind, row.created_at, asked)

    async def close(self, session: AsyncSession, user_id: int) -> None:
        """Forget every prompt of the private chat (groups' prompts are not conversations)."""
        await session.exec(
            delete(Prompt).where(
                col(Prompt.chat_telegram_id) == user_id, col(Prompt.user_telegram_id) == user_id
            )
        )


# A tip draft untouched this long no longer takes plain messages (they are offered as the seed
# of a new tip instead); its buttons keep working, and abandoned drafts are erased later.
TIP_DRAFT_LIFETIME = timedelta(days=1)


class TipDrafts:
    """A resident's unfinished tip (`tip_drafts`, one per person)."""

    kind = ConversationKind.TIP_DRAFT

    async def find(self, session: AsyncSession, user_id: int) -> OpenConversation | None:
        """The draft, if it was touched within its lifetime."""
        row = await session.get(TipDraft, user_id)
        if row is None or row.updated_at < utcnow() - TIP_DRAFT_LIFETIME:
            return None
        return OpenConversation(self.kind, row.updated_at)

    async def close(self, session: AsyncSession, user_id: int) -> None:
        """Discard the draft (nothing is sent)."""
        await session.exec(delete(TipDraft).where(col(TipDraft.person_telegram_id) == user_id))


def default_stores() -> list[ConversationStore]:
    """The kinds of conversation the bot has today."""
    return [AlertDrafts(), PrivatePrompts(), TipDrafts()]
