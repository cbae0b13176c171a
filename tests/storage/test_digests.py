"""Weekly digests on real databases (SQLite, and PostgreSQL when reachable): who gets what,
sent once at its time by the durable scheduler driven with a controllable clock, late within
the grace window or skipped after it, once with two processes, charts and tables after their
text, groups' own times, people's own switch, and requests.

The world: Hà Nội's Phường Đống Đa has groups G1 (admins Lan and Bình), G2 (Lan), G4 (Lan,
also posted in the group), G5 (Lan, Wednesdays 10:00) and G6 (Lan, digest off); Phường Ba Đình
has G3 (Cúc). Lan and Cúc opened the bot, Bình never did, Cúc turned the digest off. An is
Đống Đa's officer, Phương the province's. In the week of 23 November 2026 one alert went to
Đống Đa (G1 and G2 got it, G1 pressed Đã nhận) and two tips came from Đống Đa, one valuable.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.areas import AdminUnits
from bot.i18n import load_catalog
from bot.scheduling import DurableScheduler, Job
from bot.services.area_sync import sync_admin_units
from bot.services.digest_figures import StatsFigures
from bot.services.digest_types import (
    CHART_KIND,
    CUSTOM_JOB,
    DIGEST_KIND,
    FOLLOW_JOB,
    NOTE_KIND,
    TABLE_KIND,
    WEEKLY_JOB,
    Audience,
    DigestConfig,
    Slot,
)
from bot.services.digests import PRIORITY, REQUEST_PRIORITY, DigestService
from bot.services.stats import StatisticsService
from bot.services.tip_types import TipConfig
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from storage.models import (
    Chat,
    Delivery,
    Digest,
    DigestGroupSetting,
    DigestOptOut,
    DigestRun,
    JobStatus,
    Officer,
    ScheduledJob,
    User,
)
from storage.queries.areas import commune_area
from tests.support.databases import postgres_schema, require_postgres
from tests.support.seeding import delivered_copy, sent_alert, subscribed_group, tip

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DONG_DA, BA_DINH, HA_NOI = "00235", "00004", "01"
T0 = datetime(2026, 11, 25, 10, tzinfo=TZ)  # Wednesday
MONDAY_8 = datetime(2026, 11, 30, 8, tzinfo=TZ)  # the first weekly digest
NEXT_MONDAY_8 = MONDAY_8 + timedelta(days=7)
LAN, BINH, CUC, AN, PHUONG = (
    5_000_000_001,
    5_000_000_002,
    5_000_000_003,
    5_000_000_004,
    5_000_000_005,
)
GROUPS = {
    # title: (commune, admins, settings)
    "G1": (DONG_DA, [LAN, BINH], {}),
    "G2": (DONG_DA, [LAN], {}),
    "G3": (BA_DINH, [CUC], {}),
    "G4": (DONG_DA, [LAN], {"post_in_group": True}),
    "G5": (DONG_DA, [LAN], {"weekday": 3, "hour": 10}),
    "G6": (DONG_DA, [LAN], {"enabled": False}),
}
CATALOG = load_catalog()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Admins:
    """Telegram's answer to getChatAdministrators, and how often it was asked (by group)."""

    lists: dict[int, list[int]] = field(default_factory=dict)
    calls: Counter[int] = field(default_factory=Counter)

    async def __call__(self, telegram_chat_id: int) -> Sequence[int] | None:
        self.calls[telegram_chat_id] += 1
        await asyncio.sleep(0)  # let concurrent runs interleave
        return self.lists.get(telegram_chat_id)


@dataclass
class World:
    sessions: SessionFactory
    units: AdminUnits
    chats: dict[str, Chat] = field(default_factory=dict)
    admins: Admins = field(default_factory=Admins)

    def service(
        self,
        sessions: SessionFactory | None = None,
        grace_hours: int = 24,
        clock: Callable[[], datetime] | None = None,
    ) -> DigestService:
        """The service on the test's clock (T0 unless given): never the real date."""
        sessions = sessions or self.sessions
        stats = StatisticsService(sessions, self.units, TipConfig(), TZ)
        return DigestService(
            sessions,
            self.units,
            CATALOG,
            DigestConfig("0 8 * * 1", grace_hours),
            TZ,
            "vi",
            StatsFigures(stats, self.units, TZ),
            clock=clock or Clock(T0),
        )

    def scheduler(
        self, now: datetime, sessions: SessionFactory | None = None, grace_hours: int = 24
    ) -> tuple[DurableScheduler, DigestService]:
        sessions = sessions or self.sessions
        runner = DurableScheduler(sessions, clock=Clock(now))
        # The service reads the runner's clock, whichever a test sets it to later.
        digests = self.service(sessions, grace_hours, clock=lambda: runner.clock())
        digests.register_jobs(runner, self.admins, lambda p: f"https://t.me/canhgac_bot?start={p}")
        return runner, digests

    def tg(self, title: str) -> int:
        return self.chats[title].telegram_id


