"""The /_sim/ JSON control API and the standalone entry point."""

import asyncio
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from simulator import BotApiSimulator
from simulator.control import ControlApi


@pytest_asyncio.fixture
async def controlled() -> AsyncIterator[BotApiSimulator]:
    simulator = BotApiSimulator()
    simulator.extra_routes.extend(ControlApi(simulator).routes())
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_control_api_drives_the_world(controlled: BotApiSimulator) -> None:
    base = f"http://{controlled.host}:{controlled.port}/_sim"
    async with httpx.AsyncClient() as client:
        alice = (await client.post(f"{base}/users", json={"first_name": "Alice"})).json()
        group = (
            await client.post(
                f"{base}/groups", json={"title": "Tổ 5", "members": [], "admins": [alice["id"]]}
            )
        ).json()
        await client.post(f"{base}/bot/add", json={"chat_id": group["id"], "by": alice["id"]})
        sent = await client.post(
            f"{base}/send", json={"user_id": alice["id"], "chat_id": group["id"], "text": "/x"}
        )
        assert sent.json()["text"] == "/x"
        messages = (await client.get(f"{base}/messages", params={"chat_id": group["id"]})).json()
        assert [m["text"] for m in messages] == [None, "/x"]
        newest = await client.get(f"{base}/messages", params={"chat_id": group["id"], "last": 1})
        assert [m["text"] for m in newest.json()] == ["/x"]
        state = (await client.get(f"{base}/state")).json()
        assert state["violations"] == [] and len(state["users"]) == 2
        pressed = await client.post(
            f"{base}/press", json={"user_id": alice["id"], "chat_id": group["id"], "label": "?"}
        )
        assert pressed.status_code == 400
    assert [next(k for k in u if k != "update_id") for u in controlled.world.updates] == [
        "my_chat_member",
        "message",
        "message",
    ]


async def test_python_dash_m_prints_base_url() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--port",
        "0",
        "--limits",
        "--scale",
        "10",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 10)
        assert line.decode().startswith("base_url      http://127.0.0.1:")
    finally:
        proc.terminate()
        await proc.wait()


@pytest_asyncio.fixture
async def client(controlled: BotApiSimulator) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://{controlled.host}:{controlled.port}/_sim"
    async with httpx.AsyncClient(base_url=base) as http:
        yield http


@pytest_asyncio.fixture
async def tg(controlled: BotApiSimulator) -> AsyncIterator[Bot]:
    """A real PTB Bot talking to the controlled simulator."""
    bot = Bot(
        controlled.token, base_url=controlled.base_url, base_file_url=controlled.base_file_url
    )
    async with bot:
        yield bot


async def _group_with_bot(client: httpx.AsyncClient) -> tuple[int, int]:
    """A user and a group they administer, the bot added by them."""
    lan = (await client.post("/users", json={"first_name": "Lan"})).json()["id"]
    group = (await client.post("/groups", json={"title": "Tổ 5", "admins": [lan]})).json()["id"]
    await client.post("/bot/add", json={"chat_id": group, "by": lan})
    return lan, group


async def test_a_user_sends_a_photo_and_a_location(
    controlled: BotApiSimulator, client: httpx.AsyncClient, tg: Bot
) -> None:
    lan, _ = await _group_with_bot(client)
    chat = await client.post("/start", json={"user_id": lan})
    private = chat.json()["id"]
    photo = await client.post("/photo", json={"user_id": lan, "chat_id": private, "caption": "x"})
    where = await client.post(
        "/location",
        json={"user_id": lan, "chat_id": private, "latitude": 21.0285, "longitude": 105.8542},
    )
    assert photo.json()["photo"] is True and photo.json()["caption"] == "x"
    assert where.json()["location"] == {"latitude": 21.0285, "longitude": 105.8542}

    updates = [u for u in await tg.get_updates() if u.message and u.message.chat.id == private]
    received = [u.message for u in updates if u.message is not None]
    assert received[-2].photo and received[-1].location is not None
    file = await tg.get_file(received[-2].photo[-1].file_id)
    assert (await file.download_as_bytearray()).startswith(b"\x89PNG")


async def test_messages_show_link_buttons_and_the_custom_keyboard(
    client: httpx.AsyncClient, tg: Bot
) -> None:
    lan, _ = await _group_with_bot(client)
    private = (await client.post("/start", json={"user_id": lan})).json()["id"]
    link = InlineKeyboardButton("📨 Gửi tin báo", url="https://t.me/canhgac_bot?start=tip_7")
    await tg.send_message(private, "Gửi tin", reply_markup=InlineKeyboardMarkup([[link]]))
    where = ReplyKeyboardMarkup([[KeyboardButton("📍 Gửi vị trí", request_location=True)]])
    await tg.send_message(private, "Ở đâu?", reply_markup=where)
    sent = await client.get("/messages", params={"chat_id": private, "last": 2})
    linked, asked = sent.json()
    assert linked["links"] == {"📨 Gửi tin báo": "https://t.me/canhgac_bot?start=tip_7"}
    assert linked["keyboard"] == [] and asked["links"] == {}
    assert asked["keyboard"] == [["📍 Gửi vị trí"]] and asked["buttons"] == []


