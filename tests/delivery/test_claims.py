"""Claims by two senders at the same moment: neither waits for the other, none shares a row."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.delivery import Target, enqueue
from bot.delivery.outbox import claim
from tests.delivery.conftest import Db

# The second claim gives up after this long waiting for a row lock, so a claim that blocks
# fails the test with a clear message instead of hanging it.
LOCK_TIMEOUT = "3s"


async def test_a_claim_skips_rows_another_sender_holds_uncommitted(pg: Db) -> None:
    async with pg.sessions() as session, session.begin():
        await enqueue(session, "alert", 1, [Target(-4_000_000_000 - i) for i in range(10)])

    async with pg.sessions() as first, first.begin():
        held = await claim(first, "sender-a", 4, lease_seconds=60)  # locked until commit
        async with pg.sessions() as second, second.begin():
            await second.exec(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            try:
                taken = await asyncio.wait_for(claim(second, "sender-b", 10, 60), 30)
            except DBAPIError as exc:
                pytest.fail(f"the second claim waited for the first one's row locks: {exc}")
        # The first transaction is still open: its rows were locked throughout.
        assert len(held) == 4

    held_ids, taken_ids = {c.id for c in held}, {c.id for c in taken}
    assert held_ids.isdisjoint(taken_ids)
    assert len(held_ids | taken_ids) == 10  # the second took every row the first did not hold
