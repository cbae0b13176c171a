"""The digest's chart: tips per day by category and alerts per day, as a PNG.

Rendering is CPU work of a few hundred milliseconds: callers run it in a thread
(`asyncio.to_thread`). Only matplotlib's object API and its Agg canvas are used (no pyplot, no
global rcParams changes), so charts can be drawn in several threads at once. Every text is set
in DejaVu Sans, which ships with matplotlib and has every Vietnamese letter.
"""

from __future__ import annotations

import asyncio
import io
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

FONT_FAMILY = "DejaVu Sans"
WIDTH_PX, HEIGHT_PX, DPI = 1000, 640, 100
PUBLIC_HEIGHT_PX = 400
# One colour per tip category, stable across charts so people learn them (matplotlib's tab10).
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_ALERT_COLOUR = "#c0392b"


@dataclass(frozen=True)
class ChartData:
    """What one chart shows, with every label already in the reader's language.

    `tips` maps a category label to its count per day (same length as `days`); `public`
    charts (posted in a group) leave the tips out.
    """

    title: str
    days: Sequence[str]
    alerts: Sequence[int]
    alerts_title: str
    tips_title: str = ""
    tips: Mapping[str, Sequence[int]] = field(default_factory=dict)
    public: bool = False
    empty_note: str = ""

    def texts(self) -> list[str]:
        """Every string drawn on the chart (the tests check each glyph exists in the font)."""
        drawn = [self.title, self.alerts_title, *self.days]
        if not self.public:
            drawn += [self.tips_title, *self.tips]
        if self.empty_note:
            drawn.append(self.empty_note)
        return [unicodedata.normalize("NFC", t) for t in drawn if t]


def _font(size: float, bold: bool = False) -> FontProperties:
    return FontProperties(family=FONT_FAMILY, size=size, weight="bold" if bold else "normal")


def _nfc(text: str) -> str:
    # Decomposed letters (e + combining marks) would be drawn as separate glyphs.
    return unicodedata.normalize("NFC", text)


def _style_axes(ax: Axes, days: Sequence[str]) -> None:
    ax.set_xticks(range(len(days)))
    ax.set_xticklabels([_nfc(d) for d in days], fontproperties=_font(10))
    for label in ax.get_yticklabels():
        label.set_fontproperties(_font(10))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _draw_tips(ax: Axes, data: ChartData) -> None:
    positions = range(len(data.days))
    bottom = [0] * len(data.days)
    for index, (label, counts) in enumerate(data.tips.items()):
        colour = _PALETTE[index % len(_PALETTE)]
        ax.bar(positions, counts, bottom=bottom, color=colour, label=_nfc(label), width=0.7)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_title(_nfc(data.tips_title), fontproperties=_font(12, bold=True), loc="left")
    if data.tips:
        ax.legend(prop=_font(9), loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_ylim(bottom=0, top=max([*bottom, 1]) * 1.15)
    _style_axes(ax, data.days)


def _draw_alerts(ax: Axes, data: ChartData) -> None:
    ax.bar(range(len(data.days)), data.alerts, color=_ALERT_COLOUR, width=0.5)
    for x, count in enumerate(data.alerts):
        if count:
            ax.annotate(str(count), (x, count), ha="center", va="bottom", fontproperties=_font(9))
    ax.set_title(_nfc(data.alerts_title), fontproperties=_font(12, bold=True), loc="left")
    ax.set_ylim(bottom=0, top=max([*data.alerts, 1]) * 1.2)
    _style_axes(ax, data.days)


def render_chart(data: ChartData) -> bytes:
    """The chart as PNG bytes (blocking: run it in a thread)."""
    height = PUBLIC_HEIGHT_PX if data.public else HEIGHT_PX
    figure = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    if data.public:
        _draw_alerts(figure.add_subplot(1, 1, 1), data)
    else:
        tips_ax, alerts_ax = figure.subplots(2, 1, height_ratios=(3, 2))
        _draw_tips(tips_ax, data)
        _draw_alerts(alerts_ax, data)
    figure.suptitle(_nfc(data.title), fontproperties=_font(14, bold=True), x=0.02, ha="left")
    if data.empty_note:
        figure.text(0.5, 0.5, _nfc(data.empty_note), ha="center", fontproperties=_font(12))
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


class ChartCache:
    """Charts rendered once per key in this process, off the event loop; concurrent callers of
    one key wait for the same rendering. The oldest entries go past `size`."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.renders = 0  # charts this process actually drew
        self._entries: OrderedDict[str, asyncio.Future[bytes]] = OrderedDict()

    async def get(self, key: str, build: Callable[[], Awaitable[ChartData]]) -> bytes:
        """The PNG for `key`, drawing `build()`'s data in a thread the first time."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return await asyncio.shield(found)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._entries[key] = future
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        try:
            data = await build()
            png = await asyncio.to_thread(render_chart, data)
        except BaseException as exc:
            self._entries.pop(key, None)
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters (if any) re-raise it
            raise
        self.renders += 1
        future.set_result(png)
        return png
