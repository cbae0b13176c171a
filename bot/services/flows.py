"""Button flows: which picker or confirmation of a chat is the current one, across restarts.

A flow (subscribing a group, a superadmin granting officer rights) gets a random token that its
buttons and reply prompts carry. The chat's current flow is kept in the key/value table, one row
per chat and kind, with the messages whose keyboards belong to it. Starting a flow replaces the
previous one; finishing it deletes the row, so any older button (or forged data) no longer names
the current flow and is refused. Rows are changed by compare-and-set on their value, so two
presses at once cannot both finish the same flow.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import SessionFactory
from storage.models import Setting
from storage.types import utcnow

TOKEN_BYTES = 6  # 8 characters of base64url: room left in the 64 bytes of callback data
ATTACH_ATTEMPTS = 5  # compare-and-set retries when two updates touch the same flow at once


class FlowKind(StrEnum):
    """One current flow per chat and kind."""

    SUBSCRIPTION = "sub"  # /dangky and /huydangky of a group: a new one replaces the other
    GRANT = "grant"  # /capquyen in a superadmin's private chat


class StaleFlow(Exception):
    """The token does not name the chat's current flow (an old or forged button)."""


@dataclass(frozen=True)
class Flow:
    """The chat's current flow: its token, the messages with its keyboards and a few values."""

    token: str
    messages: tuple[int, ...] = ()
    data: dict[str, str] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"token": self.token, "messages": self.messages, "data": self.data})

    @classmethod
    def load(cls, raw: str) -> Flow:
        value = json.loads(raw)
        return cls(value["token"], tuple(value.get("messages", ())), dict(value.get("data", {})))


def flow_key(chat_id: int, kind: FlowKind) -> str:
    """The key/value row of the chat's flow of this kind."""
    return f"flow:{kind.value}:{chat_id}"


async def claim_flow(session: AsyncSession, chat_id: int, kind: FlowKind, token: str) -> Flow:
    """End the chat's flow inside the caller's transaction if `token` names it, else StaleFlow."""
    row = await session.get(Setting, flow_key(chat_id, kind))
    if row is None or Flow.load(row.value).token != token:
        raise StaleFlow(kind.value)
    flow = Flow.load(row.value)
    result = await session.exec(
        delete(Setting).where(col(Setting.key) == row.key, col(Setting.value) == row.value)
    )
    if result.rowcount != 1:  # another press finished it first
        raise StaleFlow(kind.value)
    return flow


class FlowService:
    """Begin, check, extend and finish the flows of chats."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def begin(
        self, chat_id: int, kind: FlowKind, **data: str
    ) -> tuple[Flow, tuple[int, ...]]:
        """Start a flow, replacing the current one; also returns the replaced flow's messages."""
        flow = Flow(secrets.token_urlsafe(TOKEN_BYTES), (), dict(data))
        key = flow_key(chat_id, kind)
        for _ in range(2):  # two flows begun at once: the second insert fails, then replaces
            try:
                async with self._sessions() as session, session.begin():
                    row = await session.get(Setting, key)
                    replaced = Flow.load(row.value).messages if row is not None else ()
                    if row is None:
                        session.add(Setting(key=key, value=flow.dump()))
                    else:
                        row.value, row.updated_at = flow.dump(), utcnow()
                return flow, replaced
            except IntegrityError:
                continue
        raise StaleFlow(kind.value)

    async def current(self, chat_id: int, kind: FlowKind, token: str) -> Flow | None:
        """The chat's flow if `token` names it; None for an old or forged token."""
        async with self._sessions() as session:
            row = await session.get(Setting, flow_key(chat_id, kind))
        flow = Flow.load(row.value) if row is not None else None
        return flow if flow is not None and flow.token == token else None

    async def messages(self, chat_id: int, kind: FlowKind) -> tuple[int, ...]:
        """The messages whose keyboards belong to the chat's current flow (none without one)."""
        async with self._sessions() as session:
            row = await session.get(Setting, flow_key(chat_id, kind))
        return Flow.load(row.value).messages if row is not None else ()

    async def attach(self, chat_id: int, kind: FlowKind, token: str, message_id: int) -> bool:
        """Record that `message_id` carries the flow's buttons; False if the flow is gone."""
        key = flow_key(chat_id, kind)
        for _ in range(ATTACH_ATTEMPTS):
            async with self._sessions() as session, session.begin():
                row = await session.get(Setting, key)
                flow = Flow.load(row.value) if row is not None else None
                if row is None or flow is None or flow.token != token:
                    return False
                grown = Flow(flow.token, (*flow.messages, message_id), flow.data)
                result = await session.exec(
                    update(Setting)
                    .where(col(Setting.key) == key, col(Setting.value) == row.value)
                    .values(value=grown.dump(), updated_at=utcnow())
                )
                if result.rowcount == 1:
                    return True
        return False

    async def finish(self, chat_id: int, kind: FlowKind, token: str) -> Flow:
        """End the flow (cancelled, or done by a service that does not claim it); StaleFlow if
        `token` is not the current one."""
        async with self._sessions() as session, session.begin():
            return await claim_flow(session, chat_id, kind, token)
