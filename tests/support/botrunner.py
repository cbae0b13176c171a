"""Run the real PTB Application against the Bot API simulator, and restart it at will."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application, start_application, stop_application
from bot.areas import AdminUnits
from bot.container import Services
from bot.delivery import DeliveryConfig
from bot.settings import Settings
from simulator import BotApiSimulator
from storage.db import create_engine


def settings_for(sim: BotApiSimulator, database_url: str, **overrides: object) -> Settings:
    """Settings pointing the bot at the simulator."""
    base = Settings(
        telegram_bot_token=sim.token,
        telegram_api_base_url=sim.base_url,
        database_url=database_url,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass
class BotRunner:
    """One bot process' worth of state: engine + Application, polling the simulator."""

    settings: Settings
    units: AdminUnits
    delivery: DeliveryConfig | None = None
    engine: AsyncEngine | None = None
    app: Application | None = None  # type: ignore[type-arg]
    restarts: int = field(default=0)

    @property
    def services(self) -> Services:
        """The running bot's services."""
        assert self.app is not None
        found: Services = self.app.bot_data["services"]
        return found

    async def start(self) -> Application:  # type: ignore[type-arg]
        """Build and start the Application, polling with short long-poll timeouts."""
        self.engine = create_engine(self.settings.database_url)
        self.app = build_application(
            self.settings, self.engine, units=self.units, delivery_config=self.delivery
        )
        await self.app.initialize()
        await start_application(self.app)
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )
        return self.app

    async def stop(self, *, crash: bool = False) -> None:
        """Stop polling, the Application and the engine (as a process shutting down would;
        `crash`: drop the sends in flight without recording them, as a killed process would)."""
        if self.app is not None:
            assert self.app.updater is not None
            if self.app.updater.running:
                await self.app.updater.stop()
            await stop_application(self.app, abort=crash)
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
        if self.engine is not None:
            await self.engine.dispose()
        self.app, self.engine = None, None

    async def restart(self, *, crash: bool = False) -> Application:  # type: ignore[type-arg]
        """Stop (or crash) and start again on the same database: only what was stored survives."""
        await self.stop(crash=crash)
        self.restarts += 1
        return await self.start()


@contextlib.asynccontextmanager
async def running(
    sim: BotApiSimulator,
    settings: Settings,
    units: AdminUnits,
    delivery: DeliveryConfig | None = None,
) -> AsyncIterator[BotRunner]:
    """The real Application polling the simulator for the length of the block, then stopped;
    it must have made no call Telegram would reject."""
    bot = BotRunner(settings, units, delivery=delivery)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
    assert sim.violations == [], "the bot made calls Telegram would reject"
