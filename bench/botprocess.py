"""The bot as a deployment runs it: `python -m bot run` in its own process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Protocol

from simulator import BotApiSimulator
from simulator.remote import RemoteSimulator, terminate

REPO = Path(__file__).resolve().parent.parent
# Variables the bot reads that must come from the benchmark, not from the caller's shell.
OWN = ("TELEGRAM_", "DATABASE_URL", "DELIVERY_", "REDIS_URL", "WEBHOOK_", "SUPERADMIN_IDS")


class Endpoint(Protocol):
    """Where the bot finds the simulator: in this process or another."""

    @property
    def token(self) -> str: ...

    @property
    def base_url(self) -> str: ...


def bot_environment(
    sim: Endpoint,
    database_url: str,
    scale: int,
    rate_store: str = "auto",
    redis_url: str | None = None,
    paid_broadcast: bool = False,
) -> dict[str, str]:
    """The environment of `canhgac run` against the simulator with Telegram's limits × `scale`
    (with `paid_broadcast`, bulk sends use Telegram's paid broadcast: 1,000 msg/s)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN)}
    path = env.get("PYTHONPATH")
    env.update(
        PYTHONPATH=f"{REPO}{os.pathsep}{path}" if path else str(REPO),
        TELEGRAM_BOT_TOKEN=sim.token,
        TELEGRAM_API_BASE_URL=sim.base_url,
        DATABASE_URL=database_url,
        DELIVERY_GLOBAL_PER_SECOND=str(30 * scale),
        DELIVERY_GROUP_PER_MINUTE=str(20 * scale),
        DELIVERY_PRIVATE_PER_SECOND=str(1 * scale),
        DELIVERY_PAID_BROADCAST="true" if paid_broadcast else "false",
        DELIVERY_RATE_STORE=rate_store,
        REDIS_URL=redis_url or "",
        LOG_LEVEL="WARNING",
    )
    return env


class BotProcess:
    """Starts `python -m bot run` (or `sender`: `canhgac sender`), waits until it polls (a
    sender: until it checked its token), stops it with SIGTERM."""

    def __init__(self, env: dict[str, str], command: str = "run") -> None:
        self.env = env
        self.command = command
        self.process: asyncio.subprocess.Process | None = None
        self._dir = tempfile.TemporaryDirectory(prefix=f"canhgac-{command}-")
        self.log_path = Path(self._dir.name) / f"{command}.log"

    async def _ready(self, sim: BotApiSimulator | RemoteSimulator, checks_before: int) -> bool:
        """The bot: it has long-polled; a sender: it has checked its token (getMe)."""
        calls = await _calls(sim)
        if self.command == "run":
            return calls.get("getUpdates", 0) > 0
        return calls.get("getMe", 0) > checks_before

    async def start(
        self,
        sim: BotApiSimulator | RemoteSimulator,
        timeout: float,  # noqa: ASYNC109
    ) -> None:
        """Launch the process (cwd: an empty directory, so no stray .env is read) and wait for
        the bot to publish its commands and long-poll, or the sender to check its token."""
        log = self.log_path.open("wb")
        checks_before = (await _calls(sim)).get("getMe", 0)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            self.command,
            cwd=self._dir.name,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        print(f"{self.command} process: pid {self.process.pid}", file=sys.stderr, flush=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self._ready(sim, checks_before):
            if self.process.returncode is not None:
                raise RuntimeError(f"`{self.command}` exited at start:\n{self.log_tail()}")
            if loop.time() > deadline:
                raise TimeoutError(f"`{self.command}` not ready in {timeout}s:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 30.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM, wait for a clean exit (kill after `timeout`); the exit status."""
        return await terminate(self.process, timeout)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the bot's output (warnings and errors only at LOG_LEVEL=WARNING)."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def cleanup(self) -> None:
        self._dir.cleanup()


async def _calls(sim: BotApiSimulator | RemoteSimulator) -> dict[str, int]:
    """How often each Bot API method has been called so far."""
    if isinstance(sim, BotApiSimulator):
        return dict(sim.stats.calls)
    return dict((await sim.stats())["calls"])
