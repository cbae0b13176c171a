"""The registry of outgoing kinds: how each kind of outbox job renders, and its policies.

Each service declares its kinds where it lives (`AlertService.kinds()`); the composition root
gathers them into one `KindRegistry`, which the bot's delivery engine and every `canhgac sender`
process read, so that no two processes disagree about a kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.delivery.outgoing import Renderer


@dataclass(frozen=True)
class OutgoingKind:
    """One kind of outbox job.

    `render(ref_id, language, telegram_chat_id)` gives the content at send time; `per_chat`
    False means one rendering (per content version and language) serves every chat; `editable`
    False means a content change never edits copies already sent.
    """

    name: str
    render: Renderer
    per_chat: bool = True
    editable: bool = True


class KindRegistry:
    """The kinds one deployment knows, by name; a name is declared once."""

    def __init__(self, kinds: Iterable[OutgoingKind] = ()) -> None:
        self._kinds: dict[str, OutgoingKind] = {}
        for kind in kinds:
            self.add(kind)

    def add(self, kind: OutgoingKind) -> None:
        """Declare `kind`; a second declaration of the same name is a programming error."""
        if kind.name in self._kinds:
            raise ValueError(f"outgoing kind {kind.name!r} is declared twice")
        if not 1 <= len(kind.name) <= 32:  # deliveries.kind is VARCHAR(32)
            raise ValueError(f"outgoing kind name {kind.name!r} must be 1-32 characters")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> OutgoingKind | None:
        """The kind called `name`, if this process knows it."""
        return self._kinds.get(name)

    @property
    def names(self) -> frozenset[str]:
        """Every known kind's name."""
        return frozenset(self._kinds)

    def __iter__(self) -> Iterator[OutgoingKind]:
        return iter(self._kinds.values())

    def __len__(self) -> int:
        return len(self._kinds)
