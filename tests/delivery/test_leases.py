"""A copy that takes longer than its lease is not claimed again while it is still in flight."""

from __future__ import annotations

from dataclasses import replace

from simulator import BotApiSimulator, SimDriver
from tests.delivery.conftest import FAST, Db, EngineFactory, add_groups, copies, finished, new_job

# Leases far shorter than a send: without renewal every row would be claimed again mid-send.
SHORT_LEASE = replace(FAST, lease_seconds=0.6)


async def test_rows_in_flight_longer_than_their_lease_are_sent_once(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, db, 4)
    sim.faults.delay(2.0, method="sendMessage")  # each send takes three leases' time
    engine = await engines(db, SHORT_LEASE)
    stats = await finished(db, await new_job(db, targets, engine))
    assert (stats.delivered, stats.failed) == (4, 0)
    await engine.stop()  # a second claim of a row would still be on the wire: let it land
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}
