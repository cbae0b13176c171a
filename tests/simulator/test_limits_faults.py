"""Flood limits, injected faults and stats — as PTB sees them."""

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery.limiter import retry_seconds
from simulator import BotApiSimulator, Limits, SimDriver

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_private_chat_limit_gives_retry_after(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    sim.limits = Limits()
    await bot.send_message(chat.id, "một")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(chat.id, "hai")
    assert retry_seconds(info.value) == 1
    assert sim.stats.http_429 == 1
    assert sim.stats.errors[429] == 1
    assert [r.message_id for r in sim.stats.sent] == [1 + 1]  # /start is message 1
    assert sim.violations == []


async def test_group_limit_per_minute(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    group = driver.create_group("Tổ 5", members=[alice], admins=[alice])
    await driver.add_bot(group, by=alice)
    sim.limits = Limits(group_per_minute=3)
    for i in range(3):
        await bot.send_message(group.id, f"tin {i}")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(group.id, "quá nhiều")
    assert 55 <= retry_seconds(info.value) <= 60


async def test_global_limit_and_paid_broadcast(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    users = [driver.create_user(f"U{i}") for i in range(4)]
    for user in users:
        await driver.start_private(user)
    sim.limits = Limits(global_per_second=2, paid_global_per_second=10)
    await bot.send_message(users[0].id, "a")
    await bot.send_message(users[1].id, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(users[2].id, "c")
    paid = await bot.send_message(users[3].id, "d", allow_paid_broadcast=True)
    assert paid.text == "d"
    assert sim.stats.calls["sendMessage"] == 4
    assert sim.stats.http_429 == 1


async def test_fault_500_becomes_network_error(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    sim.faults.fail(method="sendMessage", status=502, description="Bad Gateway", count=1)
    with pytest.raises(NetworkError):
        await bot.send_message(chat.id, "một")
    assert (await bot.send_message(chat.id, "hai")).text == "hai"
    assert sim.stats.errors[502] == 1
    assert [m.text for m in driver.bot_messages(chat)] == ["hai"]


async def test_fault_after_delivery_duplicates(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    sim.faults.fail(chat_id=chat.id, status=500, after_delivery=True)
    with pytest.raises(NetworkError):
        await bot.send_message(chat.id, "cảnh báo")
    assert [m.text for m in driver.bot_messages(chat)] == ["cảnh báo"]


async def test_forbid_and_clear(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    sim.faults.forbid(chat.id)
    with pytest.raises(Forbidden):
        await bot.send_message(chat.id, "x")
    with pytest.raises(Forbidden):
        await bot.send_message(chat.id, "y")
    sim.faults.clear()
    await bot.send_message(chat.id, "z")
    assert sim.stats.errors[403] == 2


async def test_delay_fault_slows_answers(sim: BotApiSimulator, driver: SimDriver, bot: Bot) -> None:
    alice = driver.create_user("Alice")
    chat = await driver.start_private(alice)
    sim.faults.delay(0.5, method="sendMessage", count=1)
    with pytest.raises(TimedOut):
        await bot.send_message(chat.id, "chậm", read_timeout=0.1)
    # The delayed call still lands (as on Telegram after a client timeout).
    await driver.wait_for_bot_message(chat, contains="chậm", timeout=5)
    assert (await bot.send_message(chat.id, "nhanh")).text == "nhanh"


async def test_forbidden_chat_without_limits_counts_no_send(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-123, "x")
    assert sim.stats.sent == []
