"""The movement's figures per commune as CSV, UTF-8 with a BOM so that Excel shows Vietnamese."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from bot.services.stats import CommuneFigures

BOM = "\ufeff"
COLUMNS = (
    "commune code",
    "commune",
    "province",
    "groups active",
    "alerts",
    "ack share",
    "median ack minutes",
    "tips received",
    "valuable",
    "resolved",
    "overdue",
)


def _row(c: CommuneFigures) -> list[object]:
    share, median = c.acks.share, c.acks.median_minutes
    return [
        c.code,
        c.name,
        c.province_name,
        c.active_groups,
        c.alerts,
        "" if share is None else f"{share:.3f}",  # a fraction: 0.750 is three copies in four
        "" if median is None else f"{median:.1f}",
        c.tips.received,
        c.tips.valuable,
        c.tips.resolved,
        c.tips.overdue,
    ]


def summary_csv(communes: Iterable[CommuneFigures]) -> bytes:
    """One row per commune under a header; empty cells where nothing was delivered."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # CRLF line ends, as RFC 4180 and Excel expect
    writer.writerow(COLUMNS)
    writer.writerows(_row(c) for c in communes)
    return (BOM + out.getvalue()).encode("utf-8")
