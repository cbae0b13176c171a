"""What a resident's tip is made of: categories, limits, the public number, the settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class TipCategory(StrEnum):
    SCAM = "scam"  # Lừa đảo
    THEFT = "theft"  # Trộm cắp
    DRUGS = "drugs"  # Ma túy
    FIRE = "fire"  # Cháy nổ
    TRAFFIC = "traffic"  # Giao thông
    SUSPICIOUS = "suspicious"  # Đối tượng khả nghi
    DISORDER = "disorder"  # Gây rối trật tự
    OTHER = "other"  # Khác


# Acknowledged within TIP_ACK_URGENT_MINUTES rather than TIP_ACK_HOURS: harm can follow fast.
URGENT_CATEGORIES = frozenset(
    {TipCategory.DRUGS, TipCategory.FIRE, TipCategory.SUSPICIOUS, TipCategory.DISORDER}
)

TEXT_MIN, TEXT_MAX = 5, 2000  # what happened
ADDRESS_MIN, ADDRESS_MAX = 3, 300  # a typed address
NAME_MIN, NAME_MAX = 2, 64  # a named reporter's display name
RELAY_MAX = 2000  # one message of the officer↔reporter dialogue
MAX_PHOTOS = 5
FILE_ID_MAX = 255
VENUE_MAX = 255
PAGE_SIZE = 5

_NUMBER_RE = re.compile(r"^\s*#?\s*R-?(\d{1,12})\s*$", re.IGNORECASE)


def tip_number(tip_id: int) -> str:
    """The public number of a tip, shown at once to the reporter: "R-12"."""
    return f"R-{tip_id}"


def parse_tip_number(text: str) -> int | None:
    """The tip id in "R-12", "#R-12" or "r12"; None for anything else."""
    match = _NUMBER_RE.match(text)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class TipConfig:
    """The tip settings (TIPS_PER_HOUR, TIP_ACK_*, TIP_IDENTITY_RETENTION_DAYS, TIP_HASH_SECRET)."""

    per_hour: int = 5
    ack_urgent_minutes: int = 30
    ack_hours: int = 24
    identity_retention_days: int = 30
    hash_secret: str | None = field(default=None, repr=False)

    def ack_within(self, category: str) -> timedelta:
        """How long officers have to acknowledge a tip of this category."""
        if category in URGENT_CATEGORIES:
            return timedelta(minutes=self.ack_urgent_minutes)
        return timedelta(hours=self.ack_hours)


class Dated(Protocol):
    """Anything with a category and a creation time (a tip row or a view of it)."""

    @property
    def category(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...
