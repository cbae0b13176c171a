"""The statistics of a fixture week whose figures are worked out by hand below, on SQLite and
PostgreSQL.

The week is Monday 23 to Sunday 29 November 2026 in Asia/Ho_Chi_Minh; the figures are asked on
Tuesday 1 December. Hà Nội (01) has these groups:

  Đống Đa (00235): G1, G2, G3 (the whole ward), G4 (Tổ dân phố 5), G7 (bot removed: paused)
  Ba Đình (00004): G5, G6, G8 (G8 subscribed on the Monday of the week, 07:00)

Alerts (copies delivered a minute after sending; acknowledgements in minutes after delivery):

  A0 prev. Wed 09:00  info     scam   Đống Đa          G1..G4   G1 +6, G3 +12
  A1 Tue 10:00        urgent   theft  Đống Đa          G1..G4   G1 +10, G2 +30
  A2 Thu 09:00        warning  scam   Hà Nội           G1..G6,G8 G1 +5, G2 +20, G4 +50, G5 +40
  A3 Sat 15:00        info     scam   Tổ dân phố 5     G1..G4   G4 +15
  A4 Mon 08:00        warning  theft  Ba Đình          G5,G6,G8 G5 +8
  A5 Wed 09:00        urgent   fire   Hải Phòng        (another province)
  A6 next Mon 09:00   urgent   fire   Đống Đa          (after the week)

Tips (deadlines: 30 minutes for drugs/fire/suspicious/disorder, else 24 hours; answered =
acknowledged or closed):

  T0 prev. Tue 10:00 Đống Đa  theft    acknowledged +120 min
  T1 Mon 09:00   Đống Đa   theft    acknowledged +180, resolved, valuable
  T2 Tue 20:00   Đống Đa   drugs    acknowledged +60            -> overdue (urgent: 30)
  T3 Wed 08:00   Đống Đa   scam     never answered              -> overdue (Thu 08:00)
  T4 Sun 20:00   Đống Đa   scam     never answered              -> due Mon 20:00, after the week
  T5 Thu 10:00   Đống Đa   other    rejected +30 (not acknowledged)
  T6 Fri 09:00   Tổ dân phố 5 theft acknowledged +20, valuable
  T7 Tue 10:00   Ba Đình   fire     acknowledged +10, resolved
  T8 Mon 10:00   Ngọc Hà   theft    never answered              -> overdue
  T9, T10 Mon    Giảng Võ  theft    never answered              -> overdue
  T11 Tue        Hải Phòng (another province)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.areas import AdminUnits
from bot.services.stats import (
    Acks,
    Period,
    PeriodName,
    Scope,
    StatisticsService,
    TipFigures,
)
from bot.services.tip_types import TipConfig
from storage.db import SessionFactory
from storage.models import (
    Area,
    AreaKind,
    Chat,
    TipState,
)
from storage.queries.areas import area_by_code, commune_area
from tests.support.seeding import delivered_copy, sent_alert, subscribed_group, tip

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DONG_DA, BA_DINH, NGOC_HA, GIANG_VO, HA_NOI = "00235", "00004", "00008", "00025", "01"
HAI_PHONG = "31"
MONDAY = datetime(2026, 11, 23, tzinfo=TZ)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
LONG_AGO = datetime(2026, 9, 1, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Day 0 is the Monday of the week (negative: the week before), local time."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


@dataclass
class World:
    sessions: SessionFactory
    areas: dict[str, Area] = field(default_factory=dict)
    chats: dict[str, Chat] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    residential: Area | None = None


async def _areas(world: World) -> None:
    async with world.sessions() as session, session.begin():
        for code in (DONG_DA, BA_DINH, NGOC_HA, GIANG_VO):
            area = await commune_area(session, code)
            assert area is not None
            world.areas[code] = area
        for code in (HA_NOI, HAI_PHONG):
            found = await area_by_code(session, code, AreaKind.PROVINCE)
            assert found is not None
            world.areas[code] = found
        dong_da = world.areas[DONG_DA]
        world.residential = Area(
            kind=AreaKind.RESIDENTIAL.value,
            name="Tổ dân phố 5",
            key="to dan pho 5",
            parent_id=dong_da.id,
            province_code=HA_NOI,
        )
        session.add(world.residential)


async def _groups(world: World) -> None:
    assert world.residential is not None
    plan = {
        "G1": (DONG_DA, None, LONG_AGO, True),
        "G2": (DONG_DA, None, LONG_AGO, True),
        "G3": (DONG_DA, None, LONG_AGO, True),
        "G4": (DONG_DA, world.residential.id, LONG_AGO, True),
        "G7": (DONG_DA, None, LONG_AGO, False),
        "G5": (BA_DINH, None, LONG_AGO, True),
        "G6": (BA_DINH, None, LONG_AGO, True),
        "G8": (BA_DINH, None, at(0, 7), True),
    }
    async with world.sessions() as session, session.begin():
        for n, (name, (code, area_id, since, present)) in enumerate(plan.items()):
            world.chats[name] = await subscribed_group(
                session,
                -4_100_000_000 - n,
                name,
                world.areas[code],
                since,
                area_id=area_id,
                present=present,
            )


ALERTS = {
    # name: (sent, severity, category, target area code or "TDP5", groups, {group: minutes})
    "A0": (at(-5, 9), "info", "scam", DONG_DA, "G1 G2 G3 G4", {"G1": 6, "G3": 12}),
    "A1": (at(1, 10), "urgent", "theft", DONG_DA, "G1 G2 G3 G4", {"G1": 10, "G2": 30}),
    "A2": (
        at(3, 9),
        "warning",
        "scam",
        HA_NOI,
        "G1 G2 G3 G4 G5 G6 G8",
        {"G1": 5, "G2": 20, "G4": 50, "G5": 40},
    ),
    "A3": (at(5, 15), "info", "scam", "TDP5", "G1 G2 G3 G4", {"G4": 15}),
    "A4": (at(0, 8), "warning", "theft", BA_DINH, "G5 G6 G8", {"G5": 8}),
    "A5": (at(2, 9), "urgent", "fire", HAI_PHONG, "", {}),
    "A6": (at(7, 9), "urgent", "fire", DONG_DA, "G1", {"G1": 1}),
}


async def _alerts(world: World) -> None:
    assert world.residential is not None
    async with world.sessions() as session, session.begin():
        for name, (sent, severity, category, target, groups, acks) in ALERTS.items():
            area = world.residential if target == "TDP5" else world.areas[target]
            world.alerts[name] = alert = await sent_alert(
                session, name, sent, area, severity=severity, category=category
            )
            for group in groups.split():
                delivered_copy(
                    session, world.chats[group], alert, sent, acknowledged_after=acks.get(group)
                )


TIPS = [
    # (commune, category, created, acknowledged after, closed after, state, valuable, residential)
    (DONG_DA, "theft", at(-6, 10), 120, None, "acknowledged", False, False),
    (DONG_DA, "theft", at(0, 9), 180, 300, "resolved", True, False),
    (DONG_DA, "drugs", at(1, 20), 60, None, "acknowledged", False, False),
    (DONG_DA, "scam", at(2, 8), None, None, "new", False, False),
    (DONG_DA, "scam", at(6, 20), None, None, "new", False, False),
    (DONG_DA, "other", at(3, 10), None, 30, "rejected", False, False),
    (DONG_DA, "theft", at(4, 9), 20, None, "acknowledged", True, True),
    (BA_DINH, "fire", at(1, 10), 10, 40, "resolved", False, False),
    (NGOC_HA, "theft", at(0, 10), None, None, "new", False, False),
    (GIANG_VO, "theft", at(0, 11), None, None, "new", False, False),
    (GIANG_VO, "theft", at(0, 12), None, None, "new", False, False),
    ("10888", "theft", at(1, 12), None, None, "new", False, False),
]


async def _tips(world: World) -> None:
    assert world.residential is not None
    async with world.sessions() as session, session.begin():
        for n, (code, category, created, acked, closed, state, valuable, residential) in enumerate(
            TIPS
        ):
            acknowledged_at = created + timedelta(minutes=acked) if acked is not None else None
            closed_at = created + timedelta(minutes=closed) if closed is not None else None
            tip(
                session,
                f"tip{n}",
                code,
                HAI_PHONG if code == "10888" else HA_NOI,
                created,
                category=category,
                state=state,
                valuable=valuable,
                area_source="group" if residential else "chosen",
                source_area_id=world.residential.id if residential else None,
                acknowledged_at=acknowledged_at,
                resolved_at=closed_at if state == TipState.RESOLVED.value else None,
                closed_at=closed_at,
            )


@pytest.fixture
async def world(sessions: SessionFactory) -> World:
    built = World(sessions)
    await _areas(built)
    await _groups(built)
    await _alerts(built)
    await _tips(built)
    return built


@pytest.fixture
def stats(sessions: SessionFactory, small_units: AdminUnits) -> StatisticsService:
    return StatisticsService(sessions, small_units, TipConfig(), TZ)


def week(stats: StatisticsService) -> Period:
    period = stats.period(PeriodName.WEEK, NOW)
    assert period == Period(MONDAY, MONDAY + timedelta(days=7))
    return period


async def test_a_commune_week(world: World, stats: StatisticsService) -> None:
    figures = await stats.figures(Scope.commune(DONG_DA), week(stats), NOW)
    assert figures.area == "Phường Đống Đa — Thành phố Hà Nội"
    assert figures.by_severity == (("urgent", 1), ("warning", 1), ("info", 1))
    assert figures.by_category == (("scam", 2), ("theft", 1))
    # Copies: A1, A2, A3 to G1..G4 = 12; acknowledged 10, 30, 5, 20, 50, 15 minutes after.
    assert figures.current.acks == Acks(12, 6, 17.5)
    assert figures.current.acks.share == 0.5
    assert figures.current.active_groups == 4  # G7 is paused
    # T1..T6: valuable T1, T6; resolved T1; rejected T5; overdue T2 (urgent), T3; answers after
    # 180, 60, 30, 20 minutes.
    assert figures.current.tips == TipFigures(6, 2, 1, 1, 2, 45.0)
    assert figures.top_tip_categories == (("scam", 2), ("theft", 2), ("drugs", 1))
    alerts = {a.id: a for a in figures.alerts}
    assert [a.id for a in figures.alerts] == [world.alerts[n] for n in ("A1", "A2", "A3")]
    assert alerts[world.alerts["A1"]].acks == Acks(4, 2, 20.0)
    assert alerts[world.alerts["A2"]].acks == Acks(4, 3, 20.0)
    assert alerts[world.alerts["A3"]].acks == Acks(4, 1, 15.0)
    assert alerts[world.alerts["A1"]].severity == "urgent"


async def test_change_against_the_previous_week(world: World, stats: StatisticsService) -> None:
    figures = await stats.figures(Scope.commune(DONG_DA), week(stats), NOW)
    assert figures.previous_period == Period(MONDAY - timedelta(days=7), MONDAY)
    # A0: 4 copies, G1 after 6 and G3 after 12 minutes; T0 answered after 120 minutes.
    assert figures.previous.alerts == 1
    assert figures.previous.acks == Acks(4, 2, 9.0)
    assert figures.previous.tips == TipFigures(1, 0, 0, 0, 0, 120.0)
    assert figures.previous.active_groups == 4
    assert figures.change("alerts") == 2
    assert figures.change("acks.share") == 0
    assert figures.change("acks.median_minutes") == 8.5
    assert figures.change("tips.received") == 5
    assert figures.change("tips.overdue") == 2
    assert not figures.empty


async def test_groups_and_who_needs_checking(world: World, stats: StatisticsService) -> None:
    figures = await stats.figures(Scope.commune(BA_DINH), week(stats), NOW)
    groups = {g.title: g for g in figures.groups}
    assert sorted(groups) == ["G5", "G6", "G8"]
    assert groups["G5"].acks == Acks(2, 2, 24.0)
    assert groups["G6"].acks == Acks(2, 0, None)
    assert groups["G8"].acks == Acks(2, 0, None)
    # G6 got A2 and A4 and pressed nothing for four weeks; G8 is too new to judge.
    assert [g.title for g in figures.needs_check] == ["G6"]
    assert figures.current.acks == Acks(6, 2, 24.0)
    assert figures.current.tips == TipFigures(1, 0, 1, 0, 0, 10.0)
    assert (figures.current.active_groups, figures.previous.active_groups) == (3, 2)
    dong_da = await stats.figures(Scope.commune(DONG_DA), week(stats), NOW)
    assert dong_da.needs_check == ()  # G3 acknowledged A0 in the previous week
    per_group = {
        g.title: (g.acks.acknowledged, g.acks.median_minutes, g.tips) for g in dong_da.groups
    }
    # G1..G3 subscribe to the whole ward (its six tips), G4 to Tổ dân phố 5 (T6).
    assert per_group == {
        "G1": (2, 7.5, 6),
        "G2": (2, 25.0, 6),
        "G3": (0, None, 6),
        "G4": (2, 32.5, 1),
    }


async def test_a_residential_area_and_a_group(world: World, stats: StatisticsService) -> None:
    assert world.residential is not None and world.residential.id is not None
    area = await stats.figures(Scope.residential(world.residential.id), week(stats), NOW)
    assert area.area == "Tổ dân phố 5 — Phường Đống Đa — Thành phố Hà Nội"
    assert area.current.alerts == 3  # the ward's A1, the city's A2 and its own A3
    assert area.current.acks == Acks(3, 2, 32.5)
    assert area.current.tips == TipFigures(1, 1, 0, 0, 0, 20.0)
    assert [g.title for g in area.groups] == ["G4"]
    g1 = await stats.figures(Scope.group(world.chats["G1"].telegram_id), week(stats), NOW)
    assert g1.current.alerts == 3 and g1.current.acks == Acks(3, 2, 7.5)
    assert g1.current.tips.received == 6 and g1.current.active_groups == 1
    assert g1.area == "Phường Đống Đa — Thành phố Hà Nội"
    assert await stats.group_scope(world.chats["G4"].telegram_id) == Scope.group(
        world.chats["G4"].telegram_id
    )
    assert await stats.group_scope(-1) is None


async def test_a_province_with_its_communes(world: World, stats: StatisticsService) -> None:
    figures = await stats.figures(Scope.province(HA_NOI), week(stats), NOW)
    assert figures.area == "Thành phố Hà Nội"
    assert figures.current.alerts == 4  # A1..A4; A5 is Hải Phòng's
    assert figures.by_severity == (("urgent", 1), ("warning", 2), ("info", 1))
    # 18 copies, 8 acknowledged after 5, 8, 10, 15, 20, 30, 40, 50 minutes.
    assert figures.current.acks == Acks(18, 8, 17.5)
    assert figures.current.active_groups == 7
    # T1..T10: answered after 180, 60, 30, 20, 10; overdue T2, T3, T8, T9, T10.
    assert figures.current.tips == TipFigures(10, 2, 2, 1, 5, 30.0)
    communes = {c.code: c for c in figures.communes}
    assert len(communes) == 126
    assert communes[DONG_DA].active_groups == 4 and communes[DONG_DA].alerts == 3
    assert communes[DONG_DA].acks == Acks(12, 6, 17.5)
    assert communes[DONG_DA].tips == TipFigures(6, 2, 1, 1, 2, 45.0)
    assert communes[BA_DINH].alerts == 2 and communes[BA_DINH].acks == Acks(6, 2, 24.0)
    assert communes[NGOC_HA].alerts == 1  # the city-wide A2
    assert communes[NGOC_HA].active_groups == 0 and communes[NGOC_HA].acks == Acks()
    # Lowest share first (Ba Đình 1/3, Đống Đa 1/2), then most overdue tips (Giảng Võ 2, Ngọc Hà 1).
    assert [c.code for c in figures.attention] == [BA_DINH, DONG_DA, GIANG_VO, NGOC_HA]
    assert [g.title for g in figures.needs_check] == ["G6"]


async def test_the_communes_table_for_an_export(world: World, stats: StatisticsService) -> None:
    period = week(stats)
    one = await stats.communes(period, DONG_DA, NOW)
    assert [(c.code, c.alerts, c.acks, c.tips.overdue) for c in one] == [
        (DONG_DA, 3, Acks(12, 6, 17.5), 2)
    ]
    everywhere = {c.code: c for c in await stats.communes(period, None, NOW)}
    assert everywhere["10888"].alerts == 1 and everywhere["10888"].tips.received == 1
    assert everywhere[BA_DINH].active_groups == 3


async def test_an_empty_week(world: World, stats: StatisticsService) -> None:
    quiet = Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC))
    figures = await stats.figures(Scope.province(HA_NOI), quiet, NOW)
    assert figures.empty and figures.current.acks == Acks() and figures.alerts == ()
    assert figures.current.active_groups == 0 and figures.attention == ()
    assert figures.change("acks.share") is None


async def test_the_days_of_a_week(world: World, stats: StatisticsService) -> None:
    days = await stats.daily(Scope.commune(DONG_DA), week(stats), NOW)
    assert [(d.day.isoformat(), d.alerts, d.tips) for d in days] == [
        ("2026-11-23", 0, (("theft", 1),)),
        ("2026-11-24", 1, (("drugs", 1),)),  # A1
        ("2026-11-25", 0, (("scam", 1),)),
        ("2026-11-26", 1, (("other", 1),)),  # A2, the city's
        ("2026-11-27", 0, (("theft", 1),)),  # T6, from Tổ dân phố 5
        ("2026-11-28", 1, ()),  # A3
        ("2026-11-29", 0, (("scam", 1),)),
    ]
