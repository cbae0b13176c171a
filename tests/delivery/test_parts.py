"""Copies of several parts (main message, album, pin) in one chat: order, retries that resend
only what is missing, crashes between parts, migrations, edits of the main message only."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.delivery import DeliveryEngine, Outgoing, Pin, Target, enqueue, request_edit
from bot.delivery.kinds import KindRegistry, OutgoingKind
from simulator import BotApiSimulator, Limits, SimDriver
from simulator.models import SimMessage
from tests.delivery.conftest import (
    FAST,
    Db,
    EngineFactory,
    add_groups,
    copies,
    make_bot,
    make_gate,
    rows,
)
from tests.delivery.support import wait_until

KIND = "card"
VENUE = Pin(21.0181, 105.8292, title="Chợ Đống Đa", address="Phố Khâm Thiên")
TEXTS: dict[int, str] = {}  # what a job says now, by ref_id; tests change it to edit


@pytest.fixture(autouse=True)
def fresh_texts() -> None:
    """Each test (and each database it runs on) starts from the original texts."""
    TEXTS.clear()


async def photo_ids(driver: SimDriver, n: int) -> tuple[str, ...]:
    """File ids of `n` photos a resident sent the bot (as a tip's photos are)."""
    resident = driver.create_user("Dân")
    chat = await driver.start_private(resident)
    ids = []
    for i in range(n):
        sent = await driver.send_photo(resident, chat, content=b"photo %d" % i)
        assert sent.photo is not None
        ids.append(sent.photo[-1]["file_id"])
    return tuple(ids)


def card_kind(album: tuple[str, ...], pin: Pin | None = VENUE) -> OutgoingKind:
    """A card with a button, then the album, then the pin."""

    async def render(ref_id: int, language: str | None, chat_id: int) -> Outgoing:
        text = TEXTS.get(ref_id, f"<b>Tin R-{ref_id}</b>")
        return Outgoing(text, buttons=[[("Nhận xử lý", f"t:{ref_id}")]], album=album, location=pin)

    return OutgoingKind(KIND, render, per_chat=False)


async def start(
    engines: EngineFactory, db: Db, kind: OutgoingKind, **config: float
) -> DeliveryEngine:
    engine = await engines(db, replace(FAST, **config))
    engine.kinds.add(kind)
    return engine


async def send_cards(db: Db, targets: list[Target], engine: DeliveryEngine, ref: int) -> None:
    async with db.sessions() as session, session.begin():
        await enqueue(session, KIND, ref, targets)
    engine.notify()


async def all_sent(db: Db, ref: int, parts: int) -> bool:
    found = await rows(db, ref)
    return bool(found) and all(r.parts_sent == parts and r.next_attempt_at is None for r in found)


def assert_card(messages: list[SimMessage], album: int, title: str = "Tin R-") -> None:
    """Exactly one main message, one album of `album` photos and one venue, in that order;
    album and venue reply to the main message."""
    main, *photos, venue = messages
    assert (main.text or "").startswith(title) and main.buttons == [["Nhận xử lý"]]
    assert len(photos) == album and all(p.photo for p in photos)
    assert len({p.extra.get("media_group_id") for p in photos}) == 1
    assert venue.venue is not None and venue.venue["title"] == VENUE.title
    assert all(m.reply_to_message_id == main.message_id for m in (*photos, venue))


async def test_three_parts_arrive_in_order_and_the_row_keeps_every_id(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 3)
    targets = await add_groups(driver, db, 4)
    engine = await start(engines, db, card_kind(album))
    await send_cards(db, targets, engine, 1)
    await wait_until(lambda: all_sent(db, 1, 3))
    for t in targets:
        assert_card(driver.bot_messages(sim.world.chats[t.telegram_chat_id]), 3)
    for row in await rows(db, 1):
        main = driver.bot_messages(sim.world.chats[row.telegram_chat_id])[0]
        assert row.status == "delivered" and row.message_id == main.message_id
        ids = json.loads(row.part_message_ids or "[]")
        assert [len(p) for p in ids] == [1, 3, 1] and ids[0] == [main.message_id]
    assert sim.stats.calls["sendMediaGroup"] == 4 and sim.stats.calls["sendVenue"] == 4


async def test_a_server_error_on_the_album_resends_only_the_album_and_the_pin(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 2)
    targets = await add_groups(driver, db, 3)
    sim.faults.fail(method="sendMediaGroup", chat_id=targets[0].telegram_chat_id, status=500)
    engine = await start(engines, db, card_kind(album))
    await send_cards(db, targets, engine, 2)
    await wait_until(lambda: all_sent(db, 2, 3))
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}  # no main message twice
    for t in targets:
        assert_card(driver.bot_messages(sim.world.chats[t.telegram_chat_id]), 2)
    assert sim.stats.calls["sendMediaGroup"] == 4  # the failed one, then once per group
    assert sim.stats.errors[500] == 1


