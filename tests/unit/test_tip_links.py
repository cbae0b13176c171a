"""The "send a tip" deep links: what they carry, and what a forged payload gives."""

from __future__ import annotations

import re

import pytest

from bot.services.tip_links import area_of_payload, tip_payload, tip_url
from handlers.common import DEEP_LINK_PAYLOAD


@pytest.mark.parametrize(
    ("area_id", "payload"),
    [(None, "tip"), (1, "tip_1"), (2**31 - 1, "tip_2147483647")],
)
def test_a_payload_carries_the_area_and_telegram_accepts_it(
    area_id: int | None, payload: str
) -> None:
    assert tip_payload(area_id) == payload
    assert DEEP_LINK_PAYLOAD.fullmatch(payload)
    assert area_of_payload(payload.removeprefix("tip")) == area_id


@pytest.mark.parametrize(
    "rest",
    ["", "_", "_0", "_007", "_-5", "_2147483648", "_99999999999", "_1x", "-1", "1", "_١", "__1"],
)
def test_anything_else_after_the_prefix_carries_no_area(rest: str) -> None:
    assert area_of_payload(rest) is None


def test_the_url_opens_the_bots_private_chat() -> None:
    url = tip_url("canhgac_bot", 42)
    assert url == "https://t.me/canhgac_bot?start=tip_42"
    assert re.fullmatch(r"https://t\.me/\w+\?start=[A-Za-z0-9_-]{1,64}", url)
