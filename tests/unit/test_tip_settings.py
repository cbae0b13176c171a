"""The tip settings: defaults, validation, and a secret that never prints."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.settings import SettingsError, load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "k3y-" * 10


def test_defaults() -> None:
    tips = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}).tips
    assert (tips.per_hour, tips.ack_urgent_minutes, tips.ack_hours) == (5, 30, 24)
    assert (tips.identity_retention_days, tips.hash_secret) == (30, None)
    assert tips.ack_within("fire") == timedelta(minutes=30)
    assert tips.ack_within("scam") == timedelta(hours=24)


def test_configured() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TIPS_PER_HOUR": "3",
            "TIP_ACK_URGENT_MINUTES": "15",
            "TIP_ACK_HOURS": "12",
            "TIP_IDENTITY_RETENTION_DAYS": "7",
            "TIP_HASH_SECRET": SECRET,
        }
    )
    tips = settings.tips
    assert (tips.per_hour, tips.ack_urgent_minutes, tips.ack_hours) == (3, 15, 12)
    assert (tips.identity_retention_days, tips.hash_secret) == (7, SECRET)
    assert SECRET not in repr(settings) and SECRET not in repr(tips)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIPS_PER_HOUR", "0", "TIPS_PER_HOUR must be a whole number from 1 to 100"),
        ("TIPS_PER_HOUR", "five", "TIPS_PER_HOUR must be a whole number"),
        ("TIP_ACK_URGENT_MINUTES", "1441", "TIP_ACK_URGENT_MINUTES must be a whole number"),
        ("TIP_ACK_HOURS", "-1", "TIP_ACK_HOURS must be a whole number"),
        # Fewer days than the week a reporter may say "still happening" in.
        ("TIP_IDENTITY_RETENTION_DAYS", "6", "from 7 to 3650"),
        ("TIP_HASH_SECRET", "short", "TIP_HASH_SECRET must be 32 to 256 printable characters"),
        ("TIP_HASH_SECRET", "x" * 31, "TIP_HASH_SECRET must be 32"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, name: value})
    assert message in str(error.value)
    if name == "TIP_HASH_SECRET":
        assert value not in str(error.value)
