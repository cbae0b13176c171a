"""When the last first send of a job is recorded, the engine says so in one INFO line."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio
from sqlmodel import col, select

from bot.delivery import DeliveryConfig, DeliveryEngine, Target, enqueue, request_edit
from simulator import BotApiSimulator, SimDriver
from storage.models import Delivery
from tests.delivery.conftest import Db, add_groups, make_bot, make_gate
from tests.delivery.support import TEXTS, render_alert, wait_until

LOGGER = "bot.delivery.engine"
FAST = DeliveryConfig(
    global_per_second=1000,
    group_per_minute=1000,
    private_per_second=1000,
    poll_interval=0.05,
    backoff_base=0.01,
    backoff_max=0.05,
    max_attempts=2,
)
FINISHED = re.compile(
    r"alert #(\d+) delivery finished: (\d+) delivered, (\d+) failed, (\d+) filtered in \d+\.\d s"
)


@pytest_asyncio.fixture
async def engine(db: Db, sim: BotApiSimulator) -> AsyncIterator[DeliveryEngine]:
    bot = make_bot(sim, make_gate(FAST))
    await bot.initialize()
    sender = DeliveryEngine(db.sessions, bot, FAST)
    sender.register("alert", render_alert)
    await sender.start()
    yield sender
    await sender.stop()
    await bot.shutdown()


def finished_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if FINISHED.fullmatch(r.getMessage())]


async def test_one_line_when_the_job_has_nothing_left_to_send(
    db: Db,
    sim: BotApiSimulator,
    driver: SimDriver,
    engine: DeliveryEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    groups = await add_groups(driver, db, 6)
    filtered = [replace(t, filtered=True) for t in await add_groups(driver, db, 2, "F")]
    resident = driver.create_user("Trần Thị Mai")
    await driver.start_private(resident)
    sim.faults.fail(method="sendMessage", chat_id=groups[0].telegram_chat_id, count=None)
    ref = 9_000_001  # far from the refs other delivery tests count up from 1000
    TEXTS[ref] = "<b>Cảnh báo</b> lừa đảo qua điện thoại"

    with caplog.at_level(logging.INFO, logger=LOGGER):
        async with db.sessions() as session, session.begin():
            targets = [*groups, *filtered, Target(telegram_chat_id=resident.id)]
            await enqueue(session, "alert", ref, targets)
        engine.notify()

        async def logged() -> bool:
            return bool(finished_lines(caplog))

        await wait_until(logged)
        # A correction edits the delivered copies: the job does not finish a second time.
        async with db.sessions() as session, session.begin():
            await request_edit(session, "alert", ref)
        engine.notify()

        async def edited() -> bool:
            async with db.sessions() as session:
                rows = await session.exec(
                    select(Delivery).where(
                        col(Delivery.ref_id) == ref, col(Delivery.sent_version) > 0
                    )
                )
                return all(r.sent_version == r.content_version for r in rows)

        await wait_until(edited)
        await engine.stop()  # every outcome recorded before looking at the log

    [line] = finished_lines(caplog)
    match = FINISHED.fullmatch(line)
    assert match is not None and match.groups() == (str(ref), "6", "1", "2")
    assert str(resident.id) not in caplog.text and "Mai" not in caplog.text
    assert "lừa đảo" not in caplog.text
