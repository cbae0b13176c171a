"""The conversation service against real databases: at most one open conversation per person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from bot.services.conversations import ConversationKind, ConversationService, default_stores
from bot.services.prompts import PendingPrompt
from storage.db import SessionFactory
from storage.models import AlertDraft, Officer, Prompt, TipDraft
from storage.types import utcnow

PERSON, OTHER, GROUP = 5_000_000_321, 5_000_000_999, -4_100_000_001
DRAFT, PROMPT, TIP = (
    ConversationKind.ALERT_DRAFT,
    ConversationKind.PROMPT,
    ConversationKind.TIP_DRAFT,
)
EMPTY = {
    "drafts": 0,
    "other_drafts": 0,
    "prompts": 0,
    "group_prompts": 0,
    "tips": 0,
    "other_tips": 0,
}


@dataclass(frozen=True)
class Row:
    """Something already in the database, `minutes_ago` old."""

    # draft | draft_revoked | prompt | prompt_in_group | prompt_expired | other_draft, and the
    # tip drafts: tip | tip_stale (untouched for longer than its lifetime) | other_tip
    what: str
    minutes_ago: int = 0


async def seed(sessions: SessionFactory, rows: list[Row]) -> None:
    async with sessions() as session, session.begin():
        for n, row in enumerate(rows):
            at = utcnow() - timedelta(minutes=row.minutes_ago)
            if row.what.startswith(("tip", "other_tip")):
                owner = OTHER if row.what == "other_tip" else PERSON
                if row.what == "tip_stale":
                    at = utcnow() - timedelta(hours=25)
                session.add(
                    TipDraft(person_telegram_id=owner, token="t", step="text", updated_at=at)
                )
            elif row.what in ("draft", "draft_revoked", "other_draft"):
                owner = OTHER if row.what == "other_draft" else PERSON
                active = row.what != "draft_revoked"
                session.add(Officer(telegram_id=owner, area_code="00235", active=active))
                session.add(
                    AlertDraft(officer_telegram_id=owner, token="t", step="text", updated_at=at)
                )
            else:
                chat = GROUP if row.what == "prompt_in_group" else PERSON
                if row.what == "prompt_expired":
                    at = utcnow() - timedelta(hours=25)
                prompt = Prompt(
                    chat_telegram_id=chat,
                    message_id=100 + n,
                    user_telegram_id=PERSON,
                    kind="alert_correction",
                    payload="7",
                    created_at=at,
                )
                session.add(prompt)


async def left(sessions: SessionFactory) -> dict[str, int]:
    """What is still stored: the person's drafts, private prompts and group prompts."""
    async with sessions() as session:

        async def count(model: type, *where: object) -> int:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))

        return {
            "drafts": await count(AlertDraft, col(AlertDraft.officer_telegram_id) == PERSON),
            "other_drafts": await count(AlertDraft, col(AlertDraft.officer_telegram_id) == OTHER),
            "prompts": await count(Prompt, col(Prompt.chat_telegram_id) == PERSON),
            "group_prompts": await count(Prompt, col(Prompt.chat_telegram_id) == GROUP),
            "tips": await count(TipDraft, col(TipDraft.person_telegram_id) == PERSON),
            "other_tips": await count(TipDraft, col(TipDraft.person_telegram_id) == OTHER),
        }


@pytest.fixture
def conversations(sessions: SessionFactory) -> ConversationService:
    return ConversationService(sessions, default_stores())


CASES = [
    # (rows, what current() sees, what it closed, what is left afterwards)
    pytest.param([], None, (), {}, id="none"),
    pytest.param([Row("draft")], DRAFT, (), {"drafts": 1}, id="a draft"),
    pytest.param([Row("prompt")], PROMPT, (), {"prompts": 1}, id="a question"),
    pytest.param(
        [Row("draft", 10), Row("prompt", 1)],
        PROMPT,
        (DRAFT,),
        {"prompts": 1},
        id="a question asked after the draft closes the draft",
    ),
    pytest.param(
        [Row("prompt", 10), Row("draft", 1)],
        DRAFT,
        (PROMPT,),
        {"drafts": 1},
        id="a draft newer than the question closes the question",
    ),
    pytest.param([Row("prompt_in_group")], None, (), {"group_prompts": 1}, id="group question"),
    pytest.param([Row("prompt_expired")], None, (), {"prompts": 1}, id="expired question"),
    pytest.param([Row("draft_revoked")], None, (), {"drafts": 1}, id="revoked officer's draft"),
    pytest.param([Row("other_draft")], None, (), {"other_drafts": 1}, id="someone else's"),
    pytest.param([Row("tip")], TIP, (), {"tips": 1}, id="a tip draft"),
    pytest.param(
        [Row("draft", 10), Row("tip", 1)],
        TIP,
        (DRAFT,),
        {"tips": 1},
        id="a tip begun after the alert draft closes the alert draft",
    ),
    pytest.param(
        [Row("tip", 10), Row("prompt", 1)],
        PROMPT,
        (TIP,),
        {"prompts": 1},
        id="a question asked after the tip closes the tip",
    ),
    pytest.param([Row("tip_stale")], None, (), {"tips": 1}, id="a tip untouched for a day"),
    pytest.param([Row("other_tip")], None, (), {"other_tips": 1}, id="someone else's tip"),
]


@pytest.mark.parametrize(("rows", "kind", "closed", "remaining"), CASES)
async def test_current(
    sessions: SessionFactory,
    conversations: ConversationService,
    rows: list[Row],
    kind: ConversationKind | None,
    closed: tuple[ConversationKind, ...],
    remaining: dict[str, int],
) -> None:
    await seed(sessions, rows)
    lookup = await conversations.current(PERSON)
    assert (lookup.open.kind if lookup.open else None, lookup.closed) == (kind, closed)
    assert await left(sessions) == {**EMPTY, **remaining}


REPLACE_CASES = [
    # (rows, kinds closed newest first, what is left)
    pytest.param([], (), {}, id="none"),
    pytest.param([Row("draft")], (DRAFT,), {}, id="a draft"),
    pytest.param([Row("draft", 10), Row("prompt", 1)], (PROMPT, DRAFT), {}, id="both"),
    pytest.param([Row("tip", 5), Row("draft", 1)], (DRAFT, TIP), {}, id="a tip and a draft"),
    pytest.param(
        [Row("prompt_in_group"), Row("other_draft")],
        (),
        {"group_prompts": 1, "other_drafts": 1},
        id="not the person's conversations",
    ),
]


@pytest.mark.parametrize(("rows", "closed", "remaining"), REPLACE_CASES)
@pytest.mark.parametrize("action", ["replace", "cancel"])
async def test_replace_and_cancel_close_what_is_open(
    sessions: SessionFactory,
    conversations: ConversationService,
    rows: list[Row],
    closed: tuple[ConversationKind, ...],
    remaining: dict[str, int],
    action: str,
) -> None:
    await seed(sessions, rows)
    if action == "replace":
        assert await conversations.replace(PERSON) == closed
    else:
        assert await conversations.cancel(PERSON) == (closed[0] if closed else None)
    assert (await conversations.current(PERSON)).open is None
    assert await left(sessions) == {**EMPTY, **remaining}


async def test_an_open_question_says_what_was_asked(
    sessions: SessionFactory, conversations: ConversationService
) -> None:
    await seed(sessions, [Row("prompt", 5), Row("prompt", 1)])
    lookup = await conversations.current(PERSON)
    assert lookup.open is not None
    assert lookup.open.prompt == PendingPrompt("alert_correction", "7", PERSON, 101)
