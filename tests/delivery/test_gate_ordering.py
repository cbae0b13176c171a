"""The gate with a store that yields on every call, as the PostgreSQL and Redis stores do."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.delivery.config import DeliveryConfig
from bot.delivery.limiter import FloodGate
from bot.delivery.windows import LocalWindows, Verdict, Window


class YieldingWindows(LocalWindows):
    """LocalWindows behind a round trip: other tasks run while the store is asked."""

    async def try_acquire(
        self, global_window: Window, chat_window: Window | None, weight: int = 1
    ) -> Verdict:
        await asyncio.sleep(0)
        return await super().try_acquire(global_window, chat_window, weight)

    async def complete(self, ticket: Any) -> None:
        await asyncio.sleep(0)
        await super().complete(ticket)


async def test_an_urgent_request_arriving_during_a_store_call_is_still_granted() -> None:
    gate = FloodGate(DeliveryConfig(global_per_second=1000), YieldingWindows())
    bulk = [asyncio.create_task(gate.acquire(-4_000_000_000 - n, bulk=True)) for n in range(20)]
    await asyncio.sleep(0)  # the dispatcher is now asking the store about the first bulk request
    interactive = asyncio.create_task(gate.acquire(-3_999_999_999))
    done, pending = await asyncio.wait([*bulk, interactive], timeout=5)
    assert not pending, f"{len(pending)} requests were never granted"
    assert len({task.result() for task in done}) == 21  # one grant each
    await gate.close()
