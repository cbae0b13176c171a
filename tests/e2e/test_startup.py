"""A failed start is one sentence on stderr and exit status 2: no traceback, no token, no
password. The real `canhgac` command runs as a subprocess, against the simulator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator import BotApiSimulator
from tests.support.cli import closed_port, run_cli

WRONG_TOKEN = "654321:WRONG-secret_Token42"
PASSWORD = "S3cret-db-pw"


@dataclass(frozen=True)
class FailedStart:
    """A way to start the bot that cannot work, and the sentence it must end with."""

    args: list[str]
    env: dict[str, str]
    sentence: str  # the whole sentence, or its start when it ends in the driver's own words
    secrets: tuple[str, ...]  # what must appear nowhere in the output


def failed_start(name: str, sim: BotApiSimulator, database_url: str, tmp: Path) -> FailedStart:
    """The case called `name`, pointed at this test's simulator and database."""
    base = {
        "TELEGRAM_BOT_TOKEN": sim.token,
        "TELEGRAM_API_BASE_URL": sim.base_url,
        "DATABASE_URL": database_url,
    }
    token_secrets = (sim.token, sim.token.split(":")[1])
    wrong = (WRONG_TOKEN, WRONG_TOKEN.split(":")[1])
    rejected = (
        f"canhgac: TELEGRAM_BOT_TOKEN was rejected by the Bot API at {sim.base_url}: "
        "check the token @BotFather gave you."
    )
    port = closed_port()
    cases = {
        "token rejected": FailedStart(
            ["run"], {**base, "TELEGRAM_BOT_TOKEN": WRONG_TOKEN}, rejected, wrong
        ),
        "token rejected (sender)": FailedStart(
            ["sender"], {**base, "TELEGRAM_BOT_TOKEN": WRONG_TOKEN}, rejected, wrong
        ),
        "Bot API unreachable": FailedStart(
            ["run"],
            {**base, "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot"},
            f"canhgac: cannot reach TELEGRAM_API_BASE_URL http://127.0.0.1:{port}/bot: "
            "is the local Bot API server or the simulator running?",
            token_secrets,
        ),
        "webhook not HTTPS": FailedStart(
            ["run", "--webhook"],
            {
                **base,
                "WEBHOOK_URL": "http://bot.example.org/hook",
                "WEBHOOK_SECRET": "hook-secret_42",
                "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
            },
            "canhgac: WEBHOOK_URL http://bot.example.org/hook was refused by Telegram: "
            "Bad webhook: an https url must be provided for webhook.",
            (*token_secrets, "hook-secret_42"),
        ),
        "database unreachable": FailedStart(
            ["run"],
            {**base, "DATABASE_URL": f"postgres://canhgac:{PASSWORD}@127.0.0.1:{port}/canhgac"},
            "canhgac: cannot open DATABASE_URL "
            f"postgresql+asyncpg://canhgac:***@127.0.0.1:{port}/canhgac: ",
            (*token_secrets, PASSWORD),
        ),
        "database malformed": FailedStart(
            ["run"],
            {**base, "DATABASE_URL": f"postgres://canhgac:{PASSWORD}@db:port/canhgac"},
            "canhgac: DATABASE_URL is malformed: 'postgres://canhgac:***@db:port/canhgac' is "
            "not a URL such as sqlite:///canhgac.sqlite3 or "
            "postgresql://user:password@host:5432/name.",
            (*token_secrets, PASSWORD),
        ),
        "SQLite file in a missing folder": FailedStart(
            ["run"],
            {**base, "DATABASE_URL": f"sqlite:///{tmp}/missing/canhgac.sqlite3"},
            f"canhgac: cannot open DATABASE_URL sqlite+aiosqlite:///{tmp}/missing/"
            "canhgac.sqlite3: the folder "
            f"{tmp}/missing does not exist.",
            token_secrets,
        ),
        "SQLite file that is not a database": FailedStart(
            ["run"],
            {**base, "DATABASE_URL": f"sqlite:///{_not_a_database(tmp)}"},
            f"canhgac: cannot open DATABASE_URL sqlite+aiosqlite:///{tmp}/notes.txt: "
            "file is not a database.",
            token_secrets,
        ),
    }
    return cases[name]


def _not_a_database(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("Tổ dân phố số 5: họp lúc 19 giờ.\n" * 200)
    return path


ALL_CASES = [
    "token rejected",
    "token rejected (sender)",
    "Bot API unreachable",
    "webhook not HTTPS",
    "database unreachable",
    "database malformed",
    "SQLite file in a missing folder",
    "SQLite file that is not a database",
]


@pytest.mark.parametrize("name", ALL_CASES)
async def test_a_failed_start_is_one_sentence_and_exit_status_2(
    name: str, sim: BotApiSimulator, database_url: str, tmp_path: Path
) -> None:
    case = failed_start(name, sim, database_url, tmp_path)
    result = await run_cli(case.args, case.env, tmp_path)
    assert result.returncode == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(case.sentence) and lines[0].endswith((".", "?")), lines[0]
    assert not any(secret in result.output for secret in case.secrets)
    assert sim.webhook is None and sim.stats.sent == []
    assert sim.violations == []


@pytest.mark.parametrize("name", ["token rejected", "webhook not HTTPS"])
async def test_no_log_level_shows_the_token_of_a_failed_start(
    name: str, sim: BotApiSimulator, database_url: str, tmp_path: Path
) -> None:
    case = failed_start(name, sim, database_url, tmp_path)
    result = await run_cli(case.args, {**case.env, "LOG_LEVEL": "DEBUG"}, tmp_path)
    assert result.returncode == 2
    # PTB's and httpx's loggers stay at INFO even at DEBUG (bot/logs.py: they would log every
    # call's parameters, and a private chat's id is a person): whatever is printed is scanned.
    for secret in case.secrets:
        assert secret not in result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1].startswith(case.sentence)
