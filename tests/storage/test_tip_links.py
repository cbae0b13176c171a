"""The bot's username for "send a tip" links, shared with extra sender processes."""

from __future__ import annotations

import pytest

from bot.services import tip_links
from bot.services.tip_links import TipLinks
from storage.db import SessionFactory


async def test_a_sender_process_learns_the_username_the_bot_stored(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = TipLinks(sessions)  # `canhgac sender`: it never calls getMe itself
    assert await sender.url(7) is None  # the bot has not run yet: no button rather than a guess
    bot = TipLinks(sessions)
    await bot.remember("canhgac_bot")
    assert await bot.url(7) == "https://t.me/canhgac_bot?start=tip_7"
    assert await sender.url(7) is None  # it looks again only after a while
    monkeypatch.setattr(tip_links, "RETRY_SECONDS", 0.0)
    assert await sender.url(None) == "https://t.me/canhgac_bot?start=tip"

    await TipLinks(sessions).remember("canhgac_new_bot")  # the bot was renamed
    assert await TipLinks(sessions).url(3) == "https://t.me/canhgac_new_bot?start=tip_3"
