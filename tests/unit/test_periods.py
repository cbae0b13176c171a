"""The periods of the statistics: the last full week in TIMEZONE, days back, the year so far."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.stats import (
    Period,
    PeriodName,
    Scope,
    ScopeKind,
    last_days,
    last_full_week,
    named_period,
    year_to_date,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("now", "monday"),
    [
        (local(2026, 12, 1, 8, 0), local(2026, 11, 23)),  # a Tuesday
        (local(2026, 11, 30, 0, 0), local(2026, 11, 23)),  # Monday 00:00: that week just ended
        (local(2026, 11, 29, 23, 59), local(2026, 11, 16)),  # Sunday night: the week before
        # Monday 06:00 in Hà Nội is still Sunday 23:00 UTC: the week is local, not UTC.
        (datetime(2026, 11, 29, 23, 0, tzinfo=UTC), local(2026, 11, 23)),
        (local(2027, 1, 4, 8, 0), local(2026, 12, 28)),  # across the new year
    ],
)
def test_last_full_week_is_monday_to_monday_local(now: datetime, monday: datetime) -> None:
    period = last_full_week(now, TZ)
    assert period == Period(monday, monday + timedelta(days=7))
    assert period.start.astimezone(TZ).weekday() == 0
    assert period.previous() == Period(monday - timedelta(days=7), monday)


def test_days_and_the_year() -> None:
    now = local(2026, 3, 15, 10, 30)
    assert last_days(now, 7) == Period(now - timedelta(days=7), now)
    assert year_to_date(now, TZ) == Period(local(2026, 1, 1), now)
    assert year_to_date(now, TZ).previous().end == local(2026, 1, 1)
    assert named_period(PeriodName.DAYS_30, now, TZ).length == timedelta(days=30)
    assert named_period(PeriodName.YEAR, now, TZ).start == local(2026, 1, 1)
    assert named_period(PeriodName.WEEK, now, TZ).start == local(2026, 3, 2)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("01", ScopeKind.PROVINCE), ("25", ScopeKind.PROVINCE), ("00235", ScopeKind.COMMUNE)],
)
def test_scope_of_an_official_code(code: str, kind: ScopeKind) -> None:
    assert Scope.of_code(code) == Scope(kind, code=code)
