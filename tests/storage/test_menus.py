"""Who gets their own command menu, with which commands and in which language."""

from __future__ import annotations

import pytest

from bot.areas import AdminUnits
from bot.services.chats import ChatRef, ChatService, Person
from bot.services.menus import MenuService
from bot.services.officers import OfficerService
from storage.db import SessionFactory

SUPERADMIN, OFFICER, REVOKED, RESIDENT = 42, 5_000_000_001, 5_000_000_002, 5_000_000_003
SUPERADMIN_OFFICER = 43
PRIVATE = ["start", "help", "tip", "my_tips", "language", "digest", "cancel"]


@pytest.fixture
async def menus(sessions: SessionFactory, small_units: AdminUnits) -> MenuService:
    superadmins = frozenset({SUPERADMIN, SUPERADMIN_OFFICER})
    officers = OfficerService(sessions, small_units, superadmins)
    for person in (OFFICER, REVOKED, SUPERADMIN_OFFICER):
        await officers.grant(SUPERADMIN, person, "00235")
    await officers.revoke(SUPERADMIN, REVOKED)
    chats = ChatService(sessions, "vi")
    await chats.person_started(Person(OFFICER, language_code="en"))
    await chats.set_language(ChatRef(SUPERADMIN, "private"), "en")
    return MenuService(sessions, chats, superadmins)


@pytest.mark.parametrize(
    ("person", "user_language", "expected"),
    [
        pytest.param(RESIDENT, None, None, id="a resident has none"),
        pytest.param(
            OFFICER,
            None,
            ("en", [*PRIVATE[:6], "alert", "triage", "stats", "export", "cancel"]),
            id="officer",
        ),
        pytest.param(
            OFFICER,
            "vi",
            ("vi", [*PRIVATE[:6], "alert", "triage", "stats", "export", "cancel"]),
            id="client vi",
        ),
        pytest.param(REVOKED, None, ("vi", []), id="revoked: back to everyone's"),
        pytest.param(
            SUPERADMIN, None, ("en", [*PRIVATE, "grant", "revoke", "officers"]), id="superadmin"
        ),
        pytest.param(
            SUPERADMIN_OFFICER,
            None,
            (
                "vi",
                [
                    *PRIVATE[:6],
                    "alert",
                    "triage",
                    "stats",
                    "export",
                    "cancel",
                    "grant",
                    "revoke",
                    "officers",
                ],
            ),
            id="both",
        ),
    ],
)
async def test_own_menu(
    menus: MenuService,
    person: int,
    user_language: str | None,
    expected: tuple[str, list[str]] | None,
) -> None:
    menu = await menus.of(person, user_language)
    found = (menu.language, [c.key for c in menu.commands]) if menu else None
    assert found == expected


async def test_everyone_with_an_own_menu_and_log_refs_without_chat_ids(menus: MenuService) -> None:
    found = {m.telegram_id: m for m in await menus.everyone()}
    assert set(found) == {SUPERADMIN, SUPERADMIN_OFFICER, OFFICER, REVOKED}
    assert found[OFFICER].ref.startswith("officer #")
    assert all(str(m.telegram_id) not in m.ref for m in found.values())
