"""`canhgac export summary`: the figures per commune as CSV that Excel opens in Vietnamese."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.services.stats_csv import BOM, COLUMNS
from storage.db import create_engine, session_factory
from storage.queries.areas import commune_area
from tests.e2e.test_cli import Cli, cli, restore_logging, sqlite_env  # noqa: F401 (fixtures)
from tests.support.seeding import delivered_copy, sent_alert, subscribed_group, tip

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DONG_DA = "00235"
SENT = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


async def _seed(url: str) -> None:
    """One group of Đống Đa, one alert it acknowledged 12 minutes after delivery, three tips
    (one valuable and resolved, one overdue)."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        commune = await commune_area(session, DONG_DA)
        assert commune is not None
        since = SENT - timedelta(days=60)
        chat = await subscribed_group(session, -4_100_000_001, "Tổ 1", commune, since)
        alert = await sent_alert(
            session, "cli", SENT, commune, issuer="Công an Phường Đống Đa", issuer_code=DONG_DA
        )
        delivered_copy(session, chat, alert, SENT, message_id=7, acknowledged_after=12)
        for n, (state, valuable) in enumerate(
            (("resolved", True), ("new", False), ("acknowledged", False))
        ):
            created = SENT + timedelta(hours=n)
            tip(
                session,
                f"cli{n}",
                DONG_DA,
                "01",
                created,
                state=state,
                valuable=valuable,
                acknowledged_at=created + timedelta(hours=1) if state != "new" else None,
                closed_at=created + timedelta(hours=2) if state == "resolved" else None,
            )
    await engine.dispose()


def rows_of(data: str) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data.removeprefix(BOM), newline="")))


def test_the_summary_csv_starts_with_the_bom_and_parses(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    env = sqlite_env(tmp_path)
    assert cli(["db", "upgrade"], env, tmp_path).returncode == 0
    asyncio.run(_seed(env["DATABASE_URL"].replace("sqlite://", "sqlite+aiosqlite://")))
    week = ["--since", "2026-11-23", "--until", "2026-11-29"]

    result = cli(["export", "summary", *week, "--area", DONG_DA], env, tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    rows = rows_of(result.stdout)
    assert rows[0] == list(COLUMNS)
    # The tip left new is overdue: nobody took it up within 24 hours, before the week ended.
    assert rows[1:] == [
        [
            DONG_DA,
            "Phường Đống Đa",
            "Thành phố Hà Nội",
            "1",
            "1",
            "1.000",
            "12.0",
            "3",
            "1",
            "1",
            "1",
        ]
    ]
    assert "\r\n" in result.stdout  # the line ends Excel expects

    city = rows_of(cli(["export", "summary", *week, "--area", "01"], env, tmp_path).stdout)
    assert len(city) == 1 + 126 and city[1][0] < city[-1][0]  # by code
    quiet = [r for r in city[1:] if r[0] != DONG_DA]
    assert all(r[3:] == ["0", "0", "", "", "0", "0", "0", "0"] for r in quiet)

    target = tmp_path / "summary.csv"
    written = cli(["export", "summary", *week, "--output", str(target)], env, tmp_path)
    assert (written.returncode, written.output) == (0, "")
    everything = rows_of(target.read_bytes().decode("utf-8"))
    assert len(everything) == 1 + 3321
    earlier = cli(
        ["export", "summary", "--since", "2026-10-01", "--until", "2026-10-31", "--area", DONG_DA],
        env,
        tmp_path,
    )
    assert rows_of(earlier.stdout)[1][3:] == ["1", "0", "", "", "0", "0", "0", "0"]


def test_bad_dates_and_areas_are_refused_in_one_sentence(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    env = sqlite_env(tmp_path)
    for args, error in (
        (["--since", "23/11/2026"], "canhgac: --since must be a date like 2026-11-23"),
        (["--since", "2026-11-30", "--until", "2026-11-01"], "canhgac: --since must not be after"),
        (["--area", "99999"], "canhgac: no commune or province has the code '99999'."),
    ):
        result = cli(["export", "summary", *args], env, tmp_path)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith(error) and len(result.stderr.splitlines()) == 1