async def test_a_server_error_on_the_pin_resends_only_the_pin(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 2)
    targets = await add_groups(driver, lite, 2)
    sim.faults.fail(method="sendVenue", status=502, count=2)
    engine = await start(engines, lite, card_kind(album))
    await send_cards(lite, targets, engine, 3)
    await wait_until(lambda: all_sent(lite, 3, 3))
    for t in targets:
        assert_card(driver.bot_messages(sim.world.chats[t.telegram_chat_id]), 2)
    assert sim.stats.calls["sendMediaGroup"] == 2 and sim.stats.calls["sendVenue"] == 4


async def test_a_crash_between_parts_resumes_without_duplicates(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 3)
    targets = await add_groups(driver, db, 3)
    # Every album request hangs, then fails without arriving: the sender dies meanwhile.
    sim.faults.delay(2.0, method="sendMediaGroup", count=3)
    sim.faults.fail(method="sendMediaGroup", status=500, count=3)
    kind = card_kind(album)
    a = await start(engines, db, kind, lease_seconds=1.0)
    await send_cards(db, targets, a, 4)

    async def albums_in_flight() -> bool:
        found = await rows(db, 4)
        return sim.stats.calls["sendMediaGroup"] == 3 and all(r.parts_sent == 1 for r in found)

    await wait_until(albums_in_flight)
    await a.stop(abort=True)  # the crash: A's leases stay until they expire
    b = await start(engines, db, kind, lease_seconds=1.0)
    b.notify()
    await wait_until(lambda: all_sent(db, 4, 3))
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}
    for t in targets:
        assert_card(driver.bot_messages(sim.world.chats[t.telegram_chat_id]), 3)
    assert sim.stats.calls["sendVenue"] == 3


async def test_too_many_requests_on_the_album_wait_without_counting_an_attempt(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 3)
    targets = await add_groups(driver, lite, 4)
    sim.limits = Limits(global_per_second=5)  # 4 x (1 + 3 + 1) messages: 429s on the way
    engine = await start(engines, lite, card_kind(album))
    await send_cards(lite, targets, engine, 5)
    await wait_until(lambda: all_sent(lite, 5, 3))
    assert sim.stats.http_429 > 0
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}
    for t in targets:
        assert_card(driver.bot_messages(sim.world.chats[t.telegram_chat_id]), 3)
    assert {r.attempts for r in await rows(lite, 5)} == {0}


async def test_a_group_migrated_between_parts_gets_the_rest_at_its_new_id(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 2)
    (target,) = await add_groups(driver, db, 1)
    old = sim.world.chats[target.telegram_chat_id]
    sim.faults.delay(1.0, method="sendMediaGroup", count=1)
    engine = await start(engines, db, card_kind(album))
    await send_cards(db, [target], engine, 6)

    async def album_in_flight() -> bool:
        return sim.stats.calls["sendMediaGroup"] == 1

    await wait_until(album_in_flight)
    new = await driver.migrate_to_supergroup(old)  # the album then finds the group moved
    await wait_until(lambda: all_sent(db, 6, 3))
    (main,) = driver.bot_messages(old)
    assert (main.text or "").startswith("Tin R-6")
    *photos, venue = driver.bot_messages(new)
    assert len(photos) == 2 and venue.venue is not None
    assert copies(sim) == {old.id: 1}
    (row,) = await rows(db, 6)
    assert row.telegram_chat_id == new.id and row.message_id == main.message_id


