"""The week a digest covers (the statistics' last full week) and the weekly times groups
choose, across time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.digest_render import local_days
from bot.services.digest_types import Slot
from bot.services.stats import Period, last_full_week

HCM, BERLIN = ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("Europe/Berlin")


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("at", "start", "end"),
    [
        # Monday 08:00 in Hà Nội: the week that ended at midnight.
        (local(HCM, 2026, 11, 30, 8), local(HCM, 2026, 11, 23), local(HCM, 2026, 11, 30)),
        # Exactly Monday 00:00: that week is over.
        (local(HCM, 2026, 11, 30, 0), local(HCM, 2026, 11, 23), local(HCM, 2026, 11, 30)),
        # Sunday 23:59: the week is not over, so the one before.
        (
            local(HCM, 2026, 11, 29, 23, 59),
            local(HCM, 2026, 11, 16),
            local(HCM, 2026, 11, 23),
        ),
        # A Thursday evening (a group's own time).
        (local(HCM, 2026, 12, 3, 19), local(HCM, 2026, 11, 23), local(HCM, 2026, 11, 30)),
        # Berlin's week with the change to summer time is 167 hours long.
        (local(BERLIN, 2027, 3, 29, 8), local(BERLIN, 2027, 3, 22), local(BERLIN, 2027, 3, 29)),
    ],
)
def test_the_last_full_week_monday_to_sunday(at: datetime, start: datetime, end: datetime) -> None:
    tz = at.tzinfo
    assert tz is not None
    period = last_full_week(at.astimezone(UTC), tz)
    assert (period.start, period.end) == (start, end)
    days = local_days(period, tz)
    assert len(days) == 7
    assert days[0].isoweekday() == 1 and days[-1].isoweekday() == 7


def test_the_previous_period_is_the_last_full_week() -> None:
    period = last_full_week(datetime(2026, 11, 30, 1, tzinfo=UTC), HCM)
    before = period.previous()
    assert before.end == period.start
    assert before.end - before.start == period.end - period.start


@pytest.mark.parametrize(
    ("slot", "after", "expected"),
    [
        (Slot(1, 8), local(HCM, 2026, 11, 25, 10), local(HCM, 2026, 11, 30, 8)),
        (Slot(3, 10), local(HCM, 2026, 11, 25, 10), local(HCM, 2026, 11, 25, 10)),
        (Slot(3, 10), local(HCM, 2026, 11, 25, 10, 1), local(HCM, 2026, 12, 2, 10)),
        (Slot(7, 0), local(HCM, 2026, 11, 25, 10), local(HCM, 2026, 11, 29, 0)),
        (Slot(1, 8), local(BERLIN, 2027, 3, 23, 9), local(BERLIN, 2027, 3, 29, 8)),
    ],
)
def test_a_slot_comes_at_its_weekday_and_hour(
    slot: Slot, after: datetime, expected: datetime
) -> None:
    tz = after.tzinfo
    assert tz is not None
    at = slot.next_at(after.astimezone(UTC), tz)
    assert at == expected
    assert slot.key(at, tz) == f"{slot.weekday}-{slot.hour:02d}:{expected:%Y-%m-%d}"


@pytest.mark.parametrize(("weekday", "hour"), [(0, 8), (8, 8), (1, 24), (1, -1)])
def test_impossible_slots_are_refused(weekday: int, hour: int) -> None:
    with pytest.raises(ValueError):
        Slot(weekday, hour)


def test_period_days_are_local_dates() -> None:
    period = Period(datetime(2026, 11, 22, 17, tzinfo=UTC), datetime(2026, 11, 29, 17, tzinfo=UTC))
    assert [d.day for d in local_days(period, HCM)] == [23, 24, 25, 26, 27, 28, 29]
