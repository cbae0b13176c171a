"""Residents' tips end to end: /baotin through its buttons, the group's link, the seed offer,
voice, photos sent as files, the per-hour limit, /huy, a restart mid-tip and /tincuatoi.

The real Application polls the simulator; every test ends with no spec violation and every
button press answered.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from PIL import ExifTags, Image
from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.services.tip_flow import Choice, Location, Step, Text
from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from storage.models import Tip, TipMedia
from tests.e2e.conftest import BOT_USERNAME
from tests.support.botrunner import BotRunner, running, settings_for
from tests.support.world import subscribed_groups
from tests.unit.test_photo_privacy import jpeg_with_gps

DONG_DA, O_CHO_DUA = "00235", "00190"
DONG_DA_LABEL = "Phường Đống Đa — Thành phố Hà Nội"
HERE = (21.0181, 105.8292)  # nearest commune centre: Phường Ô Chợ Dừa
LOCATION, SKIP_WHERE = "📍 Gửi vị trí", "Bỏ qua ⏭"
SEND, ANONYMOUS, NAMED = "📨 Gửi tin báo", "🕶 Ẩn danh", "🙋 Để lại tên"
WHAT = "Có người lạ giả danh công an gọi điện đòi chuyển tiền."
STEP = 15.0


@pytest_asyncio.fixture
async def runner(
    sim: BotApiSimulator, database_url: str, units: AdminUnits, request: pytest.FixtureRequest
) -> AsyncIterator[BotRunner]:
    # Ten replies a second into one private chat, not Telegram's one: a tip is a dozen
    # messages, which would otherwise spend most of the test waiting on the limiter.
    per_hour = getattr(request, "param", 5)
    settings = settings_for(
        sim, database_url, delivery_private_per_second=10, tips_per_hour=per_hour
    )
    async with running(sim, settings, units) as bot:
        yield bot
    assert sim.unanswered_callbacks() == []


def body(message: SimMessage | None) -> str:
    if message is None:
        return ""
    return message.text if message.text is not None else (message.caption or "")


class Resident:
    """A person writing to the bot in their private chat, as a person would."""

    def __init__(self, driver: SimDriver, user: SimUser) -> None:
        self.driver, self.user = driver, user
        self.chat: SimChat = driver.private_chat(user)

    def last_id(self) -> int:
        last = self.driver.last_bot_message(self.chat)
        newest = max(self.chat.messages, default=0)
        return max(last.message_id if last else 0, newest)

    async def wait(self, **kw: object) -> SimMessage:
        return await self.driver.wait_for_bot_message(self.chat, timeout=STEP, **kw)  # type: ignore[arg-type]

    async def open(self, payload: str | None = None) -> SimMessage:
        """/start (with a deep link's payload): the bot's first answer."""
        before = self.last_id()
        await self.driver.start_private(self.user, payload)
        return await self.wait(after=before)

    async def say(self, text: str, **kw: object) -> SimMessage:
        """Type `text`; the bot's first answer after it (matching `kw`)."""
        sent = await self.driver.send_text(self.user, self.chat, text)
        return await self.wait(after=sent.message_id, **kw)

    async def press(self, label: str, **kw: object) -> SimMessage:
        """Press the newest inline button with this label; the next bot message after it."""

        def newest() -> SimMessage | None:
            shown = reversed(self.driver.bot_messages(self.chat))
            return next((m for m in shown if any(label in row for row in m.buttons)), None)

        found: SimMessage = await self.driver.wait_for(newest, timeout=STEP)
        before = self.last_id()
        await self.driver.press_button(self.user, self.chat, label, message=found)
        return await self.wait(after=before, **kw)

    async def keyboard(self, label: str, **kw: object) -> SimMessage:
        """Press a text button of the custom keyboard under the input field."""
        sent = await self.driver.press_reply_button(self.user, label)
        return await self.wait(after=sent.message_id, **kw)

    async def share_location(self, lat: float, lon: float, **kw: object) -> SimMessage:
        """Press «📍 Gửi vị trí» (the phone shares where it is)."""
        sent = await self.driver.press_reply_button(self.user, LOCATION, lat, lon)
        return await self.wait(after=sent.message_id, **kw)

    async def to_photos(self, *, start: str = "/baotin") -> SimMessage:
        """Category, what happened, the location and its commune: the photo question."""
        first = await self.say(start, contains="Bước 1")
        assert "113" in body(first)
        await self.press("💸 Lừa đảo", contains="Bước 2")
        await self.say(WHAT, contains="Bước 3")
        await self.share_location(*HERE, contains="Ô Chợ Dừa")
        return await self.press("✅ Đúng", contains="Bước 4")


async def officer_of(runner: BotRunner, driver: SimDriver, area: str) -> SimUser:
    """An officer of `area` who opened the bot (so tips can reach them)."""
    user = driver.create_user("Cán bộ", username=f"officer_{area}")
    await runner.services.officers.grant(0, user.id, area, "Thiếu tá Nguyễn Văn An")
    await driver.start_private(user)
    await driver.wait_for_bot_message(user, contains="Canh Gác")
    return user


async def tips_of(runner: BotRunner, person: int) -> list[Tip]:
    async with runner.services.sessions() as session:
        rows = await session.exec(
            select(Tip).where(col(Tip.reporter_telegram_id) == person).order_by(col(Tip.id))
        )
        return list(rows)


async def photos_of(runner: BotRunner, tip: Tip) -> list[str]:
    async with runner.services.sessions() as session:
        rows = await session.exec(
            select(TipMedia.file_id)
            .where(col(TipMedia.tip_id) == tip.id)
            .order_by(col(TipMedia.position))
        )
        return list(rows)


def url_of(message: SimMessage, label: str) -> str:
    """The URL of a link button."""
    return next(b["url"] for row in message.inline_keyboard for b in row if b["text"] == label)


def payload_of(url: str) -> str:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", f"/{BOT_USERNAME}")
    return parse_qs(parts.query)["start"][0]


# -- the whole tip through its buttons --------------------------------------------------------


async def test_an_anonymous_tip_with_a_location_and_two_photos(
    runner: BotRunner, driver: SimDriver
) -> None:
    await officer_of(runner, driver, O_CHO_DUA)
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    first = await lan.say("/baotin")
    assert "Đây không phải đường dây khẩn cấp" in body(first)
    assert all(n in body(first) for n in ("113", "114", "115"))
    assert first.buttons[0] == ["💸 Lừa đảo", "🔓 Trộm cắp"]
    await lan.press("💸 Lừa đảo", contains="Bước 2")
    where = await lan.say(WHAT, contains="Bước 3")
    assert lan.chat.reply_keyboard is not None and where.reply_markup == lan.chat.reply_keyboard
    rows = lan.chat.reply_keyboard["keyboard"]
    assert rows[0] == [{"text": LOCATION, "request_location": True}]
    assert rows[1] == [{"text": SKIP_WHERE}]

    sent = await driver.press_reply_button(lan.user, LOCATION, *HERE)
    closed = await lan.wait(after=sent.message_id)
    assert closed.text == "👌 Được rồi." and lan.chat.reply_keyboard is None  # removed at once
    confirm = await lan.wait(after=closed.message_id)
    assert "Phường Ô Chợ Dừa" in body(confirm) and "theo vị trí bạn gửi" in body(confirm)
    photos = await lan.press("✅ Đúng", contains="Bước 4")
    assert confirm.buttons == [] and body(confirm).endswith("👉 ✅ Đúng")  # shows the choice
    assert photos.buttons == [["Không có ảnh ⏭"]]

    one = await driver.send_photo(lan.user, lan.chat)
    await lan.wait(after=one.message_id, contains="1/5")
    two = await driver.send_photo(lan.user, lan.chat, content=b"\x89PNG second photo")
    more = await lan.wait(after=two.message_id, contains="2/5")
    anonymity = await lan.press("Xong ✅", contains="Bước 5")
    assert anonymity.buttons == [[ANONYMOUS], [NAMED]]  # anonymous first: the default
    assert more.buttons == []
    review = await lan.press(ANONYMOUS, contains="Xem lại tin báo")
    assert "Số ảnh: 2" in body(review)
    assert "Người gửi: 🕶 Ẩn danh" in body(review) and "📍 vị trí đã gửi" in body(review)
    assert review.buttons[0] == [SEND]
    done = await lan.press(SEND, contains="Tin #R-")

    (tip,) = await tips_of(runner, lan.user.id)
    assert f"Đã gửi Tin #R-{tip.id} đến công an Phường Ô Chợ Dừa" in body(done)
    assert "Cảm ơn bạn" in body(done)
    assert (tip.category, tip.text, tip.commune_code) == ("scam", WHAT, O_CHO_DUA)
    assert (tip.lat, tip.lon, tip.area_source) == (*HERE, "location")
    assert tip.anonymous and tip.display_name is None
    sent_photos = [one.photo[-1]["file_id"], two.photo[-1]["file_id"]]  # type: ignore[index]
    assert await photos_of(runner, tip) == sent_photos
    assert await runner.services.tips.draft(lan.user.id) is None


async def test_a_named_tip_and_no_officer_to_reach(runner: BotRunner, driver: SimDriver) -> None:
    minh = Resident(driver, driver.create_user("Anh Minh"))
    await minh.open()
    await minh.to_photos()
    await minh.press("Không có ảnh ⏭", contains="Bước 5")
    ask = await minh.press(NAMED, contains="Gõ tên")
    assert ask.buttons == [["🕶 Thôi, gửi ẩn danh"]]
    refused = await minh.say("1", contains="Tên cần từ 2 đến 64 ký tự")
    assert "Gõ tên" in body(refused)  # asked again
    review = await minh.say("Nguyễn Văn Minh", contains="Xem lại tin báo")
    assert "Người gửi: 🙋 Nguyễn Văn Minh" in body(review)
    done = await minh.press(SEND, contains="Tin #R-")
    assert "chưa có cán bộ công an nào dùng bot" in body(done) and "113" in body(done)
    (tip,) = await tips_of(runner, minh.user.id)
    assert (tip.anonymous, tip.display_name) == (False, "Nguyễn Văn Minh")


async def test_a_typed_address_then_the_commune_is_searched(
    runner: BotRunner, driver: SimDriver
) -> None:
    hoa = Resident(driver, driver.create_user("Chị Hoa"))
    await hoa.open()
    await hoa.say("/report", contains="Bước 1")
    await hoa.press("🔓 Trộm cắp", contains="Bước 2")
    await hoa.say("Mất trộm xe máy trước cửa nhà đêm qua.", contains="Bước 3")
    search = await hoa.say("Số 5 ngõ 10 Tôn Đức Thắng", contains="Gõ tên xã, phường")
    assert hoa.chat.reply_keyboard is None and search.reply_markup == {"remove_keyboard": True}
    found = await hoa.say("dong da", contains="Kết quả cho «dong da»")
    assert [DONG_DA_LABEL] in found.buttons
    await hoa.press(DONG_DA_LABEL, contains="Bước 4")
    await hoa.press("Không có ảnh ⏭", contains="Bước 5")
    review = await hoa.press(ANONYMOUS, contains="Xem lại")
    assert "Số 5 ngõ 10 Tôn Đức Thắng" in body(review) and DONG_DA_LABEL in body(review)
    await hoa.press(SEND, contains="Tin #R-")
    (tip,) = await tips_of(runner, hoa.user.id)
    assert (tip.address, tip.commune_code, tip.area_source) == (
        "Số 5 ngõ 10 Tôn Đức Thắng",
        DONG_DA,
        "chosen",
    )


# -- from a group -----------------------------------------------------------------------------


async def test_a_groups_baotin_links_to_the_private_chat_with_the_groups_area(
    runner: BotRunner, driver: SimDriver, units: AdminUnits
) -> None:
    admin, member = driver.create_user("Tổ trưởng"), driver.create_user("Người dân")
    svc = runner.services
    (group,) = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 1, admin)
    group.members[member.id] = "member"
    area = await svc.tips.group_area(group.id)
    assert area is not None

    command = await driver.send_text(member, group, "/baotin có trộm")
    link = await driver.wait_for_bot_message(group, after=command.message_id, timeout=STEP)
    assert "riêng" in body(link) and "có trộm" not in body(link)
    assert link.buttons == [[SEND]]
    assert payload_of(url_of(link, SEND)) == f"tip_{area}"
    assert await svc.tips.draft(member.id) is None  # nothing is collected in the group

    resident = Resident(driver, member)
    first = await resident.open(f"tip_{area}")
    assert "Bước 1" in body(first) and "113" in body(first)
    await resident.press("👀 Đối tượng khả nghi", contains="Bước 2")
    await resident.say("Hai người lạ đi xe máy nhìn vào các nhà.", contains="Bước 3")
    closed = await resident.keyboard(SKIP_WHERE)  # skipped: the group's commune is proposed
    assert closed.text == "👌 Được rồi." and resident.chat.reply_keyboard is None
    confirm = await resident.wait(after=closed.message_id)
    assert "Phường Đống Đa" in body(confirm) and "theo nhóm bạn bấm vào" in body(confirm)
    search = await resident.press("🔎 Xã/phường khác", contains="Gõ tên xã")
    assert search.buttons == []
    await resident.say("O Cho Dua", contains="Kết quả")
    await resident.press("Phường Ô Chợ Dừa — Thành phố Hà Nội", contains="Bước 4")
    await resident.press("Không có ảnh ⏭", contains="Bước 5")
    await resident.press(ANONYMOUS, contains="Xem lại")
    await resident.press(SEND, contains="Tin #R-")
    (tip,) = await tips_of(runner, member.id)
    assert (tip.source_area_id, tip.commune_code, tip.area_source) == (area, O_CHO_DUA, "chosen")


