"""Message catalogues: one TOML file per language, Vietnamese the reference, English complete."""

from __future__ import annotations

import html
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("vi", "en")
REFERENCE = "vi"


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
        """Translate `key`; string values are HTML-escaped, `Markup` values are inserted as is."""
        table = self.messages[self.language(lang)]
        template = table.get(key) or self.messages[REFERENCE][key]
        safe = {k: v if isinstance(v, Markup) else _escape(v) for k, v in values.items()}
        return template.format(**safe)


class Markup(str):
    """A string that is already HTML and must not be escaped again."""


def _escape(value: Any) -> Any:
    return html.escape(value, quote=False) if isinstance(value, str) else value


@cache
def load_catalog(default_language: str = REFERENCE) -> Catalog:
    """Read the packaged catalogues (cached; nothing is read at import time)."""
    folder = resources.files("bot") / "locales"
    messages = {
        lang: _flatten(tomllib.loads((folder / f"{lang}.toml").read_text(encoding="utf-8")))
        for lang in LANGUAGES
    }
    return Catalog(messages=messages, default_language=default_language)
