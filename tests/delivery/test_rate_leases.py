"""Windows shared through Redis or PostgreSQL, leased in batches by several stores at once."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
import pytest_asyncio

from bot.delivery import DeliveryConfig, FloodGate, window_store
from bot.delivery.leases import Ask, PostgresLeases, RedisLeases, Slot
from bot.delivery.limiter import BULK, INTERACTIVE
from bot.delivery.windows import RedisWindows, Window
from tests.delivery.conftest import REDIS_URL, Db, redis_available

LeaseStore = RedisLeases | PostgresLeases
LeaseFactory = Callable[..., LeaseStore]


@pytest.fixture(params=["redis", "postgres"])
def shared(request: pytest.FixtureRequest) -> tuple[str, Db | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("pg")
    return "redis", None


@pytest_asyncio.fixture
async def leases(shared: tuple[str, Db | None]) -> AsyncIterator[LeaseFactory]:
    """Make lease stores; all made by one factory share their windows (one prefix / schema)."""
    kind, db = shared
    if kind == "redis" and (reason := await redis_available()):
        pytest.skip(reason)
    prefix = f"test:{uuid.uuid4().hex}"
    made: list[LeaseStore] = []

    def make(horizon: float = 0.1, validity: float = 0.25) -> LeaseStore:
        store: LeaseStore
        if kind == "redis":
            store = RedisLeases(REDIS_URL, prefix, horizon, validity)
        else:
            assert db is not None
            store = PostgresLeases(db.engine, horizon, validity)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


def most_in_any_window(times: list[float], span: float) -> int:
    """The most times within any half-open window of `span` seconds."""
    ordered, best, start = sorted(times), 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= span:
            start += 1
        best = max(best, end - start + 1)
    return best


def glob(limit: int, span: float = 1.0) -> Window:
    return Window("global", span, limit)


async def test_a_batch_is_placed_in_one_round_trip_up_to_the_limit(leases: LeaseFactory) -> None:
    store = leases()
    verdicts = await store.acquire_many([Ask(glob(5), None)] * 8)
    placed = [v for v in verdicts if v.granted]
    assert len(placed) == 5 and all(v.delay < 0.05 for v in placed)
    assert all(not v.granted and v.global_wait > 0 for v in verdicts[5:])
    assert store.round_trips == 1


async def test_two_stores_never_place_more_than_the_limit_together(
    leases: LeaseFactory,
) -> None:
    a, b = leases(), leases()
    window = glob(6)
    first = await a.acquire_many([Ask(window, None)] * 4)
    second = await b.acquire_many([Ask(window, None)] * 4)
    assert [v.granted for v in first] == [True] * 4
    assert [v.granted for v in second] == [True, True, False, False]


async def test_unused_slots_return_to_the_window(leases: LeaseFactory) -> None:
    a, b = leases(), leases()
    window = glob(4, span=30.0)  # nothing ages out during the test
    held = await a.acquire_many([Ask(window, None)] * 4)
    assert not (await b.acquire_many([Ask(window, None)]))[0].granted
    for verdict in held[:3]:
        a.release(verdict.ticket)
    await a.acquire_many(())  # the round trip that carries the returns
    again = await b.acquire_many([Ask(window, None)] * 4)
    assert [v.granted for v in again] == [True, True, True, False]


async def test_a_crashed_holders_slots_expire_after_validity_and_span(
    leases: LeaseFactory,
) -> None:
    crashed, survivor = leases(validity=0.2), leases(validity=0.2)
    window = glob(3, span=0.5)
    taken = await crashed.acquire_many([Ask(window, None)] * 3)
    assert all(v.granted for v in taken)
    began = time.monotonic()  # the holder never reports again: its slots count until
    refused = (await survivor.acquire_many([Ask(window, None)]))[0]  # slot + 0.2 + 0.5
    assert not refused.granted and refused.global_wait > 0.3
    while not (verdict := (await survivor.acquire_many([Ask(window, None)]))[0]).granted:
        assert time.monotonic() - began < 5
        await asyncio.sleep(0.05)
    assert time.monotonic() + verdict.delay - began >= 0.6


async def test_an_answered_slot_counts_from_its_answer(leases: LeaseFactory) -> None:
    a, b = leases(validity=5.0), leases(validity=5.0)
    window = glob(2, span=0.5)
    slots = [v.ticket for v in await a.acquire_many([Ask(window, None)] * 2)]
    assert all(isinstance(s, Slot) for s in slots)
    for slot in slots:
        await a.complete(slot)
    await a.acquire_many(())  # reports the answers: the slots now count from now, not +5 s
    began = time.monotonic()
    while not (await b.acquire_many([Ask(window, None)]))[0].granted:
        assert time.monotonic() - began < 2.0  # well before validity (5 s) + span
        await asyncio.sleep(0.05)


async def test_interactive_reserve_is_kept_across_stores(leases: LeaseFactory) -> None:
    gate = FloodGate(DeliveryConfig(global_per_second=10, interactive_reserve=2))
    # Unpaced: pacing would spread these 10 over the second.
    bulk = replace(gate.windows(None, BULK, False)[0], burst=0)
    reply = Ask(bulk, None, reserve=2)
    a, b = leases(), leases()
    filled = await a.acquire_many([Ask(bulk, None)] * 10)
    assert sum(v.granted for v in filled) == 8  # bulk leaves the reserve
    late_bulk, first, second = await b.acquire_many([Ask(bulk, None), reply, reply])
    assert not late_bulk.granted
    assert first.granted and second.granted and max(first.delay, second.delay) < 0.05
    assert not (await a.acquire_many([reply]))[0].granted  # the reserve is two


async def test_a_reply_goes_out_now_beside_bulk_planned_ahead(leases: LeaseFactory) -> None:
    a, b = leases(horizon=2.0, validity=0.01), leases(horizon=2.0, validity=0.01)
    bulk = Window("global", 1.0, 6)  # the full limit is 7: bulk leaves one for replies
    planned = await a.acquire_many([Ask(bulk, None)] * 12)  # 6 now, 6 a second ahead
    assert all(v.granted for v in planned) and max(v.delay for v in planned) > 0.9
    reply, second = await b.acquire_many([Ask(bulk, Window("chat:9", 1.0, 5), reserve=1)] * 2)
    assert reply.granted and reply.delay < 0.05
    assert not second.granted or second.delay > 0.9  # no window may hold 8


async def test_chat_windows_are_exact_across_stores(leases: LeaseFactory) -> None:
    a, b = leases(), leases()
    roomy, group = glob(100), Window("chat:-5", 60.0, 3)
    first = await a.acquire_many([Ask(roomy, group)] * 2 + [Ask(roomy, Window("chat:-6", 60, 3))])
    second = await b.acquire_many([Ask(roomy, group, weight=2), Ask(roomy, group)])
    assert all(v.granted for v in first)
    # 2 + 2 > 3: wait until the first copy leaves the group's minute (counted from its slot's
    # validity, 0.25 s, as it is not reported answered)
    assert not second[0].granted and 59 < second[0].chat_wait <= 60.3
    assert second[1].granted  # the album took no slot: the single message fits


Grant = tuple[int, int | None, int, float]


async def run_gates(gates: list[FloodGate], requests: int, seed: int) -> list[Grant]:
    """Many callers on each gate at once; (lane, chat, weight, granted at) of every grant."""
    rng = random.Random(seed)
    grants: list[Grant] = []
    chats: list[int | None] = [-1, -2, -3, None, *range(1, 16)]

    async def caller(gate: FloodGate) -> None:
        bulk = rng.random() < 0.9
        chat = rng.choice(chats)
        weight = rng.choice([1, 1, 1, 2, 3]) if bulk else 1
        seq = await gate.acquire(chat, bulk=bulk, weight=weight)
        grants.append((BULK if bulk else INTERACTIVE, chat, weight, time.monotonic()))
        await asyncio.sleep(rng.random() * 0.02)  # the request on the wire
        await gate.complete(seq)

    async with asyncio.timeout(60):
        await asyncio.gather(*(caller(gates[i % len(gates)]) for i in range(requests)))
    return grants


@pytest.mark.parametrize("processes", [2, 4])
async def test_gates_sharing_a_store_keep_every_window(
    leases: LeaseFactory, processes: int
) -> None:
    config = DeliveryConfig(
        global_per_second=50,
        group_per_minute=40,
        private_per_second=3,
        interactive_reserve=2,
        window_margin=0.0,
    )
    stores = [leases() for _ in range(processes)]
    gates = [FloodGate(config, store) for store in stores]
    try:
        grants = await run_gates(gates, 120, seed=processes)
    finally:
        for gate in gates:
            await gate.close()
    times = [t for _, _, w, t in grants for _ in range(w)]
    assert most_in_any_window(times, 1.0) <= 50
    per_chat: dict[int, list[float]] = defaultdict(list)
    for _, chat, weight, t in grants:
        if chat is not None:
            per_chat[chat] += [t] * weight
    for chat, chat_times in per_chat.items():
        limit, span = (40, 60.0) if chat < 0 else (3, 1.0)
        assert most_in_any_window(chat_times, span) <= limit, chat


async def sent(gate: FloodGate, chat: int) -> None:
    """One bulk request through `gate`, answered at once."""
    await gate.complete(await gate.acquire(chat, bulk=True))


async def test_a_gate_places_a_burst_of_requests_in_few_round_trips(
    leases: LeaseFactory,
) -> None:
    store = leases()
    gate = FloodGate(DeliveryConfig(global_per_second=1000), store)
    try:
        async with asyncio.timeout(10):
            await asyncio.gather(*(sent(gate, -i) for i in range(1, 201)))
    finally:
        await gate.close()
    assert store.round_trips <= 10  # 200 requests, 64 per batch


async def test_shared_stores_lease_unless_the_setting_says_not() -> None:
    leased = window_store(DeliveryConfig(redis_url=REDIS_URL))
    plain = window_store(DeliveryConfig(redis_url=REDIS_URL, rate_leases=False))
    try:
        assert isinstance(leased, RedisLeases) and type(plain) is RedisWindows
    finally:
        await leased.close()
        await plain.close()