async def test_every_alert_copy_links_to_a_tip_carrying_its_groups_area(
    runner: BotRunner, driver: SimDriver, units: AdminUnits
) -> None:
    admin, member = driver.create_user("Tổ trưởng"), driver.create_user("Người dân")
    svc = runner.services
    groups = await subscribed_groups(driver, svc.sessions, units, DONG_DA, 2, admin)
    groups[0].members[member.id] = "member"
    police = await officer_of(runner, driver, DONG_DA)
    view = await svc.officers.officer(police.id)
    assert view is not None
    draft = await svc.alerts.new_draft(view)
    draft.target_kind, draft.severity, draft.category = "commune", "warning", "theft"
    draft.text, draft.validity_hours, draft.exercise = "Mất trộm xe máy tại chợ.", 24, False
    await svc.alerts.save_draft(police.id, draft)
    await svc.alerts.confirm(police.id, draft.token)
    await driver.wait_for(lambda: all(driver.last_bot_message(g) for g in groups), timeout=STEP)
    copies = [driver.last_bot_message(g) for g in groups]
    for group, copy in zip(groups, copies, strict=True):
        assert copy is not None and copy.buttons == [["✅ Đã nhận"], [SEND]]
        area = await svc.tips.group_area(group.id)
        assert payload_of(url_of(copy, SEND)) == f"tip_{area}"

    first = copies[0]
    assert first is not None
    await driver.press_button(admin, groups[0], "✅ Đã nhận", message=first)
    await driver.wait_for(lambda: "Đã nhận lúc" in body(first), timeout=STEP)
    assert first.buttons == [[SEND]]  # the acknowledgement took the Đã nhận button only

    resident = Resident(driver, member)
    await resident.open(payload_of(url_of(first, SEND)))
    await resident.press("🔓 Trộm cắp", contains="Bước 2")
    await resident.say("Thấy người lạ dắt xe máy ra khỏi chợ.", contains="Bước 3")
    closed = await resident.keyboard(SKIP_WHERE)
    confirm = await resident.wait(after=closed.message_id, contains="theo nhóm bạn bấm vào")
    assert "Phường Đống Đa" in body(confirm)


