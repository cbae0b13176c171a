"""The fast path of bulk sends: its bodies are what PTB would send, its answers raise what PTB
would raise (both checked against the simulator, which validates every call), and it goes
through the same rate limiter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest
import pytest_asyncio
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest, RequestData

from bot.delivery import DeliveryConfig, FloodGate, Outgoing, TelegramRateLimiter
from bot.delivery.fastpath import FastApi, members, prepare
from bot.delivery.files import UploadCache
from bot.delivery.limiter import BULK, retry_seconds
from bot.delivery.sending import PartSender, Rendered, markup_json, to_markup
from simulator import BotApiSimulator, Limits, SimDriver
from simulator.models import SimChat
from tests.delivery.conftest import FAST, Db, EngineFactory, add_groups, copies, finished, new_job
from tests.delivery.support import TOKEN
from tests.delivery.test_parts import photo_ids

VIETNAMESE_HTML = (
    '<b>Cảnh báo lừa đảo</b> &amp; "giả danh" &lt;công an&gt;: <i>đừng</i> chuyển tiền 🚨\n'
    '<a href="https://example.org/a?b=1&amp;c=2">Chi tiết</a> — ấp Đồng Tâm, xã Phước Lý'
)
BUTTONS = [
    [("Đã nhận ✅", "ack:12:ab"), ("📨 Gửi tin báo", "https://t.me/canhgac_test_bot?start=t_12")],
    [("Chi tiết", "alert:12")],
]


class Recording(HTTPXRequest):
    """PTB's own request layer, remembering the parameters of every call it posts."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=8)
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        params = request_data.parameters if request_data is not None else {}
        self.sent.append((url.rsplit("/", 1)[-1], dict(params)))
        return await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )


@pytest_asyncio.fixture
async def recorded(sim: BotApiSimulator) -> AsyncIterator[tuple[ExtBot[Any], Recording]]:
    request = Recording()
    bot: ExtBot[Any] = ExtBot(
        TOKEN,
        base_url=sim.base_url,
        base_file_url=sim.base_file_url,
        request=request,
        rate_limiter=TelegramRateLimiter(FloodGate(FAST)),
    )
    await bot.initialize()
    yield bot, request
    await bot.shutdown()


def ptb_sender(bot: ExtBot[Any], config: DeliveryConfig = FAST) -> PartSender:
    return PartSender(bot, config, UploadCache(None))  # type: ignore[arg-type]  # no uploads


async def group(driver: SimDriver, title: str = "Tổ dân phố 7") -> SimChat:
    admin = driver.create_user("Admin")
    chat = driver.create_group(title, members=[admin], admins=[admin])
    await driver.add_bot(chat, by=admin)
    return chat


@pytest.mark.parametrize("paid", [False, True])
@pytest.mark.parametrize("reply_to", [None, 1])
async def test_send_bodies_are_what_ptb_sends(
    sim: BotApiSimulator,
    driver: SimDriver,
    recorded: tuple[ExtBot[Any], Recording],
    paid: bool,
    reply_to: int | None,
) -> None:
    bot, request = recorded
    chat = await group(driver)
    (photo,) = await photo_ids(driver, 1)
    for out in (
        Outgoing(text=VIETNAMESE_HTML, buttons=BUTTONS, reply_to_message_id=reply_to),
        Outgoing(text=VIETNAMESE_HTML, disable_preview=False, reply_to_message_id=reply_to),
        Outgoing(text=VIETNAMESE_HTML, photo=photo, buttons=BUTTONS),
        Outgoing(text="", photo=photo, reply_to_message_id=reply_to),
    ):
        rendered = Rendered.of(out)
        await ptb_sender(bot, replace(FAST, paid_broadcast=paid)).send_main(chat.id, rendered, 0)
        method, params = request.sent[-1]
        extra = members(reply_parameters=params.get("reply_parameters"))
        body = rendered.body(method, paid).body(chat.id, extra)
        assert orjson.loads(body) == params
    assert sim.violations == []


