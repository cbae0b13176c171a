"""Officer rights granted or revoked leave one INFO line for the operator: row ids only, never a
Telegram id, a name or a place name typed by someone."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.services.officers import CLI_ACTOR, OfficerService
from storage.db import SessionFactory
from storage.models import Officer, User

SUPERADMIN = 5_000_000_042
WITHOUT_ROW = 5_000_000_043
OFFICER = 5_000_000_100
LOGGER = "bot.services.officers"


async def user_row(sessions: SessionFactory, telegram_id: int, first_name: str) -> int:
    async with sessions() as session, session.begin():
        user = User(telegram_id=telegram_id, first_name=first_name)
        session.add(user)
        await session.flush()
        assert user.id is not None
        return user.id


async def officer_row(sessions: SessionFactory) -> int:
    async with sessions() as session:
        row = (await session.exec(select(Officer).where(col(Officer.telegram_id) == OFFICER))).one()
        assert row.id is not None
        return row.id


@pytest.mark.parametrize(
    ("actor", "area", "granted_for", "by"),
    [
        (CLI_ACTOR, "00235", "commune 00235", "cli"),
        (SUPERADMIN, "01", "province 01", "user row #{superadmin_row}"),
        (WITHOUT_ROW, "00235", "commune 00235", "a superadmin without a user row"),
    ],
)
async def test_grant_and_revoke_are_logged_with_row_ids_only(
    sessions: SessionFactory,
    small_units: AdminUnits,
    caplog: pytest.LogCaptureFixture,
    actor: int,
    area: str,
    granted_for: str,
    by: str,
) -> None:
    superadmin_row = await user_row(sessions, SUPERADMIN, "Lan")
    await user_row(sessions, OFFICER, "Hùng")
    officers = OfficerService(sessions, small_units, frozenset({SUPERADMIN, WITHOUT_ROW}))
    by = by.format(superadmin_row=superadmin_row)

    with caplog.at_level(logging.INFO, logger=LOGGER):
        await officers.grant(actor, OFFICER, area, "Đại úy Nguyễn Văn C")
        row = await officer_row(sessions)
        assert await officers.revoke(actor, OFFICER)
        assert not await officers.revoke(actor, OFFICER)  # nothing done, nothing said

    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert lines == [
        f"officer row #{row} granted for {granted_for} by {by}",
        f"officer row #{row} revoked by {by}",
    ]
    for private in (str(OFFICER), str(SUPERADMIN), str(WITHOUT_ROW), "Nguyễn", "Lan", "Hùng"):
        assert private not in caplog.text
