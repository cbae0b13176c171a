"""The officer's side of tips end to end: cards with their album and pin, the triage buttons
and what they tell the reporter, the reply relay both ways, the spam block, /xulytin, the duty
group, the overdue escalation, and the proof that an anonymous reporter never leaks.

The real Application polls the simulator, which validates every call; the reporter's
conversation is driven through `TipService` (see tests/support/tips.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlmodel import func, select

from bot.areas import AdminUnits
from bot.logs import PARAMETER_LOGGERS, keep_parameters_out
from bot.scheduling import get_job
from bot.services.tip_flow import Question
from bot.services.tip_outbox import OVERDUE_JOB, overdue_key
from simulator import BotApiSimulator
from simulator.models import SimChat, SimMessage, SimUser
from storage.models import Tip, TipEvent
from storage.types import utcnow
from tests.support.botrunner import BotRunner, settings_for
from tests.support.tips import Scene, body, build_scene, is_card, leaks

ACK, DONE, VALUABLE = "👮 Tiếp nhận", "✅ Đã xử lý", "⭐ Có giá trị"
REPLY, BLOCK, STILL, ANSWER = "💬 Trả lời", "🚫 Chặn người gửi", "🔁 Vẫn còn", "↩️ Trả lời cán bộ"


@pytest_asyncio.fixture
async def runner(
    sim: BotApiSimulator, database_url: str, units: AdminUnits
) -> AsyncIterator[BotRunner]:
    # Private chats at more than Telegram's 1 a second: a card, its album and its pin arrive
    # together, and the tests need not wait for the limiter.
    settings = settings_for(sim, database_url, delivery_private_per_second=30)
    bot = BotRunner(settings, units)
    await bot.start()
    yield bot
    await bot.stop()
    assert sim.violations == [], "the bot made calls Telegram would reject"
    assert sim.unanswered_callbacks() == [], "a button press was never answered"


@pytest_asyncio.fixture
async def scene(runner: BotRunner, sim: BotApiSimulator, units: AdminUnits) -> Scene:
    return await build_scene(runner, sim, units)


def texts(scene: Scene, chat: SimChat | SimUser, contains: str) -> list[str]:
    return [body(m) for m in scene.driver.bot_messages(chat) if contains in body(m)]


def after(scene: Scene, chat: SimChat | SimUser, card: SimMessage) -> list[SimMessage]:
    return [m for m in scene.driver.bot_messages(chat) if m.message_id > card.message_id]


async def edited_to(scene: Scene, chat: SimChat | SimUser, card: SimMessage, text: str) -> None:
    """Wait until the card in `chat` shows `text`."""
    await scene.driver.wait_for(lambda: text in body(card), timeout=15)


async def events(scene: Scene) -> int:
    async with scene.svc.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(TipEvent)) or 0)


async def job_status(scene: Scene, tip_id: int) -> str | None:
    """The status of the tip's overdue job, None if there is none."""
    async with scene.svc.sessions() as session:
        job = await get_job(session, OVERDUE_JOB, overdue_key(tip_id))
    return job.status if job is not None else None


async def version(scene: Scene, tip_id: int) -> int:
    async with scene.svc.sessions() as session:
        tip = await session.get(Tip, tip_id)
    assert tip is not None
    return tip.version


# -- reaching officers ----------------------------------------------------------------------


async def test_the_communes_officers_and_duty_group_get_the_card_its_album_and_its_pin(
    scene: Scene,
) -> None:
    sent = await scene.submit(photos=2)
    for chat in (scene.an, scene.binh, scene.duty):
        card = await scene.card(chat, sent.number)
        assert "👀 Đối tượng khả nghi" in body(card) and "Phường Đống Đa" in body(card)
        assert "Hai người lạ" in body(card) and "📷 2 ảnh" in body(card)
        labels = [label for row in card.buttons for label in row]
        assert ACK in labels and VALUABLE in labels
        assert (REPLY in labels) is (chat is not scene.duty)  # replies belong in private
        await scene.driver.wait_for(lambda c=chat, m=card: len(after(scene, c, m)) >= 3, 15)  # type: ignore[misc]
        album, pin = after(scene, chat, card)[:2], after(scene, chat, card)[2]
        assert [m.photo is not None for m in album] == [True, True]
        assert pin.location is not None or pin.venue is not None
    for outsider in (scene.cuong, scene.dung):  # another commune; the province is not needed
        assert not [m for m in scene.driver.bot_messages(outsider) if is_card(m, sent.number)]


