"""Subscribing a group to its commune or to a residential area of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits, Commune, clean_residential_name, residential_key
from bot.services.chats import ChatRef, ensure_chat
from bot.services.flows import FlowKind, claim_flow
from storage.db import SessionFactory
from storage.models import Area, AreaKind, Subscription
from storage.queries import areas
from storage.queries.chats import get_chat, subscription_of
from storage.types import utcnow

PAGE_SIZE = 6
T = TypeVar("T")


class UnknownArea(Exception):
    """The commune code or residential area id does not exist (a stale or forged button)."""


class InvalidAreaName(Exception):
    """A residential area name is empty, too long or has no letter or digit."""


@dataclass(frozen=True)
class CommuneOption:
    code: str
    label: str


@dataclass(frozen=True)
class ResidentialOption:
    id: int
    name: str


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of options; `page` counts from 0."""

    items: list[T]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class SubscriptionView:
    """A group's subscription as people see it."""

    residential: str | None
    commune: str
    province: str
    commune_code: str
    paused: bool

    @property
    def place(self) -> str:
        """ "Tổ dân phố 5 — Phường Đống Đa — Thành phố Hà Nội" (residential part optional)."""
        parts = [self.residential] if self.residential else []
        return " — ".join([*parts, self.commune, self.province])


def paginate(items: list[T], page: int, size: int = PAGE_SIZE) -> Page[T]:
    """Cut `items` into pages; an out-of-range page is clamped."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return Page(items[page * size : (page + 1) * size], page, pages, len(items))


class SubscriptionService:
    """Search communes, manage residential areas, subscribe and unsubscribe groups."""

    def __init__(self, sessions: SessionFactory, units: AdminUnits) -> None:
        self._sessions = sessions
        self._units = units

    def search_communes(self, query: str, page: int = 0) -> Page[CommuneOption]:
        """Communes matching `query`, best first, as paged options."""
        found = self._units.search(query, limit=60)
        return paginate([CommuneOption(c.code, c.label) for c in found], page)

    def commune(self, code: str) -> Commune:
        """The commune with this official code."""
        commune = self._units.commune(code)
        if commune is None:
            raise UnknownArea(code)
        return commune

    async def residential_areas(self, commune_code: str, page: int = 0) -> Page[ResidentialOption]:
        """Residential areas already created under the commune, by name."""
        async with self._sessions() as session:
            commune = await self._commune_row(session, commune_code)
            found = await areas.residential_areas(session, commune.id)
            options = [ResidentialOption(a.id or 0, a.name) for a in found]
        return paginate(options, page)

    async def create_residential(
        self, commune_code: str, name: str, by_user: int
    ) -> ResidentialOption:
        """Create a residential area under the commune, or return the one with the same name."""
        clean = clean_residential_name(name)
        if clean is None:
            raise InvalidAreaName(name)
        key = residential_key(clean)
        for _ in range(2):  # a concurrent insert of the same name wins; then we read it
            try:
                async with self._sessions() as session, session.begin():
                    commune = await self._commune_row(session, commune_code)
                    found = await areas.residential_by_key(session, commune.id, key)
                    if found is not None:
                        return ResidentialOption(found.id or 0, found.name)
                    area = Area(
                        kind=AreaKind.RESIDENTIAL.value,
                        name=clean,
                        key=key,
                        parent_id=commune.id,
                        province_code=commune.province_code,
                        lat=commune.lat,
                        lon=commune.lon,
                        created_by=by_user,
                    )
                    session.add(area)
                    await session.flush()
                    return ResidentialOption(area.id or 0, area.name)
            except IntegrityError:
                continue
        raise InvalidAreaName(name)

    async def subscribe(
        self,
        ref: ChatRef,
        commune_code: str,
        residential_id: int | None,
        by_user: int,
        flow: str | None = None,
    ) -> SubscriptionView:
        """Subscribe the group (replacing any earlier subscription) and return it.

        `flow`: the token of the picker that chose the area; the flow ends with the change, and
        StaleFlow (nothing changed) if it is no longer the group's current one.
        """
        async with self._sessions() as session, session.begin():
            if flow is not None:
                await claim_flow(session, ref.telegram_id, FlowKind.SUBSCRIPTION, flow)
            commune = await self._commune_row(session, commune_code)
            area = commune
            if residential_id is not None:
                area = await session.get(Area, residential_id) or commune
                if area.parent_id != commune.id or area.kind != AreaKind.RESIDENTIAL.value:
                    raise UnknownArea(str(residential_id))
            await _subscribe(session, ref, commune, area, by_user)
        return self._view(commune_code, area if residential_id is not None else None, paused=False)

    async def subscribe_many(self, groups: Sequence[tuple[ChatRef, str]], by_user: int) -> None:
        """Subscribe many groups, each to a whole commune, in one transaction (seeding, imports)."""
        async with self._sessions() as session, session.begin():
            communes: dict[str, Area] = {}
            for ref, code in groups:
                if code not in communes:
                    communes[code] = await self._commune_row(session, code)
                await _subscribe(session, ref, communes[code], communes[code], by_user)

    async def status(self, telegram_id: int) -> SubscriptionView | None:
        """The group's subscription, if any."""
        async with self._sessions() as session:
            chat = await get_chat(session, telegram_id)
            sub = await subscription_of(session, chat) if chat is not None else None
            return await self._view_of(session, sub) if sub is not None else None

    async def min_severity(self, telegram_id: int) -> str | None:
        """The group's severity filter, or None if it has no subscription."""
        async with self._sessions() as session:
            chat = await get_chat(session, telegram_id)
            sub = await subscription_of(session, chat) if chat is not None else None
        return sub.min_severity if sub is not None else None

    async def set_min_severity(self, telegram_id: int, level: str) -> bool:
        """Set the group's severity filter; False if it has no subscription."""
        async with self._sessions() as session, session.begin():
            chat = await get_chat(session, telegram_id)
            sub = await subscription_of(session, chat) if chat is not None else None
            if sub is None:
                return False
            sub.min_severity, sub.updated_at = level, utcnow()
        return True

    async def unsubscribe(
        self, telegram_id: int, flow: str | None = None
    ) -> SubscriptionView | None:
        """Remove the group's subscription; returns what it was, or None if there was none.

        `flow`: the token of the confirmation pressed; StaleFlow (nothing changed) if it is no
        longer the group's current flow.
        """
        async with self._sessions() as session, session.begin():
            if flow is not None:
                await claim_flow(session, telegram_id, FlowKind.SUBSCRIPTION, flow)
            chat = await get_chat(session, telegram_id)
            sub = await subscription_of(session, chat) if chat is not None else None
            if sub is None:
                return None
            view = await self._view_of(session, sub)
            await session.delete(sub)
        return view

    async def _view_of(self, session: AsyncSession, sub: Subscription) -> SubscriptionView:
        commune = await session.get(Area, sub.commune_id)
        area = await session.get(Area, sub.area_id)
        assert commune is not None and commune.code is not None
        residential = area if area is not None and area.kind == AreaKind.RESIDENTIAL.value else None
        return self._view(commune.code, residential, paused=sub.paused)

    def _view(
        self, commune_code: str, residential: Area | None, *, paused: bool
    ) -> SubscriptionView:
        commune = self.commune(commune_code)
        return SubscriptionView(
            residential=residential.name if residential is not None else None,
            commune=commune.name,
            province=commune.province_name,
            commune_code=commune.code,
            paused=paused,
        )

    async def _commune_row(self, session: AsyncSession, code: str) -> Area:
        commune = await areas.commune_area(session, code)
        if commune is None:
            raise UnknownArea(code)
        return commune


async def _subscribe(
    session: AsyncSession, ref: ChatRef, commune: Area, area: Area, by_user: int
) -> None:
    """Point the group's subscription (made if missing) at `area` of `commune`; resumes it."""
    chat = await ensure_chat(session, ref)
    chat.bot_member = True
    sub = await subscription_of(session, chat)
    if sub is None:
        sub = Subscription(chat_id=chat.id or 0, area_id=0, commune_id=0, province_code="")
        session.add(sub)
    sub.area_id, sub.commune_id = area.id or 0, commune.id or 0
    sub.province_code, sub.paused = commune.province_code, False
    sub.subscribed_by, sub.updated_at = by_user, utcnow()
