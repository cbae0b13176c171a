"""Weekly digests end to end: the real Application against the simulator sends a run's text,
then its chart as a reply (uploaded once per area and language), a province officer's CSV
after that, a group's one-time note with a deep link; /tonghop in groups and in private; the
digest settings under /caidat. Figures themselves are tested in tests/storage/test_digests.py.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.container import Services
from bot.scheduling import schedule
from bot.services.chats import get_chat
from bot.services.digest_types import CUSTOM_JOB, WEEKLY_JOB
from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from storage.models import ScheduledJob
from storage.types import utcnow
from tests.support.botrunner import BotRunner
from tests.support.world import subscribed_groups

DONG_DA, HA_NOI = "00235", "01"
TITLE = "Tổng hợp an ninh tuần"


async def person(driver: SimDriver, name: str, started: bool = True) -> SimUser:
    user = driver.create_user(name)
    if started:
        await driver.start_private(user)
        await driver.wait_for_bot_message(user)
    return user


def buttons(message: SimMessage) -> list[dict[str, Any]]:
    return [b for row in message.inline_keyboard for b in row]


def labels(message: SimMessage) -> list[str]:
    return [b["text"] for b in buttons(message)]


async def run_weekly_now(bot: BotRunner) -> None:
    """The default schedule's run, due now (as if Monday 08:00 had come)."""
    svc = bot.services
    async with svc.sessions() as session, session.begin():
        await schedule(session, WEEKLY_JOB, "e2e-now", utcnow())
    svc.scheduler.wake()


async def after_text(driver: SimDriver, chat: SimChat | SimUser, *more: str) -> list[SimMessage]:
    """The digest's text in a chat, then what follows it, in order."""
    text = await driver.wait_for_bot_message(chat, contains=TITLE, timeout=20)
    found = [text]
    for expected in more:
        found.append(
            await driver.wait_for_bot_message(
                chat, predicate=_kind(expected), after=found[-1].message_id, timeout=20
            )
        )
    return found


def _kind(expected: str) -> Any:
    return lambda m: (m.photo is not None) if expected == "photo" else (m.document is not None)


async def test_a_weekly_run_sends_text_then_chart_then_table_and_notes_once(
    bot: BotRunner, driver: SimDriver, sim: BotApiSimulator
) -> None:
    svc = bot.services
    lan = await person(driver, "Lan")
    binh = await person(driver, "Bình", started=False)
    an = await person(driver, "An")
    phuong = await person(driver, "Phương")
    await svc.officers.grant(0, an.id, DONG_DA, "An")
    await svc.officers.grant(0, phuong.id, HA_NOI, "Phương")
    g1, g2 = await subscribed_groups(driver, svc.sessions, svc.units, DONG_DA, 2, lan)
    g1.members[binh.id] = "administrator"
    await svc.digests.set_post_in_group(g2.id, True, utcnow())

    await run_weekly_now(bot)
    text, chart = await after_text(driver, lan, "photo")
    assert "Phường Đống Đa" in (text.text or "") and "Tổ 1" in (text.text or "")
    assert chart.reply_to_message_id == text.message_id  # the chart answers its text
    assert (chart.caption or "").startswith("📈 Phường Đống Đa")
    an_text, an_chart = await after_text(driver, an, "photo")
    _, _, p_table = await after_text(driver, phuong, "photo", "document")
    assert p_table.document is not None and p_table.document["file_name"].endswith(".csv")
    assert p_table.reply_to_message_id is not None
    post, _ = await after_text(driver, g2, "photo")
    assert "/caidat" in (post.text or "")
    # G1: Bình cannot be written to: one note with the deep link to the bot.
    note = await driver.wait_for_bot_message(g1, contains="bản tổng hợp an ninh")
    [link] = buttons(note)
    assert link["url"] == f"https://t.me/{sim.world.bot.username}?start=dg_{await _row(svc, g1)}"
    # getChatAdministrators once per group; each chart uploaded once (Đống Đa for Lan and An,
    # the public one of G2, Hà Nội's), then sent by file_id.
    assert sim.stats.calls["getChatAdministrators"] == 2
    assert sim.stats.uploads["sendPhoto"] == 3
    assert an_chart.reply_to_message_id == an_text.message_id and an_text.text != text.text
    assert sim.stats.uploads["sendDocument"] == 1

    # Bình presses the note's button: he opens the bot and gets G1's digest at once.
    await driver.start_private(binh, link["url"].rsplit("=", 1)[1])
    await driver.wait_for_bot_message(binh, contains="hằng tuần cho bạn ở đây")
    await after_text(driver, binh, "photo")


async def _row(svc: Services, group: SimChat) -> int:
    async with svc.sessions() as session:
        chat = await get_chat(session, group.id)
    assert chat is not None and chat.id is not None
    return chat.id


# -- /tonghop ---------------------------------------------------------------------------------


