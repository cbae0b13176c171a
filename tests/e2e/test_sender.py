"""`canhgac sender`: a separate process delivers what another process confirmed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.areas import AdminUnits
from bot.i18n import load_catalog
from bot.services.alerts import AlertService
from bot.services.officers import OfficerService
from bot.settings import Settings
from simulator import BotApiSimulator, SimDriver
from storage.db import create_engine, session_factory
from tests.support.world import subscribed_groups

ROOT = Path(__file__).resolve().parents[2]


async def test_sender_process_delivers_the_outbox(
    sim: BotApiSimulator, driver: SimDriver, database_url: str, units: AdminUnits
) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    admin = driver.create_user("Trưởng thôn")
    groups = await subscribed_groups(driver, sessions, units, "00235", 12, admin)
    officers = OfficerService(sessions, units, frozenset())
    officer = await officers.grant(0, 5_100_000_000, "00235", "Đại úy B")
    tz = Settings(telegram_bot_token="").tz
    alerts = AlertService(sessions, units, load_catalog(), tz, officers)
    draft = await alerts.new_draft(officer)
    draft.target_kind, draft.severity, draft.category = "commune", "urgent", "fire"
    draft.text, draft.validity_hours, draft.exercise = "Cháy chợ, tránh xa.", 6, False
    await alerts.save_draft(officer.telegram_id, draft)
    sent = await alerts.confirm(officer.telegram_id, draft.token)
    await engine.dispose()
    assert sent.recipients == 12

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": sim.token,
        "TELEGRAM_API_BASE_URL": sim.base_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sender", env=env, cwd=str(ROOT)
    )
    try:

        def delivered() -> bool:
            return {g.id for g in groups} <= {r.chat_id for r in sim.stats.sent}

        await driver.wait_for(delivered, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=30)
    assert code == 0
    copies = Counter(r.chat_id for r in sim.stats.sent)
    assert all(copies[g.id] == 1 for g in groups)
    assert "Cháy chợ, tránh xa." in (driver.last_bot_message(groups[0]).text or "")  # type: ignore[union-attr]
    assert sim.violations == []
