"""What weekly digests are made of: when they go out, who gets which, and the figures they show
(kept as JSON, so every copy of one run shows the same numbers)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from storage.models.digests import DigestAudience

# Outbox kinds: the digest's text; its chart and a province officer's per-commune table (a CSV
# document), which follow the text in that order; the one-time note asking a group's admins to
# open the bot.
DIGEST_KIND = "digest"
CHART_KIND = "digest_chart"
TABLE_KIND = "digest_csv"
NOTE_KIND = "digest_note"
# Scheduler kinds: the default schedule (DIGEST_SCHEDULE), a group's own weekday and hour, the
# daily planner that gives every weekday/hour in use its next run, and the follow-up that
# sends each chart (then table) once the message before it is in the chat.
WEEKLY_JOB = "digest_weekly"
CUSTOM_JOB = "digest_custom"
PLAN_JOB = "digest_plan"
FOLLOW_JOB = "digest_follow"
PLAN_SCHEDULE = "5 0 * * *"
# Deep links: "dg" opens the bot for digests; "dg_<chat row id>" asks for that group's.
START_PAYLOAD = "dg"
# In a digest posted in a group, tip counts this small are written "< 3": with a handful of
# houses, one or two tips could point at who sent them.
SMALL_COUNT = 3
ATTENTION_LIMIT = 10  # communes (province officers) and groups shown as "cần kiểm tra"


@dataclass(frozen=True)
class DigestConfig:
    """DIGEST_SCHEDULE (a crontab line in TIMEZONE) and DIGEST_GRACE_HOURS."""

    schedule: str = "0 8 * * 1"
    grace_hours: int = 24

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.grace_hours)


Audience = DigestAudience  # who one digest is for, and what it is


@dataclass(frozen=True)
class Slot:
    """A group's own weekly time: ISO weekday (1 = Monday) and hour, in the time zone."""

    weekday: int
    hour: int

    def __post_init__(self) -> None:
        if not (1 <= self.weekday <= 7 and 0 <= self.hour <= 23):
            raise ValueError(f"no such weekly time: {self.weekday} {self.hour}")

    def next_at(self, after: datetime, tz: tzinfo) -> datetime:
        """The first time of this slot at or after `after`."""
        trigger = CronTrigger(
            day_of_week=self.weekday - 1, hour=self.hour, minute=0, second=0, timezone=tz
        )
        found: datetime | None = trigger.get_next_fire_time(None, after)
        assert found is not None  # a weekly time always comes again
        return found.astimezone(after.tzinfo)

    def key(self, at: datetime, tz: tzinfo) -> str:
        """The job key of this slot's run at `at`: the slot and its local date."""
        return f"{self.weekday}-{self.hour:02d}:{at.astimezone(tz):%Y-%m-%d}"


# -- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFigures:
    """Alerts sent to an area in a period."""

    total: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    ack_share: float | None = None  # of the copies delivered, the share acknowledged
    ack_median_seconds: float | None = None


@dataclass(frozen=True)
class TipFigures:
    """Tips from an area in a period."""

    received: int = 0
    valuable: int = 0
    resolved: int = 0
    rejected: int = 0
    overdue: int = 0
    ack_median_seconds: float | None = None


@dataclass(frozen=True)
class GroupLine:
    """One subscribed group of a commune: how it answered alerts."""

    chat_id: int
    title: str
    alerts: int = 0
    acknowledged: int = 0
    flagged: bool = False  # "cần kiểm tra": alerts, but no acknowledgement for four weeks


@dataclass(frozen=True)
class CommuneLine:
    """One commune of a province (the officer's table and the communes needing attention)."""

    code: str
    name: str
    groups: int = 0
    alerts: int = 0
    ack_share: float | None = None
    ack_median_seconds: float | None = None
    tips_received: int = 0
    tips_valuable: int = 0
    tips_resolved: int = 0
    tips_overdue: int = 0


@dataclass(frozen=True)
class DayFigures:
    """One local day of the period, for the chart."""

    day: str  # ISO date
    alerts: int = 0
    tips: dict[str, int] = field(default_factory=dict)  # by category


@dataclass(frozen=True)
class AreaFigures:
    """Everything a digest shows about one commune or province for one week."""

    code: str
    name: str
    province_name: str
    kind: str  # "commune" | "province"
    alerts: AlertFigures = field(default_factory=AlertFigures)
    alerts_previous: AlertFigures = field(default_factory=AlertFigures)
    tips: TipFigures = field(default_factory=TipFigures)
    tips_previous: TipFigures = field(default_factory=TipFigures)
    top_categories: list[tuple[str, int]] = field(default_factory=list)
    active_groups: int = 0
    active_groups_previous: int = 0
    days: list[DayFigures] = field(default_factory=list)
    groups: list[GroupLine] = field(default_factory=list)  # communes: every subscribed group
    flagged_groups: list[str] = field(default_factory=list)  # titles of "cần kiểm tra" groups
    flagged_total: int = 0
    communes: list[CommuneLine] = field(default_factory=list)  # provinces: every commune
    attention: list[CommuneLine] = field(default_factory=list)  # the ten needing it most

    @property
    def empty(self) -> bool:
        """Nothing happened: no alert and no tip in the week."""
        return self.alerts.total == 0 and self.tips.received == 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> AreaFigures:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            code=data["code"],
            name=data["name"],
            province_name=data["province_name"],
            kind=data["kind"],
            alerts=AlertFigures(**data["alerts"]),
            alerts_previous=AlertFigures(**data["alerts_previous"]),
            tips=TipFigures(**data["tips"]),
            tips_previous=TipFigures(**data["tips_previous"]),
            top_categories=[(c, int(n)) for c, n in data["top_categories"]],
            active_groups=data["active_groups"],
            active_groups_previous=data["active_groups_previous"],
            days=[DayFigures(**d) for d in data["days"]],
            groups=[GroupLine(**g) for g in data["groups"]],
            flagged_groups=list(data["flagged_groups"]),
            flagged_total=data["flagged_total"],
            communes=[CommuneLine(**c) for c in data["communes"]],
            attention=[CommuneLine(**c) for c in data["attention"]],
        )
