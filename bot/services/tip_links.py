"""Links that open a tip in the private chat, carrying the area of the group they came from.

`https://t.me/<bot>?start=tip_<area id>` (just `tip` while the group has no area): the tip is
written privately, never in the group, and starts knowing the group's commune. The payload fits
Telegram's 1-64 characters of A-Z a-z 0-9 _ -.

The bot's username is known once the bot process has called getMe; `TipLinks` keeps it in the
settings table too, so an extra sender process (`canhgac sender`), which renders alert copies
with the same button, builds the same links.
"""

from __future__ import annotations

import re
import time

from sqlalchemy.exc import IntegrityError

from storage.db import SessionFactory
from storage.models import Setting
from storage.types import utcnow

TIP_LINK_PREFIX = "tip"
USERNAME_KEY = "bot_username"  # the settings row holding the bot's username
_AREA = re.compile(r"_([1-9][0-9]{0,9})", re.ASCII)
_MAX_AREA_ID = 2**31 - 1  # areas.id is a 32-bit integer on PostgreSQL
RETRY_SECONDS = 60.0  # a sender started before the bot ever ran looks for the username again


def tip_payload(area_id: int | None) -> str:
    """The /start payload of a tip link: `tip` or `tip_<area id>`."""
    return TIP_LINK_PREFIX if area_id is None else f"{TIP_LINK_PREFIX}_{area_id}"


def area_of_payload(rest: str) -> int | None:
    """The area id in what follows the `tip` prefix; None for none or anything malformed."""
    match = _AREA.fullmatch(rest)
    if match is None:
        return None
    area_id = int(match.group(1))
    return area_id if area_id <= _MAX_AREA_ID else None


def tip_url(username: str, area_id: int | None) -> str:
    """The t.me link that opens the bot's private chat and starts a tip."""
    return f"https://t.me/{username}?start={tip_payload(area_id)}"


class TipLinks:
    """The bot's username for tip links, shared with other processes through the database."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._username: str | None = None
        self._looked_at = float("-inf")

    async def remember(self, username: str) -> None:
        """The bot process learnt its username (getMe): use and store it."""
        self._username = username
        try:
            async with self._sessions() as session, session.begin():
                row = await session.get(Setting, USERNAME_KEY)
                if row is None:
                    session.add(Setting(key=USERNAME_KEY, value=username))
                elif row.value != username:
                    row.value, row.updated_at = username, utcnow()
        except IntegrityError:  # another process stored it at the same moment
            pass

    async def url(self, area_id: int | None) -> str | None:
        """The link for a group of this area; None while the username is unknown."""
        username = await self._known_username()
        return tip_url(username, area_id) if username else None

    async def _known_username(self) -> str | None:
        if self._username is not None:
            return self._username
        if time.monotonic() - self._looked_at < RETRY_SECONDS:
            return None
        self._looked_at = time.monotonic()
        async with self._sessions() as session:
            row = await session.get(Setting, USERNAME_KEY)
        self._username = row.value if row is not None else None
        return self._username