async def test_the_welcome_and_the_subscription_carry_the_tip_link(
    runner: BotRunner, driver: SimDriver
) -> None:
    admin = driver.create_user("Tổ trưởng")
    group = driver.create_group("TDP 5", admins=[admin])
    await driver.add_bot(group, admin)
    welcome = await driver.wait_for_bot_message(group, contains="Xin chào", timeout=STEP)
    assert welcome.buttons == [[SEND]] and payload_of(url_of(welcome, SEND)) == "tip"
    command = await driver.send_text(admin, group, "/dangky Đống Đa")
    picker = await driver.wait_for_bot_message(group, after=command.message_id, timeout=STEP)
    await driver.press_button(admin, group, DONG_DA_LABEL, message=picker)
    await driver.wait_for(lambda: any("Cả xã" in b for row in picker.buttons for b in row))
    await driver.press_button(admin, group, "✅ Cả xã/phường", message=picker)
    await driver.wait_for(lambda: "Đã đăng ký" in body(picker), timeout=STEP)
    area = await runner.services.tips.group_area(group.id)
    assert picker.buttons == [[SEND]] and payload_of(url_of(picker, SEND)) == f"tip_{area}"


# -- what people send besides the answers -----------------------------------------------------


async def test_a_message_nobody_expects_is_offered_as_the_start_of_a_tip(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver
) -> None:
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    seed = "Có người lạ cứ đứng trước cổng nhà tôi từ sáng."
    sent = await driver.send_text(lan.user, lan.chat, seed)
    offer = await lan.wait(after=sent.message_id)
    assert offer.text == "📨 Gửi tin báo cho công an với nội dung này?"
    assert offer.reply_to_message_id == sent.message_id
    assert offer.buttons == [["✅ Có, gửi tin báo", "Không"]]
    first = await lan.press("✅ Có, gửi tin báo", contains="Bước 1")
    assert "Đã giữ lại điều bạn vừa gửi" in body(first) and offer.buttons == []
    text_step = await lan.press("👀 Đối tượng khả nghi", contains="Bước 2")
    assert seed in body(text_step) and text_step.buttons == [["✅ Dùng nội dung này"]]

    officer = await officer_of(runner, driver, DONG_DA)
    police = Resident(driver, officer)
    photo = await driver.send_photo(officer, police.chat)
    offered = await police.wait(after=photo.message_id)
    assert body(offered).startswith("📨 Gửi tin báo cho công an với ảnh này?")
    assert "/canhbao" in body(offered)  # an officer sees their commands beside the offer
    before = police.last_id()
    query = await driver.press_button(officer, police.chat, "Không", message=offered)
    await driver.wait_for(lambda: sim.callbacks[query].answered and offered.buttons == [])
    assert sim.callbacks[query].answer.get("text") == "Được rồi, không gửi gì cả."
    assert police.last_id() == before and await runner.services.tips.draft(officer.id) is None

    place = await driver.send_location(officer, police.chat, *HERE)
    located = await police.wait(after=place.message_id)
    assert body(located).startswith("📨 Gửi tin báo cho công an với vị trí này?")
    started = await police.press("✅ Có, gửi tin báo", contains="Bước 1")
    assert "Đã giữ lại vị trí" in body(started)
    draft = await runner.services.tips.draft(officer.id)
    assert draft is not None and (draft.lat, draft.lon) == HERE
    pdf = await driver.send_document(officer, police.chat)  # the open tip takes it now
    refused = await police.wait(after=pdf.message_id)
    assert "Đó không phải là ảnh" in body(refused) and "Bước 1" in body(refused)


