"""Recurring schedules: a crontab line, read by APScheduler, turned into one row per run."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

KeyFn = Callable[[datetime], str]
# Crontab numbers weekdays from Sunday (0 or 7); APScheduler 3.x from Monday (its documented
# "historical mistake", fixed only in 4.x). Numeric weekdays are therefore handed to it as names.
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC_WEEKDAY = re.compile(r"^(\*|(\d)(?:-(\d))?)(?:/(\d+))?$")
_TICK = timedelta(microseconds=1)


def _weekday_item(item: str) -> str:
    found = _NUMERIC_WEEKDAY.match(item)
    if found is None or item == "*":
        return item  # names, "?" and anything malformed go to APScheduler as they are
    _, first, last, step = found.groups()
    start = 0 if first is None else int(first)
    stop = 6 if first is None or (last is None and step) else int(last or first)
    if start > 7 or stop > 7 or start > stop:
        return item
    days = range(start, stop + 1, int(step or 1))
    return ",".join(dict.fromkeys(_WEEKDAYS[d % 7] for d in days))


def crontab_trigger(expr: str, tz: tzinfo) -> CronTrigger:
    """APScheduler's trigger for a standard crontab line (min hour day month weekday) in `tz`,
    with crontab's weekday numbers (1 = Monday, 0 and 7 = Sunday)."""
    fields = expr.split()
    if len(fields) == 5:
        fields[4] = ",".join(_weekday_item(item) for item in fields[4].split(","))
    return CronTrigger.from_crontab(" ".join(fields), timezone=tz)


def utc_minute_key(at: datetime) -> str:
    """The default key of a run: its fire time in UTC, to the minute."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True)
class Recurrence:
    """When a kind runs, and how each run's key is named from its fire time."""

    kind: str
    trigger: CronTrigger
    key_fn: KeyFn = utc_minute_key

    def first_from(self, at: datetime) -> datetime | None:
        """The first fire time at or after `at`."""
        found: datetime | None = self.trigger.get_next_fire_time(None, at)
        return found

    def first_after(self, at: datetime) -> datetime | None:
        """The first fire time strictly after `at`."""
        return self.first_from(at + _TICK)

    def next_after(self, previous: datetime, now: datetime, grace: timedelta) -> datetime | None:
        """The run to plan once `previous` is over: the latest fire time that is due but still
        within `grace` (runs older than that are never materialised), else the next one."""
        candidate = self.first_after(max(previous, now - grace))
        while candidate is not None and candidate <= now:
            following = self.first_after(candidate)
            if following is None or following > now:
                break
            candidate = following
        return candidate

    def key(self, at: datetime) -> str:
        """The key of the run firing at `at`, computed in the schedule's own time zone."""
        return self.key_fn(at.astimezone(self.trigger.timezone))
