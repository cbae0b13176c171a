"""How a digest reads: its text (Vietnamese first), its chart's labels and the officer's CSV.

Pure functions of frozen figures and a language; the service loads the figures and sends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta, tzinfo

from babel.dates import format_date

from bot.i18n import LOCALES, Catalog, Markup
from bot.services.charts import ChartData
from bot.services.digest_types import (
    ATTENTION_LIMIT,
    SMALL_COUNT,
    AreaFigures,
    Audience,
    CommuneLine,
    GroupLine,
)
from bot.services.stats import Period

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_DAY_PATTERNS = {"vi": "dd/MM", "en": "d MMM"}
_FULL_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
SEVERITIES = ("urgent", "warning", "info")


@dataclass(frozen=True)
class Section:
    """One area of a digest and the reader's groups in it (their chat rows and titles)."""

    figures: AreaFigures
    groups: Sequence[tuple[int, str]] = ()


@dataclass(frozen=True)
class DigestView:
    """Everything one digest message shows."""

    audience: Audience
    period: Period
    sections: Sequence[Section]
    officer: bool = False
    opted_out: bool = False  # asked for on demand by someone who stopped the weekly one
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def masked(self) -> bool:
        """Posted in a group: small tip counts are hidden."""
        return self.audience is Audience.GROUP


class Writer:
    """Catalogue texts in one language, with the digest's number formats."""

    def __init__(self, catalog: Catalog, lang: str, tz: tzinfo) -> None:
        self.catalog, self.lang, self.tz = catalog, catalog.language(lang), tz

    def t(self, key: str, **values: object) -> str:
        return self.catalog.t(self.lang, key, **values)

    def day(self, value: date, full: bool = False) -> str:
        patterns = _FULL_PATTERNS if full else _DAY_PATTERNS
        return format_date(value, patterns[self.lang], locale=LOCALES[self.lang])

    def span(self, period: Period) -> tuple[str, str]:
        """The period's first and last local day ("24/11", "30/11/2026")."""
        first = period.start.astimezone(self.tz).date()
        last = (period.end.astimezone(self.tz) - timedelta(seconds=1)).date()
        return self.day(first), self.day(last, full=True)

    def count(self, value: int, masked: bool = False) -> str:
        """A count; in a group, a tip count of 1 or 2 is written "< 3"."""
        if masked and 0 < value < SMALL_COUNT:
            return Markup(self.t("digest.small"))
        return self.catalog.number(self.lang, value)

    def share(self, value: float | None) -> str:
        if value is None:
            return "—"
        return self.catalog.number(self.lang, round(value * 100)) + "%"

    def duration(self, seconds: float | None) -> str:
        """A median time: seconds, minutes or hours, whichever reads best."""
        if seconds is None:
            return "—"
        if seconds < 90:
            return self.t("digest.seconds", n=round(seconds))
        if seconds < 90 * 60:
            return self.t("digest.minutes", n=round(seconds / 60))
        hours = seconds / 3600
        digits = 0 if hours >= 10 else 1
        return self.t("digest.hours", n=Markup(self.catalog.number(self.lang, hours, digits)))

    def change(self, current: int, previous: int, masked: bool = False) -> str:
        """ " (▲ 2 so với tuần trước)"; hidden in a group when either week was small."""
        if masked and (0 < current < SMALL_COUNT or 0 < previous < SMALL_COUNT):
            return ""
        if current == previous:
            return self.t("digest.change_same")
        key = "digest.change_up" if current > previous else "digest.change_down"
        return self.t(key, delta=abs(current - previous))

    def category(self, kind: str, key: str) -> str:
        """A category's name: alerts' (`category.*`) or tips' (`tips.category.*`), no emoji."""
        name = self.t(f"{kind}.{key}")
        return _without_symbol(name)

    def weekday(self, iso_weekday: int, short: bool = False) -> str:
        return self.t(f"digest.{'wd_short' if short else 'wd'}_{iso_weekday}")


def _without_symbol(label: str) -> str:
    """ "💸 Lừa đảo" -> "Lừa đảo": charts are set in DejaVu Sans, which has no emoji."""
    head, _, rest = label.partition(" ")
    return rest if rest and head and not any(c.isalnum() for c in head) else label


