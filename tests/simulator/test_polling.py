"""getMe, long polling, offsets, allowed_updates — through the real PTB Bot."""

import asyncio

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Conflict

from simulator import BotApiSimulator, SimDriver
from tests.simulator.conftest import TOKEN, assert_spec_shape


async def test_get_me_through_ptb(sim: BotApiSimulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        123456,
        "canhgac_test_bot",
        "Canh Gác",
        True,
    )
    assert me.can_read_all_group_messages is False


async def test_long_poll_returns_when_an_update_arrives(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await driver.wait_for(lambda: sim.stats.calls["getUpdates"] == 1)
    assert not poll.done()
    await driver.start_private(alice)
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates if u.message] == ["/start"]


async def test_long_poll_times_out_empty(sim: BotApiSimulator, bot: Bot) -> None:
    assert await bot.get_updates(timeout=1) == ()


async def test_stop_releases_hanging_poll(sim: BotApiSimulator, driver: SimDriver) -> None:
    async with httpx.AsyncClient() as client:
        poll = asyncio.create_task(
            client.post(f"{sim.base_url}{TOKEN}/getUpdates", data={"timeout": "30"}, timeout=10)
        )
        await driver.wait_for(lambda: sim.stats.calls["getUpdates"] == 1)
        await sim.stop()
        response = await asyncio.wait_for(poll, 3)
    assert response.json() == {"ok": True, "result": []}


async def test_second_poller_conflicts_the_first(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await driver.wait_for(lambda: sim.stats.calls["getUpdates"] == 1)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    assert await second == ()


async def test_offset_confirms_earlier_updates(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    await driver.send_text(alice, chat, "một")
    await driver.send_text(alice, chat, "hai")
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["/start", "một", "hai"]
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in first]
    rest = await bot.get_updates(offset=first[1].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["hai"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0) == ()
    limited = await driver.send_text(alice, chat, "ba")
    assert limited.text == "ba"
    assert len(await bot.get_updates(limit=1, timeout=0)) == 1


async def test_allowed_updates_filters_kinds(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    await bot.send_message(chat.id, "chọn", reply_markup=_keyboard())
    await driver.press_button(alice, chat, "Có")
    only_callbacks = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in only_callbacks] == [True]
    everything = await bot.get_updates(timeout=0, allowed_updates=[])
    assert len(everything) == 2


async def test_update_payloads_match_the_spec(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice", username="alice")
    group = driver.create_group("Tổ 5", members=[alice], admins=[alice])
    await driver.add_bot(group, by=alice)
    await driver.send_text(alice, group, "/dangky@canhgac_test_bot Đống Đa")
    await driver.send_photo(alice, group, caption="/baocao")
    chat = await driver.start_private(alice)
    await driver.send_location(alice, chat, 21.0, 105.8)
    for update in sim.world.updates:
        assert_spec_shape(update, ["Update"])


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="yes")]])


async def test_deep_link_payload(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    await driver.start_private(alice, payload="area-12_dongda")
    updates = await bot.get_updates()
    assert updates[0].message is not None
    assert updates[0].message.text == "/start area-12_dongda"
    with pytest.raises(AssertionError, match="deep-link payload"):
        await driver.start_private(alice, payload="Đống Đa")
