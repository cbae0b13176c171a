"""Superadmins grant officer rights: by area name through the commune picker, or by code."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.areas import AdminUnits
from bot.container import Services
from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimUser
from tests.e2e.test_subscription import DONG_DA, say
from tests.support.botrunner import BotRunner, settings_for

NAME_QUESTION = "Trả lời tin nhắn này bằng họ tên"


@pytest.fixture
def superadmin(driver: SimDriver) -> SimUser:
    return driver.create_user("Quản trị")


@pytest_asyncio.fixture
async def runner(
    sim: BotApiSimulator, database_url: str, units: AdminUnits, superadmin: SimUser
) -> AsyncIterator[BotRunner]:
    # Ten replies a second into one private chat, not Telegram's one: a conversation of a
    # dozen messages would otherwise spend most of the test waiting on the limiter.
    settings = settings_for(
        sim,
        database_url,
        superadmin_ids=frozenset({superadmin.id}),
        delivery_private_per_second=10,
    )
    bot = BotRunner(settings, units)
    await bot.start()
    yield bot
    await bot.stop()
    assert sim.violations == [], "the bot made calls Telegram would reject"
    assert sim.unanswered_callbacks() == []


def services(runner: BotRunner) -> Services:
    assert runner.app is not None
    found: Services = runner.app.bot_data["services"]
    return found


async def choose_dong_da(driver: SimDriver, admin: SimUser, chat: SimChat, officer: int) -> None:
    """/capquyen ID, the area by name, Phường Đống Đa; leaves the name question open."""
    ask = await say(driver, admin, chat, f"/capquyen {officer}")
    assert ask.force_reply and str(officer) in (ask.text or "")
    picker = await say(driver, admin, chat, "dong da", reply_to=ask)
    assert picker.buttons[0] == [DONG_DA]
    await driver.press_button(admin, chat, DONG_DA, message=picker)
    await driver.wait_for(lambda: "Bỏ qua ⏭" in str(picker.buttons))
    assert DONG_DA in (picker.text or "")


async def test_grant_by_area_name_then_officer_name(
    runner: BotRunner, driver: SimDriver, superadmin: SimUser
) -> None:
    officer = driver.create_user("An")
    chat = await driver.start_private(superadmin)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    await choose_dong_da(driver, superadmin, chat, officer.id)
    name_prompt = await driver.wait_for_bot_message(
        chat, contains="Trả lời tin nhắn này bằng họ tên"
    )
    assert name_prompt.force_reply

    granted = await say(driver, superadmin, chat, "Thiếu tá Nguyễn Văn An", reply_to=name_prompt)
    assert granted.text == (
        f"✅ {officer.id} (Thiếu tá Nguyễn Văn An) là cán bộ của Phường Đống Đa — Thành phố Hà Nội."
    )
    view = await services(runner).officers.officer(officer.id)
    assert view is not None and view.jurisdiction.code == "00235"
    assert view.name == "Thiếu tá Nguyễn Văn An"
    assert "Bỏ qua" not in str([m.buttons for m in driver.bot_messages(chat)])  # flow closed


async def test_grant_skipping_the_name_and_the_list_has_no_gap(
    runner: BotRunner, driver: SimDriver, superadmin: SimUser
) -> None:
    named, unnamed = driver.create_user("An"), driver.create_user("Bình")
    chat = await driver.start_private(superadmin)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    by_code = await say(driver, superadmin, chat, f"/capquyen {named.id} 00004 Đại úy Lê Văn B")
    assert "Đại úy Lê Văn B" in (by_code.text or "")  # the code form keeps working

    await choose_dong_da(driver, superadmin, chat, unnamed.id)
    await driver.press_button(superadmin, chat, "Bỏ qua ⏭")
    await driver.wait_for(lambda: any("(—)" in (m.text or "") for m in driver.bot_messages(chat)))
    view = await services(runner).officers.officer(unnamed.id)
    assert view is not None and view.name is None and view.jurisdiction.code == "00235"

    listing = (await say(driver, superadmin, chat, "/canbo")).text or ""
    assert f"• {named.id} Đại úy Lê Văn B — Phường Ba Đình — Thành phố Hà Nội" in listing
    assert f"• {unnamed.id} — Phường Đống Đa — Thành phố Hà Nội" in listing
    assert "  " not in listing


async def test_a_new_grant_replaces_the_open_one_and_others_are_refused(
    runner: BotRunner, sim: BotApiSimulator, driver: SimDriver, superadmin: SimUser
) -> None:
    first, second = driver.create_user("An"), driver.create_user("Bình")
    chat = await driver.start_private(superadmin)
    await driver.wait_for_bot_message(chat, contains="Canh Gác")
    await choose_dong_da(driver, superadmin, chat, first.id)
    old_name_prompt = await driver.wait_for_bot_message(chat, contains=NAME_QUESTION)
    skip_message = next(m for m in driver.bot_messages(chat) if "Bỏ qua ⏭" in str(m.buttons))
    await say(driver, superadmin, chat, f"/capquyen {second.id}")
    await driver.wait_for(lambda: skip_message.buttons == [])
    assert skip_message.text == "⌛ Lựa chọn này đã cũ."
    # The private chat has one open question, the new flow's: a late answer to the old one
    # goes there (read as an area's name) and grants nothing.
    late = await say(driver, superadmin, chat, "Nguyễn Văn An", reply_to=old_name_prompt)
    assert "Không tìm thấy xã, phường nào khớp với «Nguyễn Văn An»" in (late.text or "")
    assert await services(runner).officers.officer(first.id) is None

    stranger = driver.create_user("Người lạ")
    private = await driver.start_private(stranger)
    await driver.wait_for_bot_message(private, contains="Canh Gác")
    refused = await say(driver, stranger, private, f"/capquyen {stranger.id}")
    assert "Chỉ quản trị hệ thống" in (refused.text or "")
    assert await services(runner).officers.officer(stranger.id) is None