# -- triage ---------------------------------------------------------------------------------


async def test_ack_valuable_done_tell_the_reporter_once_and_edit_every_card(scene: Scene) -> None:
    sent = await scene.submit(photos=0)
    cards = {
        chat.id: await scene.card(chat, sent.number) for chat in (scene.an, scene.binh, scene.duty)
    }
    mine = cards[scene.an.id]
    steps = (
        (ACK, "Bạn đã tiếp nhận", "đã tiếp nhận Tin #", "Đã tiếp nhận"),
        (VALUABLE, "có giá trị", "là tin có giá trị", "Tin có giá trị"),
        (DONE, "đã xử lý xong", "đã được xử lý", "Trạng thái: ✅ Đã xử lý"),
    )
    for label, answer, notice, shown in steps:
        assert answer in await scene.press(scene.an, scene.an, label, mine)
        await scene.driver.wait_for_bot_message(scene.reporter, contains=notice, timeout=15)
        for chat, card in zip((scene.an, scene.binh, scene.duty), cards.values(), strict=True):
            await edited_to(scene, chat, card, shown)
    await scene.settled()
    for notice in ("đã tiếp nhận Tin #", "là tin có giá trị", "đã được xử lý"):
        assert len(texts(scene, scene.reporter, notice)) == 1, notice
    assert "Thiếu tá An" in body(cards[scene.binh.id])  # who took it, for the colleague too
    assert "Thiếu tá An" in body(cards[scene.duty.id])
    resolved = await scene.driver.wait_for_bot_message(scene.reporter, contains="đã được xử lý")
    assert resolved.buttons == [[STILL]]


async def test_a_second_ack_and_forged_data_change_nothing(scene: Scene) -> None:
    sent = await scene.submit(photos=0)
    mine, theirs = (
        await scene.card(scene.an, sent.number),
        await scene.card(scene.binh, sent.number),
    )
    assert "Bạn đã tiếp nhận" in await scene.press(scene.an, scene.an, ACK, mine)
    before = (await version(scene, sent.tip_id), await events(scene))
    current = await version(scene, sent.tip_id)
    cases = (
        (f"tc:ack:{sent.tip_id}:{current}", "đã có cán bộ tiếp nhận"),  # a second Tiếp nhận
        (f"tc:ack:{sent.tip_id}:1", "vừa thay đổi"),  # pressed on the card before the change
        (f"tc:done:{sent.tip_id + 1000}:1", "không thuộc quyền"),  # a tip that does not exist
        (f"tc:zz:{sent.tip_id}:1", "không hợp lệ"),  # no such button
        ("tc:ack:x", "không hợp lệ"),
    )
    for data, answer in cases:
        assert answer in await scene.press_data(scene.binh, scene.binh, theirs, data), data
    # An officer of another commune, from any message of their own chat.
    outsider = scene.driver.private_chat(scene.cuong)
    welcome = scene.driver.last_bot_message(outsider)
    assert welcome is not None
    data = f"tc:done:{sent.tip_id}:{current}"
    assert "không thuộc quyền" in await scene.press_data(scene.cuong, outsider, welcome, data)
    assert (await version(scene, sent.tip_id), await events(scene)) == before


# -- the reply relay --------------------------------------------------------------------------


