"""Two sender processes on one PostgreSQL outbox share the work and Telegram's limits."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from bot.delivery import delivery_stats, enqueue
from simulator import BotApiSimulator, Limits, SimDriver
from tests.delivery.conftest import REDIS_URL, Db, add_groups, redis_available
from tests.delivery.support import TOKEN, wait_until

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 20


async def start_sender(
    sim: BotApiSimulator, db: Db, redis_prefix: str | None
) -> asyncio.subprocess.Process:
    args = [
        "-m",
        "bot.delivery.worker",
        "--database-url",
        db.url,
        "--schema",
        str(db.schema),
        "--api-base-url",
        sim.base_url,
        "--renderers",
        "tests.delivery.support:build_renderers",
        "--global-per-second",
        str(LIMIT),
        "--batch-size",
        "8",
        "--max-in-flight",
        "8",
    ]
    if redis_prefix is not None:
        args += ["--redis-url", REDIS_URL, "--redis-prefix", redis_prefix]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "REDIS_URL": ""}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    async with asyncio.timeout(30):
        while b"running" not in (line := await proc.stderr.readline()):
            assert line, "the sender exited before it ran"
    return proc


async def stop_sender(proc: asyncio.subprocess.Process) -> int:
    """SIGTERM, then the number of copies the sender says it delivered."""
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    async with asyncio.timeout(30):
        rest = (await proc.stderr.read()).decode()
        await proc.wait()
    found = re.search(r"delivered=(\d+)", rest)
    assert found, rest
    return int(found.group(1))


def max_per_second(times: list[float]) -> int:
    """The most sends in any sliding one-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("shared", ["redis", "postgres"])
async def test_two_sender_processes_share_work_and_limits(
    shared: str, pg: Db, sim: BotApiSimulator, driver: SimDriver
) -> None:
    if shared == "redis" and (reason := await redis_available()):
        pytest.skip(reason)
    targets = await add_groups(driver, pg, 60)
    sim.limits = Limits(global_per_second=LIMIT)
    prefix = f"test:{uuid.uuid4().hex}" if shared == "redis" else None
    senders = [await start_sender(sim, pg, prefix) for _ in range(2)]
    try:
        async with pg.sessions() as session, session.begin():
            await enqueue(session, "alert", 1, targets)

        async def drained() -> bool:
            async with pg.sessions() as session:
                return (await delivery_stats(session, "alert", 1)).pending == 0

        await wait_until(drained, within=30)
    finally:
        delivered = [await stop_sender(p) for p in senders]
    assert all(n > 0 for n in delivered) and sum(delivered) == 60
    sent = Counter(r.chat_id for r in sim.stats.sent)
    assert sent == {t.telegram_chat_id: 1 for t in targets}
    assert max_per_second([r.time for r in sim.stats.sent]) <= LIMIT
    assert sim.stats.http_429 == 0
