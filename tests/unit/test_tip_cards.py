"""Tip cards as officers and duty groups read them, and the data their buttons carry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import load_catalog
from bot.services.subscriptions import Page
from bot.services.tip_cards import (
    ListPress,
    Press,
    block_question,
    card_buttons,
    card_data,
    card_text,
    open_tips_view,
    parse_list_press,
    parse_press,
)
from bot.services.tip_flow import Label
from bot.services.tips import TipCard, TipFilter
from storage.models.tips import Assessment, TipState

CATALOG = load_catalog()
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 11, 26, 1, 15, tzinfo=UTC)  # 08:15 in Hà Nội
CARD = TipCard(
    tip_id=12,
    number="R-12",
    category="scam",
    text="Có người gọi điện giả danh công an, đòi chuyển tiền.",
    commune_code="00235",
    commune_label="Phường Đống Đa — Thành phố Hà Nội",
    place=Label("tips.place_location"),
    lat=21.0181,
    lon=105.8292,
    photos=("AgAD1", "AgAD2"),
    anonymous=False,
    display_name="Bác Lan",
    state=TipState.NEW,
    assessment=Assessment.UNASSESSED,
    created_at=AT,
    ack_deadline=AT + timedelta(hours=24),
    overdue=False,
    escalated=False,
    version=3,
)

# (data, what it parses to)
PRESSES = [
    ("tc:ack:12:3", Press("tc", "ack", 12, 3)),
    ("tc:noval:12:3", Press("tc", "noval", 12, 3)),
    ("tc:re:12", Press("tc", "re", 12, None)),
    ("tr:still:12", Press("tr", "still", 12, None)),
    ("tr:ans:12", Press("tr", "ans", 12, None)),
    ("tc:still:12:3", None),  # the reporter's action, not an officer's button
    ("tr:ack:12", None),
    ("tc:zz:12:3", None),
    ("tc:ack:0:3", None),
    ("tc:ack:-1:3", None),
    ("tc:ack:12:3:4", None),
    ("tc:ack:1234567890123:1", None),
    ("ack:12", None),
    ("", None),
]


@pytest.mark.parametrize(("data", "expected"), PRESSES)
def test_button_data_parses_only_to_what_a_button_carries(data: str, expected: object) -> None:
    assert parse_press(data) == expected


LIST_PRESSES = [
    ("tl:f:new:0", ListPress(TipFilter.NEW, 0)),
    ("tl:f:all:12", ListPress(TipFilter.ALL, 12)),
    ("tl:o:12", ListPress(open_tip=12)),
    ("tl:f:secret:0", None),
    ("tl:f:new:-1", None),
    ("tl:o:0", None),
    ("tl:x:1", None),
]


@pytest.mark.parametrize(("data", "expected"), LIST_PRESSES)
def test_list_data_parses(data: str, expected: object) -> None:
    assert parse_list_press(data) == expected


def test_the_longest_button_data_fits_telegram_s_64_bytes() -> None:
    longest = card_data("noval", 10**12 - 1, 2**31 - 1)
    assert len(longest.encode()) <= 64 and parse_press(longest) is not None


# (state, assessment, for a group, the buttons' actions)
BUTTONS = [
    (TipState.NEW, Assessment.UNASSESSED, False, ["ack", "val", "noval", "reject", "re", "bl"]),
    (TipState.NEW, Assessment.UNASSESSED, True, ["ack", "val", "noval", "reject"]),
    (TipState.ACKNOWLEDGED, Assessment.VALUABLE, False, ["done", "noval", "reject", "re", "bl"]),
    (TipState.ACKNOWLEDGED, Assessment.NOT_VALUABLE, True, ["done", "val", "reject"]),
    (TipState.RESOLVED, Assessment.VALUABLE, False, ["re", "bl"]),
    (TipState.REJECTED, Assessment.UNASSESSED, True, []),
]


@pytest.mark.parametrize(("state", "assessment", "for_group", "actions"), BUTTONS)
def test_a_card_offers_what_can_be_done_now(
    state: TipState, assessment: Assessment, for_group: bool, actions: list[str]
) -> None:
    card = replace(CARD, state=state, assessment=assessment)
    rows = card_buttons(CATALOG, "vi", card, for_group=for_group)
    pressed = [parse_press(data) for row in rows for _, data in row]
    assert [p.code for p in pressed if p is not None] == actions
    assert all(p is not None and p.tip_id == 12 for p in pressed)
    triage = [p for p in pressed if p is not None and p.code not in ("re", "bl")]
    assert all(p.version == 3 for p in triage)  # a press on an older card is refused


# (card, for a group, shown, never shown)
TEXTS = [
    (CARD, False, ["👤 Bác Lan — Người báo tin #R-12", "📷 2 ảnh", "08:15 26/11/2026"], []),
    (CARD, True, ["Người báo tin #R-12"], ["Bác Lan"]),
    (replace(CARD, anonymous=True, display_name=None), False, ["(ẩn danh)"], ["Bác Lan"]),
    (replace(CARD, overdue=True), False, ["QUÁ HẠN"], ["Cần tiếp nhận trước"]),
    (replace(CARD, escalated=True), True, ["công an tỉnh"], []),
    (
        replace(
            CARD,
            state=TipState.ACKNOWLEDGED,
            handler_id=3,
            handler_name="Thiếu tá An",
            acknowledged_at=AT + timedelta(minutes=5),
            assessment=Assessment.VALUABLE,
        ),
        True,
        ["👮 Đã tiếp nhận", "Thiếu tá An, lúc 08:20", "⭐ Tin có giá trị"],
        ["Bác Lan", "QUÁ HẠN"],
    ),
    (replace(CARD, state=TipState.ACKNOWLEDGED, handler_id=3), False, ["cán bộ số 3"], []),
]


@pytest.mark.parametrize(("card", "for_group", "shown", "hidden"), TEXTS)
def test_card_text(card: TipCard, for_group: bool, shown: list[str], hidden: list[str]) -> None:
    text = card_text(CATALOG, "vi", card, TZ, for_group=for_group)
    for part in shown:
        assert part in text, part
    for part in hidden:
        assert part not in text, part
    assert "maps.google.com" in text and card.text in text


def test_what_people_typed_is_escaped() -> None:
    card = replace(CARD, text="<b>x</b> & y", display_name="<i>Lan</i>")
    text = card_text(CATALOG, "en", card, TZ, for_group=False)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in text and "&lt;i&gt;Lan&lt;/i&gt;" in text


def test_the_block_question_asks_before_blocking() -> None:
    question = block_question(CATALOG, "vi", 12, "R-12")
    assert "R-12" in question.text and "không cho bạn biết họ là ai" in question.text
    assert [parse_press(d) for row in question.buttons for _, d in row] == [
        Press("tc", "by", 12),
        Press("tc", "bn", 12),
    ]


def test_the_list_pages_and_filters() -> None:
    cards = [replace(CARD, tip_id=n, number=f"R-{n}") for n in (9, 8)]
    view = open_tips_view(CATALOG, "vi", Page(cards, 1, 3, 12), TipFilter.NEW, TZ)
    assert "12 tin (trang 2/3)" in view.text and view.text.index("R-9") < view.text.index("R-8")
    data = [d for row in view.buttons for _, d in row]
    assert data[:2] == ["tl:o:9", "tl:o:8"]
    assert "tl:f:new:0" in data and "tl:f:new:2" in data  # previous and next page
    assert "• 🆕 Tin mới" in [label for row in view.buttons for label, _ in row]
    empty = open_tips_view(CATALOG, "vi", Page([], 0, 1, 0), TipFilter.OVERDUE, TZ)
    assert "Không có tin nào" in empty.text and len(empty.buttons) == 2  # the filters only
