"""Run the real `canhgac` command line (`python -m bot`) as a subprocess."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180.0  # seconds: a start that hangs fails the test instead of the whole run


@dataclass(frozen=True)
class CliResult:
    """What one run printed, and its exit status."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Everything the process wrote, stdout and stderr."""
        return self.stdout + self.stderr


async def run_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> CliResult:
    """Run `python -m bot ARGS` with only `env` (plus PATH and PYTHONPATH), in `cwd`.

    Asynchronous, so that a simulator served by the test's own event loop keeps answering.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TIMEOUT):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return CliResult(process.returncode, out.decode(), err.decode())


def closed_port() -> int:
    """A local TCP port nobody listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
