"""`/xuatdulieu` end to end: an officer gets the CSV of their own jurisdiction's tips as a
document in their private chat; everyone else is refused and gets no file."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from bot.areas import AdminUnits
from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from storage.types import utcnow
from tests.e2e.test_subscription import add_bot, say
from tests.storage.test_exports import BA_DINH, DONG_DA, HAI_DUONG, NAME, REPORTER, add_tips
from tests.support.botrunner import BotRunner, running, settings_for

SUPERADMIN = 5_999_999_999


@pytest_asyncio.fixture
async def runner(
    sim: BotApiSimulator, database_url: str, units: AdminUnits
) -> AsyncIterator[BotRunner]:
    settings = settings_for(
        sim, database_url, superadmin_ids=frozenset({SUPERADMIN}), delivery_private_per_second=10
    )
    async with running(sim, settings, units) as bot:
        yield bot


async def officer_of(runner: BotRunner, driver: SimDriver, area: str) -> tuple[SimUser, SimChat]:
    """An officer of `area` who opened the bot."""
    user = driver.create_user("Cán bộ An")
    await runner.services.officers.grant(SUPERADMIN, user.id, area, "Đại úy An")
    chat = await driver.start_private(user)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    return user, chat


def has_document(message: SimMessage) -> bool:
    return message.document is not None


async def tips_of_every_kind(runner: BotRunner) -> list[int]:
    """Two tips of Đống Đa (one named), one of Ba Đình, one of Hải Phòng, all this week."""
    start = utcnow() - timedelta(days=6)
    plan = [(DONG_DA, True), (DONG_DA, False), (BA_DINH, True), (HAI_DUONG, True)]
    return await add_tips(runner.services.sessions, plan, start=start)


def table(sim: BotApiSimulator, message: SimMessage) -> tuple[bytes, list[dict[str, str]]]:
    """The bytes of the document the bot uploaded, and its rows."""
    assert message.document is not None
    data = sim.world.files[message.document["file_id"]].content
    return data, list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_an_officer_gets_their_communes_tips_as_a_document(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver
) -> None:
    ids = await tips_of_every_kind(runner)
    user, chat = await officer_of(runner, driver, DONG_DA)
    sent = await driver.send_text(user, chat, "/xuatdulieu")
    reply = await driver.wait_for_bot_message(chat, predicate=has_document, after=sent.message_id)

    assert reply.method == "sendDocument"  # answered at once, the bytes uploaded
    day = datetime.now(UTC).astimezone(runner.settings.tz).strftime("%Y%m%d")
    assert reply.document is not None
    assert reply.document["file_name"] == f"tin-bao-{DONG_DA}-{day}.csv"
    assert reply.caption is not None
    assert reply.caption.startswith("📄 Tin báo ở Phường Đống Đa — Thành phố Hà Nội: 2 tin.")
    data, rows = table(sim, reply)
    assert data.startswith(b"\xef\xbb\xbf")
    assert [int(r["Mã số"]) for r in rows] == ids[:2]  # their commune's, none of Ba Đình's
    assert [r["Tên người báo tin"] for r in rows] == [NAME, ""]  # the anonymous tip: no name
    assert str(REPORTER).encode() not in data


async def test_a_province_officer_gets_every_commune_of_the_province(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver
) -> None:
    ids = await tips_of_every_kind(runner)
    user, chat = await officer_of(runner, driver, "01")
    sent = await driver.send_text(user, chat, "/xuatdulieu 30")
    reply = await driver.wait_for_bot_message(chat, predicate=has_document, after=sent.message_id)
    assert "trong 30 ngày qua: 3 tin" in (reply.caption or "")
    _, rows = table(sim, reply)
    assert [int(r["Mã số"]) for r in rows] == ids[:3]  # Hà Nội's, not Hải Phòng's


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        (
            "/xuatdulieu 3",
            "Không có tin báo nào ở Phường Đống Đa — Thành phố Hà Nội trong 3 ngày qua.",
        ),
        ("/xuatdulieu ba", "Gõ /xuatdulieu để nhận file"),
        ("/xuatdulieu 30 ngày", "Gõ /xuatdulieu để nhận file"),
    ],
)
async def test_an_officer_is_told_when_there_is_nothing_or_the_command_is_wrong(
    runner: BotRunner, driver: SimDriver, command: str, answer: str
) -> None:
    start = utcnow() - timedelta(days=10)
    await add_tips(runner.services.sessions, [(DONG_DA, False)], start=start)
    user, chat = await officer_of(runner, driver, DONG_DA)
    reply = await say(driver, user, chat, command)
    assert answer in (reply.text or ""), reply.text
    assert not any(has_document(m) for m in driver.bot_messages(chat))


async def test_anyone_else_is_refused_and_gets_no_file(
    runner: BotRunner, driver: SimDriver
) -> None:
    await tips_of_every_kind(runner)
    resident = driver.create_user("Minh")
    chat = await driver.start_private(resident)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    reply = await say(driver, resident, chat, "/xuatdulieu")
    assert reply.text == "⛔ Lệnh này chỉ dành cho cán bộ công an đã được cấp quyền."

    officer, _ = await officer_of(runner, driver, DONG_DA)
    group = driver.create_group("TDP 5", admins=[officer], members=[resident])
    await add_bot(driver, group, officer)
    in_group = await say(driver, officer, group, "/xuatdulieu")
    assert in_group.text == "Lệnh này dùng trong cuộc trò chuyện riêng với bot."
    for where in (chat, group):
        assert not any(has_document(m) for m in driver.bot_messages(where))
