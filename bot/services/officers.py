"""Officers and their jurisdiction (a commune, a whole province or, for the ministry, the whole
country), and the audit log."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits, Commune, Province
from storage.db import SessionFactory
from storage.models import AuditEntry, Officer, User
from storage.types import utcnow

log = logging.getLogger(__name__)
CLI_ACTOR = 0  # the audit log's actor for changes made with the `canhgac` command line
COUNTRY_CODE = "VN"  # the ministry's jurisdiction: every province
COUNTRY_NAME = "Toàn quốc"  # as alert copies name the area (catalogues: "jurisdiction.country")
MINISTRY = "Bộ Công an"  # the issuing unit of the ministry's alerts


class UnknownJurisdiction(Exception):
    """The area code is neither the country's, a province's nor a commune's code."""


@dataclass(frozen=True)
class Jurisdiction:
    """Where an officer may send alerts."""

    kind: str  # "country", "province" or "commune"
    code: str
    name: str
    province_code: str  # "" for the country
    label: str

    @property
    def national(self) -> bool:
        """The ministry's jurisdiction: the whole country."""
        return self.kind == "country"

    def covers(self, commune: Commune) -> bool:
        """Whether the commune lies inside this jurisdiction."""
        if self.kind == "country":
            return True
        if self.kind == "province":
            return commune.province_code == self.code
        return commune.code == self.code


@dataclass(frozen=True)
class OfficerView:
    telegram_id: int
    name: str | None
    jurisdiction: Jurisdiction
    active: bool

    @property
    def issuer(self) -> str:
        """The issuing unit shown under alerts: "Công an Phường Đống Đa", "Bộ Công an"."""
        if self.jurisdiction.national:
            return MINISTRY
        return f"Công an {self.jurisdiction.name}"


def jurisdiction_of(units: AdminUnits, code: str) -> Jurisdiction:
    """The jurisdiction named by "VN" (the whole country) or an official province or commune
    code."""
    if code.upper() == COUNTRY_CODE:
        return Jurisdiction("country", COUNTRY_CODE, COUNTRY_NAME, "", COUNTRY_NAME)
    unit = units.province(code) or units.commune(code)
    if isinstance(unit, Province):
        return Jurisdiction("province", unit.code, unit.name, unit.code, unit.name)
    if isinstance(unit, Commune):
        return Jurisdiction("commune", unit.code, unit.name, unit.province_code, unit.label)
    raise UnknownJurisdiction(code)


async def record_audit(
    session: AsyncSession,
    actor: int,
    action: str,
    target: str,
    recipients: int | None = None,
    detail: str = "",
) -> None:
    """Add an audit entry inside the caller's transaction."""
    session.add(
        AuditEntry(
            actor_telegram_id=actor,
            action=action,
            target=target[:255],
            recipients=recipients,
            detail=detail[:1024],
        )
    )


class OfficerService:
    """Grants, revokes and looks up officers; superadmins come from the settings."""

    def __init__(self, sessions: SessionFactory, units: AdminUnits, superadmins: frozenset[int]):
        self._sessions = sessions
        self._units = units
        self._superadmins = superadmins

    def is_superadmin(self, telegram_id: int) -> bool:
        return telegram_id in self._superadmins

    async def officer(self, telegram_id: int) -> OfficerView | None:
        """The active officer with this Telegram id, if any."""
        async with self._sessions() as session:
            row = await _officer_row(session, telegram_id)
        if row is None or not row.active:
            return None
        return self._view(row)

    async def grant(
        self, actor: int, telegram_id: int, area_code: str, name: str | None = None
    ) -> OfficerView:
        """Make (or update) an officer with this jurisdiction."""
        jurisdiction = jurisdiction_of(self._units, area_code.strip())
        async with self._sessions() as session, session.begin():
            row = await _officer_row(session, telegram_id)
            if row is None:
                row = Officer(telegram_id=telegram_id, area_code=jurisdiction.code)
                session.add(row)
            row.area_code, row.active, row.granted_by = jurisdiction.code, True, actor
            row.name, row.updated_at = (name or row.name), utcnow()
            await record_audit(
                session, actor, "officer_granted", f"{telegram_id}", detail=jurisdiction.label
            )
            await session.flush()  # a new row gets its id
            by = await _actor_ref(session, actor)
        log.info(
            "officer row #%s granted for %s %s by %s",
            row.id,
            jurisdiction.kind,
            jurisdiction.code,
            by,
        )
        return self._view(row)

    async def revoke(self, actor: int, telegram_id: int) -> bool:
        """Take the officer rights away; False if the person was not an officer."""
        async with self._sessions() as session, session.begin():
            row = await _officer_row(session, telegram_id)
            if row is None or not row.active:
                return False
            row.active, row.updated_at = False, utcnow()
            await record_audit(session, actor, "officer_revoked", f"{telegram_id}")
            by = await _actor_ref(session, actor)
        log.info("officer row #%s revoked by %s", row.id, by)
        return True

    async def all(self) -> list[OfficerView]:
        """Every active officer, by jurisdiction code."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(Officer).where(col(Officer.active)).order_by(col(Officer.area_code))
            )
            return [self._view(row) for row in rows]

    def _view(self, row: Officer) -> OfficerView:
        return OfficerView(
            row.telegram_id, row.name, jurisdiction_of(self._units, row.area_code), row.active
        )


async def _officer_row(session: AsyncSession, telegram_id: int) -> Officer | None:
    result = await session.exec(select(Officer).where(col(Officer.telegram_id) == telegram_id))
    return result.first()


async def _actor_ref(session: AsyncSession, actor: int) -> str:
    """Who acted, for the log: the command line or a user row id (never a Telegram id)."""
    if actor == CLI_ACTOR:
        return "cli"
    result = await session.exec(select(User.id).where(col(User.telegram_id) == actor))
    row_id = result.first()
    return f"user row #{row_id}" if row_id is not None else "a superadmin without a user row"
