"""Fixtures: a running simulator, a driver and a real PTB Bot pointed at it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.request import HTTPXRequest

from simulator import BotApiSimulator, SimDriver
from simulator.spec import load_spec

TOKEN = "123456:TEST-token"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[BotApiSimulator]:
    simulator = BotApiSimulator(token=TOKEN)
    await simulator.start()
    yield simulator
    await simulator.stop()
    assert simulator.response_errors == []


@pytest.fixture
def driver(sim: BotApiSimulator) -> SimDriver:
    return SimDriver(sim)


@pytest_asyncio.fixture
async def bot(sim: BotApiSimulator) -> AsyncIterator[Bot]:
    request = HTTPXRequest(connection_pool_size=8, read_timeout=10)
    tg = Bot(
        TOKEN,
        base_url=sim.base_url,
        base_file_url=sim.base_file_url,
        request=request,
        get_updates_request=HTTPXRequest(read_timeout=10),
    )
    async with tg:
        yield tg


def assert_spec_shape(value: Any, types: list[str]) -> None:
    """Fail if a value the simulator returned does not match the spec."""
    errors = load_spec().validate(value, types, "result")
    assert errors == [], errors
