"""Pure parts of the scheduler: crontab lines (read by APScheduler) and its setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduling import DurableScheduler, Recurrence, crontab_trigger
from bot.settings import SettingsError, load_settings

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SUNDAY = datetime(2026, 11, 29, 0, 0, tzinfo=HCM)  # fire times are looked for from here


def weekdays(expr: str, days: int = 7) -> list[str]:
    """The weekdays (mon..sun) a crontab line fires on within `days` from SUNDAY."""
    trigger = crontab_trigger(expr, HCM)
    found, at = [], trigger.get_next_fire_time(None, SUNDAY)
    while at is not None and at < SUNDAY + timedelta(days=days):
        found.append(f"{at:%a}".lower())
        at = trigger.get_next_fire_time(None, at + timedelta(minutes=1))
    return found


@pytest.mark.parametrize(
    ("weekday_field", "expected"),
    [
        ("1", ["mon"]),  # crontab: 1 is Monday
        ("0", ["sun"]),
        ("7", ["sun"]),
        ("mon", ["mon"]),
        ("1-5", ["mon", "tue", "wed", "thu", "fri"]),
        ("5-7", ["sun", "fri", "sat"]),  # listed from Sunday 29 November
        ("0,6", ["sun", "sat"]),
        ("*/2", ["sun", "tue", "thu", "sat"]),
        ("1-5/2", ["mon", "wed", "fri"]),
        ("sat,sun", ["sun", "sat"]),
        ("*", ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
    ],
)
def test_crontab_weekdays_keep_their_crontab_meaning(
    weekday_field: str, expected: list[str]
) -> None:
    assert weekdays(f"0 8 * * {weekday_field}") == expected


def test_apscheduler_3_alone_would_read_1_as_tuesday() -> None:
    # Why numeric weekdays are handed over as names (APScheduler 3.x counts from Monday = 0).
    raw = CronTrigger.from_crontab("0 8 * * 1", timezone=HCM)
    assert f"{raw.get_next_fire_time(None, SUNDAY):%a}" == "Tue"
    assert f"{crontab_trigger('0 8 * * 1', HCM).get_next_fire_time(None, SUNDAY):%a}" == "Mon"


@pytest.mark.parametrize("expr", ["0 8 * *", "61 8 * * 1", "0 8 * * 9", "0 8 * * funday"])
def test_malformed_crontab_lines_are_refused_by_apscheduler(expr: str) -> None:
    with pytest.raises(ValueError):
        crontab_trigger(expr, HCM)


def test_the_next_run_after_downtime_is_the_latest_within_grace() -> None:
    weekly = Recurrence("digest", crontab_trigger("0 8 * * 1", HCM))
    first = datetime(2026, 11, 30, 1, tzinfo=UTC)
    week = timedelta(days=7)
    cases = [  # (now, grace, expected next run after `first`)
        (first + timedelta(hours=1), timedelta(hours=6), first + week),
        (first + week + timedelta(hours=2), timedelta(hours=6), first + week),
        (first + 2 * week + timedelta(hours=2), timedelta(hours=6), first + 2 * week),
        (first + week + timedelta(hours=7), timedelta(hours=6), first + 2 * week),
        (first + 10 * week, timedelta(days=15), first + 10 * week),
    ]
    for now, grace, expected in cases:
        assert weekly.next_after(first, now, grace) == expected, now
    assert weekly.key(first) == "2026-11-30T01:00Z"


@pytest.mark.parametrize(("value", "expected"), [("", 5), ("1", 1), ("30", 30)])
def test_scheduler_tick_seconds_setting(value: str, expected: int) -> None:
    env = {"SCHEDULER_TICK_SECONDS": value}
    assert load_settings(env, require_token=False).scheduler_tick_seconds == expected


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "soon", "3601"])
def test_a_bad_scheduler_tick_is_refused_with_the_settings_name(value: str) -> None:
    with pytest.raises(SettingsError, match="SCHEDULER_TICK_SECONDS"):
        load_settings({"SCHEDULER_TICK_SECONDS": value}, require_token=False)


def test_a_schedule_needs_its_handler_first() -> None:
    runner = DurableScheduler(async_sessionmaker(class_=AsyncSession))
    with pytest.raises(ValueError, match="register the handler"):
        runner.every("digest", "0 8 * * 1", HCM)
