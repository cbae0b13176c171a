"""Parse modes: HTML and MarkdownV2 give Telegram's plain text and entities, or its errors."""

import pytest

from simulator.markup import EntityParseError, parse_html, parse_markdown, user_entities


def test_markdown_v2_entities() -> None:
    text, entities = parse_markdown(
        r"*Đống* _Đa_ __u__ ~s~ ||sp|| `c\`` [link](https://x.vn/a\(b\)) \. 😀*b*"
    )
    assert text == "Đống Đa u s sp c` link . 😀b"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 5, "length": 2},
        {"type": "underline", "offset": 8, "length": 1},
        {"type": "strikethrough", "offset": 10, "length": 1},
        {"type": "spoiler", "offset": 12, "length": 2},
        {"type": "code", "offset": 15, "length": 2},
        {"type": "text_link", "offset": 18, "length": 4, "url": "https://x.vn/a(b)"},
        {"type": "bold", "offset": 27, "length": 1},
    ]


def test_markdown_v2_pre_and_quote() -> None:
    assert parse_markdown("```python\nprint(1)\n```") == (
        "print(1)\n",
        [{"type": "pre", "offset": 0, "length": 9, "language": "python"}],
    )
    assert parse_markdown(">một\n>hai\nba") == (
        "một\nhai\nba",
        [{"type": "blockquote", "offset": 0, "length": 7}],
    )


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Hết giờ.", "Character '.' is reserved"),
        ("a-b", "Character '-' is reserved"),
        ("*đậm", "Can't find end of Bold entity"),
        ("_a *b_ c*", "Can't find end of Bold entity"),
        ("`code", "Can't find end of Code entity"),
        ("[x] y", "Character ']' is reserved"),
    ],
)
def test_markdown_v2_errors(source: str, error: str) -> None:
    with pytest.raises(EntityParseError, match=error.replace("(", r"\(")):
        parse_markdown(source)


def test_legacy_markdown_is_lenient_about_punctuation() -> None:
    assert parse_markdown("*b* a.b-c [x](http://y)", legacy=True) == (
        "b a.b-c x",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "text_link", "offset": 8, "length": 1, "url": "http://y"},
        ],
    )


def test_html_escapes_and_numeric_entities() -> None:
    assert parse_html("a &lt;b&gt; &amp; &quot;c&quot; &#65;&#x42; & d") == (
        'a <b> & "c" AB & d',
        [],
    )


def test_user_entities_for_commands_and_mentions() -> None:
    text = "/dangky@canhgac_test_bot Đống Đa, hỏi @alice_vn"
    assert user_entities(text) == [
        {"type": "bot_command", "offset": 0, "length": 24},
        {"type": "mention", "offset": 38, "length": 9},
    ]
