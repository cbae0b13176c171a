"""`python -m bench broadcast`: one alert to every group of Phú Thọ under Telegram's limits."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.botprocess import BotProcess, bot_environment
from bench.database import describe, fresh_database
from bench.measure import Copies
from bench.officer import OfficerAtKeyboard
from bench.ptbloop import LoopJob, run_loop
from bench.report import (
    Target,
    cpu_seconds,
    figures,
    per_message_ms,
    percentile,
    verdict_lines,
)
from bench.report import rounded as _round
from bench.world import BenchWorld, seed
from bot.areas import AdminUnits
from simulator import BotApiSimulator, Limits, SimDriver
from simulator.models import SimChat

PHU_THO_GROUPS = 3135  # Phú Thọ's count of model security points
ALERT_TEXT = "Cảnh giác cuộc gọi giả danh công an yêu cầu chuyển tiền"
PROBE_INTERVAL = 0.4
PROBE_TIMEOUT = 10.0
GRACE = 1.0  # after the last copy, how long to keep watching for duplicates


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--groups", type=int, default=PHU_THO_GROUPS, help="target groups")
    parser.add_argument("--scale", type=int, default=10, help="multiplier of Telegram's limits")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server URL (postgresql+asyncpg://...); a database bench_<random> is "
        "created and dropped. Default: a temporary SQLite file",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the broadcast")
    parser.add_argument(
        "--rate-store",
        choices=("auto", "local"),
        default="auto",
        help="DELIVERY_RATE_STORE of the bot: auto shares the window through Redis or PostgreSQL",
    )
    parser.add_argument("--redis-url", default=None, help="REDIS_URL of the bot (shared window)")


@dataclass
class Probe:
    """A resident asking /trangthai in a subscribed group while the broadcast runs."""

    driver: SimDriver
    world: BenchWorld
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            began = time.monotonic()
            await self.ask()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), max(0.0, PROBE_INTERVAL - (time.monotonic() - began))
                )

    async def ask(self) -> None:
        group, sim = self.world.resident_group, self.driver.sim
        sent = await self.driver.send_text(self.world.resident, group, "/trangthai")
        asked = time.monotonic()
        try:
            reply = await self.driver.wait_for_bot_message(
                group,
                after=sent.message_id,
                predicate=lambda m: ALERT_TEXT not in (m.text or ""),
                timeout=PROBE_TIMEOUT,
            )
        except TimeoutError:
            self.timeouts += 1
            self.latencies.append(PROBE_TIMEOUT)
            return
        answered = sent_time(sim, group, reply.message_id) or time.monotonic()
        self.latencies.append(answered - asked)


def sent_time(sim: BotApiSimulator, group: SimChat, message_id: int) -> float | None:
    """When the simulator accepted the send of this message."""
    for record in reversed(sim.stats.sent):
        if record.chat_id == group.id and record.message_id == message_id:
            return record.time
    return None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; the metrics."""
    units = AdminUnits.load()
    sim = BotApiSimulator()
    scale = args.scale
    sim.limits = Limits(
        global_per_second=30 * scale, group_per_minute=20 * scale, private_per_second=scale
    )
    await sim.start("127.0.0.1", 0)
    try:
        async with fresh_database(args.database_url) as url:
            driver = SimDriver(sim)
            began = time.monotonic()
            world = await seed(driver, url, units, args.groups)
            seeding = time.monotonic() - began
            bot = BotProcess(bot_environment(sim, url, scale, args.rate_store, args.redis_url))
            try:
                await bot.start(sim, timeout=60)
                metrics = await broadcast(driver, world, bot, args.timeout)
            finally:
                metrics_exit = await bot.stop()
                tail = bot.log_tail()
                bot.cleanup()
            metrics.update(await ptb_loop_figures(driver, world, metrics, args.timeout))
    finally:
        await sim.stop()
    metrics.update(
        database=describe(url),
        rate_store="redis" if args.redis_url and args.rate_store == "auto" else args.rate_store,
        seed_s=round(seeding, 1),
        bot_exit=metrics_exit,
        violations=len(sim.violations),
    )
    if tail:
        print(f"bot log (tail):\n{tail}", file=sys.stderr)
    return metrics


