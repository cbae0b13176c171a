"""What every conversation flow shares: the events it takes, the questions it asks, and how its
draft is stored.

A conversation (the tip, the alert composer) is a telegram-free state machine:
`apply(draft, event) -> Question`. Handlers turn an Update into one of these events and a
`Question` into a message with buttons (`render_question` gives its texts in one language).
The draft is a dataclass kept as JSON beside its token and step columns (`dump_draft`,
`load_draft`), so a restart loses nothing and a draft stored by an older version still loads.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any, TypeVar

from bot.i18n import Catalog, Markup

# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A button press; `step` is the step the button was shown for (stale buttons are refused)."""

    value: str
    step: str | None = None


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Photo:
    file_id: str
    as_document: bool = False
    mime: str | None = None


@dataclass(frozen=True)
class Location:
    """A shared location; a venue also has a title and an address."""

    lat: float
    lon: float
    title: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Voice:
    """A voice message (never stored: a voice identifies the speaker)."""


@dataclass(frozen=True)
class Other:
    """A message no step can use (a sticker, a video, a contact...)."""


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class Edit:
    step: str


# Button values every flow reads as events: "skip" is Skip, "edit:<step>" is Edit(step).
SKIP, EDIT_PREFIX = "skip", "edit:"
E = TypeVar("E")


def normalise(event: E) -> E | Skip | Edit:
    """Buttons arrive as choices; "skip" and "edit:<step>" are the Skip and Edit events."""
    if isinstance(event, Choice):
        if event.value == SKIP:
            return Skip()
        if event.value.startswith(EDIT_PREFIX):
            return Edit(event.value[len(EDIT_PREFIX) :])
    return event


# -- questions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A catalogue key and its values; a value may itself be a Label (translated first)."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    """A button: the value it sends back and its label."""

    value: str
    label: Label


@dataclass(frozen=True)
class Question:
    """What to ask next: a catalogue text, buttons, and a notice (why it is asked again)."""

    step: StrEnum
    text: Label
    token: str
    options: tuple[Option, ...] = ()
    # The label of a reply-keyboard button that shares the location ("📍 Gửi vị trí"), if asked.
    request_location: Label | None = None
    notice: Label | None = None
    # What the message of the question just answered shows instead of its buttons
    # ("Mức độ: 🟠 CẢNH BÁO ✓"); None: this question takes that message's place.
    answered: Label | None = None
    # After a notice, whether the question is asked again (False: the one above still stands).
    ask_again: bool = True

    @property
    def key(self) -> str:
        return self.text.key

    @property
    def values(self) -> Mapping[str, Any]:
        return self.text.values


@dataclass(frozen=True)
class RenderedQuestion:
    """A question in one language: texts and (value, label) buttons."""

    text: str
    buttons: list[tuple[str, str]]
    location_button: str | None = None
    notice: str | None = None
    answered: str | None = None


def translate(catalog: Catalog, lang: str | None, label: Label) -> str:
    """The label's text, nested labels translated first."""
    values = {  # a nested label is already HTML (its own values escaped): not escaped again
        k: Markup(translate(catalog, lang, v)) if isinstance(v, Label) else v
        for k, v in label.values.items()
    }
    return catalog.t(lang, label.key, **values)


def button_text(catalog: Catalog, lang: str | None, label: Label) -> str:
    """A label as a button shows it: plain text (buttons are not HTML, so nothing escaped)."""
    return html.unescape(translate(catalog, lang, label))


def render_question(catalog: Catalog, lang: str | None, question: Question) -> RenderedQuestion:
    """The question as texts to show; the handler only builds the keyboard."""
    location = question.request_location
    return RenderedQuestion(
        text=translate(catalog, lang, question.text),
        buttons=[(o.value, button_text(catalog, lang, o.label)) for o in question.options],
        location_button=button_text(catalog, lang, location) if location else None,
        notice=translate(catalog, lang, question.notice) if question.notice else None,
        answered=translate(catalog, lang, question.answered) if question.answered else None,
    )


# -- stored drafts --------------------------------------------------------------------------

D = TypeVar("D")
COLUMNS = ("token", "step")  # kept in their own columns, not in the JSON


def dump_draft(draft: Any, columns: tuple[str, ...] = COLUMNS) -> str:
    """A dataclass draft as JSON, without the fields kept in their own columns."""
    data = {k: v for k, v in asdict(draft).items() if k not in columns}
    return json.dumps(data, ensure_ascii=False)


def load_draft(cls: type[D], raw: str | None, **columns: Any) -> D:
    """The draft stored as `raw` plus its columns: keys this version no longer has are ignored,
    fields an older version did not store take their defaults."""
    assert is_dataclass(cls)
    try:
        stored = json.loads(raw or "{}")
    except ValueError:
        stored = {}
    known = {f.name for f in fields(cls)} - set(columns)
    data = {k: v for k, v in stored.items() if k in known} if isinstance(stored, dict) else {}
    return cls(**data, **columns)
