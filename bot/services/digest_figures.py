"""The digest's figures, read from the statistics service (the one read model) and frozen in
the shape the digest shows."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.areas import AdminUnits
from bot.services.digest_types import (
    ATTENTION_LIMIT,
    AlertFigures,
    AreaFigures,
    CommuneLine,
    DayFigures,
    GroupLine,
    TipFigures,
)
from bot.services.stats import (
    CommuneFigures,
    Figures,
    Period,
    Scope,
    StatisticsService,
    Totals,
    UnknownScope,
)


def _seconds(minutes: float | None) -> float | None:
    return None if minutes is None else minutes * 60


def _alerts(totals: Totals, figures: Figures | None = None) -> AlertFigures:
    return AlertFigures(
        total=totals.alerts,
        by_severity=dict(figures.by_severity) if figures else {},
        by_category=dict(figures.by_category) if figures else {},
        ack_share=totals.acks.share,
        ack_median_seconds=_seconds(totals.acks.median_minutes),
    )


def _tips(totals: Totals) -> TipFigures:
    t = totals.tips
    return TipFigures(
        received=t.received,
        valuable=t.valuable,
        resolved=t.resolved,
        rejected=t.rejected,
        overdue=t.overdue,
        ack_median_seconds=_seconds(t.median_response_minutes),
    )


def _commune_line(c: CommuneFigures) -> CommuneLine:
    return CommuneLine(
        code=c.code,
        name=c.name,
        groups=c.active_groups,
        alerts=c.alerts,
        ack_share=c.acks.share,
        ack_median_seconds=_seconds(c.acks.median_minutes),
        tips_received=c.tips.received,
        tips_valuable=c.tips.valuable,
        tips_resolved=c.tips.resolved,
        tips_overdue=c.tips.overdue,
    )


class StatsFigures:
    """A `FigureSource` over `StatisticsService`: a commune's or province's week."""

    def __init__(self, stats: StatisticsService, units: AdminUnits, tz: ZoneInfo) -> None:
        self._stats = stats
        self._units = units
        self._tz = tz

    async def figures(self, code: str, period: Period) -> AreaFigures:
        """The figures of a commune or province (official code) for one week."""
        province, commune = self._units.province(code), self._units.commune(code)
        if province is not None:
            name, province_name = province.name, province.name
        elif commune is not None:
            name, province_name = commune.name, commune.province_name
        else:
            raise UnknownScope(code)
        scope = Scope.of_code(code)
        # A digest's week is over when it is computed: its figures never depend on the clock.
        f = await self._stats.figures(scope, period, now=period.end)
        daily = await self._stats.daily(scope, period, now=period.end)
        flagged = sorted(g.title or "" for g in f.needs_check)
        return AreaFigures(
            code=code,
            name=name,
            province_name=province_name,
            kind="province" if province else "commune",
            alerts=_alerts(f.current, f),
            alerts_previous=_alerts(f.previous),
            tips=_tips(f.current),
            tips_previous=_tips(f.previous),
            top_categories=list(f.top_tip_categories),
            active_groups=f.current.active_groups,
            active_groups_previous=f.previous.active_groups,
            days=[DayFigures(d.day.isoformat(), d.alerts, dict(d.tips)) for d in daily],
            # A province's thousands of groups are not listed: its officer reads communes.
            groups=[]
            if province
            else [
                GroupLine(
                    g.chat_id, g.title or "", g.acks.delivered, g.acks.acknowledged, g.needs_check
                )
                for g in f.groups
            ],
            flagged_groups=flagged[:ATTENTION_LIMIT],
            flagged_total=len(flagged),
            communes=[_commune_line(c) for c in f.communes],
            attention=[_commune_line(c) for c in f.attention],
        )
