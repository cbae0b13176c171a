"""Numbers and times are written the chat's way: Vietnamese and English conventions (Babel)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import load_catalog

CATALOG = load_catalog()
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("lang", "value", "digits", "written"),
    [
        ("vi", 1234, None, "1.234"),
        ("vi", 0.1, None, "0,1"),
        ("vi", 0.1, 1, "0,1"),
        ("vi", 12.0, 1, "12,0"),
        ("vi", 1234567.891, 2, "1.234.567,89"),
        ("vi", 3135, 0, "3.135"),
        ("en", 1234, None, "1,234"),
        ("en", 0.1, None, "0.1"),
        ("en", 12.0, 1, "12.0"),
        ("en", 1234567.891, 2, "1,234,567.89"),
        (None, 1234, None, "1.234"),  # no choice yet: the default language, Vietnamese
    ],
)
def test_numbers(lang: str | None, value: float, digits: int | None, written: str) -> None:
    assert CATALOG.number(lang, value, digits) == written


@pytest.mark.parametrize(
    ("lang", "written"),
    [("vi", "18:00 24/11/2026"), ("en", "18:00, 24 Nov 2026")],
)
def test_datetimes_in_the_chats_zone(lang: str, written: str) -> None:
    moment = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert CATALOG.datetime(lang, moment, HANOI) == written


@pytest.mark.parametrize(
    ("lang", "key", "values", "text"),
    [
        (
            "vi",
            "compose.audience",
            {"recipients": 1234, "filtered": 0},
            "<b>Sẽ gửi đến 1.234 nhóm</b> (0 nhóm đã chọn không nhận mức độ này)",
        ),
        ("en", "compose.audience", {"recipients": 1234, "filtered": 5}, "to 1,234 groups"),
        ("vi", "manage.seconds", {"n": 0.5}, "0,5 giây"),
        ("en", "manage.seconds", {"n": 0.5}, "0.5 s"),
        # Identifiers are names, not quantities: never grouped.
        ("vi", "manage.unknown_alert", {"number": 12345}, "#12345"),
        ("en", "officers.not_officer", {"id": 5000000001}, "5000000001"),
        ("vi", "officers.not_officer", {"id": 5000000001}, "5000000001"),
    ],
)
def test_placeholders_are_formatted_for_the_language(
    lang: str, key: str, values: dict[str, object], text: str
) -> None:
    assert text in CATALOG.t(lang, key, **values)