async def test_edit_bodies_are_what_ptb_sends(
    sim: BotApiSimulator, driver: SimDriver, recorded: tuple[ExtBot[Any], Recording]
) -> None:
    bot, request = recorded
    chat = await group(driver)
    sender = ptb_sender(bot)
    (file_id,) = await photo_ids(driver, 1)
    text = Rendered.of(Outgoing(text="<b>Một</b>", buttons=BUTTONS))
    photo = Rendered.of(Outgoing(text="<b>Ảnh</b>", photo=file_id))
    text_id = await sender.send_main(chat.id, text, 0)
    photo_id = await sender.send_main(chat.id, photo, 0)
    for message_id, has_caption, out in (
        (text_id, False, Outgoing(text=VIETNAMESE_HTML, buttons=BUTTONS[1:])),
        (photo_id, True, Outgoing(text=VIETNAMESE_HTML, photo=file_id)),
    ):
        rendered = Rendered.of(out)
        assert await sender.edit_main(chat.id, message_id, has_caption, rendered, 0) is None
        method, params = request.sent[-1]
        body = rendered.body(method, False).body(chat.id, members(message_id=message_id))
        assert orjson.loads(body) == params


def test_keyboard_json_is_ptbs() -> None:
    out = Outgoing(text="x", buttons=BUTTONS)
    markup = to_markup(out)
    assert markup is not None and markup_json(out) == markup.to_dict()
    assert markup_json(Outgoing(text="x")) is None


def test_prepared_body_splices_the_chat_id() -> None:
    prepared = prepare("sendMessage", {"text": 'Chào <b>bà con</b> & "hàng xóm"', "x": None})
    body = prepared.body(-1001234567890123, members(reply_parameters={"message_id": 5}))
    assert orjson.loads(body) == {
        "chat_id": -1001234567890123,
        "reply_parameters": {"message_id": 5},
        "text": 'Chào <b>bà con</b> & "hàng xóm"',
    }
    assert orjson.loads(prepare("getMe", {}).body(7)) == {"chat_id": 7}
    assert members(reply_parameters=None) == b""


async def test_fast_send_shows_the_same_message_as_ptb(
    sim: BotApiSimulator, driver: SimDriver, recorded: tuple[ExtBot[Any], Recording]
) -> None:
    bot, _ = recorded
    slow_chat, fast_chat = await group(driver, "A"), await group(driver, "B")
    fast = FastApi(bot)
    rendered = Rendered.of(Outgoing(text=VIETNAMESE_HTML, buttons=BUTTONS))
    try:
        slow_id = await ptb_sender(bot).send_main(slow_chat.id, rendered, 0)
        fast_id = await PartSender(bot, FAST, UploadCache(None), fast).send_main(  # type: ignore[arg-type]
            fast_chat.id, rendered, 0
        )
    finally:
        await fast.close()
    slow, quick = slow_chat.messages[slow_id], fast_chat.messages[fast_id]
    assert (quick.text, quick.entities, quick.inline_keyboard) == (
        slow.text,
        slow.entities,
        slow.inline_keyboard,
    )
    assert "Cảnh báo lừa đảo" in (quick.text or "")
    assert sim.violations == []


# -- errors: the fast path raises what PTB raises ------------------------------------------

Provoke = Callable[[BotApiSimulator, SimDriver, SimChat], Awaitable[int]]


async def _429(sim: BotApiSimulator, driver: SimDriver, chat: SimChat) -> int:
    sim.limits = Limits(group_per_minute=1)
    return chat.id  # the test's first send to the chat uses the minute up


async def _403(sim: BotApiSimulator, driver: SimDriver, chat: SimChat) -> int:
    sim.faults.forbid(chat.id)
    return chat.id


async def _migrated(sim: BotApiSimulator, driver: SimDriver, chat: SimChat) -> int:
    await driver.migrate_to_supergroup(chat)
    return chat.id


async def _400(sim: BotApiSimulator, driver: SimDriver, chat: SimChat) -> int:
    sim.faults.fail("sendMessage", chat.id, 400, "Bad Request: chat not found", count=2)
    return chat.id


