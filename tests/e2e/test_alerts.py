"""Police alerts end to end: an officer composes in private, groups of the area get one copy.

The simulator enforces Telegram's limits (×10, as in the benchmark, unless a test says
otherwise) and records every call; each test ends with no spec violation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest_asyncio
from sqlmodel import col, func, select

from bench.officer import (
    CANCEL_CORRECTION,
    CONFIRM,
    CONFIRM_CORRECTION,
    OfficerAtKeyboard,
    has_button,
)
from bot.areas import AdminUnits
from bot.container import Services
from bot.delivery import DeliveryConfig
from simulator import BotApiSimulator, Limits, SimDriver
from simulator.models import SimChat, SimMessage
from storage.models import Delivery
from tests.support.botrunner import BotRunner, settings_for
from tests.support.world import subscribed_groups, unseen_by_bot

DONG_DA, BA_DINH = "00235", "00004"
X10 = DeliveryConfig(
    global_per_second=300, group_per_minute=200, private_per_second=10, lease_seconds=3
)


@pytest_asyncio.fixture
async def runner(
    sim: BotApiSimulator, database_url: str, units: AdminUnits
) -> AsyncIterator[BotRunner]:
    sim.limits = Limits(global_per_second=300, group_per_minute=200, private_per_second=10)
    settings = settings_for(sim, database_url, superadmin_ids=frozenset({5_999_999_999}))
    bot = BotRunner(settings, units, delivery=X10)
    await bot.start()
    yield bot
    await bot.stop()
    assert sim.violations == [], "the bot made calls Telegram would reject"


def services(runner: BotRunner) -> Services:
    assert runner.app is not None
    found: Services = runner.app.bot_data["services"]
    return found


async def send(officer: OfficerAtKeyboard, audience: SimMessage) -> int:
    """Confirm the composed alert; its number."""
    await officer.confirm(audience)
    return await officer.sent_number()


def copies(sim: BotApiSimulator) -> Counter[int]:
    """How many messages the bot sent into each chat."""
    return Counter(r.chat_id for r in sim.stats.sent if r.method in ("sendMessage", "sendPhoto"))


def delivered(runner: BotRunner, officer: OfficerAtKeyboard, number: int, count: int):  # type: ignore[no-untyped-def]
    """A condition: the alert's delivery rows record `count` delivered copies."""

    async def check() -> bool:
        status = await services(runner).alerts.status(officer.user.id, number)
        return status.stats.delivered == count

    return check


def notices(driver: SimDriver, group: SimChat, number: int) -> list[SimMessage]:
    """The bot's short "alert N was corrected" messages in a group."""
    start = f"⚠️ Cảnh báo #{number} vừa được đính chính."
    return [m for m in driver.bot_messages(group) if (m.text or "").startswith(start)]


def outbox_idle(runner: BotRunner):  # type: ignore[no-untyped-def]
    """A condition: no outbox row is waiting to be sent or edited."""

    async def check() -> bool:
        async with services(runner).sessions() as session:
            due = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(col(Delivery.next_attempt_at).is_not(None))
            )
        return due == 0

    return check


async def officer_of(runner: BotRunner, driver: SimDriver, area: str) -> OfficerAtKeyboard:
    user = driver.create_user("Cán bộ", username=f"officer_{area}")
    await services(runner).officers.grant(0, user.id, area, "Thiếu tá Nguyễn Văn An")
    return OfficerAtKeyboard(driver, user)


