"""How /thongke writes the figures: small tip counts hidden in groups, exact for officers, the
groups to check listed up to ten."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import load_catalog
from bot.services.stats import (
    Acks,
    Figures,
    GroupFigures,
    Period,
    PeriodName,
    Scope,
    TipFigures,
    Totals,
)
from bot.services.stats_render import render_figures

CATALOG = load_catalog()
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 11, 23, tzinfo=TZ)
GROUP = -4_100_000_000


def figures(tips: int, valuable: int = 0, quiet: int = 0) -> Figures:
    groups = [
        GroupFigures(n, GROUP - n, f"Tổ {n}", 1, Acks(2, 0 if n < quiet else 2, None), 0, n < quiet)
        for n in range(max(quiet, 1))
    ]
    current = Totals(2, Acks(4, 3, 12.5), TipFigures(tips, valuable, 1, 0, 1, 45.0), len(groups))
    previous = Totals(1, Acks(2, 1, 8.0), TipFigures(0, 0, 0, 0, 0, None), len(groups))
    return Figures(
        scope=Scope.commune("00235"),
        area="Phường Đống Đa — Thành phố Hà Nội",
        period=Period(START, START + timedelta(days=7)),
        current=current,
        previous=previous,
        by_severity=(("urgent", 1), ("warning", 1), ("info", 0)),
        by_category=(("scam", 2),),
        top_tip_categories=(("drugs", tips),) if tips else (),
        alerts=(),
        groups=tuple(groups),
    )


@pytest.mark.parametrize(
    ("tips", "shown"), [(0, "dưới 3"), (1, "dưới 3"), (2, "dưới 3"), (3, "3"), (1234, "1.234")]
)
def test_a_group_sees_small_tip_counts_hidden_and_no_tip_detail(tips: int, shown: str) -> None:
    text = render_figures(
        CATALOG, "vi", figures(tips, valuable=min(tips, 2)), PeriodName.DAYS_7, TZ, group=GROUP
    )
    assert f"Tin báo của người dân: <b>{shown}</b>\n" in text
    assert "Ma túy" not in text and "Quá hạn" not in text  # no tip category, no outcome
    if tips:
        assert "dưới 3 tin có giá trị — cảm ơn bà con!" in text
    assert "Nhóm này đã bấm «Đã nhận» 2/2 cảnh báo." in text
    assert "Cần kiểm tra" not in text


def test_an_officer_sees_exact_counts_changes_and_the_groups_to_check() -> None:
    text = render_figures(CATALOG, "vi", figures(2, quiet=12), PeriodName.WEEK, TZ)
    assert text.startswith("📊 <b>Số liệu tuần trước</b> — Phường Đống Đa — Thành phố Hà Nội")
    assert "<i>00:00 23/11/2026 – 00:00 30/11/2026</i>" in text
    assert "Cảnh báo đã gửi: <b>2</b> (▲ 1 so với kỳ trước)" in text
    assert "Nhiều nhất: Lừa đảo 2" in text
    assert "«Đã nhận»: <b>75%</b> (3/4 lượt)" in text and "khoảng 12 phút" in text
    assert "Tin báo của người dân: <b>2</b> (▲ 2 so với kỳ trước)" in text
    assert "Quá hạn 1" in text and "Nhiều nhất: 💊 Ma túy 2" in text
    assert "Mô hình đang hoạt động: <b>12</b> nhóm (như kỳ trước)" in text
    assert text.count("      • Tổ ") == 10 and "… và 2 nhóm khác" in text


def test_english_numbers_and_an_empty_period() -> None:
    text = render_figures(CATALOG, "en", figures(1234), PeriodName.YEAR, TZ)
    assert "Tips from residents: <b>1,234</b>" in text and "Figures, this year" in text
    nothing = replace(figures(0), current=Totals(0, Acks(), TipFigures(), 1))
    text = render_figures(CATALOG, "vi", nothing, PeriodName.DAYS_30, TZ, group=GROUP)
    assert "Không có cảnh báo hay tin báo nào trong thời gian này." in text
    assert "Cảnh báo đã gửi" not in text and "Mô hình đang hoạt động: <b>1</b> nhóm" in text
