"""How a digest reads, from frozen figures: Vietnamese first, small tip counts hidden in
groups, changes against the week before, an empty week in one line, Telegram's limits."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font

from bot.i18n import load_catalog
from bot.services.charts import FONT_FAMILY
from bot.services.digest_render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    DigestView,
    Section,
    chart_caption,
    chart_data,
    digest_text,
    table_caption,
    table_csv,
)
from bot.services.digest_types import (
    AlertFigures,
    AreaFigures,
    Audience,
    CommuneLine,
    DayFigures,
    GroupLine,
    TipFigures,
)
from bot.services.stats import last_full_week

CATALOG = load_catalog()
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD = last_full_week(datetime(2026, 11, 30, 1, tzinfo=UTC), HCM)  # 23/11 – 29/11/2026
DONG_DA = AreaFigures(
    code="00235",
    name="Phường Đống Đa",
    province_name="Thành phố Hà Nội",
    kind="commune",
    alerts=AlertFigures(
        total=5,
        by_severity={"urgent": 1, "warning": 3, "info": 1},
        by_category={"scam": 3, "theft": 2},
        ack_share=0.8,
        ack_median_seconds=12 * 60,
    ),
    alerts_previous=AlertFigures(total=3),
    tips=TipFigures(
        received=12, valuable=4, resolved=6, rejected=1, overdue=2, ack_median_seconds=25 * 60
    ),
    tips_previous=TipFigures(received=15),
    top_categories=[("scam", 5), ("theft", 3), ("suspicious", 2), ("drugs", 2)],
    active_groups=23,
    active_groups_previous=21,
    days=[
        DayFigures("2026-11-23", alerts=1, tips={"scam": 2}),
        DayFigures("2026-11-25", alerts=2, tips={"suspicious": 2, "theft": 3}),
        DayFigures("2026-11-29", alerts=2, tips={"scam": 3, "drugs": 2}),
    ],
    groups=[
        GroupLine(11, "TDP 5", alerts=5, acknowledged=4),
        GroupLine(12, "Tổ 7 Láng Hạ", alerts=5, acknowledged=0, flagged=True),
    ],
    flagged_groups=["Tổ 7 Láng Hạ"],
    flagged_total=1,
)
QUIET = replace(
    DONG_DA,
    alerts=AlertFigures(),
    alerts_previous=AlertFigures(total=2),
    tips=TipFigures(),
    tips_previous=TipFigures(received=1),
    top_categories=[],
    days=[],
)
FEW_TIPS = replace(
    DONG_DA,
    tips=TipFigures(received=2, valuable=1, resolved=1, rejected=0, overdue=0),
    tips_previous=TipFigures(received=4),
    top_categories=[("scam", 2)],
)


def text(
    figures: AreaFigures,
    audience: Audience = Audience.ADMIN,
    lang: str = "vi",
    groups: tuple[tuple[int, str], ...] = ((11, "TDP 5"),),
    officer: bool = False,
) -> str:
    view = DigestView(audience, PERIOD, [Section(figures, groups)], officer=officer)
    return digest_text(CATALOG, lang, HCM, view)


def test_an_administrators_digest_in_vietnamese() -> None:
    body = text(DONG_DA)
    for expected in (
        "📊 <b>Tổng hợp an ninh tuần 23/11 – 29/11/2026</b>",
        "📍 <b>Phường Đống Đa — Thành phố Hà Nội</b>",
        "Cảnh báo của công an: <b>5</b> (▲ 2 so với tuần trước)",
        "🔴 KHẨN CẤP 1 · 🟠 CẢNH BÁO 3 · 🔵 THÔNG TIN 1",
        "Lừa đảo 3 · Trộm cắp 2",
        "80% nhóm đã bấm «Đã nhận», thường sau 12 phút",
        "Tin báo của người dân: <b>12</b> (▼ 3 so với tuần trước)",
        "Có giá trị: 4 · Đã xử lý: 6 · Không xử lý: 1 · Quá hạn: 2",
        "Công an tiếp nhận tin thường sau 25 phút",
        "Nhiều nhất: Lừa đảo 5 · Trộm cắp 3 · Đối tượng khả nghi 2",
        "4 tin có giá trị — cảm ơn người dân!",
        "Mô hình đang hoạt động: <b>23</b> nhóm (▲ 2 so với tuần trước)",
        "<b>Nhóm của bạn:</b>\n• TDP 5: đã nhận 4/5 cảnh báo",
        "/tonghop tat",
    ):
        assert expected in body, expected
    assert len(body) <= TEXT_LIMIT


def test_the_english_digest_says_the_same() -> None:
    body = text(DONG_DA, lang="en")
    assert "Security digest, 23 Nov – 29 Nov 2026" in body
    assert "Police alerts: <b>5</b> (▲ 2 on the week before)" in body
    assert "80% of groups pressed «Received», usually within 12 min" in body
    assert "4 valuable tips — thank you, residents!" in body
    assert "/digest off" in body


@pytest.mark.parametrize(
    ("audience", "shown", "hidden"),
    [
        # Privately, an administrator sees the exact counts and the change.
        (Audience.ADMIN, ["<b>2</b> (▼ 2 so với tuần trước)", "Có giá trị: 1"], ["&lt; 3"]),
        # Posted in the group: 1 and 2 are "< 3", and no change gives them away.
        (
            Audience.GROUP,
            ["Tin báo của người dân: <b>&lt; 3</b>\n", "Có giá trị: &lt; 3", "Lừa đảo &lt; 3"],
            ["<b>2</b>", "▼ 2 so với", "Có giá trị: 1"],
        ),
    ],
)
def test_small_tip_counts_are_hidden_only_in_group_posts(
    audience: Audience, shown: list[str], hidden: list[str]
) -> None:
    body = text(FEW_TIPS, audience)
    for part in shown:
        assert part in body, part
    for part in hidden:
        assert part not in body, part
    # Alert counts are not about residents: they are shown as they are.
    assert "Cảnh báo của công an: <b>5</b>" in body


def test_a_group_post_names_no_reader_and_points_at_the_settings() -> None:
    body = text(DONG_DA, Audience.GROUP)
    assert "Nhóm của bạn" not in body and "/tonghop tat" not in body
    assert "/caidat" in body
    assert "• TDP 5: đã nhận 4/5 cảnh báo" in body


def test_an_empty_week_is_one_line_not_a_blank_table() -> None:
    body = text(QUIET)
    assert "Tuần qua không có cảnh báo hay tin báo nào." in body
    assert "Cảnh báo của công an" not in body and "Tin báo của người dân" not in body
    assert "Mô hình đang hoạt động: <b>23</b> nhóm" in body


def test_a_commune_officer_sees_the_groups_needing_a_check() -> None:
    body = text(DONG_DA, Audience.OFFICER, groups=(), officer=True)
    assert "⚠️ <b>1 nhóm cần kiểm tra</b>" in body and "Tổ 7 Láng Hạ" in body
    assert "Nhóm của bạn" not in body


def test_a_province_officer_sees_the_ten_communes_needing_attention_most() -> None:
    communes = [
        CommuneLine(f"{i:05d}", f"Xã Số {i}", groups=3, ack_share=i / 20, tips_overdue=20 - i)
        for i in range(1, 15)
    ]
    province = replace(
        DONG_DA,
        code="25",
        name="Tỉnh Phú Thọ",
        kind="province",
        communes=communes,
        attention=communes[:10],
        groups=[],
    )
    body = text(province, Audience.OFFICER, groups=(), officer=True)
    assert "📍 <b>Tỉnh Phú Thọ</b>" in body
    assert "⚠️ <b>10 xã/phường cần chú ý nhất:</b>" in body
    ranked = re.findall(r"^(\d+)\. (Xã Số \d+): (\d+)% nhóm đã nhận", body, re.MULTILINE)
    assert [(r, n) for r, n, _ in ranked] == [(str(i), f"Xã Số {i}") for i in range(1, 11)]
    assert "Xã Số 11" not in body


def test_an_administrator_of_many_areas_gets_what_fits_and_is_told_the_rest() -> None:
    sections = [
        Section(replace(DONG_DA, name=f"Xã Thứ {i}"), ((i, f"Nhóm {i}"),)) for i in range(40)
    ]
    view = DigestView(Audience.ADMIN, PERIOD, sections)
    body = digest_text(CATALOG, "vi", HCM, view)
    assert len(body) <= TEXT_LIMIT
    shown = body.count("📍")
    assert 0 < shown < 40
    assert f"… và {40 - shown} khu vực khác" in body
    assert body.endswith("/tonghop tat.</i>")


def test_durations_read_as_seconds_minutes_or_hours() -> None:
    def median(seconds: float, lang: str = "vi") -> str:
        figures = replace(DONG_DA, alerts=replace(DONG_DA.alerts, ack_median_seconds=seconds))
        found = re.search(r"(?:thường sau|usually within) (.+)$", text(figures, lang=lang), re.M)
        assert found is not None
        return found.group(1)

    assert median(45) == "45 giây"
    assert median(30 * 60) == "30 phút"
    assert median(2.5 * 3600) == "2,5 giờ"
    assert median(2.5 * 3600, "en") == "2.5 h"
    assert median(30 * 3600) == "30 giờ"


def test_the_chart_data_covers_every_day_labelled_without_emoji() -> None:
    data = chart_data(CATALOG, "vi", HCM, DONG_DA, PERIOD, public=False)
    assert data.days[0] == "T2 23/11" and data.days[-1] == "CN 29/11" and len(data.days) == 7
    assert data.alerts == [1, 0, 2, 0, 0, 0, 2]
    assert list(data.tips) == ["Lừa đảo", "Trộm cắp", "Ma túy", "Đối tượng khả nghi"]  # ties by key
    assert data.tips["Lừa đảo"] == [2, 0, 0, 0, 0, 0, 3]
    charmap = FT2Font(findfont(FontProperties(family=FONT_FAMILY))).get_charmap()
    for lang in ("vi", "en"):
        drawn = chart_data(CATALOG, lang, HCM, DONG_DA, PERIOD, public=False).texts()
        assert [c for c in "".join(drawn) if c != " " and ord(c) not in charmap] == []
    caption = chart_caption(CATALOG, "vi", HCM, DONG_DA, PERIOD)
    assert caption.startswith("📈 Phường Đống Đa") and len(caption) <= CAPTION_LIMIT


def test_an_empty_week_chart_says_so() -> None:
    data = chart_data(CATALOG, "vi", HCM, QUIET, PERIOD, public=True)
    assert data.public and data.empty_note and data.alerts == [0] * 7


def test_the_province_table_is_csv_with_a_bom_in_the_readers_language() -> None:
    communes = [
        CommuneLine("07936", "Phường Việt Trì", 40, 6, 0.75, 600.0, 9, 3, 5, 1),
        CommuneLine("07940", "Xã Hy Cương", 2, 0, None, None, 0, 0, 0, 0),
    ]
    data = table_csv(CATALOG, "vi", communes)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Mã xã/phường", "Xã/phường"]
    assert rows[1] == ["07936", "Phường Việt Trì", "40", "6", "0.75", "10.0", "9", "3", "5", "1"]
    assert rows[2][4:6] == ["", ""]
    english = list(csv.reader(io.StringIO(table_csv(CATALOG, "en", communes).decode("utf-8-sig"))))
    assert english[0][:2] == ["Commune code", "Commune"]
    province = replace(DONG_DA, name="Tỉnh Phú Thọ", kind="province", communes=communes)
    assert "2 xã/phường" in table_caption(CATALOG, "vi", HCM, province, PERIOD)
