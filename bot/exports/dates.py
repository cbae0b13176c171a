"""`--since` as people write it: a day (midnight where the bot runs) or an ISO 8601 moment."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, tzinfo


def since_value(text: str) -> date | datetime:
    """Parse `--since`: 2026-11-01, 2026-11-01T08:00 or 2026-11-01T08:00+07:00."""
    value = text.strip()
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time"
        ) from None


def since_moment(value: date | datetime | None, tz: tzinfo) -> datetime | None:
    """The moment `--since` names, in UTC; a day or a time without offset is read in `tz`."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)
