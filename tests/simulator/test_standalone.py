"""The simulator as a process of its own: limit flags, /_sim/stats, /_sim/sent, bulk groups,
the remote client, and the compiled spec checks agreeing with the full walk."""

import contextlib
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import RetryAfter

from simulator import BotApiSimulator
from simulator.__main__ import _parse_args, limits_of
from simulator.control import ControlApi
from simulator.models import Limits
from simulator.remote import RemoteDriver, RemoteSimulator, SimulatorProcess
from simulator.spec import load_spec

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def test_limit_flags() -> None:
    assert limits_of(_parse_args([])) is None
    assert limits_of(_parse_args(["--paid"])) == Limits()
    assert limits_of(_parse_args(["--limits", "--scale", "10"])) == Limits(time_scale=10)
    chosen = limits_of(_parse_args(["--paid-per-second", "500", "--group-per-minute", "3"]))
    assert chosen == Limits(paid_global_per_second=500, group_per_minute=3)
    with pytest.raises(SystemExit):
        _parse_args(["--global-per-second", "0"])


@pytest_asyncio.fixture
async def controlled() -> AsyncIterator[BotApiSimulator]:
    simulator = BotApiSimulator()
    simulator.extra_routes.extend(ControlApi(simulator).routes())
    await simulator.start()
    yield simulator
    await simulator.stop()
    assert simulator.response_errors == []


@pytest_asyncio.fixture
async def client(controlled: BotApiSimulator) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://{controlled.host}:{controlled.port}/_sim"
    async with httpx.AsyncClient(base_url=base) as http:
        yield http


async def test_many_groups_with_the_bot_then_the_send_log(
    controlled: BotApiSimulator, client: httpx.AsyncClient
) -> None:
    lan = (await client.post("/users", json={"first_name": "Lan"})).json()["id"]
    groups = [{"title": f"Tổ {n}", "admins": [lan], "with_bot": True} for n in range(3)]
    ids = (await client.post("/groups/many", json={"groups": groups})).json()["ids"]
    assert len(ids) == 3 and controlled.world.updates == []  # no join updates
    async with Bot(controlled.token, base_url=controlled.base_url) as bot:
        for chat_id in ids:
            await bot.send_message(chat_id, f"<b>tin</b> {chat_id}", parse_mode="HTML")
    first = (await client.get("/sent", params={"offset": 0, "limit": 2})).json()
    assert [r["chat_id"] for r in first["records"]] == ids[:2] and first["next"] == 2
    rest = (await client.get("/sent", params={"offset": 2, "text": 1})).json()
    assert rest["records"][0]["text"] == f"tin {ids[2]}" and rest["next"] == 3
    assert rest["records"][0]["method"] == "sendMessage"
    stats = (await client.get("/stats")).json()
    assert stats["calls"]["sendMessage"] == 3 and stats["sent"] == 3
    assert stats["violations"] == 0 and stats["http_429"] == 0


async def test_bulk_groups_are_checked_before_any_is_made(
    controlled: BotApiSimulator, client: httpx.AsyncClient
) -> None:
    lan = (await client.post("/users", json={"first_name": "Lan"})).json()["id"]
    bad = [{"title": "Tổ 1", "admins": [lan]}, {"title": "Tổ 2", "admins": [42]}]
    answer = await client.post("/groups/many", json={"groups": bad})
    assert answer.status_code == 400 and answer.json()["field"] == "admins"
    assert not [c for c in controlled.world.chats.values() if c.type != "private"]
    answer = await client.post("/groups/many", json={"groups": "many"})
    assert answer.status_code == 400 and answer.json()["field"] == "groups"
    answer = await client.get("/sent", params={"offset": -1})
    assert answer.status_code == 400 and answer.json()["field"] == "offset"


async def test_a_standalone_paid_simulator_limits_each_group() -> None:
    async with SimulatorProcess(["--paid", "--group-per-minute", "2"]) as process:
        remote = RemoteSimulator(process.control_url, process.token)
        try:
            lan = await remote.create_user("Lan")
            (group,) = await remote.create_groups(
                [{"title": "Tổ 5", "admins": [lan.id], "with_bot": True}]
            )
            async with Bot(process.token, base_url=process.base_url) as bot:
                for n in range(2):
                    await bot.send_message(group, f"tin {n}", allow_paid_broadcast=True)
                with pytest.raises(RetryAfter):
                    await bot.send_message(group, "quá nhiều", allow_paid_broadcast=True)
            stats = await remote.stats()
            lines, offset = await remote.sent(0, text=True)
        finally:
            await remote.close()
    assert stats["http_429"] == 1 and stats["violations"] == 0
    assert [line.text for line in lines] == ["tin 0", "tin 1"] and offset == 2
    assert process.process is not None and process.process.returncode == 0


