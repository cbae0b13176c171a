"""The operator's commands: each says what it did in one sentence, without migration chatter.

`canhgac` runs in this process (`bot.cli.main`, what `python -m bot` calls) on a fresh SQLite
file; tests/e2e/test_startup.py runs it as a subprocess.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli import main
from storage.migrate import MIGRATIONS_DIR
from tests.support.cli import CliResult, run_cli

REVISIONS = len(list((MIGRATIONS_DIR / "versions").glob("0*.py")))
Cli = Callable[..., CliResult]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`main` configures logging for the process: put the test's configuration back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:], root.level = handlers, level
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))


@pytest.fixture
def cli(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> Cli:
    """Run `canhgac ARGS` in this process with `env` set, in a folder; what it printed."""

    def run(args: list[str], env: dict[str, str], cwd: Path) -> CliResult:
        monkeypatch.chdir(cwd)  # no .env there
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capfd.readouterr()
        status = main(args)
        out, err = capfd.readouterr()
        return CliResult(status, out, err)

    return run


def sqlite_env(folder: Path) -> dict[str, str]:
    """A fresh SQLite file, written as people write the URL."""
    return {"DATABASE_URL": f"sqlite:///{folder / 'canhgac.sqlite3'}"}


def test_officer_commands_say_what_they_did_on_a_fresh_database(cli: Cli, tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    added = cli(["officer", "add", "--telegram-id", "5000000001", "--area", "00235"], env, tmp_path)
    assert added.returncode == 0, added.output
    assert added.stdout == (
        "Officer 5000000001 can now send alerts to Phường Đống Đa — Thành phố Hà Nội.\n"
    )
    assert added.stderr == ""  # the migrations and the area list were applied quietly
    province = cli(
        ["officer", "add", "--telegram-id", "5000000002", "--area", "25", "--name", "Đại úy B"],
        env,
        tmp_path,
    )
    assert province.stdout == (
        "Officer 5000000002 (Đại úy B) can now send alerts to every commune of Tỉnh Phú Thọ.\n"
    )
    removed = cli(["officer", "remove", "--telegram-id", "5000000002"], env, tmp_path)
    assert (removed.returncode, removed.output) == (
        0,
        "Officer 5000000002 can no longer send alerts.\n",
    )
    listed = cli(["officer", "list"], env, tmp_path)
    assert listed.output == "5000000001\t\tPhường Đống Đa — Thành phố Hà Nội\n"


@pytest.mark.parametrize(
    ("args", "status", "error"),
    [
        (["add", "--telegram-id", "5", "--area", "99999"], 2, "no commune or province has"),
        (["remove", "--telegram-id", "5"], 1, "5 is not an officer."),
    ],
)
def test_officer_commands_refuse_in_one_sentence(
    cli: Cli, tmp_path: Path, args: list[str], status: int, error: str
) -> None:
    result = cli(["officer", *args], sqlite_env(tmp_path), tmp_path)
    assert result.returncode == status and result.stdout == ""
    assert result.stderr.startswith("canhgac: ") and error in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_db_upgrade_says_one_line_per_applied_migration(cli: Cli, tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    first = cli(["db", "upgrade"], env, tmp_path)
    assert first.returncode == 0 and first.stdout == ""
    lines = first.stderr.splitlines()
    applied = [line for line in lines if " INFO storage.migrate: applied migration " in line]
    assert len(applied) == REVISIONS
    assert re.search(r"applied migration 0001: \S", applied[0])
    assert not any("alembic" in line for line in lines)
    assert len(lines) == REVISIONS + 1 and "administrative units synchronised" in lines[-1]
    again = cli(["db", "upgrade"], env, tmp_path)
    assert (again.returncode, again.output) == (0, "")  # nothing to do, nothing said


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Đống Đa", "00235\tPhường Đống Đa — Thành phố Hà Nội"),
        ("dong da", "00235\tPhường Đống Đa — Thành phố Hà Nội"),
        ("phuong dong da ha noi", "00235\tPhường Đống Đa — Thành phố Hà Nội"),
        ("Cẩm Giàng", "10903\tXã Cẩm Giàng — Thành phố Hải Phòng"),
    ],
)
def test_area_search_prints_codes_one_per_line(
    cli: Cli, tmp_path: Path, query: str, first: str
) -> None:
    result = cli(["area", "search", query, "--limit", "5"], {}, tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == first and 1 <= len(lines) <= 5
    assert all(re.fullmatch(r"\d{5}\t\S.* — \S.*", line) for line in lines)
    assert not (tmp_path / "canhgac.sqlite3").exists()  # a lookup: no database needed


@pytest.mark.parametrize("query", ["zzzqqq xyzzy", "x"])
def test_area_search_without_a_match_exits_1_with_a_sentence(
    cli: Cli, tmp_path: Path, query: str
) -> None:
    result = cli(["area", "search", query], {}, tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"canhgac: no commune matches {query!r}.\n"


async def test_area_search_as_a_command(tmp_path: Path) -> None:
    found = await run_cli(["area", "search", "Đống Đa"], {}, tmp_path)
    assert found.returncode == 0 and found.stderr == ""
    assert found.stdout.startswith("00235\tPhường Đống Đa — Thành phố Hà Nội\n")
    none = await run_cli(["area", "search", "zzzqqq xyzzy"], {}, tmp_path)
    assert (none.returncode, none.output) == (1, "canhgac: no commune matches 'zzzqqq xyzzy'.\n")
