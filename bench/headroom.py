"""`python -m bench headroom`: is the engine the bottleneck of a paid broadcast?

Two measurements, each against a simulator in a process of its own (`python -m simulator`):

1. **The simulator's ceiling**: limits off, a lean load generator in this process
   (`bench.loadgen`: pre-encoded sendMessage bodies of an alert copy over `--connections`
   keep-alive connections) posts `--ceiling-requests` copies as fast as the simulator answers.
   Its rate and CPU per request say how far the simulator itself could go on this machine.
2. **The broadcast** (skipped with `--ceiling-only`): the simulator with Telegram's limits and paid
   broadcast (1,000 msg/s overall for sends with `allow_paid_broadcast`, 20 msg/min per group,
   1 msg/s per private chat), `--groups` subscribed groups in Phú Thọ, one bot process
   (`python -m bot run`, `DELIVERY_PAID_BROADCAST=true`, SQLite), an officer composing and
   confirming an alert to the whole province through the simulator's control API; the
   copies are read back from the simulator's send log (`/_sim/sent`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.botprocess import BotProcess, bot_environment
from bench.broadcast import ALERT_TEXT, GRACE
from bench.database import fresh_database
from bench.loadgen import blast, copy_body
from bench.measure import SENDS
from bench.officer import OfficerAtKeyboard
from bench.report import Target, cpu_seconds, figures, per_message_ms, rounded, verdict_lines
from bench.world import RemoteWorld, remote_groups, seed_remote
from bot.areas import AdminUnits
from bot.cli import run_async
from simulator.models import Limits, SentRecord
from simulator.remote import RemoteDriver, RemoteSimulator, SimulatorProcess

DEFAULT_GROUPS = 10_000  # at 1,000 msg/s: a run of 10 s
PAID_LIMIT = Limits().paid_global_per_second
GROUP_LIMIT = Limits().group_per_minute
POLL = 0.1  # seconds between two reads of the send log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--groups", type=int, default=DEFAULT_GROUPS, help="target groups")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for the broadcast")
    parser.add_argument(
        "--ceiling-only", action="store_true", help="only measure the simulator's ceiling"
    )
    parser.add_argument(
        "--ceiling-requests", type=int, default=20_000, help="sends of the ceiling measurement"
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="connections of the load generator"
    )
    parser.add_argument(
        "--profile-sim",
        default=None,
        metavar="FILE",
        help="cProfile the simulator process (of the broadcast; of the ceiling with "
        "--ceiling-only) into FILE",
    )


def _profile(path: str | None) -> list[str]:
    return ["--profile", path] if path else []


async def ceiling(
    groups: int, requests: int, connections: int, profile: str | None = None
) -> dict[str, Any]:
    """The simulator's own rate, limits off, under the lean load generator."""
    async with SimulatorProcess(_profile(profile)) as process:
        remote = RemoteSimulator(process.control_url, process.token)
        try:
            admin = await remote.create_user("Trưởng thôn")
            titles = [f"Tổ {n + 1}" for n in range(max(1, groups))]
            chats = await remote_groups(remote, titles, admin)
            bodies = [copy_body(chats[n % len(chats)], n) for n in range(requests)]
            before = cpu_seconds(process.pid)
            load = await blast(process.base_url, process.token, bodies, connections)
            after = cpu_seconds(process.pid)
            stats = await remote.stats()
        finally:
            await remote.close()
    sim_cpu = None if before is None or after is None else after - before
    return {
        "simulator_ceiling_per_s": rounded(load.ok / load.wall_s if load.wall_s else None, 1),
        "ceiling_requests": requests,
        "ceiling_failed": load.failed,
        "ceiling_connections": connections,
        "ceiling_sim_cpu_ms_per_req": rounded(per_message_ms(sim_cpu, load.ok), 3),
        # What one core would answer at that CPU per request (less noisy than the rate).
        "ceiling_per_core_s": rounded(load.ok / sim_cpu if sim_cpu else None, 1),
        # CPU seconds per second: 1.0 means the simulator's one event loop was saturated.
        "ceiling_sim_cpu_util": rounded(sim_cpu / load.wall_s if sim_cpu and load.wall_s else None),
        "ceiling_loadgen_cpu_ms_per_req": rounded(per_message_ms(load.cpu_s, load.ok), 3),
        "ceiling_violations": stats["violations"],
    }


@dataclass
class RemoteCopies:
    """Alert copies seen in a remote simulator's send log, read incrementally."""

    remote: RemoteSimulator
    targets: set[int]
    others: set[int]
    since: float = 0.0  # the simulator's send times are time.monotonic(): one clock on Linux
    offset: int = 0
    times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    leaked: list[SentRecord] = field(default_factory=list)

    async def scan(self) -> int:
        """Read new send records; how many target groups have a copy."""
        lines, self.offset = await self.remote.sent(self.offset, text=True)
        for line in lines:
            record = line.record
            if record.method not in SENDS or record.time < self.since:
                continue
            if record.chat_id in self.others:
                self.leaked.append(record)
            elif record.chat_id in self.targets and ALERT_TEXT in (line.text or ""):
                self.times[record.chat_id].append(record.time)
        return len(self.times)


