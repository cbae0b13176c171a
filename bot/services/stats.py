"""The movement's figures over a period and an area, for digests, /thongke and exports.

Telegram-free; every figure is aggregated by the database (GROUP BY, window functions for
medians) through the read model in storage/queries/, and returned as frozen dataclasses.

What the figures mean:
- an alert is *sent to* an area when it targets the area, a residential area in it or an area
  containing it (a group: when a copy was delivered to it); a copy is *acknowledged* when its
  group pressed Đã nhận, and the time to acknowledge runs from the copy's delivery;
- the groups are those subscribed now (a group's history before it changed its area is not
  kept); a group is *active* ("Mô hình đang hoạt động") when it subscribed before the end of the
  period and the bot is in it, unpaused;
- tips *from* an area were sent about a commune of it (a residential area: through its groups'
  links); a tip is *overdue* when officers did not answer it (acknowledge, or close) within its
  deadline (TIP_ACK_URGENT_MINUTES or TIP_ACK_HOURS), as things stood at the period's end;
- a group *cần kiểm tra* (needs checking) received copies of the alerts sent in the four weeks
  before the end of the period, acknowledged none of them, and has been subscribed for at
  least four weeks.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits
from bot.services.alert_types import Severity
from bot.services.officers import COUNTRY_CODE, COUNTRY_NAME
from bot.services.tip_types import URGENT_CATEGORIES, TipConfig
from storage.db import SessionFactory
from storage.models import Area, AreaKind, Tip
from storage.queries import alerts as alert_q
from storage.queries import areas as area_q
from storage.queries import chats as chat_q
from storage.queries import deliveries as delivery_q
from storage.queries import groups as group_q
from storage.queries import tip_figures as tip_q
from storage.queries.deliveries import AckBy
from storage.queries.scope import AreaFilter
from storage.queries.tips import Deadlines
from storage.types import utcnow

ALERT_KIND = "alert"  # the outbox kind of alert copies (bot.services.alerts.ALERT_KIND)
QUIET_WINDOW = timedelta(weeks=4)  # no Đã nhận for this long while alerts came: cần kiểm tra
ATTENTION = 10  # communes listed as needing attention most
TOP_CATEGORIES = 3


class UnknownScope(Exception):
    """The area or group does not exist (or the group has no subscription)."""


# -- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The instants [start, end), timezone-aware."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.start - self.length, self.start)


class PeriodName(StrEnum):
    WEEK = "week"  # the last full week, Monday 00:00 to Sunday 24:00
    DAYS_7 = "7d"
    DAYS_30 = "30d"
    YEAR = "year"  # this year so far


def last_full_week(now: datetime, tz: ZoneInfo) -> Period:
    """The last full week before `now`: Monday 00:00 to the next Monday 00:00 in `tz`."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    end = datetime.combine(monday, time(), tz)
    return Period(datetime.combine(monday - timedelta(days=7), time(), tz), end)


def last_days(now: datetime, days: int) -> Period:
    """The `days` days up to `now`."""
    return Period(now - timedelta(days=days), now)


def year_to_date(now: datetime, tz: ZoneInfo) -> Period:
    """From 1 January 00:00 in `tz` up to `now`."""
    local = now.astimezone(tz)
    return Period(datetime(local.year, 1, 1, tzinfo=tz), now)


def named_period(name: PeriodName, now: datetime, tz: ZoneInfo) -> Period:
    """The period a button or a digest names."""
    if name == PeriodName.WEEK:
        return last_full_week(now, tz)
    if name == PeriodName.YEAR:
        return year_to_date(now, tz)
    return last_days(now, 7 if name == PeriodName.DAYS_7 else 30)


# -- scopes -------------------------------------------------------------------------------


class ScopeKind(StrEnum):
    COUNTRY = "country"
    PROVINCE = "province"
    COMMUNE = "commune"
    RESIDENTIAL = "residential"
    GROUP = "group"