async def test_a_reply_round_trips_both_ways_without_a_name(scene: Scene) -> None:
    sent = await scene.submit(photos=0)
    card = await scene.card(scene.an, sent.number)
    await scene.press(scene.an, scene.an, REPLY, card)
    asked = await scene.driver.wait_for_bot_message(scene.an, contains="Gõ lời nhắn")
    assert asked.force_reply
    await scene.say(scene.an, "Bác nhớ biển số xe không?")
    # The card's map pin may still be arriving: wait for the confirmation itself.
    await scene.driver.wait_for_bot_message(scene.an, contains="Đã gửi lời nhắn", timeout=15)
    reply = await scene.driver.wait_for_bot_message(
        scene.reporter, contains="Bác nhớ biển số xe không?", timeout=15
    )
    assert reply.buttons == [[ANSWER]] and "Thiếu tá" not in body(reply)

    await scene.press(scene.reporter, scene.reporter, ANSWER, reply)
    await scene.driver.wait_for_bot_message(scene.reporter, contains="Gõ câu trả lời")
    await scene.say(scene.reporter, "Xe Wave màu xanh, biển 29A-123.45")
    await scene.driver.wait_for_bot_message(
        scene.reporter, contains="Đã chuyển câu trả lời", timeout=15
    )
    for officer in (scene.an, scene.binh):
        relayed = await scene.driver.wait_for_bot_message(
            officer, contains="29A-123.45", timeout=15
        )
        assert body(relayed).startswith(f"💬 Người báo tin #{sent.number} nhắn")
        assert scene.reporter.first_name not in body(relayed)
    assert scene.sim.stats.calls["forwardMessage"] == 0


# -- blocking ---------------------------------------------------------------------------------


async def test_a_blocked_sender_s_next_tip_is_refused(scene: Scene) -> None:
    sent = await scene.submit(photos=0)
    card = await scene.card(scene.an, sent.number)
    await scene.press(scene.an, scene.an, BLOCK, card)
    question = await scene.driver.wait_for_bot_message(scene.an, contains="Chặn người gửi")
    assert question.buttons == [["🚫 Chặn"], ["Không chặn"]]
    await scene.press(scene.an, scene.an, "🚫 Chặn", question)
    await scene.driver.wait_for(lambda: "Đã chặn người gửi" in body(question), timeout=10)
    assert scene.reporter.first_name not in body(question)
    again = await scene.write(photos=0)
    assert isinstance(again, Question) and again.notice is not None
    assert again.notice.key == "tips.blocked"
    other = await scene.submit(photos=0, person=scene.driver.create_user("Hàng xóm"))
    assert other.number != sent.number  # someone else still may


# -- overdue ------------------------------------------------------------------------------------


async def test_an_overdue_tip_is_escalated_once_to_the_province(scene: Scene) -> None:
    sent = await scene.submit(photos=0)  # đối tượng khả nghi: 30 minutes
    cards = [await scene.card(chat, sent.number) for chat in (scene.an, scene.duty)]
    scheduler = scene.svc.scheduler
    await scheduler.run_due(utcnow() + timedelta(minutes=29))
    await scene.settled()
    assert not [m for m in scene.driver.bot_messages(scene.dung) if is_card(m, sent.number)]

    await scheduler.run_due(utcnow() + timedelta(minutes=31))
    assert await job_status(scene, sent.tip_id) == "done"
    provincial = await scene.card(scene.dung, sent.number, contains="QUÁ HẠN")
    assert "công an tỉnh" in body(provincial)
    for chat, card in zip((scene.an, scene.duty), cards, strict=True):
        await edited_to(scene, chat, card, "QUÁ HẠN")
        late = await scene.driver.wait_for_bot_message(chat, contains="đã quá hạn", timeout=15)
        assert late.reply_to_message_id == card.message_id
    await scheduler.run_due(utcnow() + timedelta(hours=3))
    await scene.settled()
    assert len([m for m in scene.driver.bot_messages(scene.dung) if is_card(m, sent.number)]) == 1
    assert len(texts(scene, scene.an, "đã quá hạn")) == 1


