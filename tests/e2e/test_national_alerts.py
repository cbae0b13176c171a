"""The ministry's officer (jurisdiction VN) end to end: the whole country after a second
confirmation naming the number of groups, or chosen provinces; forged province buttons are
answered and change nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest_asyncio

from bench.officer import CONFIRM, OfficerAtKeyboard, has_button
from bot.areas import AdminUnits
from bot.container import Services
from bot.delivery import DeliveryConfig
from simulator import BotApiSimulator, Limits, SimDriver
from simulator.models import SimChat, SimMessage
from tests.support.botrunner import BotRunner, settings_for
from tests.support.world import subscribed_groups

DONG_DA = "00235"  # Hà Nội
HAI_PHONG = "31"
WHOLE_COUNTRY = "🇻🇳 Toàn quốc"
X10 = DeliveryConfig(
    global_per_second=300, group_per_minute=200, private_per_second=10, lease_seconds=3
)


@pytest_asyncio.fixture
async def runner(
    sim: BotApiSimulator, database_url: str, units: AdminUnits
) -> AsyncIterator[BotRunner]:
    sim.limits = Limits(global_per_second=300, group_per_minute=200, private_per_second=10)
    bot = BotRunner(settings_for(sim, database_url), units, delivery=X10)
    await bot.start()
    yield bot
    await bot.stop()
    assert sim.violations == [], "the bot made calls Telegram would reject"


def services(runner: BotRunner) -> Services:
    assert runner.app is not None
    found: Services = runner.app.bot_data["services"]
    return found


def copies(sim: BotApiSimulator) -> Counter[int]:
    """How many messages the bot sent into each chat."""
    return Counter(r.chat_id for r in sim.stats.sent if r.method in ("sendMessage", "sendPhoto"))


async def groups_of_two_provinces(
    runner: BotRunner, driver: SimDriver, units: AdminUnits
) -> tuple[list[SimChat], list[SimChat]]:
    admin = driver.create_user("Trưởng thôn")
    sessions = services(runner).sessions
    ha_noi = await subscribed_groups(driver, sessions, units, DONG_DA, 4, admin, "Hà Nội")
    commune = units.communes_of(HAI_PHONG)[0].code
    hai_phong = await subscribed_groups(driver, sessions, units, commune, 3, admin, "Hải Phòng")
    return ha_noi, hai_phong


async def ministry_officer(runner: BotRunner, driver: SimDriver) -> OfficerAtKeyboard:
    user = driver.create_user("Cán bộ Bộ", username="officer_vn")
    await services(runner).officers.grant(0, user.id, "VN", "Đại tá Trần Văn Bình")
    return OfficerAtKeyboard(driver, user)


def reconfirm_button(message: SimMessage) -> str | None:
    return next((b for row in message.buttons for b in row if b.startswith("✅ Gửi tới")), None)


async def test_the_whole_country_is_sent_only_after_the_second_confirmation(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    ha_noi, hai_phong = await groups_of_two_provinces(runner, driver, units)
    officer = await ministry_officer(runner, driver)
    audience = await officer.compose(
        "Cảnh giác ứng dụng dịch vụ công giả mạo.", scope=WHOLE_COUNTRY
    )
    assert "Sẽ gửi đến 7 nhóm" in (audience.text or "")
    preview = driver.bot_messages(officer.chat)[-2]
    assert "Toàn quốc" in (preview.text or "") and "Bộ Công an" in (preview.text or "")

    await driver.press_button(officer.user, officer.chat, CONFIRM, message=audience)
    await driver.wait_for(lambda: reconfirm_button(audience) is not None, timeout=10)
    assert "Gửi tới 7 nhóm trên toàn quốc?" in (audience.text or "")
    assert reconfirm_button(audience) == "✅ Gửi tới 7 nhóm"
    assert not any(copies(sim)[g.id] for g in ha_noi + hai_phong)  # nothing sent yet

    await driver.press_button(officer.user, officer.chat, "✅ Gửi tới 7 nhóm", message=audience)
    number = await officer.sent_number()
    await driver.wait_for(lambda: all(copies(sim)[g.id] for g in ha_noi + hai_phong), timeout=15)
    assert all(copies(sim)[g.id] == 1 for g in ha_noi + hai_phong)
    status = await services(runner).alerts.status(officer.user.id, number)
    assert status.target_label == "Toàn quốc" and status.stats.total == 7
    assert sim.callbacks and all(c.answered for c in sim.callbacks.values())


async def test_chosen_provinces_and_forged_province_buttons(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, units: AdminUnits
) -> None:
    ha_noi, hai_phong = await groups_of_two_provinces(runner, driver, units)
    officer = await ministry_officer(runner, driver)
    await officer.open()
    start = await officer.say("/canhbao")
    assert "địa bàn: Toàn quốc" in (start.text or "")
    await officer.press("🗺 Chọn tỉnh/thành phố")
    listing = await officer.wait(predicate=lambda m: has_button(m, "⬜ Thành phố Hải Phòng"))
    assert has_button(listing, "Xong ✅") and has_button(listing, "⬜ Thành phố Hà Nội")
    data = listing.inline_keyboard[0][0]["callback_data"]
    token = data.split(":")[1]
    for forged in (f"al:{token}:provinces:p:99", f"al:{token}:provinces:p:00235"):
        query = await driver.press_callback_data(officer.user, officer.chat, listing, forged)
        await driver.wait_for(lambda q=query: sim.callbacks[q].answered, timeout=10)  # type: ignore[misc]
        assert "ngoài địa bàn" in sim.callbacks[query].answer.get("text", "")
    done = await driver.press_callback_data(
        officer.user, officer.chat, listing, f"al:{token}:provinces:done"
    )
    await driver.wait_for(lambda: sim.callbacks[done].answered, timeout=10)
    assert "ít nhất một tỉnh" in sim.callbacks[done].answer.get("text", "")
    assert not any("☑️" in b for row in listing.buttons for b in row)  # nothing was chosen

    await officer.press("⬜ Thành phố Hải Phòng")
    await driver.wait_for(lambda: has_button(listing, "☑️ Thành phố Hải Phòng"), timeout=10)
    await officer.press("Xong ✅")
    audience = await officer.finish_draft("Cảnh giác lừa đảo ở Hải Phòng.", severity="🟠 CẢNH BÁO")
    assert "Sẽ gửi đến 3 nhóm" in (audience.text or "")
    await officer.confirm(audience)  # one province: no second question
    await officer.sent_number()
    await driver.wait_for(lambda: all(copies(sim)[g.id] for g in hai_phong), timeout=15)
    assert all(copies(sim)[g.id] == 1 for g in hai_phong)
    assert not any(copies(sim)[g.id] for g in ha_noi)
