"""Copies of several parts (main message, album, pin) in one chat: order, retries that resend
only what is missing, crashes between parts, migrations, edits of the main message only."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Defaults, ExtBot

from bot.delivery import (
    DeliveryEngine,
    Outgoing,
    Pin,
    Target,
    TelegramRateLimiter,
    enqueue,
    request_edit,
)
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
from tests.delivery.support import TOKEN, wait_until

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


async def photos_and_groups(
    driver: SimDriver, db: Db, photos: int, groups: int
) -> tuple[tuple[str, ...], list[Target]]:
    """`photos` file ids for a card's album and `groups` groups to send it to."""
    return await photo_ids(driver, photos), await add_groups(driver, db, groups)


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
    return bool(found) and all(
        r.parts_sent == r.parts_total == parts and r.next_attempt_at is None for r in found
    )


async def sent_and_recorded(
    engines: EngineFactory,
    db: Db,
    kind: OutgoingKind,
    targets: list[Target],
    ref: int,
    **config: float,
) -> DeliveryEngine:
    """Start an engine rendering `kind`, enqueue job `ref` for `targets`, wait for every part."""
    engine = await start(engines, db, kind, **config)
    await send_cards(db, targets, engine, ref)
    await wait_until(lambda: all_sent(db, ref, 3))
    return engine


async def album_in_flight(
    engines: EngineFactory, db: Db, driver: SimDriver, album: tuple[str, ...], ref: int
) -> Target:
    """One group's card sent, its album held in flight for 2 s (for the test to act meanwhile)."""
    sim = driver.sim
    (target,) = await add_groups(driver, db, 1)
    sim.faults.delay(2.0, method="sendMediaGroup", count=1)
    engine = await start(engines, db, card_kind(album))
    await send_cards(db, [target], engine, ref)

    async def sending_album() -> bool:
        return sim.stats.calls["sendMediaGroup"] == 1

    await wait_until(sending_album)
    return target


async def edit_to(db: Db, engine: DeliveryEngine, ref: int, text: str) -> None:
    """Job `ref` now says `text`; wait until every copy shows its second version."""
    TEXTS[ref] = text
    async with db.sessions() as session, session.begin():
        await request_edit(session, KIND, ref)
    engine.notify()

    async def edited() -> bool:
        return all(r.sent_version == r.content_version == 2 for r in await rows(db, ref))

    await wait_until(edited)


def assert_cards(driver: SimDriver, targets: list[Target], album: int) -> None:
    """Every target chat shows the card as `assert_card` checks it, and nothing else."""
    for t in targets:
        assert_card(driver.bot_messages(driver.sim.world.chats[t.telegram_chat_id]), album)


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
    album, targets = await photos_and_groups(driver, db, 3, 4)
    await sent_and_recorded(engines, db, card_kind(album), targets, 1)
    assert_cards(driver, targets, 3)
    for row in await rows(db, 1):
        main = driver.bot_messages(sim.world.chats[row.telegram_chat_id])[0]
        assert row.status == "delivered" and row.message_id == main.message_id
        ids = json.loads(row.part_message_ids or "[]")
        assert [len(p) for p in ids] == [1, 3, 1] and ids[0] == [main.message_id]
    assert sim.stats.calls["sendMediaGroup"] == 4 and sim.stats.calls["sendVenue"] == 4


async def test_a_server_error_on_the_album_resends_only_the_album_and_the_pin(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album, targets = await photos_and_groups(driver, db, 2, 3)
    sim.faults.fail(method="sendMediaGroup", chat_id=targets[0].telegram_chat_id, status=500)
    await sent_and_recorded(engines, db, card_kind(album), targets, 2)
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}  # no main message twice
    assert_cards(driver, targets, 2)
    assert sim.stats.calls["sendMediaGroup"] == 4  # the failed one, then once per group
    assert sim.stats.errors[500] == 1


