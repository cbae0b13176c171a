"""Message catalogues: one TOML file per language, Vietnamese the reference, English complete."""

from __future__ import annotations

import datetime as dt
import html
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_decimal

LANGUAGES = ("vi", "en")
REFERENCE = "vi"
# The Babel (CLDR) locale of each language: "1.234" and "0,1" in Vietnamese, "1,234" and "0.1"
# in English.
LOCALES = {"vi": "vi_VN", "en": "en"}
# How a moment is written: Vietnamese readers expect day/month/year and a 24-hour clock; the
# English month name avoids mistaking 03/04 for 4 March.
DATETIME_PATTERNS = {"vi": "HH:mm dd/MM/yyyy", "en": "HH:mm, d MMM yyyy"}
# Placeholders that name something (alert #1234, a Telegram id) rather than count it: their
# numbers are written as plain digits, never grouped.
IDENTIFIER_FIELDS = frozenset({"id", "number"})


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def placeholders(template: str) -> set[str]:
    """The named fields a template expects."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@dataclass(frozen=True)
class Catalog:
    """Translations by language and dotted key; values are HTML with `{name}` placeholders."""

    messages: dict[str, dict[str, str]]
    default_language: str = REFERENCE

    def language(self, code: str | None) -> str:
        """The supported language closest to `code` (an IETF tag such as 'en-US')."""
        base = (code or "").split("-")[0].lower()
        return base if base in self.messages else self.default_language

    def t(self, lang: str | None, key: str, **values: Any) -> str:
        """Translate `key`; string values are HTML-escaped, `Markup` values are inserted as is,
        numbers are written the language's way (identifiers such as `number` as plain digits)."""
        code = self.language(lang)
        template = self.messages[code].get(key) or self.messages[REFERENCE][key]
        safe = {k: self._value(code, k, v) for k, v in values.items()}
        return template.format(**safe)

    def number(self, lang: str | None, value: float, digits: int | None = None) -> str:
        """`value` written for the language; `digits` fixes the decimals (0,1 giây)."""
        locale = LOCALES[self.language(lang)]
        if digits is None:
            return format_decimal(value, locale=locale)
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return format_decimal(value, format=pattern, locale=locale)

    def datetime(self, lang: str | None, moment: dt.datetime, tz: dt.tzinfo) -> str:
        """A moment in `tz`, written the language's way ("15:04 15/01/2025")."""
        code = self.language(lang)
        return format_datetime(
            moment.astimezone(tz), DATETIME_PATTERNS[code], tzinfo=tz, locale=LOCALES[code]
        )

    def _value(self, lang: str, name: str, value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        if isinstance(value, str):
            return html.escape(value, quote=False)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value) if name in IDENTIFIER_FIELDS else self.number(lang, value)
        return value


class Markup(str):
    """A string that is already HTML and must not be escaped again."""


@cache
def load_catalog(default_language: str = REFERENCE) -> Catalog:
    """Read the packaged catalogues (cached; nothing is read at import time)."""
    folder = resources.files("bot") / "locales"
    messages = {
        lang: _flatten(tomllib.loads((folder / f"{lang}.toml").read_text(encoding="utf-8")))
        for lang in LANGUAGES
    }
    return Catalog(messages=messages, default_language=default_language)