async def _build(world: World) -> None:
    async with world.sessions() as session, session.begin():
        for person in (LAN, BINH, CUC, AN, PHUONG):
            session.add(User(telegram_id=person, can_message=person != BINH, language_code="vi"))
        session.add(DigestOptOut(telegram_id=CUC))
        session.add(Officer(telegram_id=AN, area_code=DONG_DA, name="An"))
        session.add(Officer(telegram_id=PHUONG, area_code=HA_NOI, name="Phương"))
        for n, (title, (code, admins, settings)) in enumerate(GROUPS.items()):
            commune = await commune_area(session, code)
            assert commune is not None and commune.province_code == HA_NOI
            since = T0 - timedelta(days=60)
            chat = await subscribed_group(session, -4_200_000_000 - n, title, commune, since)
            if settings:
                session.add(DigestGroupSetting(chat_id=chat.id, **settings))
            world.chats[title] = chat
            world.admins.lists[chat.telegram_id] = admins
    await _week(world)


async def _week(world: World) -> None:
    sent = datetime(2026, 11, 24, 10, tzinfo=TZ)
    async with world.sessions() as session, session.begin():
        commune = await commune_area(session, DONG_DA)
        assert commune is not None and commune.id is not None
        alert = await sent_alert(
            session, "a1", sent, commune, officer_telegram_id=AN, issuer="Công an Phường Đống Đa"
        )
        delivered_copy(
            session, world.chats["G1"], alert, sent, message_id=10, acknowledged_after=10, by=LAN
        )
        delivered_copy(session, world.chats["G2"], alert, sent, message_id=10)
        for n, (category, valuable) in enumerate((("theft", True), ("scam", False))):
            created = sent + timedelta(hours=n + 1)
            tip(
                session,
                f"t{n}",
                DONG_DA,
                HA_NOI,
                created,
                category=category,
                state="acknowledged",
                valuable=valuable,
                acknowledged_at=created + timedelta(minutes=20),
            )


@pytest.fixture
async def world(sessions: SessionFactory, small_units: AdminUnits) -> World:
    built = World(sessions, small_units)
    await _build(built)
    return built


async def digests(sessions: SessionFactory) -> list[Digest]:
    async with sessions() as session:
        found = await session.exec(select(Digest).order_by(col(Digest.id)))
        return list(found.all())


async def deliveries(sessions: SessionFactory, kind: str | None = None) -> list[Delivery]:
    async with sessions() as session:
        query = select(Delivery).where(col(Delivery.kind) != "alert")
        if kind is not None:
            query = query.where(col(Delivery.kind) == kind)
        found = await session.exec(query.order_by(col(Delivery.id)))
        return list(found.all())


async def jobs(sessions: SessionFactory, kind: str) -> list[ScheduledJob]:
    async with sessions() as session:
        found = await session.exec(
            select(ScheduledJob)
            .where(col(ScheduledJob.kind) == kind)
            .order_by(col(ScheduledJob.due_at))
        )
        return list(found.all())


async def _weekly(world: World) -> list[Digest]:
    """The digests of runs on the default schedule."""
    async with world.sessions() as session:
        found = await session.exec(
            select(Digest)
            .join(DigestRun, col(DigestRun.id) == col(Digest.run_id))
            .where(col(DigestRun.trigger) == "weekly")
            .order_by(col(Digest.id))
        )
        return list(found.all())


def recipients(rows: Sequence[Digest]) -> set[tuple[int, str]]:
    return {(d.telegram_chat_id, d.audience) for d in rows}


# -- sent once, at its time ----------------------------------------------------------------


