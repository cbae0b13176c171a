"""The delivery engine: a durable outbox drained under one Telegram-aware rate limiter."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.kinds import KindRegistry, OutgoingKind
from bot.delivery.leases import PostgresLeases, RedisLeases
from bot.delivery.limiter import BULK_ARGS, FloodGate, TelegramRateLimiter, bulk_args
from bot.delivery.outbox import delivery_stats, enqueue, request_edit
from bot.delivery.outgoing import (
    Button,
    DeliveryStats,
    Document,
    Outgoing,
    Pin,
    Renderer,
    Target,
)
from bot.delivery.windows import LocalWindows, PostgresWindows, RedisWindows, WindowStore

__all__ = [
    "BULK_ARGS",
    "Button",
    "DeliveryConfig",
    "DeliveryEngine",
    "DeliveryStats",
    "Document",
    "FloodGate",
    "KindRegistry",
    "Outgoing",
    "OutgoingKind",
    "Pin",
    "Renderer",
    "Target",
    "TelegramRateLimiter",
    "build_rate_limiter",
    "bulk_args",
    "delivery_stats",
    "enqueue",
    "request_edit",
    "window_store",
]


def window_store(config: DeliveryConfig, engine: AsyncEngine | None = None) -> WindowStore:
    """Redis when configured, else PostgreSQL when the database is one, else this process."""
    if config.rate_store == "local":
        return LocalWindows()
    lease = {"horizon": config.rate_lease_horizon, "validity": config.rate_lease_validity}
    postgres = engine is not None and engine.dialect.name == "postgresql"
    if config.redis_url and config.rate_leases:
        return RedisLeases(config.redis_url, config.redis_prefix, **lease)
    if config.redis_url:
        return RedisWindows(config.redis_url, config.redis_prefix)
    if postgres and engine is not None:
        return PostgresLeases(engine, **lease) if config.rate_leases else PostgresWindows(engine)
    return LocalWindows()


def build_rate_limiter(
    config: DeliveryConfig, engine: AsyncEngine | None = None
) -> TelegramRateLimiter:
    """The rate limiter for `ApplicationBuilder().rate_limiter(...)` (shared store if any)."""
    return TelegramRateLimiter(FloodGate(config, window_store(config, engine)))
