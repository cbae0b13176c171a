"""The fallback answers only the button presses no other handler takes."""

from __future__ import annotations

from pathlib import Path

from telegram.ext import CallbackQueryHandler

from bot.app import build_application
from bot.areas import AdminUnits
from bot.settings import Settings
from handlers.fallback import answer_unknown_button
from storage.db import create_engine


async def test_the_fallback_is_the_last_button_handler_of_the_one_group_that_has_them(
    tmp_path: Path, units: AdminUnits
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}"
    engine = create_engine(url)
    settings = Settings(telegram_bot_token="123456:TEST-token", database_url=url)
    app = build_application(settings, engine, units=units)
    buttons = {
        group: [h for h in handlers if isinstance(h, CallbackQueryHandler)]
        for group, handlers in app.handlers.items()
    }
    groups = [group for group, found in buttons.items() if found]
    # In one group PTB runs only the first handler that matches: a press a real handler took
    # never reaches the fallback; in another group it would be answered twice.
    assert len(groups) == 1
    found = buttons[groups[0]]
    assert found[-1].callback is answer_unknown_button and found[-1].pattern is None
    assert all(h.callback is not answer_unknown_button for h in found[:-1])
    assert len(found) > 5  # the feature handlers are there too
    await engine.dispose()