async def test_a_group_that_removed_the_bot_between_parts_keeps_its_card(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 2)
    (target,) = await add_groups(driver, lite, 1)
    group = sim.world.chats[target.telegram_chat_id]
    sim.faults.delay(1.0, method="sendMediaGroup", count=1)
    engine = await start(engines, lite, card_kind(album))
    await send_cards(lite, [target], engine, 7)

    async def album_in_flight() -> bool:
        return sim.stats.calls["sendMediaGroup"] == 1

    await wait_until(album_in_flight)
    admin = sim.world.users[min(sim.world.users)]
    await driver.remove_bot(group, by=admin)

    async def given_up() -> bool:
        (row,) = await rows(lite, 7)
        return row.next_attempt_at is None

    await wait_until(given_up)
    (row,) = await rows(lite, 7)
    assert row.status == "delivered" and row.parts_sent == 1  # the card arrived; no more
    assert row.last_error is not None and row.last_error.startswith("forbidden")
    assert [m.text for m in driver.bot_messages(group) if not m.service] == ["Tin R-7"]


async def test_an_edit_changes_only_the_main_message(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 2)
    targets = await add_groups(driver, db, 3)
    engine = await start(engines, db, card_kind(album))
    await send_cards(db, targets, engine, 8)
    await wait_until(lambda: all_sent(db, 8, 3))
    TEXTS[8] = "<b>Tin R-8</b> đã có người nhận"
    async with db.sessions() as session, session.begin():
        await request_edit(session, KIND, 8)
    engine.notify()

    async def edited() -> bool:
        return all(r.sent_version == r.content_version == 2 for r in await rows(db, 8))

    await wait_until(edited)
    for t in targets:
        main, *rest = driver.bot_messages(sim.world.chats[t.telegram_chat_id])
        assert main.edited and main.text == "Tin R-8 đã có người nhận"
        assert len(rest) == 3 and not any(m.edited for m in rest)
    assert sim.stats.calls["editMessageText"] == 3
    assert sim.stats.calls["sendMediaGroup"] == 3 and sim.stats.calls["sendVenue"] == 3
    assert {r.parts_sent for r in await rows(db, 8)} == {3}


async def test_an_album_of_one_is_a_photo_and_a_bare_pin_is_a_location(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album = await photo_ids(driver, 1)
    (target,) = await add_groups(driver, lite, 1)
    kind = card_kind(album, Pin(10.77, 106.70))
    engine = await start(engines, lite, kind)
    await send_cards(lite, [target], engine, 9)
    await wait_until(lambda: all_sent(lite, 9, 3))
    main, photo, pin = driver.bot_messages(sim.world.chats[target.telegram_chat_id])
    assert main.text == "Tin R-9" and photo.photo and photo.method == "sendPhoto"
    assert pin.location == {"latitude": 10.77, "longitude": 106.70} and pin.venue is None
    assert sim.stats.calls["sendMediaGroup"] == 0


async def test_a_kind_this_process_does_not_know_is_left_for_one_that_does(
    lite: Db,
    sim: BotApiSimulator,
    driver: SimDriver,
    engines: EngineFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    album = await photo_ids(driver, 2)
    targets = await add_groups(driver, lite, 2)
    engine = await engines(lite)  # knows "alert" only
    async with lite.sessions() as session, session.begin():
        await enqueue(session, KIND, 10, targets)
        await enqueue(session, "alert", 10, targets)
    engine.notify()

    async def alerts_sent() -> bool:
        return all(r.status == "delivered" for r in await rows(lite, 10) if r.kind == "alert")

    await wait_until(alerts_sent)
    cards = [r for r in await rows(lite, 10) if r.kind == KIND]
    assert [(r.status, r.attempts, r.lease_owner) for r in cards] == [("pending", 0, None)] * 2
    warned = [r.getMessage() for r in caplog.records if "does not know" in r.getMessage()]
    assert len(warned) == 1 and repr(KIND) in warned[0]
    bot = make_bot(sim, make_gate(FAST))
    await bot.initialize()
    other = DeliveryEngine(lite.sessions, bot, FAST, kinds=KindRegistry([card_kind(album)]))
    await other.start()
    try:
        await wait_until(lambda: _cards_sent(lite))
    finally:
        await other.stop()
        await bot.shutdown()
    for t in targets:
        alert, *card = driver.bot_messages(sim.world.chats[t.telegram_chat_id])
        assert alert.text == "Alert 10"
        assert_card(card, 2)


async def _cards_sent(db: Db) -> bool:
    return all(r.parts_sent == 3 for r in await rows(db, 10) if r.kind == KIND)