async def test_press_returns_the_bots_answer_and_answers_lists_it(
    client: httpx.AsyncClient, tg: Bot
) -> None:
    lan, group = await _group_with_bot(client)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Đã nhận", callback_data="ack:7")]])
    await tg.send_message(group, "Cảnh báo", reply_markup=keyboard)

    async def answer_the_press() -> None:
        while True:  # the press is queued once the request below has arrived
            presses = [u for u in await tg.get_updates(timeout=1) if u.callback_query]
            if presses:
                await presses[0].callback_query.answer("Đã ghi nhận", show_alert=True)  # type: ignore[union-attr]
                return

    press = client.post("/press", json={"user_id": lan, "chat_id": group, "label": "✅ Đã nhận"})
    pressed, _ = await asyncio.gather(press, asyncio.wait_for(answer_the_press(), 10))
    answer = pressed.json()
    assert answer["answered"] and answer["text"] == "Đã ghi nhận" and answer["show_alert"]
    assert answer["data"] == "ack:7"

    listed = (await client.get("/answers", params={"chat_id": group})).json()
    assert [(a["data"], a["text"], a["user_id"]) for a in listed] == [("ack:7", "Đã ghi nhận", lan)]
    assert (await client.get("/answers")).json() == listed  # every chat

    unanswered = await client.post(
        "/press", json={"user_id": lan, "chat_id": group, "label": "✅ Đã nhận", "wait": 0}
    )
    assert unanswered.json()["answered"] is False and unanswered.json()["text"] is None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/users", {}, "first_name"),
        ("/users", {"first_name": 5}, "first_name"),
        ("/groups", {"title": "Tổ 5", "admins": [123]}, "admins"),
        ("/groups", {"title": "Tổ 5", "members": "lan"}, "members"),
        ("/start", {}, "user_id"),
        ("/start", {"user_id": "LAN", "payload": "x"}, "user_id"),
        ("/start", {"user_id": "{lan}", "payload": "có dấu"}, "payload"),
        ("/bot/add", {"chat_id": "{group}"}, "by"),
        ("/send", {"chat_id": "{group}", "text": "x"}, "user_id"),
        ("/send", {"user_id": "{lan}", "chat_id": -1, "text": "x"}, "chat_id"),
        ("/send", {"user_id": "{lan}", "chat_id": "{group}"}, "text"),
        (
            "/send",
            {"user_id": "{lan}", "chat_id": "{group}", "text": "x", "reply_to": 99},
            "reply_to",
        ),
        ("/send", {"user_id": "{stranger}", "chat_id": "{group}", "text": "x"}, "chat_id"),
        ("/photo", {"user_id": "{lan}", "chat_id": "{group}", "caption": 7}, "caption"),
        ("/location", {"user_id": "{lan}", "chat_id": "{group}", "longitude": 1}, "latitude"),
        (
            "/location",
            {"user_id": "{lan}", "chat_id": "{group}", "latitude": "north", "longitude": 1},
            "latitude",
        ),
        (
            "/location",
            {"user_id": "{lan}", "chat_id": "{group}", "latitude": 1, "longitude": 181},
            "longitude",
        ),
        ("/press", {"user_id": "{lan}", "chat_id": "{group}", "label": "?"}, "label"),
        ("/press", {"user_id": "{lan}", "chat_id": "{group}", "label": "?", "wait": 99}, "wait"),
        ("/press", {"user_id": "{lan}", "chat_id": "{group}"}, "label"),
    ],
)
async def test_a_missing_or_wrong_field_is_a_400_naming_it(
    controlled: BotApiSimulator,
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    lan, group = await _group_with_bot(client)
    stranger = (await client.post("/users", json={"first_name": "Người lạ"})).json()["id"]
    ids = {"{lan}": lan, "{group}": group, "{stranger}": stranger}
    before = len(controlled.world.updates)
    answer = await client.post(path, json={k: ids.get(str(v), v) for k, v in body.items()})
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field and field in answer.json()["error"]
    assert len(controlled.world.updates) == before  # nothing happened


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"not json", "body"), (b"[1, 2]", "body"), (b'"text"', "body")],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    client: httpx.AsyncClient, body: bytes, field: str
) -> None:
    answer = await client.post("/send", content=body)
    assert answer.status_code == 400 and answer.json()["field"] == field


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/messages", {}, "chat_id"),
        ("/messages", {"chat_id": "abc"}, "chat_id"),
        ("/messages", {"chat_id": "{group}", "last": "0"}, "last"),
        ("/messages", {"chat_id": "{group}", "last": "many"}, "last"),
        ("/answers", {"chat_id": "-5"}, "chat_id"),
    ],
)
async def test_a_wrong_query_parameter_is_a_400_naming_it(
    client: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    _, group = await _group_with_bot(client)
    query = {k: str(group) if v == "{group}" else v for k, v in params.items()}
    answer = await client.get(path, params=query)
    assert answer.status_code == 400 and answer.json()["field"] == field