async def _500(sim: BotApiSimulator, driver: SimDriver, chat: SimChat) -> int:
    sim.faults.fail("sendMessage", chat.id, 500, "Internal Server Error", count=2)
    return chat.id


async def _502(sim: BotApiSimulator, driver: SimDriver, chat: SimChat) -> int:
    sim.faults.fail("sendMessage", chat.id, 502, "Bad Gateway", count=2)
    return chat.id


@pytest.mark.parametrize(
    ("provoke", "expected"),
    [
        (_429, RetryAfter),
        (_403, Forbidden),
        (_migrated, ChatMigrated),
        (_400, BadRequest),
        (_500, NetworkError),
        (_502, NetworkError),
    ],
)
async def test_errors_are_ptbs(
    sim: BotApiSimulator,
    driver: SimDriver,
    provoke: Provoke,
    expected: type[TelegramError],
) -> None:
    config = replace(FAST, retry_after_attempts=1)  # the limiter hands the first 429 over
    slow_chat, fast_chat = await group(driver, "A"), await group(driver, "B")
    rendered = Rendered.of(Outgoing(text="<b>x</b>", buttons=BUTTONS))
    raised: list[TelegramError] = []
    for chat, on_fast_path in ((slow_chat, False), (fast_chat, True)):
        # A bot (and gate) per path: a 429 pauses its gate.
        bot: ExtBot[Any] = ExtBot(
            TOKEN,
            base_url=sim.base_url,
            base_file_url=sim.base_file_url,
            request=HTTPXRequest(connection_pool_size=8),
            rate_limiter=TelegramRateLimiter(FloodGate(config)),
        )
        await bot.initialize()
        fast = FastApi(bot) if on_fast_path else None
        sender = PartSender(bot, config, UploadCache(None), fast)  # type: ignore[arg-type]
        try:
            chat_id = await provoke(sim, driver, chat)
            if provoke is _429:  # use up the group's minute
                await sender.send_main(chat_id, rendered, 0)
            with pytest.raises(expected) as caught:
                await sender.send_main(chat_id, rendered, 0)
            raised.append(caught.value)
        finally:
            if fast is not None:
                await fast.close()
            await bot.shutdown()
    slow, quick = raised
    assert type(quick) is type(slow)
    if isinstance(slow, ChatMigrated):
        assert isinstance(quick, ChatMigrated)
        assert (slow.new_chat_id, quick.new_chat_id) == (
            sim.world.chats[slow_chat.id].migrated_to,
            sim.world.chats[fast_chat.id].migrated_to,
        )
    elif isinstance(slow, RetryAfter):
        assert isinstance(quick, RetryAfter)
        assert abs(retry_seconds(quick) - retry_seconds(slow)) <= 1
    else:
        assert quick.message == slow.message
    assert sim.violations == []


async def test_unreachable_server_is_a_network_error(sim: BotApiSimulator) -> None:
    bot: ExtBot[Any] = ExtBot(TOKEN, base_url="http://127.0.0.1:9/bot")  # discard: refused
    fast = FastApi(bot, connect_timeout=2.0)
    try:
        with pytest.raises(NetworkError):
            await fast.call("sendMessage", prepare("sendMessage", {"text": "x"}).body(-1), -1)
    finally:
        await fast.close()


async def test_fast_path_goes_through_the_limiter(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    """Telegram's per-group limit, known to the limiter, is kept on the fast path too."""
    targets = await add_groups(driver, lite, 3)
    sim.limits = Limits(group_per_minute=2)
    config = replace(FAST, group_per_minute=2)
    engine = await engines(lite, config)
    gate = engine.bot.rate_limiter.gate  # type: ignore[union-attr]
    gate.keep_grants = True
    for _ in range(2):
        assert (await finished(lite, await new_job(lite, targets, engine))).delivered == 3
    assert sim.stats.http_429 == 0
    assert copies(sim) == {t.telegram_chat_id: 2 for t in targets}
    assert [lane for lane, _ in gate.grants] == [BULK] * 6  # each send, granted by the gate
