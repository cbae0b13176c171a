"""The durable scheduler inside the real Application: its tick runs due jobs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.app import build_application, start_application, stop_application
from bot.areas import AdminUnits
from bot.container import Services
from bot.scheduling import Job, get_job, schedule
from simulator import BotApiSimulator, SimDriver
from storage.db import SessionFactory, create_engine, session_factory
from storage.models import JobStatus
from storage.types import utcnow
from tests.support.botrunner import BotRunner, settings_for


class Ran:
    """A job handler that records each run (with the time it started) and signals it."""

    def __init__(self) -> None:
        self.runs: list[tuple[Job, object]] = []
        self.event = asyncio.Event()

    async def __call__(self, job: Job) -> None:
        self.runs.append((job, utcnow()))
        self.event.set()


async def status(sessions: SessionFactory, kind: str, key: str) -> str | None:
    async with sessions() as session:
        job = await get_job(session, kind, key)
    return None if job is None else job.status


async def test_the_tick_wakes_at_the_due_time_and_runs_the_job_once(
    sim: BotApiSimulator, driver: SimDriver, database_url: str, units: AdminUnits
) -> None:
    # A tick of an hour: only the first look at start-up and the wake-up at the job's due
    # time can run it.
    settings = settings_for(sim, database_url, scheduler_tick_seconds=3600)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    app = build_application(settings, engine, units=units)
    services: Services = app.bot_data["services"]
    ran = Ran()
    services.scheduler.register("tip_overdue", ran, grace=timedelta(hours=1))
    await app.initialize()
    due = utcnow() + timedelta(seconds=2)
    async with sessions() as session, session.begin():
        await schedule(session, "tip_overdue", "tip_overdue:17", due, {"tip": 17})
    try:
        await start_application(app)
        await app.start()
        async with asyncio.timeout(15):
            await ran.event.wait()
        await driver.wait_for(
            lambda: _is(sessions, "tip_overdue", "tip_overdue:17", JobStatus.DONE), timeout=10
        )
    finally:
        await stop_application(app)
        await app.stop()
        await app.shutdown()
        await engine.dispose()
    assert len(ran.runs) == 1
    job, started = ran.runs[0]
    assert (job.key, job.payload, job.attempt) == ("tip_overdue:17", {"tip": 17}, 1)
    assert started >= due  # type: ignore[operator]
    assert sim.violations == []


async def _is(sessions: SessionFactory, kind: str, key: str, expected: str) -> bool:
    return await status(sessions, kind, key) == expected


async def test_a_feature_schedules_in_its_transaction_and_wakes_the_running_bot(
    bot: BotRunner, driver: SimDriver
) -> None:
    assert bot.app is not None
    services: Services = bot.app.bot_data["services"]
    ran = Ran()
    services.scheduler.register("digest", ran, grace=timedelta(hours=6))
    async with services.sessions() as session, session.begin():
        await schedule(session, "digest", "digest:group:42:2026-W48", utcnow())
    services.scheduler.wake()
    async with asyncio.timeout(15):
        await ran.event.wait()
    await driver.wait_for(
        lambda: _is(services.sessions, "digest", "digest:group:42:2026-W48", JobStatus.DONE),
        timeout=10,
    )
    assert [job.key for job, _ in ran.runs] == ["digest:group:42:2026-W48"]