async def test_the_remote_driver_reads_buttons_and_presses_them(
    controlled: BotApiSimulator,
) -> None:
    remote = RemoteSimulator(f"http://{controlled.host}:{controlled.port}/_sim")
    driver = RemoteDriver(remote)
    try:
        an = await remote.create_user("An")
        chat = await driver.start_private(an)
        async with Bot(controlled.token, base_url=controlled.base_url) as bot:
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="yes")]])
            await bot.send_message(chat.id, "Gửi?", reply_markup=keyboard)
            found = await driver.wait_for_bot_message(chat, contains="Gửi")
            assert found.buttons == [["Có"]]
            assert (await driver.last_bot_message(chat)) == found
            query_id = await driver.press_button(an, chat, "Có", message=found)
            assert controlled.callbacks[query_id].data == "yes"
            with pytest.raises(TimeoutError):
                await driver.wait_for_bot_message(chat, after=found.message_id, timeout=0.2)
    finally:
        await remote.close()


def _message() -> dict[str, Any]:
    return {
        "message_id": 7,
        "date": 1,
        "chat": {"id": -4000000001, "type": "group", "title": "Tổ 5"},
        "from": {"id": 1, "is_bot": True, "first_name": "Canh Gác"},
        "text": "tin",
        "entities": [{"type": "bold", "offset": 0, "length": 3}],
        "reply_markup": {"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]},
        "reply_to_message": {
            "message_id": 6,
            "date": 1,
            "chat": {"id": -4000000001, "type": "group", "title": "Tổ 5"},
        },
    }


def _variants() -> list[dict[str, Any]]:
    """A valid Message and one change at a time, valid or not."""
    changes: list[tuple[tuple[str | int, ...], Any]] = [
        (("message_id",), "7"),
        (("message_id",), True),
        (("chat", "type"), "channel"),
        (("chat", "type"), "galaxy"),
        (("chat", "id"), 1.5),
        (("entities", 0, "type"), "bold"),
        (("entities", 0, "length"), None),
        (("entities",), {}),
        (("reply_markup", "inline_keyboard", 0, 0, "text"), 3),
        (("reply_markup", "inline_keyboard", 0), "row"),
        (("reply_to_message", "chat"), {"id": 1}),
        (("reply_to_message", "message_id"), 6),
        (("from", "is_bot"), "yes"),
        (("unknown_field",), 1),
    ]
    found = [_message()]
    for path, value in changes:
        variant = _message()
        target: Any = variant
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        found.append(variant)
    missing = _message()
    del missing["date"]
    found.append(missing)
    return found


@pytest.mark.parametrize("value", _variants())
def test_compiled_checks_agree_with_the_full_walk(value: dict[str, Any]) -> None:
    spec = load_spec()
    errors = spec._errors(copy.deepcopy(value), ["Message"], "result")
    assert spec.matches(value, ["Message"]) == (errors == [])
    assert spec.validate(value, ["Message"], "result") == errors


async def test_the_load_generator_measures_the_ceiling() -> None:
    from bench.headroom import ceiling

    found = await ceiling(groups=3, requests=40, connections=4)
    assert found["ceiling_failed"] == 0 and found["ceiling_violations"] == 0
    assert found["simulator_ceiling_per_s"] > 0 and found["ceiling_requests"] == 40


_ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -5,
    1.5,
    "",
    "group",
    "private",
    [],
    [1],
    {},
    {"type": "bold", "offset": 0, "length": 1},
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            found += _paths(item, (*path, key))
    return found


_MESSAGE_PATHS = _paths(_message())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_MESSAGE_PATHS), st.sampled_from(_ODD_VALUES), st.booleans()),
        min_size=1,
        max_size=3,
    )
)
def test_compiled_checks_agree_on_mutated_messages(
    changes: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    value = _message()
    for path, new, drop in changes:
        target: Any = value
        with contextlib.suppress(KeyError, IndexError, TypeError):
            for key in path[:-1]:
                target = target[key]
            if drop and isinstance(target, dict):
                target.pop(path[-1], None)
            else:
                target[path[-1]] = new
    spec = load_spec()
    for types in (["Message"], ["MaybeInaccessibleMessage"]):
        assert spec.matches(value, types) == (spec._errors(value, types, "result") == [])