async def test_other_messages_with_nothing_open_get_the_hint(
    runner: BotRunner, driver: SimDriver
) -> None:
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    voice = await driver.send_voice(lan.user, lan.chat)
    hint = await lan.wait(after=voice.message_id)
    assert "Bot làm việc theo lệnh" in body(hint) and "/baotin" in body(hint)
    for short in ("alo", "cảm ơn"):  # too short to be what happened
        assert "Bot làm việc theo lệnh" in body(await lan.say(short))


async def test_a_voice_message_is_refused_with_why_and_the_question_asked_again(
    runner: BotRunner, driver: SimDriver
) -> None:
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    await lan.say("/baotin", contains="Bước 1")
    await lan.press("🔥 Cháy nổ", contains="Bước 2")
    voice = await driver.send_voice(lan.user, lan.chat)
    answer = await lan.wait(after=voice.message_id)
    assert "Tin nhắn thoại làm lộ giọng nói" in body(answer) and "Bước 2" in body(answer)
    draft = await runner.services.tips.draft(lan.user.id)
    assert draft is not None and draft.step is Step.TEXT and draft.text is None


async def test_an_image_sent_as_a_file_reaches_officers_without_its_metadata(
    runner: BotRunner, driver: SimDriver
) -> None:
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    await lan.to_photos()
    original = jpeg_with_gps()
    assert b"Phone X" in original and Image.open(io.BytesIO(original)).getexif()
    sent = await driver.send_document(
        lan.user, lan.chat, "IMG_0001.JPG", original, mime_type="image/jpeg"
    )
    cleaned = await lan.wait(after=sent.message_id)
    assert cleaned.photo and cleaned.reply_to_message_id == sent.message_id
    assert cleaned.caption == (
        "🧹 Ảnh đã được xoá thông tin vị trí, thiết bị. Công an chỉ nhận ảnh này."
    )
    await lan.wait(after=cleaned.message_id, contains="1/5")
    clean_id = cleaned.photo[-1]["file_id"]
    uploaded = driver.world.files[clean_id].content
    image = Image.open(io.BytesIO(uploaded))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert dict(image.getexif()) == {} and image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"Exif" not in uploaded and b"Phone X" not in uploaded

    pdf = await driver.send_document(lan.user, lan.chat)  # not an image: refused
    refused = await lan.wait(after=pdf.message_id)
    assert "Đó không phải là ảnh" in body(refused)
    await lan.press("Xong ✅", contains="Bước 5")
    await lan.press(ANONYMOUS, contains="Xem lại")
    await lan.press(SEND, contains="Tin #R-")
    (tip,) = await tips_of(runner, lan.user.id)
    assert await photos_of(runner, tip) == [clean_id]  # never the file with its EXIF
    assert sent.document is not None and sent.document["file_id"] != clean_id


