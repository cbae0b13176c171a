"""Which conversation a person is talking to when several were found: the newest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import LANGUAGES, load_catalog
from bot.services.conversations import (
    ConversationKind,
    Lookup,
    OpenConversation,
    newest_first,
)

DRAFT, PROMPT = ConversationKind.ALERT_DRAFT, ConversationKind.PROMPT
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def opened(kind: ConversationKind, minutes: int) -> OpenConversation:
    return OpenConversation(kind, T0 + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        pytest.param([], Lookup(None), id="none"),
        pytest.param([opened(DRAFT, 0)], Lookup(opened(DRAFT, 0)), id="one"),
        pytest.param(
            [opened(DRAFT, 0), opened(PROMPT, 5)],
            Lookup(opened(PROMPT, 5), (DRAFT,)),
            id="a question after the draft",
        ),
        pytest.param(
            [opened(DRAFT, 9), opened(PROMPT, 5)],
            Lookup(opened(DRAFT, 9), (PROMPT,)),
            id="the draft touched after the question",
        ),
    ],
)
def test_the_newest_conversation_is_kept_and_the_others_closed(
    found: list[OpenConversation], expected: Lookup
) -> None:
    assert newest_first(found) == expected


@pytest.mark.parametrize("kind", list(ConversationKind))
def test_every_kind_says_what_was_closed_and_cancelled(kind: ConversationKind) -> None:
    catalog = load_catalog()
    for lang in LANGUAGES:
        assert catalog.messages[lang][f"conversation.closed.{kind}"]
        assert catalog.messages[lang][f"conversation.cancelled.{kind}"]
