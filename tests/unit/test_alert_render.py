"""An alert's copy: what a group sees, within Telegram's limits in every case."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import load_catalog
from bot.services.alert_render import (
    acked_number,
    render_alert,
    with_acknowledgement,
    with_tip_button,
)
from bot.services.alert_types import (
    AREA_LABEL_LIMIT,
    CAPTION_TEXT_LIMIT,
    CATEGORIES,
    TEXT_LIMIT,
    AlertContent,
    Severity,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = load_catalog()


def visible(text: str) -> str:
    """The text Telegram counts: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def content(**overrides: object) -> AlertContent:
    base = AlertContent(
        severity=Severity.URGENT,
        category="wanted",
        area="Phường Đống Đa — Thành phố Hà Nội",
        text="Đối tượng <Nguyễn Văn X> & đồng bọn.",
        issuer="Công an Phường Đống Đa",
        valid_until=datetime(2026, 11, 24, 11, 0, tzinfo=UTC),
        exercise=False,
        number=42,
    )
    return AlertContent(**{**base.__dict__, **overrides})  # type: ignore[arg-type]


def test_a_copy_shows_badge_category_area_text_validity_issuer_number_and_button() -> None:
    out = render_alert(CATALOG, "vi", content(lat=21.0181, lon=105.8294), TZ)
    text = visible(out.text)
    assert "🔴 KHẨN CẤP · Truy nã / đối tượng nghi vấn" in text
    assert "📍 Phường Đống Đa — Thành phố Hà Nội" in text
    assert "Đối tượng <Nguyễn Văn X> & đồng bọn." in text  # escaped, shown as typed
    assert "⏳ Hiệu lực đến 18:00 24/11/2026" in text  # Asia/Ho_Chi_Minh
    assert "👮 Công an Phường Đống Đa · Số #42" in text
    assert 'href="https://maps.google.com/?q=21.018100,105.829400"' in out.text
    assert out.buttons == [[("✅ Đã nhận", "ack:42")]]


def test_corrected_ended_exercise_and_english() -> None:
    corrected = visible(render_alert(CATALOG, "vi", content(corrections=2), TZ).text)
    assert corrected.startswith("✏️ ĐÍNH CHÍNH (lần 2)")
    ended = render_alert(CATALOG, "vi", content(cancelled=True, exercise=True), TZ)
    assert visible(ended.text).startswith("🧪 DIỄN TẬP")
    assert "ĐÃ KẾT THÚC" in visible(ended.text) and ended.buttons == []
    english = visible(render_alert(CATALOG, "en", content(severity=Severity.INFO), TZ).text)
    assert "🔵 INFORMATION · Wanted / suspicious person" in english and "No. #42" in english


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("category", list(CATEGORIES))
def test_the_longest_alerts_fit_telegrams_limits(lang: str, category: str) -> None:
    worst = {
        "area": "Đ" * (AREA_LABEL_LIMIT + 120),
        "issuer": "Công an " + "Phường Đống Đa " * 3,
        "exercise": True,
        "corrections": 99,
        "lat": -89.999999,
        "lon": -179.999999,
        "number": 10**9,
        "category": category,
    }
    acknowledged = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    text = render_alert(CATALOG, lang, content(text="ư" * TEXT_LIMIT, **worst), TZ)
    text = with_acknowledgement(CATALOG, lang, text, acknowledged, TZ)
    assert len(visible(text.text).encode("utf-16-le")) // 2 <= 4096
    photo = render_alert(
        CATALOG, lang, content(text="ư" * CAPTION_TEXT_LIMIT, photo_file_id="f", **worst), TZ
    )
    photo = with_acknowledgement(CATALOG, lang, photo, acknowledged, TZ)
    assert len(visible(photo.text).encode("utf-16-le")) // 2 <= 1024


def test_an_acknowledged_copy_has_a_footer_in_local_time_and_no_button() -> None:
    body = render_alert(CATALOG, "vi", content(photo_file_id="f"), TZ)
    copy = with_acknowledgement(CATALOG, "vi", body, datetime(2026, 12, 1, 1, 15, tzinfo=UTC), TZ)
    assert copy.text.startswith(body.text)
    assert copy.text.endswith("\n✅ Đã nhận lúc 08:15 01/12")
    assert (copy.photo, copy.buttons, body.buttons) == ("f", [], [[("✅ Đã nhận", "ack:42")]])


TIP_URL = "https://t.me/canhgac_bot?start=tip_17"
TIP_VI, TIP_EN = ("📨 Gửi tin báo", TIP_URL), ("📨 Send a tip", TIP_URL)


@pytest.mark.parametrize(
    ("lang", "acknowledged", "ended", "buttons"),
    [
        pytest.param("vi", False, False, [[("✅ Đã nhận", "ack:42")], [TIP_VI]], id="new"),
        pytest.param("vi", True, False, [[TIP_VI]], id="acknowledged: the tip button stays"),
        pytest.param("vi", False, True, [[TIP_VI]], id="ended: the tip button stays"),
        pytest.param("en", True, False, [[TIP_EN]], id="English"),
    ],
)
def test_every_copy_carries_its_groups_tip_link_under_the_other_buttons(
    lang: str, acknowledged: bool, ended: bool, buttons: list[list[tuple[str, str]]]
) -> None:
    copy = render_alert(CATALOG, lang, content(cancelled=ended), TZ)
    if acknowledged:
        copy = with_acknowledgement(CATALOG, lang, copy, datetime(2026, 12, 1, tzinfo=UTC), TZ)
    linked = with_tip_button(CATALOG, lang, copy, TIP_URL)
    assert linked.buttons == buttons
    assert (linked.text, linked.photo) == (copy.text, copy.photo)


def test_without_a_known_username_a_copy_has_no_tip_button() -> None:
    body = render_alert(CATALOG, "vi", content(), TZ)
    assert with_tip_button(CATALOG, "vi", body, None) is body


@pytest.mark.parametrize(
    ("data", "number"),
    [
        ("ack:42", 42),
        ("ack:1", 1),
        ("ack:2147483647", 2**31 - 1),
        ("ack:2147483648", None),  # past alerts.id's range
        ("ack:99999999999999999999", None),
        ("ack:0", None),
        ("ack:-5", None),
        ("ack:007", None),
        ("ack:+5", None),
        ("ack: 5", None),
        ("ack:5 ", None),
        ("ack:5\n", None),
        ("ack:٣", None),  # a digit to str.isdigit(), not to a button
        ("ack:²", None),
        ("ack:1e3", None),
        ("ack:preview", None),
        ("ack:", None),
        ("ACK:5", None),
        ("xack:5", None),
        ("ack:5:6", None),
    ],
)
def test_received_button_data_is_parsed_strictly(data: str, number: int | None) -> None:
    assert acked_number(data) == number
