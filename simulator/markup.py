"""Telegram text formatting: HTML parse mode, UTF-16 offsets, entities of user messages."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});")
_TAG_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)(.*)$", re.S)
_ATTR_RE = re.compile(r"""([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+)))?""")
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")


class EntityParseError(ValueError):
    """Malformed or unsupported markup."""


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, as Telegram counts offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    start: int
    attrs: dict[str, str]
    language: str | None = None
    children: list[str] = field(default_factory=list)


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _parse_attrs(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for m in _ATTR_RE.finditer(text):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        if value is None:
            value = m.group(4) or ""
        attrs[m.group(1).lower()] = html.unescape(value)
    return attrs


def _decode_entity(ref: str) -> str | None:
    if ref.startswith("#x"):
        return chr(int(ref[2:], 16))
    if ref.startswith("#"):
        return chr(int(ref[1:]))
    return _NAMED.get(ref.lower())


class _HtmlParser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.out: list[str] = []
        self.pos = 0  # UTF-16 length of the output so far
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos += utf16_len(text)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        i, src = 0, self.src
        while i < len(src):
            ch = src[i]
            if ch == "<":
                i = self.tag(i)
            elif ch == "&":
                m = _ENTITY_RE.match(src, i)
                decoded = _decode_entity(m.group(1)) if m else None
                if m and decoded is not None:
                    self.emit(decoded)
                    i = m.end()
                else:
                    self.emit("&")
                    i += 1
            else:
                j = i
                while j < len(src) and src[j] not in "<&":
                    j += 1
                self.emit(src[i:j])
                i = j
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def tag(self, i: int) -> int:
        end = self.src.find(">", i)
        offset = _byte_offset(self.src, i)
        if end < 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        body = self.src[i + 1 : end]
        if body.startswith("/"):
            self.close(body[1:].strip().lower(), offset)
        else:
            self.open(body, offset)
        return end + 1

    def open(self, body: str, offset: int) -> None:
        m = _TAG_RE.match(body)
        name = m.group(1).lower() if m else ""
        if not m or name not in _TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs = _parse_attrs(m.group(2).rstrip("/"))
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            )
        if name == "tg-emoji" and "emoji-id" not in attrs:
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        self.stack.append(_Open(name, self.pos, attrs))

    def close(self, name: str, offset: int) -> None:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
        top = self.stack.pop()
        if name != top.tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", '
                f'found "</{name}>"'
            )
        language = top.attrs.get("class", "")
        if top.tag == "code" and self.stack and self.stack[-1].tag == "pre":
            if language.startswith("language-"):
                self.stack[-1].language = language[len("language-") :]
            return
        self.add_entity(top)

    def add_entity(self, top: _Open) -> None:
        length = self.pos - top.start
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": _TAGS[top.tag], "offset": top.start, "length": length}
        if top.tag == "a":
            href = top.attrs.get("href")
            if not href:
                return
            entity["url"] = href
        elif top.tag == "pre" and top.language:
            entity["language"] = top.language
        elif top.tag == "blockquote" and "expandable" in top.attrs:
            entity["type"] = "expandable_blockquote"
        elif top.tag == "tg-emoji":
            entity["custom_emoji_id"] = top.attrs["emoji-id"]
        self.entities.append(entity)


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and MessageEntity dicts of an HTML-formatted text."""
    return _HtmlParser(src).run()


def user_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's clients add to what a user types: bot commands and mentions."""
    entities: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []
    for m in _COMMAND_RE.finditer(text):
        taken.append(m.span())
        entities.append(_entity("bot_command", text, m.start(), m.end()))
    for m in _MENTION_RE.finditer(text):
        if not any(a <= m.start() < b for a, b in taken):
            entities.append(_entity("mention", text, m.start(), m.end()))
    entities.sort(key=lambda e: e["offset"])
    return entities


