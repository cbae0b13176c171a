"""`canhgac export`: tips as CSV or GeoJSON and alerts as CAP 1.2, from a real SQLite file, with
the data on standard output or in files and one closing sentence on standard error."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from pathlib import Path

import pytest
from lxml import etree
from sqlmodel import select

from bot.areas import AdminUnits
from bot.exports.reports import BOM
from storage.db import create_engine, session_factory
from storage.models import AuditEntry
from tests.e2e.test_cli import Cli, cli, restore_logging, sqlite_env
from tests.storage.test_exports import (
    DONG_DA,
    NAME,
    PLAN,
    REPORTER,
    SCHEMA,
    add_tips,
    drill_corrected_and_ended,
)
from tests.support.geojson import rfc7946_problems

__all__ = ["cli", "restore_logging"]  # the fixtures, used by name
ATOM = "{http://www.w3.org/2005/Atom}"


async def _fill(url: str, units: AdminUnits) -> list[int]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        ids = await add_tips(sessions, PLAN)
        await drill_corrected_and_ended(sessions, units)
    finally:
        await engine.dispose()
    return ids


@pytest.fixture
def database(database_url: str, units: AdminUnits) -> tuple[dict[str, str], list[int]]:
    """A migrated SQLite file with four tips (two named) and a drill corrected and ended."""
    return {"DATABASE_URL": database_url}, asyncio.run(_fill(database_url, units))


def test_public_csv_of_one_commune_to_a_file(
    cli: Cli, tmp_path: Path, database: tuple[dict[str, str], list[int]]
) -> None:
    env, ids = database
    args = ["export", "reports", "--format", "csv", "--area", DONG_DA, "--output", "t.csv"]
    result = cli([*args, "--language", "en"], env, tmp_path)
    assert result.returncode == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "Exported 2 tips of Phường Đống Đa — Thành phố Hà Nội (public).\n"
    data = (tmp_path / "t.csv").read_bytes()
    assert data.startswith(BOM.encode("utf-8"))
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [int(line["ID"]) for line in table] == ids[:2]
    assert (
        "Text" not in table[0] and NAME not in data.decode() and str(REPORTER) not in data.decode()
    )
    assert table[0]["Latitude"] == "21.018"


def test_police_geojson_to_standard_output(
    cli: Cli, tmp_path: Path, database: tuple[dict[str, str], list[int]]
) -> None:
    env, ids = database
    result = cli(["export", "reports", "--format", "geojson", "--for", "police"], env, tmp_path)
    assert result.returncode == 0, result.output
    document = json.loads(result.stdout)
    assert rfc7946_problems(document) == []
    assert [f["id"] for f in document["features"]] == ids
    names = [f["properties"]["reporter_name"] for f in document["features"]]
    assert names == [NAME, None, None, NAME]  # named tips only
    assert str(REPORTER) not in result.stdout
    assert result.stderr == "Exported 4 tips (police).\n"  # no progress bar: not a terminal


@pytest.mark.parametrize(
    ("since", "expected"),
    [("2026-11-22", [2, 3]), ("2026-11-22T07:59", [2, 3]), ("2026-11-22T08:01+07:00", [3])],
)
def test_since_a_day_or_a_moment_in_the_bots_time_zone(
    cli: Cli,
    tmp_path: Path,
    database: tuple[dict[str, str], list[int]],
    since: str,
    expected: list[int],
) -> None:
    env, ids = database  # the tips were sent at 08:00 in Hà Nội, one a day from 20 November
    args = ["export", "reports", "--format", "geojson", "--since", since]
    result = cli(args, env, tmp_path)
    assert [f["id"] for f in json.loads(result.stdout)["features"]] == [ids[i] for i in expected]


class Terminal(io.StringIO):
    """Standard error as a terminal: where the progress bar is drawn."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_a_progress_bar(
    cli: Cli,
    tmp_path: Path,
    database: tuple[dict[str, str], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, _ = database
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    result = cli(["export", "reports", "--format", "csv", "--output", "t.csv"], env, tmp_path)
    assert result.returncode == 0
    drawn = terminal.getvalue()
    assert "4/4" in drawn and "tip" in drawn
    assert drawn.rstrip().endswith("Exported 4 tips (public).")


def test_alerts_as_one_cap_file_per_version(
    cli: Cli, tmp_path: Path, database: tuple[dict[str, str], list[int]]
) -> None:
    env, _ = database
    args = ["export", "alerts", "--format", "cap", "--output", "cap", "--sender", "cg@example.vn"]
    result = cli(args, env, tmp_path)
    assert result.returncode == 0, result.output
    assert result.stderr == "Exported 3 CAP messages to cap.\n"
    files = sorted((tmp_path / "cap").iterdir())
    assert [f.name for f in files] == ["alert-1-v1.xml", "alert-1-v2.xml", "alert-1-v3.xml"]
    kinds = []
    for file in files:
        alert = etree.parse(str(file))
        assert SCHEMA.validate(alert), SCHEMA.error_log
        kinds.append(alert.findtext("{urn:oasis:names:tc:emergency:cap:1.2}msgType"))
    assert kinds == ["Alert", "Update", "Cancel"]


@pytest.mark.parametrize("atom", [None, "feed.xml"], ids=["stdout", "file"])
def test_alerts_as_an_atom_feed(
    cli: Cli, tmp_path: Path, database: tuple[dict[str, str], list[int]], atom: str | None
) -> None:
    env, _ = database
    args = ["export", "alerts", "--format", "cap", *(["--atom", atom] if atom else [])]
    result = cli(args, env, tmp_path)
    assert result.returncode == 0, result.output
    data = (tmp_path / atom).read_bytes() if atom else result.stdout.encode()
    feed = etree.fromstring(data)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry in entries:
        (alert,) = list(entry.find(f"{ATOM}content"))  # type: ignore[arg-type]
        assert SCHEMA.validate(etree.fromstring(etree.tostring(alert))), SCHEMA.error_log
    assert result.stderr == f"Exported 3 CAP messages as an Atom feed to {atom or 'stdout'}.\n"


def test_every_export_is_audited(
    cli: Cli, tmp_path: Path, database: tuple[dict[str, str], list[int]]
) -> None:
    env, _ = database
    cli(["export", "reports", "--format", "csv", "--output", "t.csv"], env, tmp_path)
    cli(["export", "alerts", "--format", "cap", "--atom", "f.xml"], env, tmp_path)

    async def audited() -> list[tuple[str, int | None, str]]:
        engine = create_engine(env["DATABASE_URL"])
        try:
            async with session_factory(engine)() as session:
                rows = await session.exec(select(AuditEntry))
                return [(r.action, r.recipients, r.detail) for r in rows if "export" in r.action]
        finally:
            await engine.dispose()

    assert asyncio.run(audited()) == [
        ("tips_exported", 4, "csv/public"),
        ("alerts_exported", 3, "cap"),
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["reports", "--format", "csv", "--area", "99999"], "no commune or province has the code"),
        (["alerts", "--format", "cap", "--sender", "canh gac"], "--sender may not contain"),
    ],
)
def test_bad_arguments_are_refused_in_one_sentence(
    cli: Cli, tmp_path: Path, args: list[str], error: str
) -> None:
    result = cli(["export", *args], sqlite_env(tmp_path), tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("canhgac: ") and error in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["reports", "--format", "xlsx"],
        ["reports", "--format", "csv", "--since", "hôm qua"],
        ["reports", "--format", "csv", "--for", "press"],
        ["alerts", "--format", "cap", "--output", "d", "--atom", "f.xml"],
    ],
)
def test_malformed_options_are_usage_errors(cli: Cli, tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli(["export", *args], sqlite_env(tmp_path), tmp_path)
    assert stopped.value.code == 2
