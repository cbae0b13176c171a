"""Replies through the outbox: one row per delivered copy, sent as a reply to that copy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlmodel import col, func, select

from bot.delivery import DeliveryConfig, DeliveryEngine, Outgoing, enqueue
from bot.delivery.outbox import enqueue_replies
from simulator import BotApiSimulator, SimDriver
from storage.models import Delivery
from tests.delivery.conftest import Db, add_groups, make_bot, make_gate
from tests.delivery.support import render_alert, wait_until

FAST = DeliveryConfig(
    global_per_second=1000, group_per_minute=1000, private_per_second=1000, poll_interval=0.05
)


@pytest_asyncio.fixture
async def engine(db: Db, sim: BotApiSimulator) -> AsyncIterator[DeliveryEngine]:
    """An engine sending "alert" copies and "note" replies rendered from the copy rows."""
    bot = make_bot(sim, make_gate(FAST))
    await bot.initialize()
    sender = DeliveryEngine(db.sessions, bot, FAST)

    async def render_note(copy_id: int, language: str | None, chat_id: int) -> Outgoing:
        async with db.sessions() as session:
            copy = await session.get(Delivery, copy_id)
        assert copy is not None
        return Outgoing(f"Note on copy {copy_id}", reply_to_message_id=copy.message_id)

    sender.register("alert", render_alert)
    sender.register("note", render_note, per_chat=False)  # each row names its own copy
    await sender.start()
    yield sender
    await sender.stop(abort=True)
    await bot.shutdown()


async def idle(db: Db) -> bool:
    async with db.sessions() as session:
        due = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(col(Delivery.next_attempt_at).is_not(None))
        )
    return due == 0


async def test_replies_go_to_delivered_copies_only_even_when_the_copy_is_gone(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engine: DeliveryEngine
) -> None:
    targets = await add_groups(driver, db, 3)
    async with db.sessions() as session, session.begin():
        await enqueue(session, "alert", 1, targets[:2])
    engine.notify()
    await wait_until(lambda: idle(db))
    async with db.sessions() as session, session.begin():  # a third group joins later
        await enqueue(session, "alert", 1, targets[2:], priority=0)
        replies = await enqueue_replies(session, "note", "alert", 1)
    assert replies == 2  # the third copy was not delivered yet: it gets no reply

    gone = sim.world.chats[targets[1].telegram_chat_id]
    driver.bot_messages(gone)[-1].deleted = True  # an admin deleted the copy meanwhile
    engine.notify()
    await wait_until(lambda: idle(db))

    kept = sim.world.chats[targets[0].telegram_chat_id]
    copy, note = driver.bot_messages(kept)
    assert note.reply_to_message_id == copy.message_id
    assert (note.text or "").startswith("Note on copy")
    (orphan,) = driver.bot_messages(gone)  # sent anyway, as a plain message
    assert orphan.reply_to_message_id is None and (orphan.text or "").startswith("Note on copy")
    late = driver.bot_messages(sim.world.chats[targets[2].telegram_chat_id])
    assert [m.text for m in late] == ["Alert 1"]
    assert sim.violations == []
