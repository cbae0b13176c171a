"""Command menus by scope, as Telegram keeps and resolves them (the real PTB Bot talking HTTP)."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeChatMember,
)
from telegram.error import BadRequest

from simulator import BotApiSimulator, SimDriver
from simulator.methods import menu_of


async def test_a_chat_scope_replaces_the_private_menu_and_deleting_it_restores_it(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    officer, resident = driver.create_user("Cán bộ"), driver.create_user("Người dân")
    await driver.start_private(officer)
    await driver.start_private(resident)
    await bot.set_my_commands([("start", "Giới thiệu")], scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(
        [("start", "About")], scope=BotCommandScopeAllPrivateChats(), language_code="en"
    )
    own = [("start", "Giới thiệu"), ("canhbao", "Soạn cảnh báo")]
    await bot.set_my_commands(own, scope=BotCommandScopeChat(officer.id))

    assert menu_of(sim, officer.id, officer.id) == ["start", "canhbao"]
    assert menu_of(sim, officer.id, officer.id, "en") == ["start", "canhbao"]  # chat wins
    assert menu_of(sim, resident.id, resident.id) == ["start"]
    stored = await bot.get_my_commands(scope=BotCommandScopeChat(officer.id))
    assert [c.command for c in stored] == ["start", "canhbao"]

    assert await bot.delete_my_commands(scope=BotCommandScopeChat(officer.id))
    assert menu_of(sim, officer.id, officer.id) == ["start"]
    assert menu_of(sim, officer.id, officer.id, "en") == ["start"]  # the language's list
    assert await bot.get_my_commands(scope=BotCommandScopeChat(officer.id)) == ()
    assert sim.violations == []


@pytest.mark.parametrize("call", ["set", "get", "delete"])
async def test_a_chat_scope_for_someone_who_never_pressed_start_is_refused(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot, call: str
) -> None:
    stranger = driver.create_user("Chưa bấm Start")
    scope = BotCommandScopeChat(stranger.id)
    with pytest.raises(BadRequest, match="Chat not found"):
        if call == "set":
            await bot.set_my_commands([("start", "Giới thiệu")], scope=scope)
        elif call == "get":
            await bot.get_my_commands(scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([("start", "x")], scope=BotCommandScopeChat(-4_000_000_999))
    await driver.start_private(stranger)
    assert await bot.set_my_commands([("start", "Giới thiệu")], scope=scope)
    assert sim.violations == []


async def test_group_menus_resolve_member_admin_chat_and_default_scopes(
    sim: BotApiSimulator, driver: SimDriver, bot: Bot
) -> None:
    admin, member = driver.create_user("Trưởng thôn"), driver.create_user("Người dân")
    group = driver.create_group("Tổ 5", members=[member], admins=[admin], with_bot=True)
    await bot.set_my_commands([("help", "Trợ giúp")])
    assert menu_of(sim, group.id, member.id) == ["help"]  # only the default is set
    await bot.set_my_commands([("trangthai", "Khu vực")], scope=BotCommandScopeAllGroupChats())
    await bot.set_my_commands([("dangky", "Đăng ký")], scope=BotCommandScopeAllChatAdministrators())
    assert menu_of(sim, group.id, member.id) == ["trangthai"]
    assert menu_of(sim, group.id, admin.id) == ["dangky"]
    await bot.set_my_commands([("caidat", "Cài đặt")], scope=BotCommandScopeChat(group.id))
    assert menu_of(sim, group.id, member.id) == ["caidat"]
    assert menu_of(sim, group.id, admin.id) == ["caidat"]  # the chat's list before all admins'
    await bot.set_my_commands(
        [("huydangky", "Huỷ")], scope=BotCommandScopeChatAdministrators(group.id)
    )
    await bot.set_my_commands(
        [("ngonngu", "Ngôn ngữ")], scope=BotCommandScopeChatMember(group.id, member.id)
    )
    assert menu_of(sim, group.id, admin.id) == ["huydangky"]
    assert menu_of(sim, group.id, member.id) == ["ngonngu"]

    await driver.start_private(admin)
    with pytest.raises(BadRequest, match="private chats"):
        await bot.set_my_commands([("x", "x")], scope=BotCommandScopeChatAdministrators(admin.id))
    stranger = driver.create_user("Người ngoài")
    with pytest.raises(BadRequest, match="User not found"):
        await bot.set_my_commands(
            [("x", "x")], scope=BotCommandScopeChatMember(group.id, stranger.id)
        )
    assert sim.violations == []