async def test_a_tip_taken_up_in_time_is_not_escalated(scene: Scene) -> None:
    sent = await scene.submit(photos=0)
    card = await scene.card(scene.an, sent.number)
    await scene.press(scene.an, scene.an, ACK, card)
    assert await job_status(scene, sent.tip_id) is None  # called off when taken up
    await scene.svc.scheduler.run_due(utcnow() + timedelta(hours=3))
    await scene.settled()
    assert not [m for m in scene.driver.bot_messages(scene.dung) if is_card(m, sent.number)]


# -- /xulytin ---------------------------------------------------------------------------------


async def test_xulytin_lists_open_tips_with_filters_and_opens_a_card(scene: Scene) -> None:
    first = await scene.submit(photos=0)
    second = await scene.submit(photos=0, category="theft")
    taken = await scene.card(scene.an, first.number)
    await scene.press(scene.an, scene.an, ACK, taken)
    await scene.settled()  # the cards, their pins: the list is the answer after them
    listing = await scene.say(scene.an, "/xulytin")
    assert "Tin báo đang mở" in body(listing) and "2 tin" in body(listing)
    assert body(listing).index(second.number) < body(listing).index(first.number)  # newest first
    for label, shown, hidden in (
        ("🆕 Tin mới", second.number, first.number),
        ("👮 Tin tôi nhận", first.number, second.number),
    ):
        await scene.press(scene.an, scene.an, label, listing)
        await scene.driver.wait_for(
            lambda s=shown, h=hidden: f"#{s}" in body(listing) and f"#{h}" not in body(listing),
            timeout=10,
        )  # type: ignore[misc]
    await scene.press(scene.an, scene.an, "⏰ Quá hạn", listing)
    await scene.driver.wait_for(lambda: "Không có tin nào" in body(listing), timeout=10)
    await scene.press(scene.an, scene.an, "• ⏰ Quá hạn", listing)  # the current filter again
    await scene.press(scene.an, scene.an, "📋 Tất cả", listing)
    await scene.driver.wait_for(lambda: "2 tin" in body(listing), timeout=10)
    label = next(b for row in listing.buttons for b in row if b.startswith(f"#{second.number}"))
    await scene.press(scene.an, scene.an, label, listing)
    opened = await scene.card(scene.an, second.number, after=listing.message_id)
    assert ACK in [b for row in opened.buttons for b in row]
    refused = await scene.say(scene.reporter, "/xulytin")
    assert "cán bộ" in body(refused)


# -- the duty group -----------------------------------------------------------------------------


async def test_the_duty_group_never_sees_a_name(scene: Scene) -> None:
    sent = await scene.submit(photos=0, name="Bác Lan")
    group = await scene.card(scene.duty, sent.number)
    private = await scene.card(scene.an, sent.number)
    assert f"Người báo tin #{sent.number}" in body(group) and "Bác Lan" not in body(group)
    assert "Bác Lan" in body(private)
    answer = await scene.press_data(scene.an, scene.duty, group, f"tc:re:{sent.tip_id}")
    assert "chat riêng" in answer
    assert "đã tiếp nhận" in (await scene.press(scene.binh, scene.duty, ACK, group)).lower()
    await edited_to(scene, scene.duty, group, "Trung úy Bình")
    assert "Bác Lan" not in body(group)
    resident = scene.driver.create_user("Người dân")
    scene.duty.members[resident.id] = "member"
    refused = await scene.press(resident, scene.duty, VALUABLE, group)
    assert "cán bộ" in refused


async def test_only_an_officer_of_the_commune_sets_the_duty_group(scene: Scene) -> None:
    resident = scene.driver.create_user("Người dân")
    other = scene.driver.create_group("Nhóm khác", admins=[scene.cuong], members=[resident])
    await scene.driver.add_bot(other, by=scene.cuong)
    await scene.driver.wait_for_bot_message(other)
    for who, command, answer in (
        (scene.cuong, "/nhomtruc 00235", "ngoài địa bàn"),  # Ba Đình's officer, Đống Đa's group
        (resident, "/nhomtruc", "cán bộ"),
    ):
        said = await scene.driver.send_text(who, other, command)
        reply = await scene.driver.wait_for_bot_message(other, after=said.message_id)
        assert answer in body(reply), command
    duty = await scene.svc.tips.duty_group("00235")
    assert duty is not None and duty.telegram_id == scene.duty.id


