"""The `canhgac` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_dotenv_file, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canhgac", description="Canh Gác: neighbourhood security bot."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="apply migrations, then long-poll (or serve a webhook)")
    run.add_argument("--webhook", action="store_true", help="serve WEBHOOK_URL instead of polling")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations and load the area list")
    return parser


async def _db_upgrade(settings: Settings) -> None:
    from bot.runner import prepare_database

    engine = await prepare_database(settings)
    await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a bad setting or usage)."""
    args = _parser().parse_args(argv)
    load_dotenv_file()
    try:
        settings = load_settings(require_token=args.command == "run")
        configure_logging(settings.log_level, settings.telegram_bot_token, settings.webhook_secret)
        if args.command == "run":
            from bot.runner import run_bot

            asyncio.run(run_bot(settings, webhook=args.webhook))
        elif args.command == "db":
            asyncio.run(_db_upgrade(settings))
    except SettingsError as exc:
        print(f"canhgac: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