# -- limits, /huy, restarts, /tincuatoi ---------------------------------------------------------


@pytest.mark.parametrize("runner", [1], indirect=True)
async def test_the_per_hour_limit_is_said_plainly_and_changes_nothing(
    runner: BotRunner, driver: SimDriver
) -> None:
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    await lan.to_photos()
    await lan.press("Không có ảnh ⏭", contains="Bước 5")
    await lan.press(ANONYMOUS, contains="Xem lại")
    await lan.press(SEND, contains="Tin #R-")
    refused = await lan.say("/baotin")
    assert "Bạn đã gửi 1 tin báo trong một giờ qua" in body(refused)
    assert "60 phút" in body(refused) and "113" in body(refused)
    assert await runner.services.tips.draft(lan.user.id) is None
    assert len(await tips_of(runner, lan.user.id)) == 1


async def test_huy_mid_tip_discards_it_and_removes_the_keyboard(
    runner: BotRunner, driver: SimDriver
) -> None:
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    await lan.say("/baotin", contains="Bước 1")
    await lan.press("🔓 Trộm cắp", contains="Bước 2")
    await lan.say(WHAT, contains="Bước 3")
    assert lan.chat.reply_keyboard is not None
    cancelled = await lan.say("/huy")
    assert cancelled.text == "Đã huỷ tin báo. Không có gì được gửi."
    assert cancelled.reply_markup == {"remove_keyboard": True} and lan.chat.reply_keyboard is None
    assert await runner.services.tips.draft(lan.user.id) is None
    again = await lan.say(WHAT)  # nothing is open now: offered as a new tip
    assert "Gửi tin báo cho công an với nội dung này?" in body(again)
    assert await tips_of(runner, lan.user.id) == []


