"""The engine end to end: outbox rows in a real database, sends through the simulator."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import col, select

from bot.delivery import DeliveryEngine, Outgoing, Target, enqueue, request_edit
from simulator import BotApiSimulator, Limits, SimDriver
from storage.models import Chat, Delivery, Subscription, User
from tests.delivery.conftest import (
    FAST,
    Db,
    EngineFactory,
    add_groups,
    copies,
    finished,
    make_bot,
    make_gate,
    new_job,
    rows,
)
from tests.delivery.support import TEXTS, render_alert, wait_until


async def test_one_copy_per_group_and_message_ids_stored(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, db, 25)
    filtered = [replace(t, filtered=True) for t in await add_groups(driver, db, 2, "F")]
    engine = await engines(db)
    ref = await new_job(db, targets + filtered, engine)
    stats = await finished(db, ref)
    assert (stats.delivered, stats.filtered, stats.failed, stats.total) == (25, 2, 0, 27)
    assert stats.first_at is not None and stats.t100_seconds is not None
    assert stats.t50_seconds is not None and stats.t50_seconds <= stats.t100_seconds
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}
    sent_ids = {(r.chat_id, r.message_id) for r in sim.stats.sent}
    stored = {(r.telegram_chat_id, r.message_id) for r in await rows(db, ref) if r.message_id}
    assert stored == sent_ids
    first = driver.bot_messages(driver.sim.world.chats[targets[0].telegram_chat_id])[0]
    assert first.text == f"Alert {ref}" and first.buttons == [["Details"]]


async def test_429_answers_lose_and_duplicate_nothing(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 24)
    sim.limits = Limits(global_per_second=10)  # the engine believes in 1000/s
    engine = await engines(lite)
    ref = await new_job(lite, targets, engine)
    stats = await finished(lite, ref)
    assert stats.delivered == 24
    assert sim.stats.http_429 > 0
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}


async def test_forbidden_group_fails_and_goes_inactive(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, db, 5)
    kicked = driver.sim.world.chats[targets[0].telegram_chat_id]
    await driver.remove_bot(kicked, by=driver.sim.world.users[min(driver.sim.world.users)])
    engine = await engines(db)
    ref = await new_job(db, targets, engine)
    stats = await finished(db, ref)
    assert (stats.delivered, stats.failed) == (4, 1)
    assert stats.t100_seconds is not None  # every copy that can arrive did
    failed = [r for r in await rows(db, ref) if r.status == "failed"]
    assert [r.telegram_chat_id for r in failed] == [kicked.id]
    assert failed[0].last_error is not None and "forbidden" in failed[0].last_error
    async with db.sessions() as session:
        chat = (await session.exec(select(Chat).where(col(Chat.telegram_id) == kicked.id))).one()
        sub = (
            await session.exec(select(Subscription).where(col(Subscription.chat_id) == chat.id))
        ).one()
    assert chat.bot_member is False and sub.paused is True


async def test_migrated_group_gets_its_copy_at_the_new_id(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, db, 3)
    old = driver.sim.world.chats[targets[1].telegram_chat_id]
    new = await driver.migrate_to_supergroup(old)
    engine = await engines(db)
    ref = await new_job(db, targets, engine)
    stats = await finished(db, ref)
    assert stats.delivered == 3
    assert copies(sim)[new.id] == 1 and copies(sim)[old.id] == 0
    assert {r.telegram_chat_id for r in await rows(db, ref)} == {
        targets[0].telegram_chat_id,
        new.id,
        targets[2].telegram_chat_id,
    }
    async with db.sessions() as session:
        chat = await session.get(Chat, targets[1].chat_id)
    assert chat is not None and chat.telegram_id == new.id


async def test_server_errors_are_retried(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 6)
    sim.faults.fail(method="sendMessage", status=500, count=8)
    sim.faults.fail(method="sendMessage", chat_id=targets[0].telegram_chat_id, status=502, count=2)
    engine = await engines(lite)
    ref = await new_job(lite, targets, engine)
    stats = await finished(lite, ref)
    assert (stats.delivered, stats.failed) == (6, 0)
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}


async def test_too_many_server_errors_fail_the_copy(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 3)
    sim.faults.fail(method="sendMessage", chat_id=targets[0].telegram_chat_id, count=None)
    engine = await engines(lite, replace(FAST, max_attempts=3))
    ref = await new_job(lite, targets, engine)
    stats = await finished(lite, ref)
    assert (stats.delivered, stats.failed) == (2, 1)
    assert stats.t100_seconds is not None


async def test_crashed_sender_loses_nothing(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 20)
    sim.faults.delay(3.0, method="sendMessage", count=5)  # 5 requests hang in flight
    config = replace(FAST, lease_seconds=1.0, max_in_flight=8, batch_size=8)
    a = await engines(lite, config)
    ref = await new_job(lite, targets, a)

    async def a_is_stuck() -> bool:
        return sum(copies(sim).values()) >= 3  # the 3 not delayed of A's first 8 went out

    await wait_until(a_is_stuck)
    claimed_by_a = [r for r in await rows(lite, ref) if r.lease_owner == a.owner]
    assert claimed_by_a
    await a.stop(abort=True)  # crash: A's leases stay until they expire
    b = await engines(lite, config)
    b.notify()
    stats = await finished(lite, ref)
    assert stats.delivered == 20
    sent = copies(sim)
    assert set(sent) == {t.telegram_chat_id for t in targets}
    # Only requests in flight at the crash may have gone out twice.
    assert sum(sent.values()) - 20 <= len(claimed_by_a)


async def test_correction_edits_sent_copies_and_sends_the_rest_corrected(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    early, late = await add_groups(driver, db, 4, "E"), await add_groups(driver, db, 3, "L")
    engine = await engines(db)
    ref = await new_job(db, early, engine)
    assert (await finished(db, ref)).delivered == 4
    await engine.stop()
    async with db.sessions() as session, session.begin():
        await enqueue(session, "alert", ref, late)  # not yet sent when the correction comes
        TEXTS[ref] = "<b>Corrected</b>: false alarm"
        await request_edit(session, "alert", ref)
    await engines(db)

    async def all_current() -> bool:
        return all(r.sent_version == r.content_version for r in await rows(db, ref))

    await wait_until(all_current)
    world = driver.sim.world
    for t in early:
        (message,) = driver.bot_messages(world.chats[t.telegram_chat_id])
        assert message.edited and message.text == "Corrected: false alarm"
    for t in late:
        (message,) = driver.bot_messages(world.chats[t.telegram_chat_id])
        assert not message.edited and message.text == "Corrected: false alarm"
    assert sim.stats.calls["editMessageText"] == len(early)
    assert copies(sim) == {t.telegram_chat_id: 1 for t in early + late}


async def test_edit_of_a_deleted_copy_is_done_with_a_note(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 2)
    engine = await engines(lite)
    ref = await new_job(lite, targets, engine)
    await finished(lite, ref)
    gone = [r for r in await rows(lite, ref) if r.telegram_chat_id == targets[0].telegram_chat_id]
    sim.world.chats[targets[0].telegram_chat_id].messages.pop(gone[0].message_id or 0)
    async with lite.sessions() as session, session.begin():
        await request_edit(session, "alert", ref)  # same text: "not modified" for the other
    engine.notify()

    async def settled() -> bool:
        return all(r.sent_version == r.content_version for r in await rows(lite, ref))

    await wait_until(settled)
    notes = {r.telegram_chat_id: r.last_error for r in await rows(lite, ref)}
    assert notes == {
        targets[0].telegram_chat_id: "message to edit not found",
        targets[1].telegram_chat_id: None,
    }


async def test_photo_copies_are_corrected_through_their_caption(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 3)
    user = next(iter(sim.world.users.values()))
    photo = await driver.send_photo(user, sim.world.chats[targets[0].telegram_chat_id])
    assert photo.photo is not None
    file_id, texts = photo.photo[-1]["file_id"], {7: "Wanted: <b>red scooter</b>"}

    async def render(ref_id: int, language: str | None, chat_id: int) -> Outgoing:
        return Outgoing(texts[7], photo=file_id, buttons=[[("Map", "https://example.org/m")]])

    engine = await engines(lite)
    engine.register("wanted", render, per_chat=False)
    async with lite.sessions() as session, session.begin():
        await enqueue(session, "wanted", 7, targets)
    engine.notify()
    await wait_until(lambda: _settled(lite, "wanted", 7))
    texts[7] = "Found: <b>red scooter</b>"
    async with lite.sessions() as session, session.begin():
        await request_edit(session, "wanted", 7)
    engine.notify()
    await wait_until(lambda: _settled(lite, "wanted", 7))
    for t in targets:
        copy = driver.bot_messages(sim.world.chats[t.telegram_chat_id])[-1]
        assert copy.photo and copy.edited and copy.caption == "Found: red scooter"
        assert copy.buttons == [["Map"]]
    assert sim.stats.calls["editMessageCaption"] == 3


async def _settled(db: Db, kind: str, ref: int) -> bool:
    async with db.sessions() as session:
        result = await session.exec(
            select(Delivery).where(col(Delivery.kind) == kind, col(Delivery.ref_id) == ref)
        )
        found = list(result)
    return bool(found) and all(
        r.message_id is not None and r.sent_version == r.content_version for r in found
    )


async def test_paid_broadcast_uses_the_paid_limit(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 12)
    sim.limits = Limits(global_per_second=2, paid_global_per_second=1000)
    config = replace(FAST, global_per_second=2, paid_broadcast=True)
    engine = await engines(lite, config)
    ref = await new_job(lite, targets, engine)
    assert (await finished(lite, ref)).delivered == 12
    assert sim.stats.http_429 == 0  # 12 sends in well under the 6 s the free limit needs


async def test_a_reply_overtakes_a_queued_broadcast(
    lite: Db, sim: BotApiSimulator, driver: SimDriver
) -> None:
    targets = await add_groups(driver, lite, 40)
    resident = driver.create_user("Resident")
    chat = await driver.start_private(resident)
    config = replace(FAST, global_per_second=20, interactive_reserve=0)
    sim.limits = Limits(global_per_second=20)
    bot = make_bot(sim, make_gate(config))
    async with bot:
        engine = DeliveryEngine(lite.sessions, bot, config)
        engine.register("alert", render_alert)
        await engine.start()
        await new_job(lite, targets, engine)

        async def broadcast_under_way() -> bool:
            return len(sim.stats.sent) >= 5

        await wait_until(broadcast_under_way)
        sent_before = len(sim.stats.sent)
        # The handler's direct reply: no rate_limit_args, so it is interactive.
        reply = await bot.send_message(chat.id, "Đã nhận")
        await engine.stop(abort=True)
    order = [(r.chat_id, r.message_id) for r in sim.stats.sent]
    position = order.index((chat.id, reply.message_id))
    assert position - sent_before <= 2  # ahead of the 30-odd bulk sends still queued
    assert sum(1 for c, _ in order if c != chat.id) < 40


async def test_a_person_who_blocked_the_bot_can_no_longer_be_messaged(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    officer = driver.create_user("Officer")
    await driver.start_private(officer)
    await driver.block_bot(officer)
    async with lite.sessions() as session, session.begin():
        session.add(User(telegram_id=officer.id, can_message=True))
    engine = await engines(lite)
    ref = await new_job(lite, [Target(telegram_chat_id=officer.id)], engine)
    assert (await finished(lite, ref)).failed == 1
    async with lite.sessions() as session:
        user = (await session.exec(select(User).where(col(User.telegram_id) == officer.id))).one()
    assert user.can_message is False


async def test_stopping_gives_back_rows_still_waiting(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    (target,) = await add_groups(driver, lite, 1)
    engine = await engines(lite, replace(FAST, group_per_minute=1))
    first = await new_job(lite, [target], engine)
    await finished(lite, first)
    second = await new_job(lite, [target], engine)  # the group's window is full for a minute

    async def waiting_in_limiter() -> bool:
        return any(r.lease_owner == engine.owner for r in await rows(lite, second))

    await wait_until(waiting_in_limiter)
    await engine.stop(grace=0.05)
    (row,) = await rows(lite, second)
    assert (row.status, row.lease_owner, row.lease_until) == ("pending", None, None)
    assert copies(sim) == {target.telegram_chat_id: 1}