async def test_the_weekly_digest_is_sent_once_at_its_time_to_the_right_people(
    world: World,
) -> None:
    runner, _ = world.scheduler(T0)
    await runner.run_due(T0)  # plans next Monday 08:00
    [planned] = await jobs(world.sessions, WEEKLY_JOB)
    assert planned.due_at == MONDAY_8 and planned.status == JobStatus.PENDING
    assert planned.id not in (await runner.run_due(MONDAY_8 - timedelta(seconds=1))).done
    # (G5's Wednesday digest went out meanwhile; this test is about Monday's.)
    assert Audience.ADMIN not in {d.audience for d in await _weekly(world)}
    assert planned.id in (await runner.run_due(MONDAY_8)).done

    written = await _weekly(world)
    g1, g4 = world.tg("G1"), world.tg("G4")
    assert recipients(written) == {
        # Lan: one digest for G1, G2 and G4 (G5 has its own time, G6 is off), then its chart.
        (LAN, Audience.ADMIN),
        (LAN, Audience.CHART),
        # Bình never opened the bot: G1 is told, once, how to get it.
        (g1, Audience.NOTE),
        # G4 also gets it posted (small tip counts hidden), then its chart.
        (g4, Audience.GROUP),
        (g4, Audience.CHART),
        # The officers: Đống Đa's; the province's with the communes' table after the chart.
        (AN, Audience.OFFICER),
        (AN, Audience.CHART),
        (PHUONG, Audience.OFFICER),
        (PHUONG, Audience.CHART),
        (PHUONG, Audience.TABLE),
    }  # and nothing for Cúc (G3): she turned it off
    lan = next(d for d in written if d.telegram_chat_id == LAN and d.audience == Audience.ADMIN)
    assert lan.body.count('"snapshot"') == 1  # one section: all three groups are in Đống Đa
    # Only each chat's first message is in the outbox; charts and tables follow their text.
    sent = [d for d in await deliveries(world.sessions) if d.ref_id == lan.run_id]
    assert sorted((d.kind, d.telegram_chat_id) for d in sent) == sorted(
        [
            (DIGEST_KIND, LAN),
            (DIGEST_KIND, g4),
            (DIGEST_KIND, AN),
            (DIGEST_KIND, PHUONG),
            (NOTE_KIND, g1),
        ]
    )
    assert {d.priority for d in sent} == {PRIORITY}
    assert len({d.ref_id for d in sent}) == 1  # one run: its delivery is counted as one job
    # getChatAdministrators: once per group of this run (not G5, not G6).
    assert world.admins.calls == Counter({world.tg(t): 1 for t in ("G1", "G2", "G3", "G4")})

    # The same time again, and the next restart: nothing more.
    await runner.run_due(MONDAY_8 + timedelta(minutes=1))
    again, _ = world.scheduler(MONDAY_8 + timedelta(minutes=2))
    await again.run_due()
    assert len(await _weekly(world)) == len(written)
    assert len([d for d in await deliveries(world.sessions) if d.ref_id == lan.run_id]) == len(sent)
    assert [(j.due_at, j.status) for j in await jobs(world.sessions, WEEKLY_JOB)] == [
        (MONDAY_8, JobStatus.DONE),
        (NEXT_MONDAY_8, JobStatus.PENDING),
    ]


async def test_next_week_reads_the_admins_again_but_does_not_repeat_the_note(
    world: World,
) -> None:
    runner, _ = world.scheduler(T0)
    await runner.run_due(T0)
    await runner.run_due(MONDAY_8)
    await runner.run_due(NEXT_MONDAY_8)
    notes = [d for d in await digests(world.sessions) if d.audience == Audience.NOTE]
    assert len(notes) == 1
    lan = [
        d
        for d in await digests(world.sessions)
        if (d.telegram_chat_id, d.audience) == (LAN, Audience.ADMIN)
    ]
    assert len(lan) == 2 and lan[0].run_id != lan[1].run_id
    assert set(world.admins.calls.values()) == {2}  # once per group and week


async def test_a_digest_late_within_the_grace_window_still_goes_out_once(world: World) -> None:
    first, _ = world.scheduler(T0)
    await first.run_due(T0)  # plans Monday 08:00, then the process "stops"
    [planned] = await jobs(world.sessions, WEEKLY_JOB)
    back, _ = world.scheduler(MONDAY_8 + timedelta(hours=23))
    report = await back.run_due()
    assert planned.id in report.done and planned.id not in report.skipped
    weekly = await _weekly(world)
    assert (LAN, Audience.ADMIN) in recipients(weekly)
    # It covers the week it was due for, not the days since.
    async with world.sessions() as session:
        run = await session.get(DigestRun, weekly[0].run_id)
    assert run is not None and run.period_end == MONDAY_8 - timedelta(hours=8)


