"""`python -m bench broadcast`: one alert to every group of Phú Thọ under Telegram's limits."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
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
        choices=("auto", "local", "redis", "postgres"),
        default="auto",
        help="where the rate-limit windows live: auto (DELIVERY_RATE_STORE=auto: Redis with "
        "--redis-url, else PostgreSQL on PostgreSQL), local (one process only), redis (needs "
        "--redis-url), postgres (needs --database-url)",
    )
    parser.add_argument("--redis-url", default=None, help="REDIS_URL of the bot (shared window)")
    parser.add_argument(
        "--no-rate-leases",
        action="store_true",
        help="DELIVERY_RATE_LEASES=false: one shared-store round trip per request",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="delivery processes sharing the outbox and the limit: the bot and N-1 `canhgac "
        "sender` processes (N > 1 needs PostgreSQL and a shared rate store)",
    )


def check_arguments(args: argparse.Namespace) -> str | None:
    """Why these arguments cannot run, if they cannot."""
    postgres = bool(args.database_url)
    if args.processes < 1:
        return "--processes must be at least 1"
    if args.processes > 1 and not postgres:
        return "several processes share the outbox on PostgreSQL only: add --database-url"
    if args.processes > 1 and args.rate_store == "local":
        return "--rate-store local cannot be shared by several processes"
    if args.rate_store == "redis" and not args.redis_url:
        return "--rate-store redis needs --redis-url"
    if args.rate_store == "postgres" and not postgres:
        return "--rate-store postgres needs --database-url"
    return None


def rate_store_of(args: argparse.Namespace) -> tuple[str, str | None]:
    """DELIVERY_RATE_STORE and REDIS_URL of every process, and the name of the store."""
    if args.rate_store == "redis":
        return "auto", args.redis_url
    if args.rate_store == "postgres":
        return "auto", None
    return args.rate_store, args.redis_url


def store_name(args: argparse.Namespace) -> str:
    if args.rate_store != "auto":
        return str(args.rate_store)
    if args.redis_url:
        return "redis"
    return "postgres" if args.database_url else "local"


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
            env = bot_environment(sim, url, scale, *rate_store_of(args))
            env["DELIVERY_RATE_LEASES"] = "false" if args.no_rate_leases else "true"
            bot = BotProcess(env)
            senders = [BotProcess(env, "sender") for _ in range(args.processes - 1)]
            try:
                await bot.start(sim, timeout=60)
                for sender in senders:
                    await sender.start(sim, timeout=60)
                metrics = await broadcast(driver, world, bot, args.timeout, senders)
            finally:
                metrics_exit = await bot.stop()
                senders_exit = [await sender.stop() for sender in senders]
                tail = "\n".join(p.log_tail() for p in (bot, *senders))
                for process in (bot, *senders):
                    process.cleanup()
            metrics.update(await ptb_loop_figures(driver, world, metrics, args.timeout))
    finally:
        await sim.stop()
    metrics.update(
        database=describe(url),
        rate_store=store_name(args),
        processes=args.processes,
        rate_leases=not args.no_rate_leases,
        seed_s=round(seeding, 1),
        bot_exit=metrics_exit,
        senders_exit=senders_exit,
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
    senders: Sequence[BotProcess] = (),
) -> dict[str, Any]:
    """Compose, confirm, watch the copies and the resident's replies; the metrics."""
    sim = driver.sim
    officer = OfficerAtKeyboard(driver, world.officer)
    audience = await officer.compose(ALERT_TEXT + ".")
    copies = Copies(sim, {g.id for g in world.targets}, {g.id for g in world.others}, ALERT_TEXT)
    copies.seen = len(sim.stats.sent)
    before_429, before_sent = sim.stats.http_429, len(sim.stats.sent)
    cpu_before, sim_cpu_before = cpu_seconds(bot.pid), time.process_time()
    senders_before = [cpu_seconds(p.pid) for p in senders]
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
    senders_cpu = cpu_used(senders_before, [cpu_seconds(p.pid) for p in senders])
    sends = len(sim.stats.sent) - before_sent
    bot_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    all_cpu = None if bot_cpu is None or senders_cpu is None else bot_cpu + senders_cpu
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
        senders_cpu_s=_round(senders_cpu),
        all_cpu_ms_per_msg=_round(per_message_ms(all_cpu, sends), 3),
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


def cpu_used(before: list[float | None], after: list[float | None]) -> float | None:
    """CPU seconds several processes used between two readings (None if one is unknown)."""
    pairs = list(zip(before, after, strict=True))
    if any(b is None or a is None for b, a in pairs):
        return None
    return sum(a - b for b, a in pairs if a is not None and b is not None)


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
    if problem := check_arguments(args):
        print(f"bench broadcast: {problem}", file=sys.stderr)
        return 2
    metrics = asyncio.run(run(args))
    print(json.dumps(metrics, ensure_ascii=False), flush=True)
    print(verdict_lines("broadcast benchmark", metrics, TARGETS), file=sys.stderr)
    return 0
