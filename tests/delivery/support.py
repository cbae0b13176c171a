"""Renderers and helpers shared by the delivery tests (and their sender subprocesses)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.delivery import Outgoing
from bot.delivery.kinds import KindRegistry, OutgoingKind
from storage.db import SessionFactory

TOKEN = "123456:TEST-token"
# What an "alert" says now, by ref_id; tests change it to simulate a correction.
TEXTS: dict[int, str] = {}


async def render_alert(ref_id: int, language: str | None, chat_id: int) -> Outgoing:
    """A test alert: its current text and one button."""
    text = TEXTS.get(ref_id, f"<b>Alert {ref_id}</b>")
    return Outgoing(text=text, buttons=[[("Details", f"alert:{ref_id}")]])


def build_renderers(sessions: SessionFactory) -> KindRegistry:
    """The factory sender subprocesses load (`tests.delivery.support:build_renderers`)."""
    return KindRegistry([OutgoingKind("alert", render_alert)])


async def wait_until(
    condition: Callable[[], Awaitable[bool]], within: float = 15.0, step: float = 0.02
) -> None:
    """Poll an async condition until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step)
