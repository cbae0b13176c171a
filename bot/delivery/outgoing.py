"""Plain values exchanged with callers: targets, rendered content, renderers, statistics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

# A button: (label, callback_data) or (label, url) when the second item starts with http(s)://
# or tg://.
Button = tuple[str, str]


@dataclass(frozen=True)
class Target:
    """A chat a job goes to; `chat_id` is the `chats.id` row (None for a person without one)."""

    telegram_chat_id: int
    chat_id: int | None = None
    filtered: bool = False
    language: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """What to show in one chat: HTML text (a caption when `photo` is set) and buttons;
    `reply_to_message_id` makes a new message a reply (sent anyway if that one is gone)."""

    text: str
    photo: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    disable_preview: bool = True
    reply_to_message_id: int | None = None


# renderer(ref_id, language, telegram_chat_id) -> Outgoing, called at send time.
Renderer = Callable[[int, str | None, int], Awaitable[Outgoing]]


@dataclass(frozen=True)
class DeliveryStats:
    """Progress of one job; t50/t100 are seconds from enqueue to 50%/100% of sendable copies."""

    delivered: int
    pending: int
    failed: int
    filtered: int
    total: int
    first_at: datetime | None
    t50_seconds: float | None
    t100_seconds: float | None
    withdrawn: int = 0  # not yet sent when the job was called off
