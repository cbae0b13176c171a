"""The subscription and chat services against real databases."""

from __future__ import annotations

import pytest

from bot.areas import AdminUnits
from bot.services.chats import ChatRef, ChatService
from bot.services.prompts import PromptService
from bot.services.subscriptions import InvalidAreaName, SubscriptionService, UnknownArea
from storage.db import SessionFactory

GROUP = ChatRef(telegram_id=-4_100_000_001, kind="group", title="TDP 5 Đống Đa")
ADMIN = 5_000_000_123


@pytest.fixture
def subscriptions(sessions: SessionFactory, small_units: AdminUnits) -> SubscriptionService:
    return SubscriptionService(sessions, small_units)


@pytest.fixture
def chats(sessions: SessionFactory) -> ChatService:
    return ChatService(sessions, "vi")


async def test_subscribe_to_a_residential_area(subscriptions: SubscriptionService) -> None:
    area = await subscriptions.create_residential("00235", "Tổ dân phố số 5", ADMIN)
    view = await subscriptions.subscribe(GROUP, "00235", area.id, ADMIN)
    assert view.place == "Tổ dân phố số 5 — Phường Đống Đa — Thành phố Hà Nội"
    assert await subscriptions.status(GROUP.telegram_id) == view


@pytest.mark.parametrize("same", ["TDP 5", "to dan pho 5", "  Tổ   dân phố 05 "])
async def test_residential_area_is_reused_by_equivalent_name(
    subscriptions: SubscriptionService, same: str
) -> None:
    first = await subscriptions.create_residential("00235", "Tổ dân phố số 5", ADMIN)
    again = await subscriptions.create_residential("00235", same, ADMIN)
    assert again == first
    page = await subscriptions.residential_areas("00235")
    assert [o.name for o in page.items] == ["Tổ dân phố số 5"]


@pytest.mark.parametrize("bad", ["", "   ", "!!!", "x" * 65])
async def test_invalid_residential_name_changes_nothing(
    subscriptions: SubscriptionService, bad: str
) -> None:
    with pytest.raises(InvalidAreaName):
        await subscriptions.create_residential("00235", bad, ADMIN)
    assert (await subscriptions.residential_areas("00235")).total == 0


async def test_subscribing_again_replaces_the_area(subscriptions: SubscriptionService) -> None:
    await subscriptions.subscribe(GROUP, "00235", None, ADMIN)
    cam_giang = next(o for o in subscriptions.search_communes("cam giang").items)
    view = await subscriptions.subscribe(GROUP, cam_giang.code, None, ADMIN)
    assert view.province == "Thành phố Hải Phòng"
    status = await subscriptions.status(GROUP.telegram_id)
    assert status is not None and status.commune_code == cam_giang.code


async def test_residential_area_of_another_commune_is_refused(
    subscriptions: SubscriptionService,
) -> None:
    elsewhere = await subscriptions.create_residential("00004", "Thôn 1", ADMIN)
    with pytest.raises(UnknownArea):
        await subscriptions.subscribe(GROUP, "00235", elsewhere.id, ADMIN)
    assert await subscriptions.status(GROUP.telegram_id) is None


async def test_unknown_commune_is_refused(subscriptions: SubscriptionService) -> None:
    with pytest.raises(UnknownArea):
        await subscriptions.subscribe(GROUP, "99999", None, ADMIN)


async def test_unsubscribe(subscriptions: SubscriptionService) -> None:
    assert await subscriptions.unsubscribe(GROUP.telegram_id) is None
    await subscriptions.subscribe(GROUP, "00235", None, ADMIN)
    removed = await subscriptions.unsubscribe(GROUP.telegram_id)
    assert removed is not None and removed.commune == "Phường Đống Đa"
    assert await subscriptions.status(GROUP.telegram_id) is None


async def test_removal_pauses_and_rejoining_resumes(
    subscriptions: SubscriptionService, chats: ChatService
) -> None:
    await subscriptions.subscribe(GROUP, "00235", None, ADMIN)
    assert await chats.bot_left(GROUP.telegram_id) is True
    paused = await subscriptions.status(GROUP.telegram_id)
    assert paused is not None and paused.paused
    assert await chats.bot_joined(GROUP) is True
    resumed = await subscriptions.status(GROUP.telegram_id)
    assert resumed is not None and not resumed.paused


async def test_migration_moves_the_subscription(
    subscriptions: SubscriptionService, chats: ChatService
) -> None:
    await subscriptions.subscribe(GROUP, "00235", None, ADMIN)
    new_id = -1_009_876_543_210
    assert await chats.migrated(GROUP.telegram_id, new_id) is True
    assert await chats.migrated(GROUP.telegram_id, new_id) is False  # already moved
    assert await subscriptions.status(GROUP.telegram_id) is None
    moved = await subscriptions.status(new_id)
    assert moved is not None and moved.commune == "Phường Đống Đa"


async def test_migration_merges_with_a_row_made_for_the_new_id(
    subscriptions: SubscriptionService, chats: ChatService
) -> None:
    await subscriptions.subscribe(GROUP, "00235", None, ADMIN)
    new = ChatRef(telegram_id=-1_009_876_543_211, kind="supergroup", title="TDP 5 Đống Đa")
    await chats.bot_joined(new)  # the supergroup was seen before the migration message
    assert await chats.migrated(GROUP.telegram_id, new.telegram_id) is True
    moved = await subscriptions.status(new.telegram_id)
    assert moved is not None and moved.commune == "Phường Đống Đa"


async def test_chat_language(chats: ChatService) -> None:
    assert await chats.language(GROUP.telegram_id) == "vi"
    assert await chats.language(5_000_000_001, "en-US") == "en"  # a private chat follows the user
    await chats.set_language(GROUP, "en")
    assert await chats.language(GROUP.telegram_id, "vi") == "en"


async def test_prompts_survive_in_the_database(sessions: SessionFactory) -> None:
    prompts = PromptService(sessions)
    await prompts.remember(GROUP.telegram_id, 42, ADMIN, "residential", "00235")
    assert await prompts.pending(GROUP.telegram_id, 42, ADMIN + 1) is None  # someone else
    pending = await PromptService(sessions).pending(GROUP.telegram_id, 42, ADMIN)
    assert pending is not None and (pending.kind, pending.payload) == ("residential", "00235")
    await prompts.forget(GROUP.telegram_id, 42)
    assert await prompts.pending(GROUP.telegram_id, 42, ADMIN) is None