async def test_broadcast_reaches_every_group_of_the_commune_once_and_no_other(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin = driver.create_user("Trưởng thôn")
    svc = services(runner)
    targets = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 200, admin)
    others = await subscribed_groups(driver, svc.sessions, units, BA_DINH, 20, admin, "Khác")
    for quiet in targets[:10]:  # ten busy groups want only urgent alerts
        await svc.subscriptions.set_min_severity(quiet.id, "urgent")
    officer = await officer_of(runner, driver, DONG_DA)

    audience = await officer.compose("Cảnh giác cuộc gọi giả danh công an.", severity="🟠 CẢNH BÁO")
    assert "Sẽ gửi đến 190 nhóm" in (audience.text or "") and "(10 nhóm" in (audience.text or "")
    preview = driver.bot_messages(officer.chat)[-2]
    assert "🟠 CẢNH BÁO · Lừa đảo" in (preview.text or "")
    assert "Phường Đống Đa — Thành phố Hà Nội" in (preview.text or "")

    number = await send(officer, audience)
    receiving = {g.id for g in targets[10:]}
    await driver.wait_for(lambda: receiving <= set(copies(sim)), timeout=30)
    sent = copies(sim)
    assert all(sent[g] == 1 for g in receiving)
    assert not any(sent[g.id] for g in [*targets[:10], *others])

    copy = driver.last_bot_message(targets[50])
    assert copy is not None and "Cảnh giác cuộc gọi giả danh công an." in (copy.text or "")
    assert f"Số #{number}" in (copy.text or "")
    assert copy.buttons == [["✅ Đã nhận"], ["📨 Gửi tin báo"]]  # and the link to a tip
    await driver.wait_for(delivered(runner, officer, number, 190))
    status = await officer.say(f"/canhbao trangthai {number}")
    assert "Đã gửi: 190" in (status.text or "") and "Lọc bỏ: 10" in (status.text or "")
    assert "Đang chờ: 0" in (status.text or "") and "chưa đạt" not in (status.text or "")