async def test_a_server_error_on_the_pin_resends_only_the_pin(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album, targets = await photos_and_groups(driver, lite, 2, 2)
    sim.faults.fail(method="sendVenue", status=502, count=2)
    await sent_and_recorded(engines, lite, card_kind(album), targets, 3)
    assert_cards(driver, targets, 2)
    assert sim.stats.calls["sendMediaGroup"] == 2 and sim.stats.calls["sendVenue"] == 4


async def test_a_crash_between_parts_resumes_without_duplicates(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album, targets = await photos_and_groups(driver, db, 3, 3)
    kind = card_kind(album)
    # A believes a group takes 2 messages a minute: after each card, the album of 3 waits in
    # A's limiter for the group's window to empty, and A dies meanwhile.
    a = await start(engines, db, kind, lease_seconds=1.0, group_per_minute=2)
    await send_cards(db, targets, a, 4)

    async def cards_sent_albums_waiting() -> bool:
        found = await rows(db, 4)
        return len(copies(sim)) == 3 and all(r.parts_sent == 1 for r in found)

    await wait_until(cards_sent_albums_waiting)
    await a.stop(abort=True)  # the crash: A's leases stay until they expire
    assert sim.stats.calls["sendMediaGroup"] == 0
    b = await start(engines, db, kind, lease_seconds=1.0)
    b.notify()
    await wait_until(lambda: all_sent(db, 4, 3))
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}
    assert_cards(driver, targets, 3)
    assert sim.stats.calls["sendMediaGroup"] == 3 and sim.stats.calls["sendVenue"] == 3


async def test_too_many_requests_on_the_album_wait_without_counting_an_attempt(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album, targets = await photos_and_groups(driver, lite, 3, 4)
    sim.limits = Limits(global_per_second=5)  # 4 x (1 + 3 + 1) messages: 429s on the way
    await sent_and_recorded(engines, lite, card_kind(album), targets, 5)
    assert sim.stats.http_429 > 0
    assert copies(sim) == {t.telegram_chat_id: 1 for t in targets}
    assert_cards(driver, targets, 3)
    assert {r.attempts for r in await rows(lite, 5)} == {0}


async def test_a_group_migrated_between_parts_gets_the_rest_at_its_new_id(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    target = await album_in_flight(engines, db, driver, await photo_ids(driver, 2), 6)
    old = sim.world.chats[target.telegram_chat_id]
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
    target = await album_in_flight(engines, lite, driver, await photo_ids(driver, 2), 7)
    group = sim.world.chats[target.telegram_chat_id]
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
    album, targets = await photos_and_groups(driver, db, 2, 3)
    engine = await sent_and_recorded(engines, db, card_kind(album), targets, 8)
    await edit_to(db, engine, 8, "<b>Tin R-8</b> đã có người nhận")
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
    await sent_and_recorded(engines, lite, card_kind(album, Pin(10.77, 106.70)), [target], 9)
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
    album, targets = await photos_and_groups(driver, lite, 2, 2)
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


async def test_an_edit_never_adds_parts_to_a_copy_already_sent(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    album, targets = await photos_and_groups(driver, db, 2, 2)
    later: dict[str, tuple[str, ...]] = {"album": ()}

    async def render(ref_id: int, language: str | None, chat_id: int) -> Outgoing:
        text = TEXTS.get(ref_id, f"Tin R-{ref_id}")
        return Outgoing(text, album=later["album"])

    engine = await start(engines, db, OutgoingKind(KIND, render, per_chat=False))
    await send_cards(db, targets, engine, 11)
    await wait_until(lambda: all_sent(db, 11, 1))
    later["album"] = album
    await edit_to(db, engine, 11, "Tin R-11 (có ảnh)")
    for t in targets:
        (main,) = driver.bot_messages(sim.world.chats[t.telegram_chat_id])
        assert main.edited and main.text == "Tin R-11 (có ảnh)"
    assert sim.stats.calls["sendMediaGroup"] == 0
    assert {(r.parts_total, r.parts_sent) for r in await rows(db, 11)} == {(1, 1)}


async def test_every_part_is_valid_with_the_applications_defaults(
    lite: Db, sim: BotApiSimulator, driver: SimDriver
) -> None:
    """The Application's bot carries Defaults (parse_mode HTML): PTB adds it to calls that do
    not take one, which the spec (and so the simulator) refuses."""
    album, targets = await photos_and_groups(driver, lite, 3, 2)
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(True))
    bot = ExtBot(
        TOKEN,
        base_url=sim.base_url,
        base_file_url=sim.base_file_url,
        defaults=defaults,
        rate_limiter=TelegramRateLimiter(make_gate(FAST)),
    )
    kinds = KindRegistry(
        [card_kind(album), replace(card_kind(album[:1], Pin(10.7, 106.7)), name="b")]
    )
    async with bot:
        engine = DeliveryEngine(lite.sessions, bot, FAST, kinds=kinds)
        await engine.start()
        async with lite.sessions() as session, session.begin():
            await enqueue(session, KIND, 12, targets[:1])
            await enqueue(session, "b", 12, targets[1:])
        engine.notify()
        try:
            await wait_until(lambda: all_sent(lite, 12, 3))
        finally:
            await engine.stop()
    assert sim.violations == []
    assert_card(driver.bot_messages(sim.world.chats[targets[0].telegram_chat_id]), 3)
    _, photo, pin = driver.bot_messages(sim.world.chats[targets[1].telegram_chat_id])
    assert photo.photo and pin.location is not None
