"""The rate limiter: sliding windows (in memory, Redis, PostgreSQL), 429 pauses, priority."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from telegram import InputMediaPhoto

from bot.delivery import DeliveryConfig, FloodGate
from bot.delivery.limiter import BULK, INTERACTIVE, bulk_args, is_counted, weight_of
from bot.delivery.windows import (
    SWEEP_EVERY,
    LocalWindows,
    PostgresWindows,
    RedisWindows,
    Window,
    WindowStore,
)
from simulator import BotApiSimulator, Limits, SimDriver
from tests.delivery.conftest import REDIS_URL, Db, make_bot, redis_available
from tests.delivery.support import wait_until

StoreFactory = Callable[[], WindowStore]


@pytest.fixture(params=["local", "redis", "postgres"])
def backend(request: pytest.FixtureRequest) -> tuple[str, Db | None]:
    """Which store to test; PostgreSQL comes with its own schema."""
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("pg")
    return request.param, None


@pytest_asyncio.fixture
async def stores(backend: tuple[str, Db | None]) -> AsyncIterator[StoreFactory]:
    """Make window stores; two made by one factory share their windows."""
    kind, db = backend
    made: list[WindowStore] = []
    prefix = f"test:{uuid.uuid4().hex}"
    if kind == "redis" and (reason := await redis_available()):
        pytest.skip(reason)

    def make() -> WindowStore:
        store: WindowStore
        if kind == "local":
            store = made[0] if made else LocalWindows()
        elif kind == "redis":
            store = RedisWindows(REDIS_URL, prefix)
        else:
            assert db is not None
            store = PostgresWindows(db.engine)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


async def test_window_grants_limit_requests_then_says_how_long_to_wait(
    stores: StoreFactory,
) -> None:
    a, b = stores(), stores()
    glob = Window("global", 1.0, 3)
    granted = [(await s.try_acquire(glob, None)).granted for s in (a, b, a)]
    assert granted == [True, True, True]
    refused = await b.try_acquire(glob, None)
    assert not refused.granted and 0 < refused.global_wait <= 1.0 and refused.chat_wait == 0


async def test_paced_window_limits_bursts(stores: StoreFactory) -> None:
    store = stores()
    paced = Window("global", 1.0, 8, burst=2)  # at most 2 in any 0.25 s
    assert (await store.try_acquire(paced, None)).granted
    assert (await store.try_acquire(paced, None)).granted
    refused = await store.try_acquire(paced, None)
    assert not refused.granted and 0 < refused.global_wait <= 0.25


async def test_chat_window_is_separate_from_the_global_one(stores: StoreFactory) -> None:
    store = stores()
    glob, chat = Window("global", 1.0, 10), Window("chat:-5", 60.0, 2)
    assert (await store.try_acquire(glob, chat)).granted
    assert (await store.try_acquire(glob, chat)).granted
    full = await store.try_acquire(glob, chat)
    assert full.global_wait == 0 and 59 < full.chat_wait <= 60
    assert (await store.try_acquire(glob, Window("chat:-6", 60.0, 2))).granted


async def test_pause_stops_every_grant(stores: StoreFactory) -> None:
    a, b = stores(), stores()
    await a.pause(5.0)
    verdict = await b.try_acquire(Window("global", 1.0, 100), None)
    assert not verdict.granted and 4.0 < verdict.global_wait <= 5.0


def test_bulk_leaves_the_reserve_and_chats_get_telegram_limits() -> None:
    gate = FloodGate(DeliveryConfig(interactive_reserve=2, window_margin=0.0))
    assert gate.windows(None, INTERACTIVE, False) == (Window("global", 1.0, 30, 1), None)
    assert gate.windows(-100, BULK, False) == (
        Window("global", 1.0, 28, 1),
        Window("chat:-100", 60.0, 20),
    )
    assert gate.windows(42, BULK, True) == (
        Window("paid", 1.0, 998, 30),
        Window("chat:42", 1.0, 1),
    )


async def test_interactive_request_overtakes_queued_bulk() -> None:
    config = DeliveryConfig(global_per_second=20, interactive_reserve=0, window_margin=0.0)
    gate = FloodGate(config)
    gate.keep_grants = True
    bulk = [asyncio.create_task(gate.acquire(None, bulk=True)) for _ in range(60)]

    async def first_window_used() -> bool:
        return len(gate.grants) >= 20

    await wait_until(first_window_used)
    queued_before = len(gate.grants)
    seq = await gate.acquire(None)  # an interactive reply arrives behind 40 bulk waiters
    position = gate.grants.index((INTERACTIVE, seq))
    assert position - queued_before <= 1  # at most one bulk grant got in between
    for task in bulk:
        task.cancel()
    await gate.close()


async def test_reserve_serves_interactive_while_bulk_fills_the_window() -> None:
    gate = FloodGate(DeliveryConfig(global_per_second=10, interactive_reserve=2))
    for _ in range(8):
        await gate.acquire(None, bulk=True)
    blocked = asyncio.create_task(gate.acquire(None, bulk=True))
    await gate.acquire(None)  # granted at once from the reserve, ahead of the waiting bulk call
    assert not blocked.done()
    blocked.cancel()
    await gate.close()


async def test_ptb_calls_wait_out_a_429_and_succeed(
    sim: BotApiSimulator, driver: SimDriver
) -> None:
    user = driver.create_user("A")
    group = driver.create_group("G", members=[user], admins=[user])
    await driver.add_bot(group, by=user)
    sim.limits = Limits(global_per_second=2)  # the limiter believes in 100/s
    gate = FloodGate(DeliveryConfig(global_per_second=100, group_per_minute=100))
    async with make_bot(sim, gate) as bot:
        for i in range(4):
            await bot.send_message(group.id, f"reply {i}")
    assert sim.stats.http_429 >= 1
    assert [m.text for m in driver.bot_messages(group)] == [f"reply {i}" for i in range(4)]


async def test_urgent_bulk_overtakes_less_urgent_bulk() -> None:
    config = DeliveryConfig(global_per_second=20, interactive_reserve=0, window_margin=0.0)
    gate = FloodGate(config)
    gate.keep_grants = True
    digest = [asyncio.create_task(gate.acquire(None, bulk=True)) for _ in range(40)]

    async def first_window_used() -> bool:
        return len(gate.grants) >= 20

    await wait_until(first_window_used)
    queued_before = len(gate.grants)
    seq = await gate.acquire(None, bulk=True, priority=10)  # an alert behind a digest
    assert gate.grants.index((BULK, seq)) - queued_before <= 1
    for task in digest:
        task.cancel()
    await gate.close()


async def test_a_request_of_weight_n_takes_n_slots(stores: StoreFactory) -> None:
    a, b = stores(), stores()
    glob, chat = Window("global", 1.0, 30), Window("chat:-7", 60.0, 8)
    assert (await a.try_acquire(glob, chat, 5)).granted  # an album of 5
    refused = await b.try_acquire(glob, chat, 5)  # 5 more do not fit in the 3 left
    assert not refused.granted and refused.global_wait == 0 and 59 < refused.chat_wait <= 60
    assert (await b.try_acquire(glob, chat, 3)).granted  # 3 do
    assert not (await a.try_acquire(glob, chat)).granted
    assert (await a.try_acquire(glob, Window("chat:-8", 60.0, 8))).granted  # 5 + 3 + 1 of 30


async def test_a_request_heavier_than_a_window_needs_it_empty(stores: StoreFactory) -> None:
    store = stores()
    glob, private = Window("global", 1.0, 30), Window("chat:42", 1.0, 1)
    assert (await store.try_acquire(glob, private, 5)).granted  # an album into a private chat
    after = await store.try_acquire(glob, private)
    assert not after.granted and 0 < after.chat_wait <= 1.0
    busy = Window("chat:43", 1.0, 1)
    assert (await store.try_acquire(glob, busy)).granted
    assert not (await store.try_acquire(glob, busy, 5)).granted


async def test_an_album_of_five_counts_five_in_the_gate_windows(
    sim: BotApiSimulator, driver: SimDriver
) -> None:
    user = driver.create_user("A")
    group = driver.create_group("G", members=[user], admins=[user])
    await driver.add_bot(group, by=user)
    photos = []
    for i in range(5):
        sent = await driver.send_photo(user, group, content=b"p%d" % i)
        assert sent.photo is not None
        photos.append(InputMediaPhoto(sent.photo[-1]["file_id"]))
    # A wide margin keeps what was counted in the windows however slow this machine is.
    config = DeliveryConfig(global_per_second=10, group_per_minute=7, window_margin=30.0)
    gate = FloodGate(config)
    async with make_bot(sim, gate) as bot:
        await bot.send_media_group(group.id, photos, rate_limit_args=bulk_args())
        await bot.copy_message(group.id, group.id, sent.message_id, rate_limit_args=bulk_args())
    store, span = gate.store, 1.0 + config.window_margin
    assert not (await store.try_acquire(Window("global", span, 6), None)).granted  # 5 + 1
    _, chat = gate.windows(group.id, BULK, False)
    roomy = Window("global", span, 100)
    assert chat is not None and (await store.try_acquire(roomy, chat)).granted  # the 7th
    full = await store.try_acquire(roomy, chat)
    assert not full.granted and full.chat_wait > 60  # 5 + 1 + 1: the group's 7 per minute
    await gate.close()


@pytest.mark.parametrize(
    ("endpoint", "data", "counted", "weight"),
    [
        ("sendMessage", {"chat_id": 1}, True, 1),
        ("sendMediaGroup", {"chat_id": 1, "media": ["a", "b", "c", "d", "e"]}, True, 5),
        ("copyMessage", {"chat_id": 1, "message_id": 3}, True, 1),
        ("copyMessages", {"chat_id": 1, "message_ids": [3, 4]}, True, 2),
        ("forwardMessage", {"chat_id": 1, "message_id": 3}, True, 1),
        ("sendLocation", {"chat_id": 1}, True, 1),
        ("sendVenue", {"chat_id": 1}, True, 1),
        ("editMessageCaption", {"chat_id": 1}, True, 1),
        ("sendChatAction", {"chat_id": 1}, False, 1),
        ("getChatMember", {"chat_id": 1}, False, 1),
    ],
)
def test_calls_count_as_telegram_counts_them(
    endpoint: str, data: dict[str, object], counted: bool, weight: int
) -> None:
    assert (is_counted(endpoint), weight_of(endpoint, data)) == (counted, weight)


async def test_windows_of_chats_not_heard_from_are_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broadcast touches every group once: their windows must not stay for ever."""
    clock = [1000.0]
    monkeypatch.setattr("bot.delivery.windows.time.monotonic", lambda: clock[0])
    store = LocalWindows()
    glob = Window("global", 1.0, 1_000_000)
    for chat in range(3 * SWEEP_EVERY):
        verdict = await store.try_acquire(glob, Window(f"chat:{chat}", 60.0, 20))
        assert verdict.granted
        clock[0] += 0.01  # 100 per second: a sweep finds a minute's chats still live
    assert store.windows <= 6_000 + SWEEP_EVERY + 1
    assert store.windows < 3 * SWEEP_EVERY
    # A chat still within its minute keeps its count.
    last = Window(f"chat:{3 * SWEEP_EVERY - 1}", 60.0, 1)
    assert not (await store.try_acquire(glob, last)).granted