@dataclass(frozen=True)
class Scope:
    """What the figures are about: a province or commune (official code), a residential area
    (its row id) or one group (its Telegram chat id)."""

    kind: ScopeKind
    code: str | None = None
    area_id: int | None = None
    chat_telegram_id: int | None = None

    @classmethod
    def country(cls) -> Scope:
        return cls(ScopeKind.COUNTRY, code=COUNTRY_CODE)

    @classmethod
    def province(cls, code: str) -> Scope:
        return cls(ScopeKind.PROVINCE, code=code)

    @classmethod
    def commune(cls, code: str) -> Scope:
        return cls(ScopeKind.COMMUNE, code=code)

    @classmethod
    def residential(cls, area_id: int) -> Scope:
        return cls(ScopeKind.RESIDENTIAL, area_id=area_id)

    @classmethod
    def group(cls, telegram_id: int) -> Scope:
        return cls(ScopeKind.GROUP, chat_telegram_id=telegram_id)

    @classmethod
    def of_code(cls, code: str) -> Scope:
        """The country ("VN"), a province (2 digits) or a commune (5 digits) by its code."""
        if code.upper() == COUNTRY_CODE:
            return cls.country()
        return cls.province(code) if len(code) <= 2 else cls.commune(code)


# -- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acks:
    """Delivered copies of alerts, how many their groups acknowledged, and how fast."""

    delivered: int = 0
    acknowledged: int = 0
    median_minutes: float | None = None

    @property
    def share(self) -> float | None:
        """The share of copies acknowledged (None when none was delivered)."""
        return self.acknowledged / self.delivered if self.delivered else None


@dataclass(frozen=True)
class TipFigures:
    """Tips received in the period and what became of them; the median time (minutes) to the
    officers' first response."""

    received: int = 0
    valuable: int = 0
    resolved: int = 0
    rejected: int = 0
    overdue: int = 0
    median_response_minutes: float | None = None


@dataclass(frozen=True)
class Totals:
    """The headline figures of one period."""

    alerts: int
    acks: Acks
    tips: TipFigures
    active_groups: int


@dataclass(frozen=True)
class AlertFigures:
    id: int
    severity: str
    category: str
    sent_at: datetime
    exercise: bool
    cancelled: bool
    acks: Acks


@dataclass(frozen=True)
class GroupFigures:
    """One subscribed group (no person in it is named); `tips` counts its area's tips."""

    chat_id: int
    telegram_id: int
    title: str | None
    area_id: int
    acks: Acks
    tips: int
    needs_check: bool


@dataclass(frozen=True)
class CommuneFigures:
    code: str
    name: str
    province_code: str
    province_name: str
    active_groups: int
    alerts: int
    acks: Acks
    tips: TipFigures

    @property
    def needs_attention(self) -> bool:
        """Some copy went unacknowledged, or some tip overdue."""
        share = self.acks.share
        return (share is not None and share < 1) or self.tips.overdue > 0


@dataclass(frozen=True)
class Figures:
    """Everything about one area over one period, and the same totals for the period before."""

    scope: Scope
    area: str  # the area's name as people read it
    period: Period
    current: Totals
    previous: Totals
    by_severity: tuple[tuple[str, int], ...]  # urgent, warning, info
    by_category: tuple[tuple[str, int], ...]  # most alerts first
    top_tip_categories: tuple[tuple[str, int], ...]
    alerts: tuple[AlertFigures, ...]
    groups: tuple[GroupFigures, ...]
    communes: tuple[CommuneFigures, ...] = ()  # a province's, by code
    attention: tuple[CommuneFigures, ...] = ()  # the ten communes needing attention most
    previous_period: Period = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "previous_period", self.period.previous())

    @property
    def needs_check(self) -> tuple[GroupFigures, ...]:
        """The groups flagged "cần kiểm tra"."""
        return tuple(g for g in self.groups if g.needs_check)

    @property
    def empty(self) -> bool:
        """Nothing was sent or reported in the period."""
        return self.current.alerts == 0 and self.current.tips.received == 0

    def change(self, name: str) -> float | None:
        """Current minus previous of a total named by its path ("alerts", "acks.share",
        "tips.received"); None when either side has no value."""
        now, before = _path(self.current, name), _path(self.previous, name)
        return None if now is None or before is None else now - before


