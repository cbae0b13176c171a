"""Button flows against real databases: one current flow per chat, old tokens refused."""

from __future__ import annotations

import asyncio

import pytest

from bot.areas import AdminUnits
from bot.services.chats import ChatRef
from bot.services.flows import FlowKind, FlowService, StaleFlow
from bot.services.subscriptions import SubscriptionService
from storage.db import SessionFactory

GROUP = ChatRef(telegram_id=-1_001_234_567_890, kind="supergroup", title="TDP 5")
OTHER = -4_100_000_002
ADMIN = 5_000_000_123
SUB = FlowKind.SUBSCRIPTION


@pytest.fixture
def flows(sessions: SessionFactory) -> FlowService:
    return FlowService(sessions)


@pytest.fixture
def subscriptions(sessions: SessionFactory, small_units: AdminUnits) -> SubscriptionService:
    return SubscriptionService(sessions, small_units)


async def test_a_flow_collects_its_messages_and_a_new_one_hands_them_back(
    flows: FlowService,
) -> None:
    first, replaced = await flows.begin(GROUP.telegram_id, SUB)
    assert replaced == () and len(first.token) == 8
    assert await flows.attach(GROUP.telegram_id, SUB, first.token, 11)
    assert await flows.attach(GROUP.telegram_id, SUB, first.token, 12)
    current = await flows.current(GROUP.telegram_id, SUB, first.token)
    assert current is not None and current.messages == (11, 12)

    second, replaced = await flows.begin(GROUP.telegram_id, SUB)
    assert replaced == (11, 12) and second.token != first.token
    assert await flows.current(GROUP.telegram_id, SUB, first.token) is None
    assert not await flows.attach(GROUP.telegram_id, SUB, first.token, 13)
    assert await flows.messages(GROUP.telegram_id, SUB) == ()


@pytest.mark.parametrize(
    ("chat", "kind", "token_of_current", "current"),
    [
        (GROUP.telegram_id, SUB, True, True),
        (GROUP.telegram_id, SUB, False, False),  # forged or old token
        (OTHER, SUB, True, False),  # the token of another chat's flow
        (GROUP.telegram_id, FlowKind.GRANT, True, False),  # of another kind of flow
    ],
)
async def test_only_the_current_token_of_the_chat_and_kind_counts(
    flows: FlowService, chat: int, kind: FlowKind, token_of_current: bool, current: bool
) -> None:
    flow, _ = await flows.begin(GROUP.telegram_id, SUB, officer="42")
    token = flow.token if token_of_current else "AAAAAAAA"
    found = await flows.current(chat, kind, token)
    assert (found is not None) == current
    if found is not None:
        assert found.data == {"officer": "42"}


async def test_a_flow_finishes_once(flows: FlowService) -> None:
    flow, _ = await flows.begin(GROUP.telegram_id, SUB)
    await flows.attach(GROUP.telegram_id, SUB, flow.token, 7)
    results = await asyncio.gather(
        *(flows.finish(GROUP.telegram_id, SUB, flow.token) for _ in range(3)),
        return_exceptions=True,
    )
    finished = [r for r in results if not isinstance(r, BaseException)]
    assert len(finished) == 1 and finished[0].messages == (7,)
    assert all(isinstance(r, StaleFlow) for r in results if r not in finished)
    with pytest.raises(StaleFlow):
        await flows.finish(GROUP.telegram_id, SUB, flow.token)


async def test_a_stale_picker_cannot_subscribe_or_unsubscribe(
    flows: FlowService, subscriptions: SubscriptionService
) -> None:
    old, _ = await flows.begin(GROUP.telegram_id, SUB)
    new, _ = await flows.begin(GROUP.telegram_id, SUB)
    with pytest.raises(StaleFlow):
        await subscriptions.subscribe(GROUP, "00235", None, ADMIN, old.token)
    assert await subscriptions.status(GROUP.telegram_id) is None

    view = await subscriptions.subscribe(GROUP, "00235", None, ADMIN, new.token)
    assert view.commune == "Phường Đống Đa"
    with pytest.raises(StaleFlow):  # the flow ended with the subscription
        await subscriptions.subscribe(GROUP, "00004", None, ADMIN, new.token)

    ask, _ = await flows.begin(GROUP.telegram_id, SUB)
    with pytest.raises(StaleFlow):
        await subscriptions.unsubscribe(GROUP.telegram_id, new.token)
    assert await subscriptions.status(GROUP.telegram_id) == view
    assert await subscriptions.unsubscribe(GROUP.telegram_id, ask.token) == view
    assert await subscriptions.status(GROUP.telegram_id) is None
