"""`python -m bench peer`: the same broadcast by a stock PTB bot with `AIORateLimiter`.

The peer baseline for `bench broadcast`: the same groups, the same simulator limits (Telegram's
× `--scale`), the limiter set to those limits, every send fired at once. Two runs: PTB's
defaults (`max_retries=0`: a 429 is raised, the copy is lost) and `max_retries=3`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from typing import Any

from bench.broadcast import ALERT_TEXT, PHU_THO_GROUPS
from bench.ptbloop import LoopJob, run_loop
from bench.report import per_message_ms
from simulator import BotApiSimulator, Limits, SimDriver

VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("aiorate_defaults", {}),
    ("aiorate_max_retries_3", {"max_retries": 3}),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--groups", type=int, default=PHU_THO_GROUPS, help="target groups")
    parser.add_argument("--scale", type=int, default=10, help="multiplier of Telegram's limits")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")


def limiter_args(scale: int, extra: dict[str, Any]) -> dict[str, Any]:
    """`AIORateLimiter` at Telegram's limits × `scale` (its defaults when `scale` is 1)."""
    return {
        "overall_max_rate": 30 * scale,
        "overall_time_period": 1,
        "group_max_rate": 20 * scale,
        "group_time_period": 60,
        **extra,
    }


async def one_run(
    groups: int,
    scale: int,
    extra: dict[str, Any],
    timeout: float,  # noqa: ASYNC109
) -> dict[str, Any]:
    """A fresh simulator and groups, one broadcast through `AIORateLimiter`; its figures."""
    sim = BotApiSimulator()
    sim.limits = Limits(
        global_per_second=30 * scale, group_per_minute=20 * scale, private_per_second=scale
    )
    await sim.start("127.0.0.1", 0)
    try:
        driver = SimDriver(sim)
        admin = driver.create_user("Trưởng thôn")
        chats = [
            driver.create_group(f"Tổ an ninh {n + 1}", admins=[admin], with_bot=True).id
            for n in range(groups)
        ]
        job = LoopJob(sim.base_url, sim.token, chats, ALERT_TEXT, limiter_args(scale, extra))
        loop = await run_loop(job, timeout)
    finally:
        await sim.stop()
    targets = set(chats)
    sent = [r for r in sim.stats.sent if r.method == "sendMessage" and r.chat_id in targets]
    per_chat = Counter(r.chat_id for r in sent)
    times = sorted(r.time for r in sent)
    seconds = times[-1] - times[0] if len(times) > 1 else None
    rate = len(per_chat) / seconds if seconds else None
    return {
        "max_retries": extra.get("max_retries", 0),
        "seconds": _round(seconds),
        "msgs_per_s": _round(rate, 1),
        "ratio_to_limit": _round(rate / (30 * scale) if rate else None, 3),
        "delivered": len(per_chat),
        "lost": groups - len(per_chat),
        "duplicates": sum(n - 1 for n in per_chat.values()),
        "http_429": sim.stats.http_429,
        "errors": loop.errors,
        "cpu_ms_per_msg": _round(per_message_ms(loop.cpu_s, loop.sent), 3),
        "violations": len(sim.violations),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every variant in turn; one dict of figures."""
    metrics: dict[str, Any] = {
        "groups": args.groups,
        "limit_per_s": 30 * args.scale,
        "limit_per_group_per_min": 20 * args.scale,
    }
    for name, extra in VARIANTS:
        metrics[name] = await one_run(args.groups, args.scale, extra, args.timeout)
    return metrics


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def main(args: argparse.Namespace) -> int:
    """Run and print one JSON line on stdout."""
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False), flush=True)
    return 0