async def watch(copies: RemoteCopies, timeout: float) -> None:  # noqa: ASYNC109
    """Until every target has its copy (or `timeout`), then GRACE more for duplicates."""
    deadline = time.monotonic() + timeout
    # Polling: the log is in another process, which has no way to wake us.
    while time.monotonic() < deadline:
        if await copies.scan() >= len(copies.targets):
            break
        await asyncio.sleep(POLL)
    grace = time.monotonic() + GRACE
    while time.monotonic() < grace:
        await asyncio.sleep(POLL)
        await copies.scan()


async def broadcast(
    remote: RemoteSimulator,
    sim_pid: int | None,
    world: RemoteWorld,
    bot: BotProcess,
    timeout: float,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Compose and confirm through the control API, watch the copies; the metrics."""
    driver = RemoteDriver(remote)
    officer = OfficerAtKeyboard(driver, world.officer)
    audience = await officer.compose(ALERT_TEXT + ".", scope="Toàn địa bàn")
    before = await remote.stats()
    copies = RemoteCopies(remote, set(world.targets), set(world.others), offset=before["sent"])
    bot_before, sim_before = cpu_seconds(bot.pid), cpu_seconds(sim_pid)
    copies.since = await officer.confirm(audience)
    await watch(copies, timeout)
    elapsed = time.monotonic() - copies.since
    bot_after, sim_after = cpu_seconds(bot.pid), cpu_seconds(sim_pid)
    after = await remote.stats()
    sends = after["sent"] - before["sent"]
    calls = sum(after["calls"].values()) - sum(before["calls"].values())
    bot_cpu = None if bot_before is None or bot_after is None else bot_after - bot_before
    sim_cpu = None if sim_before is None or sim_after is None else sim_after - sim_before
    http_429 = after["http_429"] - before["http_429"]
    metrics = figures(copies, copies.since, (PAID_LIMIT, GROUP_LIMIT))
    replies = await driver.bot_messages(officer.chat)
    metrics.update(
        sends=sends,
        http_429=http_429,
        http_429_pct=round(100 * http_429 / max(1, sends), 3),
        run_s=round(elapsed, 2),
        bot_cpu_s=rounded(bot_cpu),
        bot_cpu_ms_per_msg=rounded(per_message_ms(bot_cpu, sends), 3),
        sim_cpu_s=rounded(sim_cpu),
        sim_requests=calls,
        sim_cpu_ms_per_req=rounded(per_message_ms(sim_cpu, calls), 3),
        confirmed="Đã gửi cảnh báo" in " ".join(m.text or "" for m in replies),
    )
    return metrics


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The ceiling, then (unless --ceiling-only) the paid broadcast; the metrics."""
    profile = args.profile_sim if args.ceiling_only else None
    metrics = await ceiling(args.groups, args.ceiling_requests, args.connections, profile)
    if args.ceiling_only:
        return metrics
    found = await paid_broadcast(args)
    return {**found, **metrics}


async def paid_broadcast(args: argparse.Namespace) -> dict[str, Any]:
    """A fresh paid-broadcast simulator process, database and bot; one alert to every group."""
    units = AdminUnits.load()
    async with (
        SimulatorProcess(["--paid", *_profile(args.profile_sim)]) as process,
        fresh_database(None) as url,
    ):
        remote = RemoteSimulator(process.control_url, process.token)
        try:
            began = time.monotonic()
            world = await seed_remote(remote, url, units, args.groups)
            seeding = time.monotonic() - began
            env = bot_environment(remote, url, 1, "local", paid_broadcast=True)
            bot = BotProcess(env)
            try:
                await bot.start(remote, timeout=60)
                metrics = await broadcast(remote, process.pid, world, bot, args.timeout)
            finally:
                bot_exit = await bot.stop()
                tail = bot.log_tail()
                bot.cleanup()
            stats = await remote.stats()
        finally:
            await remote.close()
    if tail:
        print(f"bot log (tail):\n{tail}", file=sys.stderr)
    metrics.update(
        database="sqlite",
        seed_s=round(seeding, 1),
        bot_exit=bot_exit,
        violations=stats["violations"],
        response_errors=stats["response_errors"],
    )
    return metrics


CEILING_TARGETS: tuple[Target, ...] = (("simulator_ceiling_per_s", ">=", PAID_LIMIT),)
TARGETS: tuple[Target, ...] = (
    *CEILING_TARGETS,
    ("msgs_per_s", ">=", PAID_LIMIT),
    ("http_429_pct", "<=", 0.1),
    ("lost", "<=", 0),
    ("duplicates", "<=", 0),
    ("leaked", "<=", 0),
    ("violations", "<=", 0),
)


def main(args: argparse.Namespace) -> int:
    """Run, print the JSON line on stdout and the verdicts on stderr; 0 unless it broke."""
    metrics = run_async(run(args))  # uvloop when installed, as the bot
    print(json.dumps(metrics, ensure_ascii=False), flush=True)
    targets = CEILING_TARGETS if args.ceiling_only else TARGETS
    print(verdict_lines("headroom benchmark", metrics, targets), file=sys.stderr)
    return 0