async def test_a_digest_later_than_the_grace_window_is_skipped_and_the_next_one_planned(
    world: World,
) -> None:
    first, _ = world.scheduler(T0)
    await first.run_due(T0)
    [planned] = await jobs(world.sessions, WEEKLY_JOB)
    back, _ = world.scheduler(MONDAY_8 + timedelta(hours=25))
    report = await back.run_due()
    assert planned.id in report.skipped and planned.id not in report.done
    assert await _weekly(world) == []
    assert [(j.due_at, j.status) for j in await jobs(world.sessions, WEEKLY_JOB)] == [
        (MONDAY_8, JobStatus.SKIPPED),
        (NEXT_MONDAY_8, JobStatus.PENDING),
    ]


async def test_a_run_repeated_after_a_crash_writes_nothing_new(world: World) -> None:
    runner, digests_service = world.scheduler(T0)
    await runner.run_due(T0)
    [planned] = await jobs(world.sessions, WEEKLY_JOB)
    # The job's handler ran but its process died before the job was marked done: the next
    # runner runs it again.
    job = await _claimed(world.sessions, planned.id)
    url = lambda p: f"https://t.me/canhgac_bot?start={p}"  # noqa: E731
    first = await digests_service.run(job, world.admins, url)
    second = await digests_service.run(job, world.admins, url)
    assert first.total > 0 and second.total == 0 and second.run_id == first.run_id
    texts = [d for d in await deliveries(world.sessions, DIGEST_KIND) if d.ref_id == first.run_id]
    assert len(texts) == 4


async def _claimed(sessions: SessionFactory, job_id: int) -> Job:
    async with sessions() as session:
        row = await session.get(ScheduledJob, job_id)
    assert row is not None
    return Job(row.id or 0, row.kind, row.key, row.due_at, 1, {})


# -- two processes on PostgreSQL ------------------------------------------------------------


@pytest.fixture
async def pg_world(small_units: AdminUnits) -> AsyncIterator[tuple[World, AsyncEngine, str, str]]:
    url = await require_postgres()
    async with postgres_schema(url) as (engine, schema):
        await upgrade(engine)
        sessions = session_factory(engine)
        await sync_admin_units(sessions, small_units)
        built = World(sessions, small_units)
        await _build(built)
        yield built, engine, url, schema


async def test_two_processes_on_postgresql_send_each_digest_once(
    pg_world: tuple[World, AsyncEngine, str, str],
) -> None:
    world, _, url, schema = pg_world
    other_engine = create_engine(url, schema=schema)
    try:
        a, _ = world.scheduler(T0)
        b, _ = world.scheduler(T0, session_factory(other_engine))
        await a.run_due(T0)
        await b.run_due(T0)
        [planned] = await jobs(world.sessions, WEEKLY_JOB)
        calls_before = Counter(world.admins.calls)
        reports = await asyncio.gather(a.run_due(MONDAY_8), b.run_due(MONDAY_8))
        assert sorted(planned.id in r.done for r in reports) == [False, True]
        weekly = {d.run_id for d in await _weekly(world)}
        sent = [d for d in await deliveries(world.sessions) if d.ref_id in weekly]
        assert len(sent) == len({(d.kind, d.telegram_chat_id) for d in sent}) == 5
        read = world.admins.calls - calls_before
        assert read == Counter({world.tg(t): 1 for t in ("G1", "G2", "G3", "G4")})
    finally:
        await other_engine.dispose()


