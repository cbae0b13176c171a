"""The /_sim/ JSON control API and the standalone entry point."""

import asyncio
import sys
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

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