async def test_second_confirm_press_sends_nothing_more(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin = driver.create_user("Trưởng thôn")
    groups = await subscribed_groups(driver, services(runner).sessions, units, DONG_DA, 5, admin)
    officer = await officer_of(runner, driver, DONG_DA)
    audience = await officer.compose("Mất trộm xe máy tại chợ.")
    await driver.press_button(officer.user, officer.chat, "✅ Xác nhận gửi", message=audience)
    await driver.press_button(officer.user, officer.chat, "✅ Xác nhận gửi", message=audience)
    await driver.wait_for(lambda: {g.id for g in groups} <= set(copies(sim)))
    await driver.wait_for(lambda: not sim.unanswered_callbacks())
    answers = [
        c.answer for c in sim.callbacks.values() if c.data and c.data.endswith(":preview:ok")
    ]
    assert any("không gửi lại" in str(a) for a in answers)
    assert all(copies(sim)[g.id] == 1 for g in groups)
    async with services(runner).sessions() as session:
        from sqlmodel import func, select

        from storage.models import Alert

        assert await session.scalar(select(func.count()).select_from(Alert)) == 1


async def test_correction_edits_every_delivered_copy_and_receipts_count_once(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin, member = driver.create_user("Trưởng thôn"), driver.create_user("Người dân")
    svc = services(runner)
    groups = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 30, admin)
    groups[0].members[member.id] = "member"
    officer = await officer_of(runner, driver, DONG_DA)
    number = await send(officer, await officer.compose("Đối tượng lạ đi xe máy đỏ."))
    await driver.wait_for(lambda: {g.id for g in groups} <= set(copies(sim)), timeout=20)

    question = await officer.correct("Đối tượng đi xe máy màu xanh, biển 29.")
    await officer.driver.press_button(officer.user, officer.chat, CONFIRM_CORRECTION, question)
    await driver.wait_for(lambda: "Đã đính chính" in (question.text or ""))
    assert f"Đã đính chính cảnh báo #{number}" in (question.text or "")

    def corrected(group: SimChat) -> bool:
        copy = driver.bot_messages(group)[0]
        return copy.edited and "màu xanh" in (copy.text or "")

    await driver.wait_for(lambda: all(corrected(g) for g in groups), timeout=20)
    assert "ĐÍNH CHÍNH" in (driver.bot_messages(groups[3])[0].text or "")
    await driver.wait_for(lambda: all(notices(driver, g, number) for g in groups), timeout=20)
    assert all(copies(sim)[g.id] == 2 for g in groups)  # the copy, edited, and one notice

    await driver.press_button(member, groups[0], "✅ Đã nhận")
    await driver.press_button(admin, groups[0], "✅ Đã nhận")
    await driver.press_button(admin, groups[0], "✅ Đã nhận")
    await driver.wait_for(lambda: not sim.unanswered_callbacks())
    answers = [c.answer for c in sim.callbacks.values() if c.data == f"ack:{number}"]
    assert "Quản trị viên" in str(answers[0]) and "Đã ghi nhận" in str(answers[1])
    assert "rồi" in str(answers[2])
    await driver.wait_for(delivered(runner, officer, number, 30))
    status = await svc.alerts.status(officer.user.id, number)
    assert status.acknowledged == 1

    await officer.press("⛔ Kết thúc")
    await officer.press(f"⛔ Kết thúc cảnh báo #{number}")

    def ended(group: SimChat) -> bool:
        copy = driver.bot_messages(group)[0]
        ended = copy is not None and "ĐÃ KẾT THÚC" in (copy.text or "")
        return ended and copy.buttons == [["📨 Gửi tin báo"]]  # Đã nhận goes, the tip link stays

    await driver.wait_for(lambda: all(ended(g) for g in groups), timeout=20)


async def test_nothing_is_lost_through_429s_kicks_migrations_faults_and_restarts(
    sim: BotApiSimulator, driver: SimDriver, database_url: str, units: AdminUnits
) -> None:
    # Telegram's real limits; the bot believes it may send faster, so Telegram answers 429.
    sim.limits = Limits(global_per_second=30, group_per_minute=20, private_per_second=1)
    eager = DeliveryConfig(global_per_second=60, group_per_minute=40, lease_seconds=2)
    runner = BotRunner(settings_for(sim, database_url), units, delivery=eager)
    await runner.start()
    try:
        admin = driver.create_user("Trưởng thôn")
        groups = await subscribed_groups(
            driver, services(runner).sessions, units, DONG_DA, 120, admin
        )
        kicked, migrating = groups[7], groups[8]
        sim.faults.forbid(kicked.id)
        with unseen_by_bot(driver):
            supergroup = await driver.migrate_to_supergroup(migrating)
        officer = await officer_of(runner, driver, DONG_DA)
        audience = await officer.compose("Cháy lớn tại kho hàng, tránh khu vực.")
        sim.faults.fail(method="sendMessage", status=502, count=3)
        await send(officer, audience)

        await driver.wait_for(lambda: len(copies(sim)) >= 40, timeout=30)
        await runner.restart()  # a deploy in the middle of sending
        await driver.wait_for(lambda: len(copies(sim)) >= 80, timeout=30)
        await runner.restart(crash=True)  # and a crash: leases expire, another sender resumes

        expected = {g.id for g in groups if g not in (kicked, migrating)} | {supergroup.id}
        await driver.wait_for(lambda: expected <= set(copies(sim)), timeout=60)
        sent = copies(sim)
        duplicates = sum(n - 1 for chat, n in sent.items() if chat in expected)
        assert duplicates <= X10.max_in_flight  # only what was in flight at the crash
        assert kicked.id not in sent and migrating.id not in sent
        assert sim.stats.http_429 > 0
        await driver.wait_for(delivered(runner, officer, 1, 119), timeout=10)
        status = await services(runner).alerts.status(officer.user.id, 1)
        assert status.stats.failed == 1
        moved = await services(runner).subscriptions.status(supergroup.id)
        assert moved is not None and moved.commune == "Phường Đống Đa"
        paused = await services(runner).subscriptions.status(kicked.id)
        assert paused is not None and paused.paused
    finally:
        await runner.stop()
    assert sim.violations == []


async def test_refusals(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    resident = driver.create_user("Người dân")
    chat = await driver.start_private(resident)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    sent = await driver.send_text(resident, chat, "/canhbao")
    refused = await driver.wait_for_bot_message(chat, after=sent.message_id)
    assert "chỉ dành cho cán bộ" in (refused.text or "")

    provincial = await officer_of(runner, driver, "01")  # Hà Nội police
    await provincial.open()
    await provincial.say("/canhbao")
    await provincial.press("🔎 Một xã/phường")
    await driver.wait_for_bot_message(provincial.chat, contains="Gõ tên xã/phường")
    outside = await provincial.say("cam giang")  # Hải Phòng and Thái Nguyên only
    assert "Không có xã/phường nào trong địa bàn" in (outside.text or "")
    inside = await provincial.say("dong da")
    assert inside.buttons[0] == ["Phường Đống Đa — Thành phố Hà Nội"]

    admin = driver.create_user("Trưởng thôn")
    await subscribed_groups(driver, services(runner).sessions, units, BA_DINH, 2, admin)
    ba_dinh = await officer_of(runner, driver, BA_DINH)
    number = await send(ba_dinh, await ba_dinh.compose("Thông báo thử."))
    dong_da = await officer_of(runner, driver, DONG_DA)
    await dong_da.open()
    foreign = await dong_da.say(f"/canhbao trangthai {number}")
    assert "không thuộc địa bàn" in (foreign.text or "")
    usage = await dong_da.say("/canhbao trangthai abc")
    assert "Cách dùng" in (usage.text or "")


async def test_bad_input_asks_the_step_again(
    runner: BotRunner, driver: SimDriver, units: AdminUnits
) -> None:
    officer = await officer_of(runner, driver, DONG_DA)
    await officer.open()
    start = await officer.say("/canhbao")
    await officer.press(start.buttons[0][0])
    await officer.press("🔵 THÔNG TIN")
    await officer.press("Khác")
    await driver.wait_for_bot_message(officer.chat, contains="Bước 4/8")
    too_long = await officer.say("x" * 3501)
    assert "vượt quá 3.500" in (too_long.text or "")  # Vietnamese digit grouping
    await officer.say("Nội dung hợp lệ.")
    photo_step = await driver.wait_for_bot_message(officer.chat, contains="Bước 5/8")
    sent = await driver.send_document(officer.user, officer.chat, filename="anh.pdf")
    wrong = await driver.wait_for_bot_message(officer.chat, after=sent.message_id)
    assert "không phải là ảnh" in (wrong.text or "")
    assert photo_step.buttons == [["Bỏ qua ⏭"]]
    await driver.send_photo(officer.user, officer.chat)
    location = await driver.wait_for_bot_message(officer.chat, contains="Bước 6/8")
    await driver.send_location(officer.user, officer.chat, 21.0181, 105.8294)
    await driver.wait_for_bot_message(officer.chat, contains="Bước 7/8", after=location.message_id)
    cancelled = await officer.say("/huy")
    assert "Không có gì được gửi" in (cancelled.text or "")
    assert await services(runner).alerts.draft(officer.user.id) is None


async def test_group_settings_filter(
    runner: BotRunner, driver: SimDriver, units: AdminUnits
) -> None:
    admin, member = driver.create_user("Trưởng thôn"), driver.create_user("Người dân")
    group = driver.create_group("Tổ 9", members=[member], admins=[admin], with_bot=True)
    sent = await driver.send_text(member, group, "/caidat")
    refused = await driver.wait_for_bot_message(group, after=sent.message_id)
    assert "Chỉ quản trị viên" in (refused.text or "")
    sent = await driver.send_text(admin, group, "/caidat")
    unsubscribed = await driver.wait_for_bot_message(group, after=sent.message_id)
    assert "chưa đăng ký" in (unsubscribed.text or "")
    svc = services(runner)
    from bot.services.chats import ChatRef

    await svc.subscriptions.subscribe(ChatRef(group.id, "group", "Tổ 9"), DONG_DA, None, admin.id)
    sent = await driver.send_text(admin, group, "/caidat")
    offer = await driver.wait_for_bot_message(group, after=sent.message_id)
    assert "Tất cả cảnh báo" in (offer.text or "")
    await driver.press_button(admin, group, "Chỉ Khẩn cấp")
    await driver.wait_for(lambda: "Đã lưu" in (driver.last_bot_message(group).text or ""))  # type: ignore[union-attr]
    assert await svc.subscriptions.min_severity(group.id) == "urgent"


async def sent_to(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits, text: str
) -> tuple[OfficerAtKeyboard, list[SimChat], int]:
    """Five groups of Đống Đa that have received alert N (composed with `text`)."""
    admin = driver.create_user("Trưởng thôn")
    groups = await subscribed_groups(driver, services(runner).sessions, units, DONG_DA, 5, admin)
    officer = await officer_of(runner, driver, DONG_DA)
    number = await send(officer, await officer.compose(text))
    await driver.wait_for(delivered(runner, officer, number, 5), timeout=20)
    return officer, groups, number


def untouched(driver: SimDriver, groups: list[SimChat], text: str) -> bool:
    """Each group holds only its copy, never edited, still showing `text`."""
    return all(
        [(m.edited, text in (m.text or "")) for m in driver.bot_messages(g)] == [(False, True)]
        for g in groups
    )


async def test_a_correction_shows_the_text_and_a_preview_and_changes_groups_only_on_confirm(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    warning = "Cảnh giác cuộc gọi giả danh công an, số 0912 345 678."
    fixed = "Cảnh giác cuộc gọi giả danh công an, số đúng là 0987 654 321."
    officer, groups, number = await sent_to(runner, sim, driver, units, warning)

    prompt = await officer.ask_correction()
    shown = prompt.text or ""
    assert "THAY TOÀN BỘ" in shown and prompt.force_reply
    pre = [e for e in prompt.entities if e["type"] == "pre"]
    assert len(pre) == 1 and warning in shown  # one block, tap to copy, holding the text
    await driver.send_text(officer.user, officer.chat, fixed, reply_to=prompt)
    question = await officer.wait(predicate=lambda m: "Bản xem trước" in (m.text or ""))
    preview = driver.bot_messages(officer.chat)[-2]
    assert fixed in (preview.text or "") and "ĐÍNH CHÍNH (lần 1)" in (preview.text or "")
    assert f"Số #{number}" in (preview.text or "")
    assert question.buttons == [[CONFIRM_CORRECTION], [CANCEL_CORRECTION]]
    await driver.wait_for(outbox_idle(runner))
    assert untouched(driver, groups, warning)  # nothing changes before Confirm

    # Confirm pressed twice in a row: the second press changes nothing more.
    await driver.press_button(officer.user, officer.chat, CONFIRM_CORRECTION, message=question)
    await driver.press_button(officer.user, officer.chat, CONFIRM_CORRECTION, message=question)
    await driver.wait_for(lambda: not sim.unanswered_callbacks())
    answers = [str(c.answer) for c in sim.callbacks.values() if c.data.startswith("am:cy:")]
    assert any("đã được gửi" in a for a in answers)
    assert "Đã đính chính" in (question.text or "") and "5 nhóm" in (question.text or "")

    def corrected(group: SimChat) -> bool:
        copy = driver.bot_messages(group)[0]
        return copy.edited and fixed in (copy.text or "") and "ĐÍNH CHÍNH" in (copy.text or "")

    await driver.wait_for(lambda: all(corrected(g) for g in groups), timeout=20)
    await driver.wait_for(lambda: all(notices(driver, g, number) for g in groups), timeout=20)
    await driver.wait_for(outbox_idle(runner))
    for group in groups:
        copy, *rest = driver.bot_messages(group)
        assert rest == notices(driver, group, number) and len(rest) == 1
        assert rest[0].reply_to_message_id == copy.message_id
        assert copy.text == preview.text  # exactly the preview


async def test_cancelling_a_correction_or_an_ending_changes_nothing(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    warning = "Mất trộm xe máy tại chợ Kim Liên."
    officer, groups, number = await sent_to(runner, sim, driver, units, warning)

    question = await officer.correct("Mất trộm ô tô tại chợ Kim Liên.")
    await driver.press_button(officer.user, officer.chat, CANCEL_CORRECTION, message=question)
    await driver.wait_for(lambda: "Đã huỷ đính chính" in (question.text or ""))
    assert question.buttons == []

    await officer.press("⛔ Kết thúc")
    end = await officer.wait(contains=f"Kết thúc cảnh báo #{number}?")
    assert end.buttons == [[f"⛔ Kết thúc cảnh báo #{number}"], ["Không, giữ cảnh báo"]]
    await driver.press_button(officer.user, officer.chat, "Không, giữ cảnh báo", message=end)
    await driver.wait_for(lambda: "vẫn còn hiệu lực" in (end.text or ""))
    assert end.buttons == []

    await driver.wait_for(lambda: not sim.unanswered_callbacks())
    await driver.wait_for(outbox_idle(runner))
    assert untouched(driver, groups, warning)
    status = await services(runner).alerts.status(officer.user.id, number)
    assert (status.status, status.version) == ("active", 1)


async def test_each_answered_step_shows_the_choice(
    runner: BotRunner, driver: SimDriver, units: AdminUnits
) -> None:
    officer = await officer_of(runner, driver, DONG_DA)
    audience = await officer.compose("Thông báo thử.", severity="🟠 CẢNH BÁO")
    answered = [m.text for m in driver.bot_messages(officer.chat) if (m.text or "").endswith("✓")]
    assert answered == [
        "Khu vực: Phường Đống Đa — Thành phố Hà Nội ✓",
        "Mức độ: 🟠 CẢNH BÁO ✓",
        "Loại tin: Lừa đảo ✓",
        "Ảnh: không kèm ✓",
        "Vị trí: không kèm ✓",
        "Hiệu lực: 24 giờ ✓",
        "Thật / diễn tập: Tình huống thật ✓",
    ]
    _welcome, *steps, preview, last = driver.bot_messages(officer.chat)
    assert last is audience and preview.buttons == [["✅ Đã nhận"], ["📨 Gửi tin báo"]]
    assert all(not m.buttons for m in steps)  # every answered step lost its buttons

    await driver.press_button(officer.user, officer.chat, "✏️ Sửa", message=audience)
    await driver.wait_for(lambda: has_button(audience, "Mức độ"))
    await driver.press_button(officer.user, officer.chat, "Mức độ", message=audience)
    await driver.wait_for(lambda: audience.text == "✏️ Sửa: Mức độ ✓")
    await officer.press("🔴 KHẨN CẤP")
    await officer.wait(contains="Mức độ: 🔴 KHẨN CẤP ✓")
    await officer.wait(after=audience.message_id, predicate=lambda m: has_button(m, CONFIRM))


def expiry(message: SimMessage) -> str:
    found = re.search(r"Hiệu lực đến (\S+ \S+)", message.text or "")
    assert found is not None, message.text
    return found.group(1)


async def test_the_copy_shows_the_expiry_of_the_preview_and_an_old_preview_is_refreshed(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    admin = driver.create_user("Trưởng thôn")
    groups = await subscribed_groups(driver, services(runner).sessions, units, DONG_DA, 2, admin)
    officer = await officer_of(runner, driver, DONG_DA)
    audience = await officer.compose("Đường Xã Đàn ngập sâu, tránh đi qua.")
    svc = services(runner)
    draft = await svc.alerts.draft(officer.user.id)
    assert draft is not None and draft.previewed_at is not None
    # The officer left the preview for eleven minutes: Confirm shows it again instead.
    draft.previewed_at = (
        datetime.fromisoformat(draft.previewed_at) - timedelta(minutes=11)
    ).isoformat()
    await svc.alerts.save_draft(officer.user.id, draft)
    await driver.press_button(officer.user, officer.chat, CONFIRM, message=audience)
    fresh = await officer.wait(
        after=audience.message_id, predicate=lambda m: has_button(m, CONFIRM)
    )
    assert "quá 10 phút" in (audience.text or "") and audience.buttons == []
    preview = driver.bot_messages(officer.chat)[-2]
    assert not any(copies(sim)[g.id] for g in groups)  # nothing was sent

    await officer.confirm(fresh)
    number = await officer.sent_number()
    await driver.wait_for(delivered(runner, officer, number, 2), timeout=20)
    assert all(expiry(driver.bot_messages(g)[0]) == expiry(preview) for g in groups)


async def test_residential_areas_are_toggled_in_place_and_only_their_groups_get_the_alert(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    from bot.services.chats import ChatRef

    svc = services(runner)
    admin = driver.create_user("Trưởng thôn")
    areas = [
        await svc.subscriptions.create_residential(DONG_DA, f"Tổ dân phố {n}", 1) for n in (5, 7, 9)
    ]
    groups = [driver.create_group(f"Tổ {n}", admins=[admin], with_bot=True) for n in (5, 7, 9, 0)]
    for group, area in zip(groups, [*areas, None], strict=True):  # the last: the whole ward
        ref = ChatRef(group.id, group.type, group.title)
        await svc.subscriptions.subscribe(ref, DONG_DA, area.id if area else None, admin.id)
    officer = await officer_of(runner, driver, DONG_DA)
    await officer.open()
    await officer.say("/canhbao")
    picker = await officer.press("🏘 Chọn thôn/tổ dân phố")
    picker = await officer.wait(predicate=lambda m: has_button(m, "Xong ✅"))
    assert picker.buttons == [
        ["⬜ Tổ dân phố 5"],
        ["⬜ Tổ dân phố 7"],
        ["⬜ Tổ dân phố 9"],
        ["Xong ✅"],
    ]

    async def answer_of(query: str) -> str:
        await driver.wait_for(lambda: sim.callbacks[query].answered)
        return str(sim.callbacks[query].answer.get("text", ""))

    async def press(label: str) -> str:
        return await answer_of(
            await driver.press_button(officer.user, officer.chat, label, message=picker)
        )

    assert "ít nhất một" in await press("Xong ✅")  # none chosen: refused, nothing changes
    for label in ("⬜ Tổ dân phố 5", "⬜ Tổ dân phố 9", "⬜ Tổ dân phố 7", "☑️ Tổ dân phố 9"):
        await press(label)
    await driver.wait_for(lambda: has_button(picker, "☑️ Tổ dân phố 7"))
    await driver.wait_for(lambda: has_button(picker, "⬜ Tổ dân phố 9"))
    assert picker.buttons == [
        ["☑️ Tổ dân phố 5"],
        ["☑️ Tổ dân phố 7"],
        ["⬜ Tổ dân phố 9"],
        ["Xong ✅"],
    ]
    draft = await svc.alerts.draft(officer.user.id)
    assert draft is not None
    for forged in (f"al:{draft.token}:residential:t:999999", f"al:{draft.token}:rt:{areas[2].id}"):
        query = await driver.press_callback_data(officer.user, officer.chat, picker, forged)
        assert await answer_of(query)  # answered, and refused
    assert (await svc.alerts.draft(officer.user.id)) == draft  # refused, nothing changed

    await press("Xong ✅")
    label = "Tổ dân phố 5, Tổ dân phố 7 — Phường Đống Đa — Thành phố Hà Nội"
    await driver.wait_for(lambda: picker.text == f"Khu vực: {label} ✓")
    audience = await officer.finish_draft("Trộm chó ở khu vực Tổ 5 và Tổ 7.")
    assert "Sẽ gửi đến 3 nhóm" in (audience.text or "")
    await send(officer, audience)
    receiving = {groups[0].id, groups[1].id, groups[3].id}  # Tổ 5, Tổ 7 and the whole ward
    await driver.wait_for(lambda: receiving <= set(copies(sim)), timeout=20)
    assert label in (driver.bot_messages(groups[0])[-1].text or "")
    await driver.wait_for(lambda: not sim.unanswered_callbacks())
    assert copies(sim)[groups[2].id] == 0
