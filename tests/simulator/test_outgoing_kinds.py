"""What the delivery engine's kinds rely on: albums count N against the limits, copies count
one and show no sender, uploads are counted and a file sent again by file_id keeps its name."""

import httpx
import pytest
from telegram import Bot, InputMediaPhoto, MessageId
from telegram.error import RetryAfter

from simulator import BotApiSimulator, Limits, SimDriver
from simulator.control import ControlApi
from simulator.models import SimChat
from tests.simulator.conftest import TOKEN, assert_spec_shape


async def group_with_photos(driver: SimDriver, n: int) -> tuple[SimChat, list[str]]:
    """A group with the bot, and `n` photos a member posted there."""
    alice = driver.create_user("Alice")
    group = driver.create_group("Tổ 5", members=[alice], admins=[alice])
    await driver.add_bot(group, by=alice)
    ids = []
    for i in range(n):
        sent = await driver.send_photo(alice, group, content=b"photo %d" % i)
        assert sent.photo is not None
        ids.append(sent.photo[-1]["file_id"])
    return group, ids


async def test_an_album_of_n_counts_n_against_the_group_limit(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    group, ids = await group_with_photos(driver, 4)
    sim.limits = Limits(group_per_minute=5)
    album = await bot.send_media_group(group.id, [InputMediaPhoto(i) for i in ids])
    assert len(album) == 4 and len({m.media_group_id for m in album}) == 1
    with pytest.raises(RetryAfter):  # 4 + 2 > 5
        await bot.send_media_group(group.id, [InputMediaPhoto(i) for i in ids[:2]])
    await bot.send_message(group.id, "the fifth")
    with pytest.raises(RetryAfter):
        await bot.send_message(group.id, "the sixth")
    assert sim.stats.http_429 == 2 and sim.violations == []


async def test_an_album_heavier_than_a_window_needs_it_empty(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    _, ids = await group_with_photos(driver, 3)
    person = await driver.start_private(driver.create_user("Bình"))
    sim.limits = Limits(private_per_second=1)
    album = await bot.send_media_group(person.id, [InputMediaPhoto(i) for i in ids])
    assert [m.chat.id for m in album] == [person.id] * 3
    with pytest.raises(RetryAfter):
        await bot.send_message(person.id, "right after")


async def test_a_copy_counts_one_and_shows_no_sender(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    resident = driver.create_user("Nguyễn Văn Dân")
    officer = driver.create_user("Công an")
    tip_chat = await driver.start_private(resident)
    officer_chat = await driver.start_private(officer)
    photo = await driver.send_photo(resident, tip_chat, caption="xe lạ")
    sim.limits = Limits(private_per_second=1)
    copied = await bot.copy_message(
        officer_chat.id, tip_chat.id, photo.message_id, caption="<b>Tin R-1</b>", parse_mode="HTML"
    )
    assert isinstance(copied, MessageId)
    with pytest.raises(RetryAfter):  # the copy counted as one message into that chat
        await bot.copy_message(officer_chat.id, tip_chat.id, photo.message_id)
    stored = driver.messages(officer_chat)[-1]
    api = sim.world.message_to_api(stored)
    assert api["from"]["id"] == sim.bot.id and "forward_origin" not in api
    assert stored.caption == "Tin R-1" and stored.photo == photo.photo
    assert_spec_shape(api, ["Message"])
    assert sim.violations == []


async def test_uploads_are_counted_and_a_document_keeps_its_name_by_file_id(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    chat = await driver.start_private(driver.create_user("Alice"))
    chart = await bot.send_photo(chat.id, b"\x89PNG chart", filename="chart.png")
    await bot.send_photo(chat.id, chart.photo[-1].file_id)  # by file_id: no upload
    sheet = await bot.send_document(chat.id, b"id,severity\n", filename="canh-bao.csv")
    assert sheet.document is not None
    again = await bot.send_document(chat.id, sheet.document.file_id)
    assert again.document is not None and again.document.file_name == "canh-bao.csv"
    await bot.send_media_group(chat.id, [InputMediaPhoto(b"one"), InputMediaPhoto(b"two")])
    assert sim.stats.uploads == {"sendPhoto": 1, "sendDocument": 1, "sendMediaGroup": 2}
    assert sim.violations == []


async def test_the_control_api_shows_albums_documents_and_venues() -> None:
    sim = BotApiSimulator(token=TOKEN)
    sim.extra_routes.extend(ControlApi(sim).routes())
    await sim.start()
    try:
        group, ids = await group_with_photos(SimDriver(sim), 2)
        async with Bot(TOKEN, base_url=sim.base_url, base_file_url=sim.base_file_url) as bot:
            await bot.send_media_group(group.id, [InputMediaPhoto(i) for i in ids])
            await bot.send_document(group.id, b"id\n1\n", filename="canh-bao.csv")
            await bot.send_venue(group.id, 21.0, 105.8, "Chợ Đống Đa", "Phố Khâm Thiên")
        async with httpx.AsyncClient() as client:
            url = f"http://{sim.host}:{sim.port}/_sim/messages"
            shown = (await client.get(url, params={"chat_id": group.id, "last": 4})).json()
    finally:
        await sim.stop()
    first, second, document, venue = shown
    assert first["photo"] and first["album"] is not None and first["album"] == second["album"]
    assert document["document"] == "canh-bao.csv" and document["album"] is None
    assert venue["venue"] == {"title": "Chợ Đống Đa", "address": "Phố Khâm Thiên"}
    assert venue["location"]["latitude"] == 21.0
