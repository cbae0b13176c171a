"""The digest chart: a real PNG of the right size, not blank, every Vietnamese letter drawn
from DejaVu Sans (no missing-glyph boxes, no font fallback)."""

from __future__ import annotations

import asyncio
import io
import warnings
from dataclasses import replace

import pytest
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from PIL import Image

from bot.services.charts import (
    FONT_FAMILY,
    HEIGHT_PX,
    PUBLIC_HEIGHT_PX,
    WIDTH_PX,
    ChartCache,
    ChartData,
    render_chart,
)

WEEK = ChartData(
    title="Phường Đống Đa · 24/11 – 30/11/2026",
    days=["T2 24/11", "T3 25/11", "T4 26/11", "T5 27/11", "T6 28/11", "T7 29/11", "CN 30/11"],
    alerts=[1, 0, 2, 0, 0, 1, 0],
    alerts_title="Cảnh báo của công an theo ngày",
    tips_title="Tin báo của người dân theo ngày",
    tips={
        "Lừa đảo": [1, 2, 0, 0, 3, 0, 1],
        "Đối tượng khả nghi": [0, 1, 0, 2, 0, 0, 0],
        "Gây rối trật tự": [0, 0, 1, 0, 0, 0, 0],
        "Ma túy": [0, 0, 0, 0, 1, 0, 0],
    },
)
EMPTY = replace(
    WEEK,
    alerts=[0] * 7,
    tips={},
    empty_note="Tuần qua không có cảnh báo hay tin báo nào",
)


def _render_quietly(data: ChartData) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_chart(data)
    return png, [str(w.message) for w in caught]


@pytest.mark.parametrize(
    ("data", "height"),
    [(WEEK, HEIGHT_PX), (replace(WEEK, public=True), PUBLIC_HEIGHT_PX), (EMPTY, HEIGHT_PX)],
    ids=["full", "public", "empty-week"],
)
def test_the_chart_is_a_png_of_the_promised_size_and_not_blank(
    data: ChartData, height: int
) -> None:
    png, warned = _render_quietly(data)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (WIDTH_PX, height)
    grey = image.convert("L")
    darkest, lightest = grey.getextrema()
    assert lightest == 255 and darkest < 80  # a white page with dark text on it
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # anti-aliased text and bars
    assert not [w for w in warned if "missing from" in w or "findfont" in w]


def test_every_vietnamese_letter_drawn_exists_in_dejavu_sans() -> None:
    path = findfont(FontProperties(family=FONT_FAMILY), fallback_to_default=False)
    assert "DejaVuSans" in path
    charmap = FT2Font(path).get_charmap()
    drawn = "".join(WEEK.texts() + EMPTY.texts())
    assert {"ư", "ờ", "ố", "ậ", "ả", "ự", "ú", "Đ"} <= set(drawn)
    assert [c for c in set(drawn) if c != " " and ord(c) not in charmap] == []


def test_decomposed_letters_are_drawn_precomposed() -> None:
    decomposed = "Phu\u031bo\u031b\u0300ng"  # "Phường" typed with combining marks
    data = replace(WEEK, title=decomposed)
    assert "Phường" in data.texts()
    png, warned = _render_quietly(data)
    assert png.startswith(b"\x89PNG") and not [w for w in warned if "missing from" in w]


async def test_the_cache_draws_each_chart_once_off_the_event_loop() -> None:
    cache = ChartCache()
    built = 0

    async def build() -> ChartData:
        nonlocal built
        built += 1
        return WEEK

    first, second, third = await asyncio.gather(*(cache.get("commune:1", build) for _ in range(3)))
    assert first == second == third and first.startswith(b"\x89PNG")
    assert (built, cache.renders) == (1, 1)
    await cache.get("commune:2", build)
    assert cache.renders == 2


def test_the_glyph_check_sees_a_missing_glyph() -> None:
    # The control for the tests above: a letter DejaVu lacks is reported, not silently boxed.
    _, warned = _render_quietly(replace(WEEK, title="📊 Tổng hợp"))
    assert any("missing from font(s) DejaVu Sans" in w for w in warned)
