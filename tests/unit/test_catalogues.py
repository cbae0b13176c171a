"""The message catalogues are complete in Vietnamese and English."""

from __future__ import annotations

import re

import pytest

from bot.commands import COMMANDS
from bot.i18n import LANGUAGES, Markup, load_catalog, placeholders

CATALOG = load_catalog()
KEYS = sorted(CATALOG.messages["vi"])
ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"}


def test_same_keys_in_every_language() -> None:
    for lang in LANGUAGES:
        assert sorted(CATALOG.messages[lang]) == KEYS, lang


@pytest.mark.parametrize("key", KEYS)
def test_same_placeholders_and_valid_html(key: str) -> None:
    vi, en = CATALOG.messages["vi"][key], CATALOG.messages["en"][key]
    assert placeholders(vi) == placeholders(en)
    for text in (vi, en):
        assert text.strip()
        tags = re.findall(r"</?([a-z-]+)", text)
        assert set(tags) <= ALLOWED_TAGS, (key, tags)


def test_every_command_has_texts() -> None:
    for command in COMMANDS:
        for lang in LANGUAGES:
            assert CATALOG.messages[lang][f"commands.{command.key}"]
            assert CATALOG.messages[lang][f"help.{command.key}"]


def test_values_are_escaped_unless_markup() -> None:
    assert CATALOG.t("vi", "status.subscribed", place="<b>x</b>") == (
        "📍 Nhóm đang nhận cảnh báo của: <b>&lt;b&gt;x&lt;/b&gt;</b>."
    )
    assert "<i>ok</i>" in CATALOG.t("en", "start.group", commands=Markup("<i>ok</i>"))


def test_unknown_language_falls_back_to_default() -> None:
    assert CATALOG.language("fr") == "vi"
    assert CATALOG.language("en-GB") == "en"