# -- the privacy proof ------------------------------------------------------------------------


class Lines(logging.Handler):
    """Every log line the bot writes, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("simulator", "aiohttp")):  # Telegram's side, not the bot
            self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Iterator[Lines]:
    """The root logger at DEBUG, with the bot's own logging rules (bot/logs.py)."""
    root, lines = logging.getLogger(), Lines()
    names = [*PARAMETER_LOGGERS, "apscheduler", "alembic"]
    saved = (root.level, {name: logging.getLogger(name).level for name in names})
    root.setLevel(logging.DEBUG)
    keep_parameters_out()
    root.addHandler(lines)
    yield lines
    root.removeHandler(lines)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


async def test_an_anonymous_reporter_is_in_nothing_another_person_sees(
    scene: Scene, debug_logs: Lines
) -> None:
    reporter = scene.reporter
    secrets = [
        reporter.first_name,
        reporter.last_name or "",
        reporter.username or "",
        str(reporter.id),
    ]
    sent = await scene.submit(photos=2)
    cards = {
        chat.id: await scene.card(chat, sent.number) for chat in (scene.an, scene.binh, scene.duty)
    }
    await scene.settled()

    await scene.svc.scheduler.run_due(utcnow() + timedelta(minutes=31))  # overdue: escalated
    await scene.card(scene.dung, sent.number)
    await scene.settled()  # every card shows the escalation (a press on an older one is refused)
    assert "Bạn đã tiếp nhận" in await scene.press(scene.an, scene.an, ACK, cards[scene.an.id])
    await scene.settled()
    assert "có giá trị" in await scene.press(scene.binh, scene.duty, VALUABLE, cards[scene.duty.id])
    await scene.press(scene.an, scene.an, REPLY, cards[scene.an.id])
    await scene.driver.wait_for_bot_message(scene.an, contains="Gõ lời nhắn")
    await scene.say(scene.an, "Bác còn thấy họ không?")
    reply = await scene.driver.wait_for_bot_message(reporter, contains="Bác còn thấy", timeout=15)
    await scene.press(reporter, reporter, ANSWER, reply)
    await scene.driver.wait_for_bot_message(reporter, contains="Gõ câu trả lời")
    await scene.say(reporter, "Tối nay họ lại đến, đỗ xe trước nhà số 12.")
    await scene.driver.wait_for_bot_message(scene.an, contains="nhà số 12", timeout=15)
    assert "xử lý xong" in await scene.press(scene.an, scene.an, DONE, cards[scene.an.id])
    resolved = await scene.driver.wait_for_bot_message(
        reporter, contains="đã được xử lý", timeout=15
    )
    await scene.press(reporter, reporter, STILL, resolved)
    await scene.driver.wait_for_bot_message(scene.an, contains="vẫn còn", timeout=15)
    await scene.settled()

    methods = {call.method for call in scene.sim.calls}
    assert {"sendMessage", "editMessageText", "sendMediaGroup", "answerCallbackQuery"} <= methods
    assert methods & {"sendLocation", "sendVenue"}
    assert "forwardMessage" not in methods  # a forward would show who wrote
    assert leaks(scene.sim, reporter, [s for s in secrets if s]) == []
    logged = [line for line in debug_logs.lines if any(s and s in line for s in secrets)]
    assert logged == [], logged[:5]
    # The scan and the capture do see: the reporter's own chat carries their id, and the
    # bot's DEBUG lines were captured.
    assert leaks(scene.sim, scene.an, [str(reporter.id)]), "the scan saw no call at all"
    assert any(line.startswith("DEBUG bot.") for line in debug_logs.lines)