@dataclass(frozen=True)
class DailyFigures:
    """One local day of a period (the digest's chart): alerts sent, tips received by category."""

    day: date
    alerts: int
    tips: tuple[tuple[str, int], ...]  # by category name, zero counts left out


def _path(totals: Totals, name: str) -> Any:
    return reduce(getattr, name.split("."), totals)


# -- the service --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    where: AreaFilter
    label: str


class StatisticsService:
    """Figures over a period and an area, shared by digests, /thongke and exports."""

    def __init__(
        self, sessions: SessionFactory, units: AdminUnits, tips: TipConfig, tz: ZoneInfo
    ) -> None:
        self._sessions = sessions
        self._units = units
        self._tz = tz
        self._deadlines = Deadlines(
            urgent_categories=[c.value for c in URGENT_CATEGORIES],
            urgent=timedelta(minutes=tips.ack_urgent_minutes),
            ordinary=timedelta(hours=tips.ack_hours),
        )

    def period(self, name: PeriodName, now: datetime | None = None) -> Period:
        """The named period ending before (or at) `now`, in TIMEZONE."""
        return named_period(name, now or utcnow(), self._tz)

    async def figures(self, scope: Scope, period: Period, now: datetime | None = None) -> Figures:
        """The figures of `scope` over `period` (cut at `now`), with the previous period's."""
        period = _cut(period, now or utcnow())
        async with self._sessions() as session:
            resolved = await self._resolve(session, scope)
            return await _Computation(session, resolved.where, self._deadlines).figures(
                scope, resolved.label, period, self._units
            )

    async def communes(
        self, period: Period, area_code: str | None = None, now: datetime | None = None
    ) -> list[CommuneFigures]:
        """Per commune of a province, one commune, or (no code) every commune, by code."""
        period = _cut(period, now or utcnow())
        province = commune = None
        if area_code is not None:
            resolved = Scope.of_code(area_code)
            province = self._units.province(area_code) if resolved.kind == "province" else None
            commune = self._units.commune(area_code) if resolved.kind == "commune" else None
            if province is None and commune is None and resolved.kind != ScopeKind.COUNTRY:
                raise UnknownScope(area_code)
        async with self._sessions() as session:
            table = await _Computation(session, AreaFilter(), self._deadlines).communes(
                province.code if province else (commune.province_code if commune else None),
                period,
                self._units,
            )
        return [c for c in table if commune is None or c.code == commune.code]

    async def daily(
        self, scope: Scope, period: Period, now: datetime | None = None
    ) -> tuple[DailyFigures, ...]:
        """Per local day of `period` (TIMEZONE): the alerts sent to `scope` and its tips by
        category; two grouped queries a day."""
        period = _cut(period, now or utcnow())
        async with self._sessions() as session:
            resolved = await self._resolve(session, scope)
            computation = _Computation(session, resolved.where, self._deadlines)
            return tuple(
                [
                    await computation.day(day, start, end)
                    for day, start, end in _days(period, self._tz)
                ]
            )

    async def group_scope(self, telegram_id: int) -> Scope | None:
        """The group's scope if it has a subscription."""
        async with self._sessions() as session:
            chat = await chat_q.get_chat(session, telegram_id)
            sub = await chat_q.subscription_of(session, chat) if chat is not None else None
        return Scope.group(telegram_id) if sub is not None else None

    async def area_of_group(self, telegram_id: int) -> Scope | None:
        """The scope of the area the group subscribes to (a commune or a residential area of
        it), if it has a subscription."""
        async with self._sessions() as session:
            chat = await chat_q.get_chat(session, telegram_id)
            sub = await chat_q.subscription_of(session, chat) if chat is not None else None
            if sub is None:
                return None
            if sub.area_id != sub.commune_id:
                return Scope.residential(sub.area_id)
            commune = await session.get(Area, sub.commune_id)
        return Scope.commune(commune.code) if commune is not None and commune.code else None

    async def _resolve(self, session: AsyncSession, scope: Scope) -> _Resolved:
        if scope.kind == ScopeKind.COUNTRY:
            return _Resolved(AreaFilter(), COUNTRY_NAME)  # every field None: the whole country
        if scope.kind == ScopeKind.PROVINCE:
            return await self._province(session, scope.code or "")
        if scope.kind == ScopeKind.COMMUNE:
            area = await area_q.commune_area(session, scope.code or "")
            if area is None:
                raise UnknownScope(scope.code)
            return await self._area(session, area)
        if scope.kind == ScopeKind.RESIDENTIAL:
            area = await session.get(Area, scope.area_id or 0)
            if area is None or area.kind != AreaKind.RESIDENTIAL.value:
                raise UnknownScope(scope.area_id)
            return await self._area(session, area)
        return await self._group(session, scope.chat_telegram_id or 0)

    async def _province(self, session: AsyncSession, code: str) -> _Resolved:
        province = self._units.province(code)
        area = await area_q.area_by_code(session, code, AreaKind.PROVINCE)
        if province is None or area is None:
            raise UnknownScope(code)
        return _Resolved(AreaFilter(province_code=code, province_id=area.id), province.name)

    async def _area(
        self, session: AsyncSession, area: Area, chat_id: int | None = None
    ) -> _Resolved:
        """A commune or a residential area (and, with `chat_id`, one group subscribed to it)."""
        residential = area.kind == AreaKind.RESIDENTIAL.value
        commune_area = await session.get(Area, area.parent_id) if residential else area
        commune = self._units.commune(commune_area.code or "") if commune_area else None
        if commune_area is None or commune is None:
            raise UnknownScope(area.id)
        where = AreaFilter(
            province_code=commune.province_code,
            province_id=commune_area.parent_id,
            commune_id=commune_area.id,
            commune_code=commune.code,
            residential_id=area.id if residential else None,
            chat_id=chat_id,
        )
        label = f"{area.name} — {commune.label}" if residential else commune.label
        return _Resolved(where, label)

    async def _group(self, session: AsyncSession, telegram_id: int) -> _Resolved:
        chat = await chat_q.get_chat(session, telegram_id)
        sub = await chat_q.subscription_of(session, chat) if chat is not None else None
        area = await session.get(Area, sub.area_id) if sub is not None else None
        if chat is None or area is None:
            raise UnknownScope(telegram_id)
        return await self._area(session, area, chat_id=chat.id)