async def test_one_job_run_by_two_processes_at_once_writes_each_digest_once(
    pg_world: tuple[World, AsyncEngine, str, str],
) -> None:
    # A lease taken over while its first holder still runs: both write, the keys decide.
    world, _, url, schema = pg_world
    other_engine = create_engine(url, schema=schema)
    try:
        runner, _ = world.scheduler(T0)
        await runner.run_due(T0)
        [planned] = await jobs(world.sessions, WEEKLY_JOB)
        job = await _claimed(world.sessions, planned.id or 0)
        both = await asyncio.gather(
            world.service().run(job, world.admins, str),
            world.service(session_factory(other_engine)).run(job, world.admins, str),
        )
        assert both[0].run_id == both[1].run_id
        assert sum(o.total for o in both) == len(await _weekly(world)) == 10
        sent = [d for d in await deliveries(world.sessions) if d.ref_id == both[0].run_id]
        assert len(sent) == len({(d.kind, d.telegram_chat_id) for d in sent}) == 5
    finally:
        await other_engine.dispose()


# -- what follows the text -----------------------------------------------------------------


async def _deliver(
    sessions: SessionFactory, kind: str, chat: int, status: str, message: int
) -> None:
    """What the sender would record for one copy."""
    async with sessions() as session, session.begin():
        await session.exec(
            update(Delivery)  # type: ignore[call-overload]
            .where(col(Delivery.kind) == kind, col(Delivery.telegram_chat_id) == chat)
            .values(status=status, message_id=message if status == "delivered" else None)
        )


async def _follow(world: World, runner: DurableScheduler, at: datetime) -> None:
    runner.clock = Clock(at)  # type: ignore[assignment]
    await runner.run_due(at)


async def test_the_chart_then_the_table_follow_each_text_as_replies(world: World) -> None:
    runner, _ = world.scheduler(T0)
    await runner.run_due(T0)
    await runner.run_due(MONDAY_8)
    [follow] = [j for j in await jobs(world.sessions, FOLLOW_JOB) if j.status == "pending"]
    # Lan's and Phương's texts are in their chats; An's send failed; G4's is still on its way.
    await _deliver(world.sessions, DIGEST_KIND, LAN, "delivered", 71)
    await _deliver(world.sessions, DIGEST_KIND, PHUONG, "delivered", 81)
    await _deliver(world.sessions, DIGEST_KIND, AN, "failed", 0)
    await _follow(world, runner, follow.due_at)
    charts = {d.telegram_chat_id: d for d in await deliveries(world.sessions, CHART_KIND)}
    assert sorted(charts) == sorted([LAN, PHUONG])
    assert await deliveries(world.sessions, TABLE_KIND) == []  # after Phương's chart
    followed = {(d.telegram_chat_id, d.audience): d for d in await digests(world.sessions)}
    assert followed[(LAN, Audience.CHART)].reply_to_message_id == 71
    assert followed[(AN, Audience.CHART)].queued_at is not None  # dropped: its text failed
    assert followed[(world.tg("G4"), Audience.CHART)].queued_at is None  # still waiting
    # The next look: G4's text arrived, and Phương's chart: the table follows it.
    await _deliver(world.sessions, DIGEST_KIND, world.tg("G4"), "delivered", 91)
    await _deliver(world.sessions, CHART_KIND, PHUONG, "delivered", 82)
    [again] = [j for j in await jobs(world.sessions, FOLLOW_JOB) if j.status == "pending"]
    assert again.due_at > follow.due_at
    await _follow(world, runner, again.due_at)
    assert world.tg("G4") in {
        d.telegram_chat_id for d in await deliveries(world.sessions, CHART_KIND)
    }
    [table] = await deliveries(world.sessions, TABLE_KIND)
    assert table.telegram_chat_id == PHUONG
    followed = {(d.telegram_chat_id, d.audience): d for d in await digests(world.sessions)}
    assert followed[(PHUONG, Audience.TABLE)].reply_to_message_id == 81  # the text, not the chart
    # Nothing waits any more: no further look is planned.
    assert [j for j in await jobs(world.sessions, FOLLOW_JOB) if j.status == "pending"] == []


# -- groups' own times, settings and people's own switch -------------------------------------


