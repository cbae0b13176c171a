"""Reply prompts: the bot asked a person a question in a group and waits for their reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from storage.db import SessionFactory
from storage.models import Prompt
from storage.types import utcnow

PROMPT_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class PendingPrompt:
    kind: str
    payload: str
    chat_id: int = 0  # where it was asked and the message asking, to `forget` it once answered
    message_id: int = 0


class PromptService:
    """Remembers which bot message asked whom for what, across restarts."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def remember(
        self, chat_id: int, message_id: int, user_id: int, kind: str, payload: str = ""
    ) -> None:
        """Record that `message_id` in `chat_id` asks `user_id` for `kind`."""
        async with self._sessions() as session, session.begin():
            await session.exec(
                delete(Prompt).where(col(Prompt.created_at) < utcnow() - PROMPT_LIFETIME)
            )
            session.add(
                Prompt(
                    chat_telegram_id=chat_id,
                    message_id=message_id,
                    user_telegram_id=user_id,
                    kind=kind,
                    payload=payload,
                )
            )

    async def pending(self, chat_id: int, message_id: int, user_id: int) -> PendingPrompt | None:
        """The prompt this reply answers, if it is still open and addressed to this person."""
        async with self._sessions() as session:
            result = await session.exec(
                select(Prompt).where(
                    col(Prompt.chat_telegram_id) == chat_id,
                    col(Prompt.message_id) == message_id,
                    col(Prompt.user_telegram_id) == user_id,
                    col(Prompt.created_at) >= utcnow() - PROMPT_LIFETIME,
                )
            )
            prompt = result.first()
        if prompt is None:
            return None
        return PendingPrompt(prompt.kind, prompt.payload, chat_id, message_id)

    async def forget(self, chat_id: int, message_id: int) -> None:
        """Close the prompt: it was answered."""
        async with self._sessions() as session, session.begin():
            await session.exec(
                delete(Prompt).where(
                    col(Prompt.chat_telegram_id) == chat_id, col(Prompt.message_id) == message_id
                )
            )
