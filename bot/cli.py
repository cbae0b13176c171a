"""The `canhgac` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_dotenv_file, load_settings

T = TypeVar("T")


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
    add.add_argument("--area", required=True, help="official commune (5 digits) or province code")
    add.add_argument("--name", default=None)
    remove = officer_commands.add_parser("remove", help="revoke officer rights")
    remove.add_argument("--telegram-id", type=int, required=True)
    officer_commands.add_parser("list", help="list active officers")
    return parser


async def _db_upgrade(settings: Settings) -> None:
    from bot.runner import prepare_database

    engine = await prepare_database(settings)
    await engine.dispose()


async def _sender(settings: Settings) -> None:
    from bot.app import sender_renderers
    from bot.delivery.worker import run_sender
    from bot.runner import prepare_database

    engine = await prepare_database(settings)  # the schema must be current before sending
    await engine.dispose()
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
    from bot.services.officers import CLI_ACTOR, OfficerService, UnknownJurisdiction
    from storage.db import session_factory

    engine = await prepare_database(settings)
    officers = OfficerService(session_factory(engine), AdminUnits.load(), settings.superadmin_ids)
    try:
        if args.officer_command == "add":
            try:
                view = await officers.grant(CLI_ACTOR, args.telegram_id, args.area, args.name)
            except UnknownJurisdiction:
                print(
                    f"canhgac: no commune or province has the code {args.area!r}.", file=sys.stderr
                )
                return 2
            print(f"{view.telegram_id}\t{view.name or ''}\t{view.jurisdiction.label}")
        elif args.officer_command == "remove":
            if not await officers.revoke(CLI_ACTOR, args.telegram_id):
                print(f"canhgac: {args.telegram_id} is not an officer.", file=sys.stderr)
                return 1
        else:
            for view in await officers.all():
                print(f"{view.telegram_id}\t{view.name or ''}\t{view.jurisdiction.label}")
    finally:
        await engine.dispose()
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
        configure_logging(settings.log_level, settings.telegram_bot_token, settings.webhook_secret)
        if args.command == "run":
            from bot.runner import run_bot

            run_async(run_bot(settings, webhook=args.webhook))
        elif args.command == "sender":
            run_async(_sender(settings))
        elif args.command == "db":
            asyncio.run(_db_upgrade(settings))
        elif args.command == "officer":
            return asyncio.run(_officer(settings, args))
    except SettingsError as exc:
        print(f"canhgac: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