async def test_a_group_with_its_own_time_gets_its_own_run_and_not_the_mondays(
    world: World,
) -> None:
    runner, _ = world.scheduler(T0)
    await runner.run_due(T0)
    await runner.run_due(MONDAY_8)  # the daily planner has run meanwhile
    wednesday = datetime(2026, 12, 2, 10, tzinfo=TZ)
    [g5_job] = [j for j in await jobs(world.sessions, CUSTOM_JOB) if j.due_at == wednesday]
    assert g5_job.key == "3-10:2026-12-02"
    monday = [d for d in await _weekly(world) if d.audience == Audience.ADMIN]
    assert world.chats["G5"].id not in _groups_in(monday[0])
    await runner.run_due(wednesday)
    async with world.sessions() as session:
        custom = await session.exec(
            select(Digest)
            .join(DigestRun, col(DigestRun.id) == col(Digest.run_id))
            .where(col(DigestRun.trigger) == "custom", col(Digest.audience) == Audience.ADMIN)
        )
        rows = list(custom.all())
    assert [(d.telegram_chat_id, _groups_in(d)) for d in rows] == [(LAN, [world.chats["G5"].id])]
    # The week after is planned with the run.
    assert [j.due_at for j in await jobs(world.sessions, CUSTOM_JOB)][-1] == wednesday + timedelta(
        days=7
    )


def _groups_in(digest: Digest) -> list[int | None]:
    import json

    return [g for s in json.loads(digest.body)["sections"] for g in s["groups"]]


async def test_the_settings_of_a_group(world: World) -> None:
    service = world.service()
    g2 = world.tg("G2")
    prefs = await service.group_prefs(g2, T0)
    assert prefs is not None and prefs.enabled and prefs.slot is None
    assert prefs.effective == (1, 8, 0)  # the default: Monday 08:00
    prefs = await service.set_slot(g2, Slot(5, 19), T0)
    assert prefs is not None and prefs.effective == (5, 19, 0)
    # The new time has its run at once, in the same transaction.
    assert "5-19:2026-11-27" in {j.key for j in await jobs(world.sessions, CUSTOM_JOB)}
    prefs = await service.set_post_in_group(g2, True, T0)
    assert prefs is not None and prefs.post_in_group and prefs.slot == Slot(5, 19)
    prefs = await service.set_enabled(g2, False, T0)
    assert prefs is not None and not prefs.enabled
    # No group uses Friday 19:00 any more: its run is called off.
    assert "5-19:2026-11-27" not in {j.key for j in await jobs(world.sessions, CUSTOM_JOB)}
    prefs = await service.set_slot(g2, None, T0)
    assert prefs is not None and prefs.slot is None and not prefs.enabled
    assert await service.group_prefs(-1, T0) is None  # not a subscribed group
    assert await service.set_enabled(-1, False, T0) is None


async def test_a_person_turns_their_digest_off_and_on(world: World) -> None:
    service = world.service()
    await service.set_person_enabled(LAN, False)
    assert not await service.person_enabled(LAN)
    runner, _ = world.scheduler(T0)
    await runner.run_due(T0)
    await runner.run_due(MONDAY_8)
    assert LAN not in {d.telegram_chat_id for d in await _weekly(world)}
    await service.set_person_enabled(LAN, True)
    await service.set_person_enabled(LAN, True)  # twice: no harm
    assert await service.person_enabled(LAN)
    await runner.run_due(NEXT_MONDAY_8)
    assert (LAN, Audience.ADMIN) in recipients(await _weekly(world))


# -- requests (/tonghop) ---------------------------------------------------------------------


async def test_an_administrator_asks_in_the_group_and_gets_it_privately_first(
    world: World,
) -> None:
    service = world.service()
    outcome = await service.request_for_group(LAN, world.tg("G6"), T0)
    assert outcome.status == "sent"
    [text] = await deliveries(world.sessions, DIGEST_KIND)
    assert (text.telegram_chat_id, text.priority) == (LAN, REQUEST_PRIORITY)
    async with world.sessions() as session:
        run = await session.get(DigestRun, text.ref_id)
    # On Wednesday 25 November: the week of 16 November.
    assert run is not None and run.period_start == datetime(2026, 11, 16, tzinfo=TZ)
    # A double tap in the same minute sends nothing more.
    await service.request_for_group(LAN, world.tg("G6"), T0 + timedelta(seconds=20))
    assert len(await deliveries(world.sessions, DIGEST_KIND)) == 1
    # Bình never opened the bot: he is given the deep link of the group instead.
    binh = await service.request_for_group(BINH, world.tg("G1"), T0)
    assert (binh.status, binh.chat_row_id) == ("start", world.chats["G1"].id)
    assert (await service.request_for_group(LAN, -1, T0)).status == "unsubscribed"


