"""Every call is checked against the Bot API spec."""

from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, InvalidToken

from simulator import BotApiSimulator, SimChat, SimDriver
from simulator.markup import parse_html
from tests.simulator.conftest import TOKEN, assert_spec_shape


async def _private(driver: SimDriver) -> SimChat:
    return await driver.start_private(driver.create_user("Alice", username="alice"))


async def _expect_violation(sim: BotApiSimulator, call: Any, fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        await call
    assert fragment.lower() in str(info.value).lower()
    assert sim.violations, "the violation was not recorded"
    assert fragment in sim.violations[-1].description


async def test_unknown_field(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    await _expect_violation(
        sim,
        bot.send_message(chat.id, "x", api_kwargs={"colour": "red"}),
        'unknown parameter "colour"',
    )
    assert sim.violations[0].method == "sendMessage"
    assert sim.violations[0].params["colour"] == "red"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_missing_required(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    call = bot.do_api_request("sendMessage", api_kwargs={"chat_id": chat.id})
    await _expect_violation(sim, call, 'parameter "text" is required')


async def test_wrong_scalar_type(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    call = bot.send_message(chat.id, "x", api_kwargs={"disable_notification": "maybe"})
    await _expect_violation(sim, call, "must be of type Boolean")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_wrong_nested_type(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    bad_markup = {"inline_keyboard": [[{"text": "A", "callback_data": 5}]]}
    call = bot.do_api_request(
        "sendMessage", api_kwargs={"chat_id": chat.id, "text": "x", "reply_markup": bad_markup}
    )
    await _expect_violation(sim, call, "callback_data")


async def test_text_too_long(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    assert (await bot.send_message(chat.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")).text
    await _expect_violation(sim, bot.send_message(chat.id, "a" * 4097), "message is too long")


async def test_empty_text(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    await _expect_violation(sim, bot.send_message(chat.id, "  "), "message text is empty")


async def test_caption_too_long(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    call = bot.send_photo(chat.id, b"\x89PNG fake", caption="c" * 1025)
    await _expect_violation(sim, call, "message caption is too long")


async def test_callback_data_over_64_bytes(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    chat = await _private(driver)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="đ" * 32)]])
    await bot.send_message(chat.id, "x", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a" * 65)]])
    await _expect_violation(
        sim, bot.send_message(chat.id, "x", reply_markup=too_long), "BUTTON_DATA_INVALID"
    )


async def test_malformed_html(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    call = bot.send_message(chat.id, "a < b <b>đậm", parse_mode="HTML")
    await _expect_violation(sim, call, "can't parse entities")
    await _expect_violation(
        sim, bot.send_message(chat.id, "<b>x</i>", parse_mode="HTML"), "Unmatched end tag"
    )
    await _expect_violation(
        sim, bot.send_message(chat.id, "<div>x</div>", parse_mode="HTML"), 'start tag "div"'
    )
    await _expect_violation(
        sim, bot.send_message(chat.id, "<b>x", parse_mode="HTML"), "Can't find end tag"
    )


async def test_malformed_markdown_v2(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    chat = await _private(driver)
    ok = await bot.send_message(chat.id, r"*Cảnh báo* lúc 10\.30", parse_mode="MarkdownV2")
    assert ok.text == "Cảnh báo lúc 10.30"
    call = bot.send_message(chat.id, "Hết giờ.", parse_mode="MarkdownV2")
    await _expect_violation(sim, call, "Character '.' is reserved")


def test_html_entities_use_utf16_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>Đống <i>Đa</i></b> &lt;3 <a href="https://x.vn/?a=1&amp;b=2">link</a>'
        '<pre><code class="language-python">x</code></pre><tg-spoiler>s</tg-spoiler>'
        '<span class="tg-spoiler">t</span><blockquote expandable>q</blockquote>'
    )
    assert text == "😀 Đống Đa <3 linkxstq"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 7},
        {"type": "italic", "offset": 8, "length": 2},
        {"type": "text_link", "offset": 14, "length": 4, "url": "https://x.vn/?a=1&b=2"},
        {"type": "pre", "offset": 18, "length": 1, "language": "python"},
        {"type": "spoiler", "offset": 19, "length": 1},
        {"type": "spoiler", "offset": 20, "length": 1},
        {"type": "expandable_blockquote", "offset": 21, "length": 1},
    ]


async def test_ptb_markup_and_upload_have_no_violations(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    chat = await _private(driver)
    first = await bot.send_message(
        chat.id,
        "<b>Chọn</b> phường",
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Đống Đa", callback_data="area:1")],
                [InlineKeyboardButton("Web", url="https://example.org")],
            ]
        ),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )
    assert first.reply_markup is not None
    await bot.send_message(chat.id, "Gõ tên phường:", reply_markup=ForceReply(selective=True))
    await bot.send_message(
        chat.id,
        "Vị trí?",
        reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("Gửi vị trí", request_location=True)]], one_time_keyboard=True
        ),
        reply_parameters=ReplyParameters(message_id=first.message_id),
    )
    photo = await bot.send_photo(
        chat.id, b"\x89PNG\r\n\x1a\nfake", caption="<i>ảnh</i>", parse_mode="HTML"
    )
    doc = await bot.send_document(chat.id, b"%PDF", filename="bao-cao.pdf")
    await bot.send_location(chat.id, 21.0285, 105.8542)
    venue = await bot.send_venue(chat.id, 21.0, 105.8, "Công an phường", "1 Hàng Bài")
    await bot.set_my_commands([("dangky", "Đăng ký khu vực")], language_code="vi")
    assert [c.command for c in await bot.get_my_commands(language_code="vi")] == ["dangky"]
    assert await bot.get_my_commands() == ()
    assert sim.violations == []
    assert photo.photo and photo.caption == "ảnh"
    assert doc.document is not None and doc.document.file_name == "bao-cao.pdf"
    assert venue.venue is not None and venue.venue.title == "Công an phường"
    stored = driver.messages(chat)
    assert stored[2].force_reply
    assert stored[3].reply_to_message_id == first.message_id
    assert stored[1].buttons == [["Đống Đa"], ["Web"]]
    assert stored[1].callback_data == {"Đống Đa": "area:1"}
    for msg in stored:
        assert_spec_shape(sim.world.message_to_api(msg), ["Message"])
    file = await bot.get_file(photo.photo[-1].file_id)
    assert await file.download_as_bytearray() == bytearray(b"\x89PNG\r\n\x1a\nfake")
    assert sim.unsupported == []


async def test_json_and_query_bodies(sim: BotApiSimulator, driver: SimDriver) -> None:
    chat = await _private(driver)
    url = f"{sim.base_url}{TOKEN}"
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{url}/sendmessage",
            json={"chat_id": chat.id, "text": "json", "reply_markup": {"force_reply": True}},
        )
        assert r.json()["result"]["text"] == "json"
        r = await client.get(f"{url}/sendMessage", params={"chat_id": chat.id, "text": "q"})
        assert r.json()["result"]["text"] == "q"
        r = await client.post(f"{url}/sendMessage", json={"chat_id": chat.id, "text": 5})
        assert r.status_code == 400 and "must be of type String" in r.json()["description"]
        r = await client.post(f"{url}/noSuchMethod", json={})
        assert (r.status_code, r.json()) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )
        r = await client.post(f"{url}/setMyDescription", json={"description": "Cảnh giác"})
        assert r.json() == {"ok": True, "result": True}
        r = await client.post(f"{url}/sendDice", json={"chat_id": chat.id, "emoji": "🎲"})
        assert "not supported by simulator" in r.json()["description"]
    assert sim.unsupported == ["setMyDescription"]
    assert [v.method for v in sim.violations] == ["sendMessage", "sendDice"]


async def test_wrong_token(sim: BotApiSimulator) -> None:
    other = Bot("999:nope", base_url=sim.base_url, base_file_url=sim.base_file_url)
    with pytest.raises(InvalidToken):
        await other.get_me()


async def test_not_started_and_blocked(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(alice.id, "xin chào")
    await driver.start_private(alice)
    await driver.block_bot(alice)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(alice.id, "xin chào")
    await driver.start_private(alice)
    await bot.send_message(alice.id, "xin chào")
    kinds = [
        u.my_chat_member.new_chat_member.status for u in await bot.get_updates() if u.my_chat_member
    ]
    assert kinds == ["kicked", "member"]
    assert sim.violations == []