def _entity(kind: str, text: str, start: int, end: int) -> dict[str, Any]:
    return {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The part of `text` an entity covers."""
    raw = text.encode("utf-16-le")
    start, length = entity["offset"] * 2, entity["length"] * 2
    return raw[start : start + length].decode("utf-16-le")


_MD_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
}


class _MarkdownParser:
    """MarkdownV2 (and, with `legacy`, the old Markdown) as Telegram parses it."""

    def __init__(self, src: str, legacy: bool) -> None:
        self.src = src
        self.legacy = legacy
        self.out: list[str] = []
        self.pos = 0
        self.stack: list[tuple[str, int, int]] = []  # kind, UTF-16 start, byte offset
        self.entities: list[dict[str, Any]] = []
        self.quote_start: int | None = None

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos += utf16_len(text)

    def fail_reserved(self, i: int) -> None:
        raise EntityParseError(
            f"Character '{self.src[i]}' is reserved and must be escaped with the preceding '\\'"
        )

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        src, i = self.src, 0
        while i < len(src):
            i = self.step(i)
        self.close_quote()
        if self.stack:
            kind, _, offset = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of {_MD_NAMES[kind]} entity at byte offset {offset}"
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def step(self, i: int) -> int:
        src, c = self.src, self.src[i]
        escapable = not self.legacy or c in "_*`["
        if (
            c == "\\"
            and i + 1 < len(src)
            and ord(src[i + 1]) <= 126
            and (not self.legacy or src[i + 1] in "_*`[")
        ):
            self.emit(src[i + 1])
            return i + 2
        if c == "`":
            return self.code(i)
        marker = self.marker(i)
        if marker is not None:
            kind, width = marker
            self.toggle(kind, i)
            return i + width
        if c == "[":
            self.stack.append(("text_link", self.pos, _byte_offset(src, i)))
            return i + 1
        if c == "]" and self.stack and self.stack[-1][0] == "text_link":
            return self.link_end(i)
        if c == ">" and not self.legacy and (i == 0 or src[i - 1] == "\n"):
            if self.quote_start is None:
                self.quote_start = self.pos
            return i + 1
        if c == "\n" and self.quote_start is not None and not src.startswith(">", i + 1):
            self.close_quote()
        if not self.legacy and c in _MD_RESERVED and escapable:
            self.fail_reserved(i)
        self.emit(c)
        return i + 1

    def marker(self, i: int) -> tuple[str, int] | None:
        src, c = self.src, self.src[i]
        if c == "*":
            return "bold", 1
        if c == "_":
            if not self.legacy and src.startswith("__", i):
                return "underline", 2
            return "italic", 1
        if self.legacy:
            return None
        if c == "~":
            return "strikethrough", 1
        if src.startswith("||", i):
            return "spoiler", 2
        return None

    def toggle(self, kind: str, i: int) -> None:
        if self.stack and self.stack[-1][0] == kind:
            _, start, _ = self.stack.pop()
            if self.pos > start:
                self.entities.append({"type": kind, "offset": start, "length": self.pos - start})
            return
        if any(k == kind for k, _, _ in self.stack):
            inner, _, offset = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of {_MD_NAMES[inner]} entity at byte offset {offset}"
            )
        self.stack.append((kind, self.pos, _byte_offset(self.src, i)))

    def link_end(self, i: int) -> int:
        src = self.src
        _, start, offset = self.stack.pop()
        if not src.startswith("(", i + 1):
            if self.legacy:
                return i + 1
            self.fail_reserved(i)
        end = i + 2
        while end < len(src) and src[end] != ")":
            end += 2 if src[end] == "\\" and not self.legacy else 1
        if end >= len(src):
            raise EntityParseError(f"Can't find end of a URL at byte offset {offset}")
        url = re.sub(r"\\(.)", r"\1", src[i + 2 : end])
        if self.pos > start and url:
            self.entities.append(
                {"type": "text_link", "offset": start, "length": self.pos - start, "url": url}
            )
        return end + 1

    def code(self, i: int) -> int:
        src = self.src
        fence = "```" if src.startswith("```", i) else "`"
        end = i + len(fence)
        while True:
            end = src.find(fence, end)
            if end < 0:
                kind = "Pre" if fence == "```" else "Code"
                raise EntityParseError(
                    f"Can't find end of {kind} entity at byte offset {_byte_offset(src, i)}"
                )
            if src[end - 1] != "\\" or self.legacy:
                break
            end += 1
        body = src[i + len(fence) : end]
        language = None
        if fence == "```" and "\n" in body:
            first, rest = body.split("\n", 1)
            if first and " " not in first:
                language, body = first, rest
        body = body if self.legacy else re.sub(r"\\([`\\])", r"\1", body)
        start = self.pos
        self.emit(body)
        if self.pos > start:
            entity: dict[str, Any] = {
                "type": "pre" if fence == "```" else "code",
                "offset": start,
                "length": self.pos - start,
            }
            if language:
                entity["language"] = language
            self.entities.append(entity)
        return end + len(fence)

    def close_quote(self) -> None:
        if self.quote_start is not None and self.pos > self.quote_start:
            self.entities.append(
                {
                    "type": "blockquote",
                    "offset": self.quote_start,
                    "length": self.pos - self.quote_start,
                }
            )
        self.quote_start = None


def parse_markdown(src: str, legacy: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and MessageEntity dicts of a MarkdownV2 (or legacy Markdown) text."""
    return _MarkdownParser(src, legacy).run()