async def test_tonghop_in_a_group_goes_privately_to_the_admin_who_asks(
    bot: BotRunner, driver: SimDriver, sim: BotApiSimulator
) -> None:
    svc = bot.services
    lan = await person(driver, "Lan")
    minh = await person(driver, "Minh")
    binh = await person(driver, "Bình", started=False)
    [group] = await subscribed_groups(driver, svc.sessions, svc.units, DONG_DA, 1, lan)
    group.members[minh.id] = "member"
    group.members[binh.id] = "administrator"

    await driver.send_text(lan, group, "/tonghop")
    said = await driver.wait_for_bot_message(group, contains="tin nhắn riêng")
    assert said.text == "📬 Đã gửi bản tổng hợp tuần vào tin nhắn riêng của bạn."
    text, _ = await after_text(driver, lan, "photo")
    assert "Tổ 1" in (text.text or "")
    # The group sees only that short note: no figures.
    assert not [m for m in driver.bot_messages(group) if TITLE in (m.text or "")]

    await driver.send_text(minh, group, "/tonghop")
    await driver.wait_for_bot_message(group, contains="Chỉ quản trị viên", after=said.message_id)
    await driver.send_text(binh, group, "/tonghop@canhgac_test_bot")
    ask = await driver.wait_for_bot_message(group, contains="Bot chưa nhắn riêng")
    [open_bot] = buttons(ask)
    assert open_bot["url"].endswith(f"?start=dg_{await _row(svc, group)}")
    assert sim.stats.calls["getChatAdministrators"] == 0  # asking checks only the asker


async def test_tonghop_off_and_on_privately_and_the_usage(
    bot: BotRunner, driver: SimDriver
) -> None:
    svc = bot.services
    lan = await person(driver, "Lan")
    for command, expected in (
        ("/tonghop tat", "🔕 Đã tắt."),
        ("/tonghop bật", "🔔 Đã bật."),
        ("/digest off", "🔕 Đã tắt."),
        ("/tonghop gì đó", "Cách dùng: /tonghop"),
        ("/tonghop", "Chưa có gì để tổng hợp cho bạn."),
    ):
        before = driver.last_bot_message(lan)
        await driver.send_text(lan, lan, command)
        reply = await driver.wait_for_bot_message(lan, after=before.message_id if before else None)
        assert (reply.text or "").startswith(expected), (command, reply.text)
    assert not await svc.digests.person_enabled(lan.id)


async def test_an_officer_asks_privately_and_gets_the_jurisdiction(
    bot: BotRunner, driver: SimDriver
) -> None:
    svc = bot.services
    an = await person(driver, "An")
    await svc.officers.grant(0, an.id, DONG_DA, "An")
    await driver.send_text(an, an, "/tonghop")
    text, chart = await after_text(driver, an, "photo")
    assert "📍 Phường Đống Đa — Thành phố Hà Nội" in (text.text or "")
    assert "Tuần qua không có cảnh báo hay tin báo nào." in (text.text or "")
    assert chart.reply_to_message_id == text.message_id


# -- /caidat ----------------------------------------------------------------------------------


async def test_group_admins_choose_the_day_hour_posting_or_none(
    bot: BotRunner, driver: SimDriver, sim: BotApiSimulator
) -> None:
    svc = bot.services
    lan = await person(driver, "Lan")
    minh = await person(driver, "Minh")
    [group] = await subscribed_groups(driver, svc.sessions, svc.units, DONG_DA, 1, lan)
    group.members[minh.id] = "member"
    await driver.send_text(lan, group, "/caidat")
    settings = await driver.wait_for_bot_message(group, contains="Nhóm nhận cảnh báo từ mức nào")
    assert "📊 Tổng hợp tuần: Thứ Hai, 08:00" in labels(settings)

    async def press(label: str) -> None:
        edits = len(settings.edit_history)
        query = await driver.press_button(lan, group, label, settings)
        await driver.wait_for(lambda: sim.callbacks[query].answered)
        await driver.wait_for(lambda: len(settings.edit_history) > edits)

    await press("📊 Tổng hợp tuần: Thứ Hai, 08:00")
    assert "Gửi riêng cho quản trị viên: Thứ Hai, 08:00" in (settings.text or "")
    await press("📅 Đổi ngày")
    await press("Thứ Sáu")
    assert "quản trị viên: Thứ Sáu, 08:00" in (settings.text or "")
    await press("🕗 Đổi giờ")
    assert len([b for b in labels(settings) if b.endswith(":00")]) == 24
    await press("19:00")
    assert "quản trị viên: Thứ Sáu, 19:00" in (settings.text or "")
    async with svc.sessions() as session:
        planned = await session.exec(
            select(ScheduledJob).where(col(ScheduledJob.kind) == CUSTOM_JOB)
        )
        assert [j.key.split(":")[0] for j in planned.all()] == ["5-19"]
    await press("📢 Đăng cả trong nhóm")
    assert "Đăng cả trong nhóm: có" in (settings.text or "")
    await press("🔕 Tắt tổng hợp")
    assert "quản trị viên: đang tắt" in (settings.text or "")
    assert "🔔 Bật tổng hợp" in labels(settings)
    await press("🔔 Bật tổng hợp")
    await press("↩️ Theo lịch chung (Thứ Hai, 08:00)")
    assert "quản trị viên: Thứ Hai, 08:00" in (settings.text or "")
    prefs = await svc.digests.group_prefs(group.id, utcnow())
    assert prefs is not None and prefs.slot is None and prefs.enabled and prefs.post_in_group

    # A member's press and forged data change nothing, and are answered.
    query = await driver.press_button(minh, group, "🔕 Tắt tổng hợp", settings)
    await driver.wait_for(lambda: sim.callbacks[query].answered)
    assert sim.callbacks[query].answer.get("show_alert") is True
    for data in ("set:dg:d:9", "set:dg:h:24", "set:dg:zz", "set:dg:g:2"):
        query = await driver.press_callback_data(lan, group, settings, data)
        await driver.wait_for(lambda q=query: sim.callbacks[q].answered)  # type: ignore[misc]
        assert "hết hạn" in sim.callbacks[query].answer.get("text", "")
    assert await svc.digests.group_prefs(group.id, utcnow()) == prefs
