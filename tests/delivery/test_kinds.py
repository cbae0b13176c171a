"""Main messages of every kind: generated photos and documents uploaded once, copies that show
no sender, their edits; the registry of kinds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.app import DELIVERY, build_application, sender_renderers
from bot.areas import AdminUnits
from bot.delivery import DeliveryEngine, Document, Outgoing, Pin, Target, enqueue, request_edit
from bot.delivery.files import upload_key
from bot.delivery.kinds import KindRegistry, OutgoingKind
from bot.services.alerts import ALERT_KIND, NOTICE_KIND
from simulator import BotApiSimulator, SimDriver
from storage.models import UploadedFile
from tests.delivery.conftest import Db, EngineFactory, add_groups, rows
from tests.delivery.support import render_alert, wait_until
from tests.support.botrunner import settings_for

CHART = b"\x89PNG\r\n\x1a\n a weekly chart"
Render = Callable[[int, str | None, int], Awaitable[Outgoing]]
TEXTS: dict[int, str] = {}  # what a job says now, by ref_id; tests change it to edit


@pytest.fixture(autouse=True)
def fresh_texts() -> None:
    """Each test (and each database it runs on) starts from the original texts."""
    TEXTS.clear()


def fixed(make: Callable[[int], Outgoing]) -> Render:
    async def render(ref_id: int, language: str | None, chat_id: int) -> Outgoing:
        return make(ref_id)

    return render


def chart(ref_id: int) -> Outgoing:
    return Outgoing(TEXTS.get(ref_id, f"Tuần {ref_id}"), photo_data=CHART, cache_key="chart:w1")


def export(ref_id: int) -> Outgoing:
    doc = Document("canh-bao.csv", data=b"id,severity\n1,warning\n")
    return Outgoing(TEXTS.get(ref_id, "Bảng kê"), document=doc, cache_key=f"export:{ref_id}")


async def job(db: Db, kind: str, ref: int, targets: list[Target], engine: DeliveryEngine) -> None:
    async with db.sessions() as session, session.begin():
        await enqueue(session, kind, ref, targets)
    engine.notify()


async def settled(db: Db, ref: int) -> bool:
    found = await rows(db, ref)
    return bool(found) and all(
        r.message_id is not None and r.next_attempt_at is None for r in found
    )


async def test_a_generated_photo_is_uploaded_once_for_twenty_chats_and_after_a_restart(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, db, 25)
    engine = await engines(db)
    engine.kinds.add(OutgoingKind("digest", fixed(chart), per_chat=False))
    await job(db, "digest", 1, targets[:20], engine)
    await wait_until(lambda: settled(db, 1))
    assert sim.stats.uploads["sendPhoto"] == 1 and engine.files.uploads == 1
    file_ids = set()
    for t in targets[:20]:
        (message,) = driver.bot_messages(sim.world.chats[t.telegram_chat_id])
        assert message.photo and message.caption == "Tuần 1"
        file_ids.add(sim.world.files[message.photo[-1]["file_id"]].file_path)
    assert len(file_ids) == 1  # every chat shows the one uploaded file
    await engine.stop()
    restarted = await engines(db)  # a new process: the file_id comes from the database
    restarted.kinds.add(OutgoingKind("digest", fixed(chart), per_chat=False))
    await job(db, "digest", 2, targets[20:], restarted)
    await wait_until(lambda: settled(db, 2))
    assert sim.stats.uploads["sendPhoto"] == 1 and restarted.files.uploads == 0


async def test_a_generated_document_is_uploaded_once_and_edited_through_its_caption(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, db, 6)
    engine = await engines(db)
    engine.kinds.add(OutgoingKind("export", fixed(export), per_chat=False))
    await job(db, "export", 3, targets, engine)
    await wait_until(lambda: settled(db, 3))
    assert sim.stats.uploads["sendDocument"] == 1
    TEXTS[3] = "Bảng kê (đã cập nhật)"
    async with db.sessions() as session, session.begin():
        await request_edit(session, "export", 3)
    engine.notify()

    async def edited() -> bool:
        return all(r.sent_version == 2 for r in await rows(db, 3))

    await wait_until(edited)
    for t in targets:
        (message,) = driver.bot_messages(sim.world.chats[t.telegram_chat_id])
        assert message.document is not None and message.document["file_name"] == "canh-bao.csv"
        assert message.edited and message.caption == "Bảng kê (đã cập nhật)"
    assert sim.stats.calls["editMessageCaption"] == 6
    assert sim.stats.uploads["sendDocument"] == 1


async def test_a_file_id_telegram_no_longer_knows_is_uploaded_again(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    key = upload_key("photo", CHART, "chart:w1")
    async with lite.sessions() as session, session.begin():
        session.add(UploadedFile(cache_key=key, file_id="AgACAgQAAx0gone"))  # a wiped server's
    targets = await add_groups(driver, lite, 3)
    engine = await engines(lite)
    engine.kinds.add(OutgoingKind("digest", fixed(chart), per_chat=False))
    await job(lite, "digest", 4, targets, engine)
    await wait_until(lambda: settled(lite, 4))
    assert {r.status for r in await rows(lite, 4)} == {"delivered"}
    assert sim.stats.uploads["sendPhoto"] == 1
    async with lite.sessions() as session:
        stored = await session.get(UploadedFile, key)
    assert stored is not None and stored.file_id in sim.world.files


async def test_a_copy_shows_no_sender_and_takes_a_new_caption(
    db: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    resident = driver.create_user("Nguyễn Văn Dân")
    private = await driver.start_private(resident)
    photo = await driver.send_photo(resident, private, caption="xe lạ đỗ trước ngõ")
    note = await driver.send_text(resident, private, "Tôi thấy hai người lạ")
    targets = await add_groups(driver, db, 2)

    def relay(ref_id: int) -> Outgoing:
        if ref_id == 5:
            return Outgoing("<b>Ảnh của tin R-5</b>", copy_of=(private.id, photo.message_id))
        return Outgoing("", copy_of=(private.id, note.message_id), buttons=[[("Trả lời", "r:5")]])

    engine = await engines(db)
    engine.kinds.add(OutgoingKind("relay", fixed(relay), per_chat=False))
    await job(db, "relay", 5, targets, engine)
    await job(db, "relay", 6, targets, engine)
    await wait_until(lambda: settled(db, 5))
    await wait_until(lambda: settled(db, 6))
    for t in targets:
        chat = sim.world.chats[t.telegram_chat_id]
        by_row = {r.message_id: r for r in await rows(db, 5) + await rows(db, 6)}
        for message in driver.bot_messages(chat):
            assert "forward_origin" not in message.extra and message.from_bot
            api = sim.world.message_to_api(message)
            assert api["from"]["id"] == sim.bot.id and "forward_origin" not in api
            assert message.message_id in by_row
        copied_photo, copied_text = driver.bot_messages(chat)[-2:]
        assert copied_photo.photo == photo.photo and copied_photo.caption == "Ảnh của tin R-5"
        assert copied_text.text == "Tôi thấy hai người lạ" and copied_text.buttons == [["Trả lời"]]
    assert sim.stats.calls["copyMessage"] == 4 and sim.stats.calls["forwardMessage"] == 0
    assert {r.is_photo for r in await rows(db, 5)} == {True}  # edits go to the caption


async def test_a_kind_that_is_not_editable_is_never_edited(
    lite: Db, sim: BotApiSimulator, driver: SimDriver, engines: EngineFactory
) -> None:
    targets = await add_groups(driver, lite, 2)
    engine = await engines(lite)
    engine.kinds.add(OutgoingKind("notice", render_alert, per_chat=False, editable=False))
    await job(lite, "notice", 7, targets, engine)
    await wait_until(lambda: settled(lite, 7))
    async with lite.sessions() as session, session.begin():
        await request_edit(session, "notice", 7)
    engine.notify()

    async def recorded() -> bool:
        return all(r.sent_version == 2 for r in await rows(lite, 7))

    await wait_until(recorded)
    assert sim.stats.calls["editMessageText"] == 0


def test_a_kind_is_declared_once() -> None:
    kinds = KindRegistry([OutgoingKind("alert", render_alert)])
    with pytest.raises(ValueError, match="twice"):
        kinds.add(OutgoingKind("alert", render_alert, per_chat=False))
    with pytest.raises(ValueError, match="1-32"):
        kinds.add(OutgoingKind("x" * 33, render_alert))
    assert kinds.names == {"alert"} and len(kinds) == 1


@pytest.mark.parametrize(
    ("fields", "valid"),
    [
        ({"photo": "AgAD", "document": Document("a.csv", file_id="BQAD")}, False),
        ({"photo_data": b"png", "copy_of": (1, 2)}, False),
        ({"album": ("a", "b"), "photo": "AgAD"}, True),
        ({"document": Document("a.csv", data=b"x")}, True),
    ],
)
def test_an_outgoing_has_one_main_message(fields: dict[str, object], valid: bool) -> None:
    if valid:
        assert Outgoing("x", **fields).parts >= 1  # type: ignore[arg-type]
    else:
        with pytest.raises(ValueError, match="one main message"):
            Outgoing("x", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("album", "pin", "parts"),
    [((), False, 1), (("a",), False, 2), (("a",) * 10, True, 3), (("a",) * 11, True, 4)],
)
def test_parts_count_the_album_in_chunks_of_ten(
    album: tuple[str, ...], pin: bool, parts: int
) -> None:
    out = Outgoing("x", album=album, location=Pin(1.0, 2.0) if pin else None)
    assert out.parts == parts


def test_a_document_has_bytes_or_a_file_id() -> None:
    with pytest.raises(ValueError):
        Document("a.csv")
    with pytest.raises(ValueError):
        Document("a.csv", data=b"x", file_id="BQAD")


async def test_the_bot_and_the_sender_read_one_registry(
    lite: Db, sim: BotApiSimulator, small_units: AdminUnits
) -> None:
    settings = settings_for(sim, lite.url)
    app = build_application(settings, lite.engine, units=small_units)
    in_bot = app.bot_data[DELIVERY].kinds
    in_sender = sender_renderers(settings)(lite.sessions)
    policies = {(k.name, k.per_chat, k.editable) for k in in_bot}
    assert policies == {(k.name, k.per_chat, k.editable) for k in in_sender}
    assert policies >= {(ALERT_KIND, True, True), (NOTICE_KIND, False, False)}