def _days(period: Period, tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The local days of `period`, each with its part of the period."""
    days = []
    day = period.start.astimezone(tz).date()
    while (start := datetime.combine(day, time(), tz)) < period.end:
        end = datetime.combine(day + timedelta(days=1), time(), tz)
        days.append((day, max(start, period.start), min(end, period.end)))
        day += timedelta(days=1)
    return days


def _cut(period: Period, now: datetime) -> Period:
    """The period without its part after `now` (this year so far, not to 31 December)."""
    return Period(period.start, min(period.end, max(now, period.start)))


class _Computation:
    """The queries of one request, over one session."""

    def __init__(self, session: AsyncSession, where: AreaFilter, deadlines: Deadlines) -> None:
        self._session = session
        self._where = where
        self._deadlines = deadlines

    async def figures(self, scope: Scope, label: str, period: Period, units: AdminUnits) -> Figures:
        previous = period.previous()
        province = scope.kind == ScopeKind.PROVINCE
        mix = await alert_q.alert_mix(self._session, self._alert_ids(), period.start, period.end)
        wanted = [AckBy.ALL, AckBy.ALERT, AckBy.CHAT] + ([AckBy.COMMUNE] if province else [])
        acks = await self._acks(period, wanted)
        groups = await self._groups(period, acks[AckBy.CHAT])
        current = Totals(
            sum(n for *_, n in mix),
            acks[AckBy.ALL].get(0, Acks()),
            (await self._tips(period)).get(0, TipFigures()),
            len(groups),
        )
        communes: list[CommuneFigures] = []
        if province:
            communes = await self.communes(
                self._where.province_code, period, units, acks[AckBy.COMMUNE]
            )
        return Figures(
            scope=scope,
            area=label,
            period=period,
            current=current,
            previous=await self._previous(previous),
            by_severity=_by_severity(mix),
            by_category=_ranked(_tally(mix, 1)),
            top_tip_categories=await self._tip_categories(period),
            alerts=tuple(await self._alerts(period, acks[AckBy.ALERT])),
            groups=tuple(groups),
            communes=tuple(communes),
            attention=tuple(_attention(communes)),
        )

    def _alert_ids(self) -> Any:
        return self._where.alert_ids(ALERT_KIND)

    async def day(self, day: date, start: datetime, end: datetime) -> DailyFigures:
        """One day's alerts and tips by category (for the digest's chart)."""
        mix = await alert_q.alert_mix(self._session, self._alert_ids(), start, end)
        tips = await self._received(Period(start, end), col(Tip.category))
        return DailyFigures(day, sum(n for *_, n in mix), _ranked(Counter(tips)))

    async def _acks(self, period: Period, groupings: list[AckBy]) -> dict[AckBy, dict[int, Acks]]:
        """Acknowledgement figures of the alerts sent to the area in the period, grouped."""
        ids = alert_q.sent_in(self._alert_ids(), period.start, period.end)
        found = await delivery_q.ack_figures(
            self._session, ALERT_KIND, ids, self._where.chat_ids(), groupings
        )
        return {by: {k: Acks(*row) for k, row in rows.items()} for by, rows in found.items()}

    async def _tips(self, period: Period, by: Any = None) -> dict[Any, TipFigures]:
        args = (self._session, self._where.tips(), period.start, period.end)
        counts = await tip_q.tip_counts(*args, self._deadlines, by)
        medians = await tip_q.response_medians(*args, by)
        return {
            k: TipFigures(*c, median_response_minutes=medians.get(k)) for k, c in counts.items()
        }

    async def _received(self, period: Period, by: Any) -> dict[Any, int]:
        """key -> tips received (no other figure: cheaper)."""
        counts = await tip_q.tip_counts(
            self._session, self._where.tips(), period.start, period.end, self._deadlines, by
        )
        return {k: c.received for k, c in counts.items()}

    async def _previous(self, period: Period) -> Totals:
        """The totals of the period before, for the change."""
        alerts = await alert_q.alert_mix(self._session, self._alert_ids(), period.start, period.end)
        acks = await self._acks(period, [AckBy.ALL])
        active = await group_q.active_groups(self._session, self._where.subscriptions(), period.end)
        return Totals(
            sum(n for *_, n in alerts),
            acks[AckBy.ALL].get(0, Acks()),
            (await self._tips(period)).get(0, TipFigures()),
            len(active),
        )

    async def _alerts(self, period: Period, acks: dict[int, Acks]) -> list[AlertFigures]:
        rows = await alert_q.alerts_sent(self._session, self._alert_ids(), period.start, period.end)
        return [
            AlertFigures(
                id=r.id,
                severity=r.severity,
                category=r.category,
                sent_at=r.created_at,
                exercise=r.exercise,
                cancelled=r.status == "cancelled",
                acks=acks.get(r.id, Acks()),
            )
            for r in rows
        ]

    async def _groups(self, period: Period, acks: dict[int, Acks]) -> list[GroupFigures]:
        """Every active group of the area with its figures and its "cần kiểm tra" flag."""
        active = await group_q.active_groups(self._session, self._where.subscriptions(), period.end)
        quiet = await self._quiet(period.end)
        tips = await self._tips_per_area(period, active)
        settled = period.end - QUIET_WINDOW  # subscribed before: old enough to judge
        return [
            GroupFigures(
                chat_id=g.chat_id,
                telegram_id=g.telegram_id,
                title=g.title,
                area_id=g.area_id,
                acks=acks.get(g.chat_id, Acks()),
                tips=tips.get(g.area_id, 0),
                needs_check=g.chat_id in quiet and g.subscribed_at <= settled,
            )
            for g in active
        ]

    async def _quiet(self, end: datetime) -> set[int]:
        """Groups that received copies of the alerts sent in the four weeks before `end` and
        acknowledged none of them."""
        window = await self._acks(Period(end - QUIET_WINDOW, end), [AckBy.CHAT])
        return {chat for chat, acks in window[AckBy.CHAT].items() if not acks.acknowledged}

    async def _tips_per_area(
        self, period: Period, active: Iterable[group_q.ActiveGroup]
    ) -> dict[int, int]:
        """Area row -> tips received from it: a commune's by commune code, a residential
        area's through its groups' links."""
        by_commune = await self._received(period, col(Tip.commune_code))
        by_source = await self._received(period, col(Tip.source_area_id))
        codes = await area_q.communes_in(self._session, self._where.province_code)
        found: dict[int, int] = {}
        for group in active:
            if group.area_id == group.commune_id:
                found[group.area_id] = by_commune.get(codes.get(group.commune_id), 0)
            else:
                found[group.area_id] = by_source.get(group.area_id, 0)
        return found

    async def _tip_categories(self, period: Period) -> tuple[tuple[str, int], ...]:
        per = await self._received(period, col(Tip.category))
        return _ranked(Counter(per))[:TOP_CATEGORIES]

    async def communes(
        self,
        province_code: str | None,
        period: Period,
        units: AdminUnits,
        acks: dict[int, Acks] | None = None,
    ) -> list[CommuneFigures]:
        """The per-commune table of a province (or of the country), by code; `acks` by commune
        row when already computed."""
        table_of = _Computation(
            self._session, AreaFilter(province_code=province_code), self._deadlines
        )
        session, start, end = self._session, period.start, period.end
        codes = await area_q.communes_in(session, province_code)
        active = await group_q.active_per_commune(session, table_of._where.subscriptions(), end)
        wide, per_commune = await alert_q.alerts_per_area(session, province_code, start, end)
        if acks is None:
            acks = (await table_of._acks(period, [AckBy.COMMUNE]))[AckBy.COMMUNE]
        tips = await table_of._tips(period, col(Tip.commune_code))
        table = []
        for commune_id, code in sorted(codes.items(), key=operator.itemgetter(1)):
            unit = units.commune(code)
            if unit is None:
                continue
            table.append(
                CommuneFigures(
                    code=code,
                    name=unit.name,
                    province_code=unit.province_code,
                    province_name=unit.province_name,
                    active_groups=active.get(commune_id, 0),
                    alerts=wide.get(unit.province_code, 0) + per_commune.get(commune_id, 0),
                    acks=acks.get(commune_id, Acks()),
                    tips=tips.get(code, TipFigures()),
                )
            )
        return table


def _tally(mix: Iterable[tuple[str, str, int]], index: int) -> Counter[str]:
    found: Counter[str] = Counter()
    for severity, category, n in mix:
        found[severity if index == 0 else category] += n
    return found


def _by_severity(mix: Iterable[tuple[str, str, int]]) -> tuple[tuple[str, int], ...]:
    counts = _tally(mix, 0)
    order = (Severity.URGENT, Severity.WARNING, Severity.INFO)
    return tuple((s.value, counts.get(s.value, 0)) for s in order)


def _ranked(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    """Most first, then by name; zero counts left out."""
    return tuple(sorted(((k, n) for k, n in counts.items() if n), key=lambda kn: (-kn[1], kn[0])))


def _attention(communes: Iterable[CommuneFigures]) -> list[CommuneFigures]:
    """The communes needing attention most: the lowest share of acknowledged copies, then the
    most overdue tips."""

    def urgency(c: CommuneFigures) -> tuple[float, int, str]:
        share = c.acks.share
        return (share if share is not None else 1.0, -c.tips.overdue, c.code)

    return sorted((c for c in communes if c.needs_attention), key=urgency)[:ATTENTION]
