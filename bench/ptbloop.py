"""Baselines: the plainest PTB broadcast, `await bot.send_message` over the groups.

Each loop runs in a process of its own (`python -m bench.ptbloop`, the job as JSON on stdin,
the result as JSON on stdout), so its CPU time is its own. With `limiter` set, the sends go
through PTB's `AIORateLimiter` all at once (what a PTB bot with that limiter does to
broadcast); without, one after the other and unthrottled.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The same event loop as the bot (uvloop when installed): the comparison is PTB's own cost.
from bot.cli import run_async

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LoopJob:
    """What one loop sends where; `limiter` holds `AIORateLimiter` arguments, None for none."""

    base_url: str
    token: str
    chat_ids: list[int]
    text: str
    limiter: dict[str, Any] | None = None


@dataclass
class LoopResult:
    """Sends the server accepted, failures by exception type, CPU and wall seconds."""

    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0
    wall_s: float = 0.0


async def run_loop(
    job: LoopJob,
    timeout: float = 300.0,  # noqa: ASYNC109
) -> LoopResult:
    """Run `job` in a fresh interpreter and return what it reports."""
    path = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "PTB_TIMEDELTA": "1",
        "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.ptbloop",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, _ = await asyncio.wait_for(
            process.communicate(json.dumps(asdict(job)).encode()), timeout
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"bench.ptbloop exited with {process.returncode}")
    return LoopResult(**json.loads(out))


def _bot(job: LoopJob) -> Any:
    from telegram import Bot
    from telegram.ext import AIORateLimiter, ExtBot
    from telegram.request import HTTPXRequest

    if job.limiter is None:
        return Bot(job.token, base_url=job.base_url)
    # The bot's own connection pool (bot/app.py), so only the limiter differs.
    request = HTTPXRequest(connection_pool_size=32, pool_timeout=30.0)
    return ExtBot(
        job.token,
        base_url=job.base_url,
        request=request,
        rate_limiter=AIORateLimiter(**job.limiter),
    )


async def _send_all(job: LoopJob) -> LoopResult:
    from telegram.error import TelegramError

    result, errors = LoopResult(), Counter[str]()
    bot = _bot(job)

    async def send(chat_id: int) -> None:
        try:
            await bot.send_message(chat_id, job.text)
            result.sent += 1
        except TelegramError as exc:
            errors[type(exc).__name__] += 1

    async with bot:  # initialize (getMe) before the measurement
        began_cpu, began = time.process_time(), time.monotonic()
        if job.limiter is None:
            for chat_id in job.chat_ids:
                await send(chat_id)
        else:
            await asyncio.gather(*(send(chat_id) for chat_id in job.chat_ids))
        result.cpu_s = time.process_time() - began_cpu
        result.wall_s = time.monotonic() - began
    result.errors = dict(errors)
    return result


def main() -> int:
    """Read the job from stdin, send, print the result."""
    job = LoopJob(**json.loads(sys.stdin.read()))
    result = run_async(_send_all(job))
    print(json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
