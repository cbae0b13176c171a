"""An extra sender process: `python -m bot.delivery.worker --database-url ... --api-base-url ...`.

It shares the outbox (claims with SKIP LOCKED) and the rate limit (Redis, or the PostgreSQL
table) with the bot process, so N senders together stay within Telegram's limits.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.delivery import build_rate_limiter
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.kinds import KindRegistry
from bot.settings import file_base_url
from storage.db import SessionFactory, create_engine, session_factory

log = logging.getLogger(__name__)
# sessions -> the registry of kinds (`bot.app.sender_renderers` in production).
KindsFactory = Callable[[SessionFactory], KindRegistry]


def make_bot(
    token: str, api_base_url: str, config: DeliveryConfig, engine: AsyncEngine | None
) -> ExtBot[Any]:
    """An ExtBot under the shared rate limiter, with a connection pool sized for bulk sending."""
    pool = 32  # ample: the limiter keeps only a few requests on the wire at once
    return ExtBot(
        token,
        base_url=api_base_url,
        base_file_url=file_base_url(api_base_url),
        request=HTTPXRequest(connection_pool_size=pool, pool_timeout=10.0, read_timeout=15.0),
        rate_limiter=build_rate_limiter(config, engine),
    )


def load_factory(path: str) -> KindsFactory:
    """`package.module:function` -> the function."""
    module, _, name = path.partition(":")
    factory: KindsFactory = getattr(importlib.import_module(module), name)
    return factory


async def run_sender(
    config: DeliveryConfig,
    *,
    database_url: str,
    api_base_url: str,
    token: str,
    renderers: KindsFactory,
    schema: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Send from the outbox until `stop` is set (default: SIGINT or SIGTERM)."""
    stop = stop or _signal_event()
    engine = create_engine(database_url, schema=schema)
    bot = make_bot(token, api_base_url, config, engine)
    sessions = session_factory(engine)
    sender = DeliveryEngine(sessions, bot, config, kinds=renderers(sessions))
    try:
        async with bot:
            await sender.start()
            settle_heap()
            log.info("sender %s running", sender.owner)
            await stop.wait()
            await sender.stop()
            log.info("sender %s stopped: delivered=%d", sender.owner, sender.delivered)
    finally:
        await engine.dispose()


def settle_heap() -> None:
    """What start-up made lives as long as the process: full collections stop walking it."""
    gc.collect()
    gc.freeze()


def _signal_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bot.delivery.worker", description=__doc__)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    p.add_argument("--api-base-url", default="https://api.telegram.org/bot")
    p.add_argument("--token-env", default="TELEGRAM_BOT_TOKEN")
    p.add_argument(
        "--renderers", required=True, help="module:function(sessions) returning a KindRegistry"
    )
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None)
    p.add_argument("--redis-prefix", default="canhgac:rl")
    p.add_argument("--schema", default=None, help="PostgreSQL search_path (tests)")
    p.add_argument("--global-per-second", type=int, default=30)
    p.add_argument("--group-per-minute", type=int, default=20)
    p.add_argument("--private-per-second", type=int, default=1)
    p.add_argument("--paid-broadcast", action="store_true")
    p.add_argument("--lease-seconds", type=float, default=120.0)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--max-in-flight", type=int, default=200)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    token = os.environ.get(args.token_env, "")
    if not token or not args.database_url:
        raise SystemExit(f"{args.token_env} and --database-url (or DATABASE_URL) are required")
    config = DeliveryConfig(
        global_per_second=args.global_per_second,
        group_per_minute=args.group_per_minute,
        private_per_second=args.private_per_second,
        paid_broadcast=args.paid_broadcast,
        lease_seconds=args.lease_seconds,
        batch_size=args.batch_size,
        max_in_flight=args.max_in_flight,
        redis_url=args.redis_url,
        redis_prefix=args.redis_prefix,
    )
    asyncio.run(
        run_sender(
            config,
            database_url=args.database_url,
            api_base_url=args.api_base_url,
            token=token,
            renderers=load_factory(args.renderers),
            schema=args.schema,
        )
    )


if __name__ == "__main__":
    main()
