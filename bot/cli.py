"""The `canhgac` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from bot.exports.dates import since_value
from bot.logs import PREPARATION_LOGGERS, configure_logging
from bot.settings import Settings, SettingsError, load_dotenv_file, load_settings

if TYPE_CHECKING:
    from bot.services.officers import OfficerService
    from bot.services.stats import Period

T = TypeVar("T")
_ANSWERS = ("officer", "area", "export")  # commands whose output is their answer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canhgac", description="Canh Gác: neighbourhood security bot."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="apply migrations, then long-poll (or serve a webhook)")
    run.add_argument("--webhook", action="store_true", help="serve WEBHOOK_URL instead of polling")
    commands.add_parser(
        "sender", help="an extra process sending from the outbox (PostgreSQL deployments)"
    )
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations and load the area list")
    officer = commands.add_parser("officer", help="grant, revoke and list officers")
    officer_commands = officer.add_subparsers(dest="officer_command", required=True)
    add = officer_commands.add_parser("add", help="grant officer rights for a commune or province")
    add.add_argument("--telegram-id", type=int, required=True)
    add.add_argument(
        "--area",
        required=True,
        help="official commune (5 digits) or province code, or VN (the ministry)",
    )
    add.add_argument("--name", default=None)
    remove = officer_commands.add_parser("remove", help="revoke officer rights")
    remove.add_argument("--telegram-id", type=int, required=True)
    officer_commands.add_parser("list", help="list active officers")
    area = commands.add_parser("area", help="look up official area codes")
    area_commands = area.add_subparsers(dest="area_command", required=True)
    search = area_commands.add_parser("search", help="communes matching a name, with their codes")
    search.add_argument("query", help='a name as people write it, e.g. "Đống Đa"')
    search.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    _export_parser(commands)
    return parser


def _export_parser(commands: Any) -> None:
    """`canhgac export reports|alerts|summary`: tips as CSV or GeoJSON, alerts as CAP 1.2, the
    figures per commune as CSV."""
    export = commands.add_parser("export", help="export tips, alerts and figures to files")
    kinds = export.add_subparsers(dest="export_command", required=True)
    reports = kinds.add_parser("reports", help="residents' tips as CSV or GeoJSON")
    reports.add_argument("--format", choices=("csv", "geojson"), required=True)
    reports.add_argument("--area", help="a commune (5 digits) or province (2 digits) code")
    reports.add_argument("--since", type=since_value, help="YYYY-MM-DD or an ISO 8601 time")
    reports.add_argument(
        "--for",
        dest="role",
        choices=("police", "public"),
        default="public",
        help="public (default): no text, no names, positions to ~100 m; police: all but ids",
    )
    reports.add_argument("--output", help="the file to write (default: standard output)")
    reports.add_argument("--language", choices=("vi", "en"), help="CSV header and names")
    alerts = kinds.add_parser("alerts", help="police alerts as CAP 1.2 XML")
    alerts.add_argument("--format", choices=("cap",), required=True)
    alerts.add_argument("--since", type=since_value, help="YYYY-MM-DD or an ISO 8601 time")
    where = alerts.add_mutually_exclusive_group()
    where.add_argument("--output", help="a directory: one file per alert version")
    where.add_argument("--atom", help="an Atom feed file (default: the feed on standard output)")
    alerts.add_argument(
        "--sender", default="canhgac", help="CAP sender, e.g. canhgac@congan.example.vn"
    )
    _summary_parser(kinds)


def _summary_parser(exports: Any) -> None:
    summary = exports.add_parser(
        "summary", help="the figures per commune as CSV (UTF-8 with BOM, for Excel)"
    )
    summary.add_argument("--since", help="first day, YYYY-MM-DD (default: 30 days to --until)")
    summary.add_argument("--until", help="last day, YYYY-MM-DD, included (default: today)")
    summary.add_argument("--area", help="a province (2 digits) or commune code (default: all)")
    summary.add_argument("--output", help="write to this file instead of standard output")


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.exports.commands import export_alerts, export_reports

    if args.export_command == "reports":
        return await export_reports(settings, args)
    return await export_alerts(settings, args)


async def _db_upgrade(settings: Settings) -> None:
    from bot.runner import prepare_database

    engine = await prepare_database(settings)
    await engine.dispose()


async def _sender(settings: Settings) -> None:
    from bot.app import sender_renderers
    from bot.delivery.worker import run_sender
    from bot.runner import bot_api_errors, prepare_database

    engine = await prepare_database(settings)  # the schema must be current before sending
    await engine.dispose()
    with bot_api_errors(settings):  # the token is checked (getMe) when the sender starts
        await run_sender(
            settings.delivery,
            database_url=settings.database_url,
            api_base_url=settings.telegram_api_base_url,
            token=settings.telegram_bot_token,
            renderers=sender_renderers(settings),
        )


async def _officer(settings: Settings, args: argparse.Namespace) -> int:
    from bot.areas import AdminUnits
    from bot.runner import prepare_database
    from bot.services.officers import CLI_ACTOR, OfficerService
    from storage.db import session_factory

    engine = await prepare_database(settings)
    officers = OfficerService(session_factory(engine), AdminUnits.load(), settings.superadmin_ids)
    try:
        if args.officer_command == "add":
            return await _officer_add(officers, args)
        if args.officer_command == "remove":
            if not await officers.revoke(CLI_ACTOR, args.telegram_id):
                print(f"canhgac: {args.telegram_id} is not an officer.", file=sys.stderr)
                return 1
            print(f"Officer {args.telegram_id} can no longer send alerts.")
        else:
            for view in await officers.all():
                print(f"{view.telegram_id}\t{view.name or ''}\t{view.jurisdiction.label}")
    finally:
        await engine.dispose()
    return 0


async def _officer_add(officers: OfficerService, args: argparse.Namespace) -> int:
    from bot.services.officers import CLI_ACTOR, UnknownJurisdiction

    try:
        view = await officers.grant(CLI_ACTOR, args.telegram_id, args.area, args.name)
    except UnknownJurisdiction:
        print(
            f"canhgac: no commune or province has the code {args.area!r} (VN: the whole country).",
            file=sys.stderr,
        )
        return 2
    who = f"Officer {view.telegram_id}" + (f" ({view.name})" if view.name else "")
    where = view.jurisdiction
    reach = {
        "commune": where.label,
        "province": f"every commune of {where.label}",
        "country": "every province of the country",
    }.get(where.kind, where.label)
    print(f"{who} can now send alerts to {reach}.")
    return 0


def _area_search(query: str, limit: int) -> int:
    from bot.areas import AdminUnits

    found = AdminUnits.load().search(query, limit=max(1, limit))  # the search of /dangky
    if not found:
        print(f"canhgac: no commune matches {query!r}.", file=sys.stderr)
        return 1
    for commune in found:
        print(f"{commune.code}\t{commune.label}")
    return 0


def _summary_period(settings: Settings, args: argparse.Namespace) -> Period:
    """[since 00:00, the day after until 00:00) in TIMEZONE; SettingsError for a bad date."""
    from datetime import date, datetime, time, timedelta

    from bot.services.stats import Period

    def day(value: str | None, name: str, default: date) -> date:
        if value is None:
            return default
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise SettingsError(f"{name} must be a date like 2026-11-23, not {value!r}.") from None

    tz = settings.tz
    until = day(args.until, "--until", datetime.now(tz).date())
    since = day(args.since, "--since", until - timedelta(days=29))
    if since > until:
        raise SettingsError("--since must not be after --until.")
    return Period(
        datetime.combine(since, time(), tz), datetime.combine(until + timedelta(days=1), time(), tz)
    )


async def _summary(settings: Settings, period: Period, area: str | None) -> bytes | None:
    """The CSV of the figures per commune; None if `area` is no province or commune code."""
    from bot.areas import AdminUnits
    from bot.runner import prepare_database
    from bot.services.stats import StatisticsService, UnknownScope
    from bot.services.stats_csv import summary_csv
    from storage.db import session_factory

    engine = await prepare_database(settings)
    try:
        sessions = session_factory(engine)
        stats = StatisticsService(sessions, AdminUnits.load(), settings.tips, settings.tz)
        return summary_csv(await stats.communes(period, area))
    except UnknownScope:
        return None
    finally:
        await engine.dispose()


def _export_summary(settings: Settings, args: argparse.Namespace) -> int:
    """`export summary`: the CSV on standard output or in `--output`."""
    data = asyncio.run(_summary(settings, _summary_period(settings, args), args.area))
    if data is None:
        print(f"canhgac: no commune or province has the code {args.area!r}.", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "wb") as out:
            out.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop where it exists (a faster event loop), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a bad setting or usage)."""
    args = _parser().parse_args(argv)
    # PTB's next major version gives RetryAfter.retry_after as a timedelta; opt in now (the
    # limiter reads both forms).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    load_dotenv_file()
    try:
        settings = load_settings(require_token=args.command in ("run", "sender"))
        # An officer or area command answers in one sentence on stdout: no migration lines, and
        # no log line repeating the answer.
        answers = (*PREPARATION_LOGGERS, "bot.services.officers", "bot.exports.service")
        quiet = answers if args.command in _ANSWERS else ()
        configure_logging(
            settings.log_level, settings.telegram_bot_token, settings.webhook_secret, quiet=quiet
        )
        if args.command == "run":
            from bot.runner import run_bot

            run_async(run_bot(settings, webhook=args.webhook))
        elif args.command == "sender":
            run_async(_sender(settings))
        elif args.command == "db":
            asyncio.run(_db_upgrade(settings))
        elif args.command == "officer":
            return asyncio.run(_officer(settings, args))
        elif args.command == "area":
            return _area_search(args.query, args.limit)
        elif args.command == "export":
            if args.export_command == "summary":
                return _export_summary(settings, args)
            return asyncio.run(_export(settings, args))
    except SettingsError as exc:
        print(f"canhgac: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
