"""A 429 the limiter gives up on reaches the engine: the copy waits, it is neither failed nor
charged an attempt."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.delivery import DeliveryEngine
from simulator import BotApiSimulator, Limits, SimDriver
from storage.models import Delivery
from tests.delivery.conftest import (
    FAST,
    Db,
    EngineFactory,
    add_groups,
    copies,
    finished,
    new_job,
    rows,
)
from tests.delivery.support import wait_until

# The limiter waits out no 429 itself: the first one is raised to the engine.
ONE_TRY = replace(FAST, retry_after_attempts=1)


def answered(row: Delivery) -> bool:
    """The engine recorded the outcome of its attempt and gave the row back."""
    return row.lease_owner is None and (row.last_error is not None or row.status != "pending")


async def test_429_past_the_limiter_waits_retry_after_and_fails_nothing(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    cold, hot = await add_groups(driver, db, 3, "C"), await add_groups(driver, db, 3, "H")
    # Telegram takes one message a minute into a group; the engine believes in 1000.
    sim.limits = Limits(group_per_minute=1)
    engine: DeliveryEngine = await engines(db, ONE_TRY)
    await finished(db, await new_job(db, hot, engine))  # the hot groups' minute is used up
    assert sim.stats.http_429 == 0
    ref = await new_job(db, cold + hot, engine)  # a 429 on every hot group, for ~60 s
    hot_ids = {t.telegram_chat_id for t in hot}

    async def settled() -> bool:
        found = await rows(db, ref)
        seen = {r.telegram_chat_id for r in found if r.telegram_chat_id in hot_ids and answered(r)}
        return seen == hot_ids and sum(r.status == "delivered" for r in found) == len(cold)

    await wait_until(settled)
    assert sim.stats.http_429 == len(hot)  # one each: the limiter did not retry
    for row in await rows(db, ref):
        if row.telegram_chat_id not in hot_ids:
            continue
        assert (row.status, row.last_error, row.attempts) == ("pending", "429", 0)
        assert row.next_attempt_at is not None and row.updated_at is not None
        # Telegram said "retry after" most of a minute; the engine's own backoff is ~10 ms.
        assert 50 <= seconds(row.next_attempt_at, row.updated_at) <= 61
    # Each group has one copy: the cold ones of this job, the hot ones of the first job.
    assert copies(sim) == {t.telegram_chat_id: 1 for t in cold + hot}


async def test_after_retry_after_the_429_copies_are_delivered_once(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    cold, hot = await add_groups(driver, db, 3, "C"), await add_groups(driver, db, 3, "H")
    sim.limits = Limits(group_per_minute=1, time_scale=60)  # one message a second per group
    engine = await engines(db, ONE_TRY)
    await finished(db, await new_job(db, hot, engine))
    stats = await finished(db, await new_job(db, cold + hot, engine))
    assert (stats.delivered, stats.failed) == (len(cold + hot), 0)
    assert sim.stats.http_429 == len(hot)  # the engine's retry came when Telegram allowed it
    assert copies(sim) == {t.telegram_chat_id: 2 if t in hot else 1 for t in cold + hot}


def seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()