async def test_a_new_conversation_closes_the_tip_with_a_note(
    runner: BotRunner, driver: SimDriver
) -> None:
    officer = await officer_of(runner, driver, DONG_DA)
    police = Resident(driver, officer)
    await police.say("/baotin", contains="Bước 1")
    await police.press("🔓 Trộm cắp", contains="Bước 2")
    await police.say(WHAT, contains="Bước 3")
    note = await police.say("/canhbao")
    assert note.text == "Đã đóng tin báo đang viết dở (chưa gửi)."
    assert police.chat.reply_keyboard is None
    await police.wait(contains="Soạn cảnh báo", after=note.message_id)
    assert await runner.services.tips.draft(officer.id) is None


async def test_a_restart_mid_tip_loses_nothing(runner: BotRunner, driver: SimDriver) -> None:
    lan = Resident(driver, driver.create_user("Bà Lan"))
    await lan.open()
    await lan.say("/baotin", contains="Bước 1")
    await lan.press("💊 Ma túy", contains="Bước 2")
    await lan.say("Có người bán ma túy ở quán nước đầu ngõ.", contains="Bước 3")
    await runner.restart()
    confirm = await lan.share_location(*HERE, contains="Ô Chợ Dừa")
    assert "theo vị trí bạn gửi" in body(confirm)
    await lan.press("✅ Đúng", contains="Bước 4")
    await runner.restart(crash=True)
    await lan.press("Không có ảnh ⏭", contains="Bước 5")
    await lan.press(ANONYMOUS, contains="Xem lại")
    await lan.press(SEND, contains="Tin #R-")
    (tip,) = await tips_of(runner, lan.user.id)
    assert (tip.category, tip.text) == ("drugs", "Có người bán ma túy ở quán nước đầu ngõ.")
    assert (tip.commune_code, tip.lat) == (O_CHO_DUA, HERE[0])