async def broadcast(
    driver: SimDriver,
    world: BenchWorld,
    bot: BotProcess,
    timeout: float,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Compose, confirm, watch the copies and the resident's replies; the metrics."""
    sim = driver.sim
    officer = OfficerAtKeyboard(driver, world.officer)
    audience = await officer.compose(ALERT_TEXT + ".")
    copies = Copies(sim, {g.id for g in world.targets}, {g.id for g in world.others}, ALERT_TEXT)
    copies.seen = len(sim.stats.sent)
    before_429, before_sent = sim.stats.http_429, len(sim.stats.sent)
    cpu_before, sim_cpu_before = cpu_seconds(bot.pid), time.process_time()
    copies.since = await officer.confirm(audience)
    t0 = copies.since
    stop, probe = asyncio.Event(), Probe(driver, world)
    probing = asyncio.create_task(probe.run(stop))
    with contextlib.suppress(TimeoutError):
        await driver.wait_for(lambda: copies.scan() >= len(copies.targets), timeout=timeout)
    with contextlib.suppress(TimeoutError):
        await driver.wait_for(lambda: copies.scan() < 0, timeout=GRACE)
    elapsed = time.monotonic() - t0
    stop.set()
    await probing
    copies.scan()
    cpu_after = cpu_seconds(bot.pid)
    sends = len(sim.stats.sent) - before_sent
    bot_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    metrics = figures(copies, t0, scale_limit(sim))
    metrics.update(
        sends=sends,
        http_429=sim.stats.http_429 - before_429,
        http_429_pct=round(100 * (sim.stats.http_429 - before_429) / max(1, sends), 3),
        interactive_p95_s=_round(percentile(probe.latencies, 0.95)),
        interactive_max_s=_round(max(probe.latencies, default=None)),
        interactive_n=len(probe.latencies),
        interactive_timeouts=probe.timeouts,
        run_s=round(elapsed, 2),
        bot_cpu_s=_round(bot_cpu),
        bench_cpu_s=round(time.process_time() - sim_cpu_before, 2),
        bot_cpu_ms_per_msg=_round(per_message_ms(bot_cpu, sends), 3),
        confirmed=bool(driver.bot_messages(officer.chat))
        and "Đã gửi cảnh báo" in " ".join(m.text or "" for m in driver.bot_messages(officer.chat)),
    )
    return metrics


async def ptb_loop_figures(
    driver: SimDriver,
    world: BenchWorld,
    metrics: dict[str, Any],
    timeout: float,  # noqa: ASYNC109
) -> dict[str, Any]:
    """The plainest PTB broadcast to the same groups, limits lifted; its CPU per message."""
    sim = driver.sim
    job = LoopJob(sim.base_url, sim.token, [g.id for g in world.targets], copy_text(driver, world))
    limits, sim.limits = sim.limits, None  # nothing throttles it: only its CPU is measured
    try:
        loop = await run_loop(job, timeout)
    finally:
        sim.limits = limits
    ptb_ms = per_message_ms(loop.cpu_s, loop.sent)
    bot_ms = metrics.get("bot_cpu_ms_per_msg")
    return {
        "ptb_loop_cpu_ms_per_msg": _round(ptb_ms, 3),
        "cpu_vs_ptb_loop": _round(bot_ms / ptb_ms if bot_ms and ptb_ms else None),
        "ptb_loop_sent": loop.sent,
        "ptb_loop_errors": loop.errors,
    }


def copy_text(driver: SimDriver, world: BenchWorld) -> str:
    """The visible text of the alert's copy in the last group (no probe replies there)."""
    for message in driver.bot_messages(world.targets[-1]):
        if message.text and ALERT_TEXT in message.text:
            return message.text
    return ALERT_TEXT


def scale_limit(sim: BotApiSimulator) -> tuple[int, int]:
    assert sim.limits is not None
    return sim.limits.global_per_second, sim.limits.group_per_minute


TARGETS: tuple[Target, ...] = (
    ("ratio_to_limit", ">=", 0.95),
    ("http_429_pct", "<=", 0.1),
    ("first_delivery_s", "<=", 1.0),
    ("interactive_p95_s", "<=", 2.0),
    ("lost", "<=", 0),
    ("duplicates", "<=", 0),
    ("leaked", "<=", 0),
)


def main(args: argparse.Namespace) -> int:
    """Run, print the JSON line on stdout and the verdicts on stderr; 0 unless it broke."""
    metrics = asyncio.run(run(args))
    print(json.dumps(metrics, ensure_ascii=False), flush=True)
    print(verdict_lines("broadcast benchmark", metrics, TARGETS), file=sys.stderr)
    return 0