async def test_privately_an_officer_gets_the_jurisdiction_and_an_admin_their_groups(
    world: World,
) -> None:
    service = world.service()
    assert (await service.request_private(LAN, T0)).status == "none"  # no admin list read yet
    runner, _ = world.scheduler(T0)
    await runner.run_due(T0)
    await runner.run_due(MONDAY_8)  # Telegram listed Lan as an admin of G1, G2, G4
    later = MONDAY_8 + timedelta(hours=2)
    assert (await service.request_private(LAN, later)).status == "sent"
    assert (await service.request_private(PHUONG, later)).status == "sent"
    async with world.sessions() as session:
        found = await session.exec(
            select(Digest)
            .join(DigestRun, col(DigestRun.id) == col(Digest.run_id))
            .where(col(DigestRun.trigger) == "request")
        )
        requested = {(d.telegram_chat_id, d.audience): d for d in found.all()}
    assert sorted(_groups_in(requested[(LAN, Audience.ADMIN)])) == sorted(
        world.chats[t].id for t in ("G1", "G2", "G4")
    )
    assert (PHUONG, Audience.OFFICER) in requested and (PHUONG, Audience.TABLE) in requested
    # Writing to the bot privately, Bình can be answered there: he gets G1's.
    assert (await service.request_private(BINH, later)).status == "sent"
    assert (await service.request_private(5_000_000_099, later)).status == "none"


# -- rendering -------------------------------------------------------------------------------


async def test_what_the_readers_see(world: World) -> None:
    runner, service = world.scheduler(T0)
    await runner.run_due(T0)
    await runner.run_due(MONDAY_8)
    run_id = (await _weekly(world))[0].run_id
    lan = await service.render(run_id, "vi", LAN)
    assert "📊 <b>Tổng hợp an ninh tuần 23/11 – 29/11/2026</b>" in lan.text
    assert "📍 <b>Phường Đống Đa — Thành phố Hà Nội</b>" in lan.text
    assert "Cảnh báo của công an: <b>1</b>" in lan.text
    assert "50% nhóm đã bấm «Đã nhận», thường sau 10 phút" in lan.text
    assert "Tin báo của người dân: <b>2</b>" in lan.text
    assert "1 tin có giá trị — cảm ơn người dân!" in lan.text
    assert "• G1: đã nhận 1/1 cảnh báo" in lan.text and "• G2: đã nhận 0/1" in lan.text
    assert "• G4: không có cảnh báo" in lan.text
    assert lan.photo_data is None and lan.document is None  # the chart follows on its own
    group = await service.render(run_id, "vi", world.tg("G4"))
    assert "Tin báo của người dân: <b>&lt; 3</b>" in group.text and "Nhóm của bạn" not in group.text
    officer = await service.render(run_id, "en", PHUONG)
    assert (
        "📍 <b>Thành phố Hà Nội</b>" in officer.text and "Police alerts: <b>1</b>" in officer.text
    )
    # The chart is drawn once per area, week and language, whoever gets it.
    await _deliver(world.sessions, DIGEST_KIND, LAN, "delivered", 71)
    await _deliver(world.sessions, DIGEST_KIND, AN, "delivered", 72)
    [follow] = [j for j in await jobs(world.sessions, FOLLOW_JOB) if j.status == "pending"]
    await _follow(world, runner, follow.due_at)
    chart_lan = await service.render_chart(run_id, "vi", LAN)
    chart_an = await service.render_chart(run_id, "vi", AN)
    assert chart_lan.photo_data is not None and chart_lan.photo_data.startswith(b"\x89PNG")
    assert chart_lan.photo_data == chart_an.photo_data and chart_lan.cache_key == chart_an.cache_key
    assert chart_lan.reply_to_message_id == 71 and chart_an.reply_to_message_id == 72
    assert service.charts.renders == 1
    assert chart_lan.text.startswith("📈 Phường Đống Đa") and len(chart_lan.text) <= 1024
    table = await service.render_table(run_id, "vi", PHUONG)
    assert table.document is not None and table.document.filename.endswith(".csv")
    assert table.document.data is not None
    rows = list(csv.reader(io.StringIO(table.document.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Mã xã/phường" and DONG_DA in {r[0] for r in rows[1:]}
    note = await service.render_note(run_id, "vi", world.tg("G1"))
    [[(_, url)]] = note.buttons
    assert url == f"https://t.me/canhgac_bot?start=dg_{world.chats['G1'].id}"
    assert "quản trị viên" in note.text