async def test_tincuatoi_lists_the_persons_own_tips_newest_first(
    runner: BotRunner, driver: SimDriver
) -> None:
    svc = runner.services
    lan, other = driver.create_user("Bà Lan"), driver.create_user("Ông Ba")
    resident = Resident(driver, lan)
    await resident.open()
    none = await resident.say("/tincuatoi")
    assert none.text == "Bạn chưa gửi tin báo nào. Gõ /baotin để gửi."
    for person, category, text in (
        (lan.id, "theft", "Mất trộm xe đạp ở sân chung cư."),
        (other.id, "fire", "Khói bốc ra từ nhà kho cuối ngõ."),
        (lan.id, "scam", "Tin nhắn giả ngân hàng đòi mã OTP."),
    ):
        await svc.tips.start(person)
        for event in (
            Choice(category, Step.CATEGORY.value),
            Text(text),
            Location(*HERE),
            Choice("yes", Step.CONFIRM_COMMUNE.value),
            Choice("skip", Step.PHOTOS.value),
            Choice("anonymous", Step.ANONYMITY.value),
            Choice("send", Step.REVIEW.value),
        ):
            await svc.tips.answer(person, event)
    first, second = await tips_of(runner, lan.id)
    listed = await resident.say("/myreports")
    lines = body(listed).splitlines()
    assert lines[0] == "📋 Tin báo bạn đã gửi (mới nhất trước):"
    assert lines[1].startswith(f"• Tin #R-{second.id} · 💸 Lừa đảo · 🆕 Mới · ")
    assert lines[2].startswith(f"• Tin #R-{first.id} · 🔓 Trộm cắp · 🆕 Mới · ")
    assert len(lines) == 3 and "Khói" not in body(listed)
