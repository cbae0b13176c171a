"""The figures as /thongke shows them: in a group (its area, no tip's details, small tip counts
shown as "dưới 3"), or to an officer (the jurisdiction, the groups to check, for a province the
communes needing attention)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Catalog
from bot.services.stats import Figures, PeriodName, Totals

FEW = 3  # in a group, tip counts below this are not shown exactly: a tip could be guessed
LISTED_GROUPS = 10  # "cần kiểm tra" groups named; the rest are counted


def render_figures(
    catalog: Catalog,
    lang: str,
    figures: Figures,
    period: PeriodName,
    tz: ZoneInfo,
    *,
    group: int | None = None,
) -> str:
    """The message: for the group `group` (its Telegram id) when given, else for an officer."""
    t = catalog.t
    lines = [
        t(
            lang,
            "stats.title",
            period=t(lang, f"stats.period_{period.value}"),
            area=figures.area,
            start=catalog.datetime(lang, figures.period.start, tz),
            end=catalog.datetime(lang, figures.period.end, tz),
        )
    ]
    if figures.empty:
        lines.append(t(lang, "stats.empty"))
    else:
        lines += _alerts(catalog, lang, figures, officer=group is None)
        lines += (
            _tips(catalog, lang, figures) if group is None else _group_tips(catalog, lang, figures)
        )
    lines.append(
        t(
            lang,
            "stats.active",
            count=figures.current.active_groups,
            change=_change(catalog, lang, figures, "active_groups"),
        )
    )
    if group is not None:
        lines += _this_group(catalog, lang, figures, group)
    else:
        lines += _needs_check(catalog, lang, figures) + _attention(catalog, lang, figures)
    return "\n".join(lines)


def _alerts(catalog: Catalog, lang: str, figures: Figures, *, officer: bool) -> list[str]:
    t, now = catalog.t, figures.current
    severity = dict(figures.by_severity)
    lines = [
        t(lang, "stats.alerts", count=now.alerts, change=_change(catalog, lang, figures, "alerts")),
        t(
            lang,
            "stats.severities",
            urgent=severity["urgent"],
            warning=severity["warning"],
            info=severity["info"],
        ),
    ]
    if officer and figures.by_category:
        items = ", ".join(
            f"{t(lang, f'category.{c}')} {catalog.number(lang, n)}"
            for c, n in figures.by_category[:3]
        )
        lines.append(t(lang, "stats.alert_categories", items=items))
    lines += _acks(catalog, lang, now)
    return lines


def _acks(catalog: Catalog, lang: str, now: Totals) -> list[str]:
    t, acks = catalog.t, now.acks
    if acks.share is None:
        return [t(lang, "stats.acks_none")]
    lines = [
        t(
            lang,
            "stats.acks",
            percent=round(acks.share * 100),
            acknowledged=acks.acknowledged,
            delivered=acks.delivered,
        )
    ]
    if acks.median_minutes is not None:
        lines.append(t(lang, "stats.acks_time", minutes=_minutes(acks.median_minutes)))
    return lines


def _tips(catalog: Catalog, lang: str, figures: Figures) -> list[str]:
    t, tips = catalog.t, figures.current.tips
    lines = [
        t(
            lang,
            "stats.tips",
            received=tips.received,
            change=_change(catalog, lang, figures, "tips.received"),
        ),
        t(
            lang,
            "stats.tips_outcomes",
            valuable=tips.valuable,
            resolved=tips.resolved,
            rejected=tips.rejected,
            overdue=tips.overdue,
        ),
    ]
    if tips.median_response_minutes is not None:
        lines.append(t(lang, "stats.tips_time", minutes=_minutes(tips.median_response_minutes)))
    if figures.top_tip_categories:
        items = ", ".join(
            f"{t(lang, f'tips.category.{c}')} {catalog.number(lang, n)}"
            for c, n in figures.top_tip_categories
        )
        lines.append(t(lang, "stats.tips_categories", items=items))
    return lines


def _group_tips(catalog: Catalog, lang: str, figures: Figures) -> list[str]:
    """Counts only, small ones hidden, no change (it would give the exact number away)."""
    t, tips = catalog.t, figures.current.tips
    lines = [t(lang, "stats.tips", received=_few(catalog, lang, tips.received), change="")]
    if tips.valuable:
        lines.append(t(lang, "stats.tips_thanks", valuable=_few(catalog, lang, tips.valuable)))
    return lines


def _this_group(catalog: Catalog, lang: str, figures: Figures, telegram_id: int) -> list[str]:
    mine = next((g for g in figures.groups if g.telegram_id == telegram_id), None)
    if mine is None or not mine.acks.delivered:
        return []
    return [
        catalog.t(
            lang,
            "stats.this_group",
            acknowledged=mine.acks.acknowledged,
            delivered=mine.acks.delivered,
        )
    ]


def _needs_check(catalog: Catalog, lang: str, figures: Figures) -> list[str]:
    t, flagged = catalog.t, figures.needs_check
    if not flagged:
        return [t(lang, "stats.check_none")]
    lines = [t(lang, "stats.check_title")]
    for group in flagged[:LISTED_GROUPS]:
        lines.append(
            t(lang, "stats.check_item", name=group.title or t(lang, "stats.unnamed_group"))
        )
    if len(flagged) > LISTED_GROUPS:
        lines.append(t(lang, "stats.check_more", count=len(flagged) - LISTED_GROUPS))
    return lines


def _attention(catalog: Catalog, lang: str, figures: Figures) -> list[str]:
    t = catalog.t
    if not figures.attention:
        return []
    lines = [t(lang, "stats.attention_title")]
    for rank, commune in enumerate(figures.attention, 1):
        share = commune.acks.share
        percent = (
            t(lang, "stats.percent", value=round(share * 100))
            if share is not None
            else t(lang, "stats.no_share")
        )
        lines.append(
            t(
                lang,
                "stats.attention_item",
                rank=rank,
                name=commune.name,
                percent=percent,
                overdue=commune.tips.overdue,
            )
        )
    return lines


def _change(catalog: Catalog, lang: str, figures: Figures, name: str) -> str:
    delta = figures.change(name)
    if delta is None:
        return ""
    if delta == 0:
        return catalog.t(lang, "stats.same")
    key = "stats.up" if delta > 0 else "stats.down"
    return catalog.t(lang, key, delta=abs(int(delta)))


def _few(catalog: Catalog, lang: str, count: int) -> int | str:
    """The count, or "dưới 3" when it is below 3 (shown in groups)."""
    return count if count >= FEW else catalog.t(lang, "stats.few")


def _minutes(value: float) -> float:
    """Minutes as people read them: whole from ten on, else one decimal."""
    return float(round(value)) if value >= 10 else round(value, 1)