def local_days(period: Period, tz: tzinfo) -> list[date]:
    """The local dates a period covers (a week: Monday to Sunday)."""
    first = period.start.astimezone(tz).date()
    last = (period.end.astimezone(tz) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -- text ------------------------------------------------------------------------------------


def _alerts_block(w: Writer, f: AreaFigures) -> list[str]:
    a = f.alerts
    lines = [
        w.t(
            "digest.alerts",
            count=a.total,
            change=Markup(w.change(a.total, f.alerts_previous.total)),
        )
    ]
    if a.total == 0:
        return lines
    severities = [
        w.t("digest.severity_item", label=w.t(f"severity.{s}"), count=a.by_severity.get(s, 0))
        for s in SEVERITIES
        if a.by_severity.get(s, 0)
    ]
    lines.append(w.t("digest.indent", text=Markup(" · ".join(severities))))
    categories = _items(w, "category", a.by_category.items())
    if categories:
        lines.append(w.t("digest.indent", text=Markup(categories)))
    if a.ack_share is not None:
        lines.append(
            w.t(
                "digest.alerts_ack",
                share=w.share(a.ack_share),
                median=w.duration(a.ack_median_seconds),
            )
        )
    return lines


def _items(w: Writer, kind: str, counts: Iterable[tuple[str, int]], masked: bool = False) -> str:
    ordered = sorted(((k, n) for k, n in counts if n), key=lambda kv: (-kv[1], kv[0]))
    return " · ".join(
        w.t("digest.item", label=w.category(kind, k), count=Markup(w.count(n, masked)))
        for k, n in ordered
    )


def _tips_block(w: Writer, f: AreaFigures, masked: bool) -> list[str]:
    tips, before = f.tips, f.tips_previous
    lines = [
        w.t(
            "digest.tips",
            count=Markup(w.count(tips.received, masked)),
            change=Markup(w.change(tips.received, before.received, masked)),
        )
    ]
    if tips.received == 0 and tips.overdue == 0:
        return lines
    lines.append(
        w.t(
            "digest.tips_outcomes",
            valuable=Markup(w.count(tips.valuable, masked)),
            resolved=Markup(w.count(tips.resolved, masked)),
            rejected=Markup(w.count(tips.rejected, masked)),
            overdue=Markup(w.count(tips.overdue, masked)),
        )
    )
    if tips.ack_median_seconds is not None:
        lines.append(w.t("digest.tips_ack", median=w.duration(tips.ack_median_seconds)))
    top = _items(w, "tips.category", f.top_categories[:3], masked)
    if top:
        lines.append(w.t("digest.top", categories=Markup(top)))
    if tips.valuable:
        lines.append(w.t("digest.thanks", count=Markup(w.count(tips.valuable, masked))))
    return lines


def area_block(w: Writer, f: AreaFigures, masked: bool) -> list[str]:
    """The figures of one commune or province."""
    place = f.name if f.kind == "province" else f"{f.name} — {f.province_name}"
    lines = [w.t("digest.area", area=place)]
    if f.empty:
        lines.append(w.t("digest.empty"))
    else:
        lines += _alerts_block(w, f)
        lines += _tips_block(w, f, masked)
    lines.append(
        w.t(
            "digest.active",
            count=f.active_groups,
            change=Markup(w.change(f.active_groups, f.active_groups_previous)),
        )
    )
    return lines


def _group_lines(w: Writer, f: AreaFigures, groups: Sequence[tuple[int, str]]) -> list[str]:
    known = {g.chat_id: g for g in f.groups}
    lines = []
    for chat_id, title in groups:
        line: GroupLine | None = known.get(chat_id)
        if line is None or line.alerts == 0:
            text = w.t("digest.group_quiet", title=title)
        else:
            text = w.t(
                "digest.group_line", title=title, acked=line.acknowledged, alerts=line.alerts
            )
        if line is not None and line.flagged:
            text += w.t("digest.group_flagged")
        lines.append(text)
    return lines


def _officer_lines(w: Writer, f: AreaFigures) -> list[str]:
    lines: list[str] = []
    if f.kind == "province" and f.attention:
        lines.append(w.t("digest.attention_communes", count=min(ATTENTION_LIMIT, len(f.attention))))
        lines += [
            w.t(
                "digest.commune_line",
                rank=i,
                name=c.name,
                share=w.share(c.ack_share),
                overdue=c.tips_overdue,
            )
            for i, c in enumerate(f.attention[:ATTENTION_LIMIT], start=1)
        ]
    if f.flagged_total:
        shown = ", ".join(f.flagged_groups[:ATTENTION_LIMIT])
        lines.append(w.t("digest.attention_groups", count=f.flagged_total, groups=shown))
        if f.flagged_total > ATTENTION_LIMIT:
            lines.append(w.t("digest.more_groups", count=f.flagged_total - ATTENTION_LIMIT))
    return lines


def _section(w: Writer, view: DigestView, section: Section) -> str:
    lines = area_block(w, section.figures, view.masked)
    if view.officer and not section.groups:
        lines += _officer_lines(w, section.figures)
    if section.groups:
        if view.audience is not Audience.GROUP:
            lines.append(w.t("digest.your_groups"))
        lines += _group_lines(w, section.figures, section.groups)
    return "\n".join(lines)


def digest_text(catalog: Catalog, lang: str, tz: tzinfo, view: DigestView) -> str:
    """The digest's message, cut to Telegram's 4,096 characters by leaving out whole areas."""
    w = Writer(catalog, lang, tz)
    start, end = w.span(view.period)
    head = w.t("digest.title", start=start, end=end)
    if view.audience is Audience.GROUP:
        foot = w.t("digest.footer_group")
    else:
        foot = w.t("digest.footer_off" if view.opted_out else "digest.footer")
    parts = [head]
    for index, section in enumerate(view.sections):
        block = _section(w, view, section)
        left = len(view.sections) - index - 1
        reserve = len(foot) + (len(w.t("digest.more_areas", count=left)) + 2 if left else 0)
        if len("\n\n".join([*parts, block])) + 2 + reserve > TEXT_LIMIT:
            parts.append(w.t("digest.more_areas", count=len(view.sections) - index))
            break
        parts.append(block)
    parts.append(foot)
    return "\n\n".join(parts)


def chart_caption(catalog: Catalog, lang: str, tz: tzinfo, f: AreaFigures, period: Period) -> str:
    """The short caption under the chart (≤ 1,024 characters)."""
    w = Writer(catalog, lang, tz)
    start, end = w.span(period)
    return w.t("digest.chart_caption", area=f.name, start=start, end=end)[:CAPTION_LIMIT]


def chart_data(
    catalog: Catalog, lang: str, tz: tzinfo, f: AreaFigures, period: Period, public: bool
) -> ChartData:
    """What the chart of one area shows, labelled in `lang`."""
    w = Writer(catalog, lang, tz)
    days = local_days(period, tz)
    by_day = {d.day: d for d in f.days}
    start, end = w.span(period)
    categories = sorted(
        {c for d in f.days for c, n in d.tips.items() if n},
        key=lambda c: (-sum(d.tips.get(c, 0) for d in f.days), c),
    )
    series = {
        w.category("tips.category", c): [
            by_day[d.isoformat()].tips.get(c, 0) if d.isoformat() in by_day else 0 for d in days
        ]
        for c in categories
    }
    alerts = [by_day[d.isoformat()].alerts if d.isoformat() in by_day else 0 for d in days]
    labels = [f"{w.weekday(d.isoweekday(), short=True)} {w.day(d)}" for d in days]
    return ChartData(
        title=w.t("digest.chart_title", area=f.name, start=start, end=end),
        days=labels,
        alerts=alerts,
        alerts_title=w.t("digest.chart_alerts"),
        tips_title=w.t("digest.chart_tips"),
        tips=series,
        public=public,
        empty_note=w.t("digest.chart_empty") if f.empty else "",
    )


# -- the province officer's table --------------------------------------------------------------

_COLUMNS = (
    "code",
    "commune",
    "groups",
    "alerts",
    "ack_share",
    "ack_median_minutes",
    "tips_received",
    "tips_valuable",
    "tips_resolved",
    "tips_overdue",
)


def table_csv(catalog: Catalog, lang: str, communes: Sequence[CommuneLine]) -> bytes:
    """Every commune of a province, as CSV in UTF-8 with a BOM (so Excel shows Vietnamese)."""
    w = Writer(catalog, lang, UTC)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([w.t(f"digest.column_{c}") for c in _COLUMNS])
    for c in communes:
        median = None if c.ack_median_seconds is None else round(c.ack_median_seconds / 60, 1)
        share = None if c.ack_share is None else round(c.ack_share, 3)
        writer.writerow(
            [
                c.code,
                c.name,
                c.groups,
                c.alerts,
                "" if share is None else share,
                "" if median is None else median,
                c.tips_received,
                c.tips_valuable,
                c.tips_resolved,
                c.tips_overdue,
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def table_filename(code: str, period: Period, tz: tzinfo) -> str:
    start = period.start.astimezone(tz)
    return f"tong-hop-{code}-{start:%Y-%m-%d}.csv"


def table_caption(catalog: Catalog, lang: str, tz: tzinfo, f: AreaFigures, period: Period) -> str:
    w = Writer(catalog, lang, tz)
    start, end = w.span(period)
    return w.t("digest.table_caption", area=f.name, start=start, end=end, count=len(f.communes))
