"""The durable scheduler on real databases (SQLite, and PostgreSQL when reachable).

Time is a controllable clock handed to `run_due(now)`: no test sleeps or waits for a real
time to come.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.scheduling import DurableScheduler, Job, cancel, get_job, schedule, store
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from storage.models import JobStatus, ScheduledJob
from tests.support.databases import postgres_schema, require_postgres, sqlite_url

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Hà Nội
HCM, BERLIN = ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("Europe/Berlin")
DAY = timedelta(days=1)
LEASE = timedelta(minutes=5)


@dataclass
class Database:
    """A migrated database and what a second process needs to open it."""

    url: str
    schema: str | None
    engine: AsyncEngine
    sessions: SessionFactory

    def another_engine(self) -> AsyncEngine:
        """A separate engine (its own pool), as another process would have."""
        return create_engine(self.url, schema=self.schema)


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("db") / "jobs.sqlite3")
        engine = create_engine(url)
        await upgrade(engine)
        yield Database(url, None, engine, session_factory(engine))
        await engine.dispose()
        return
    url = await require_postgres()
    async with postgres_schema(url) as (engine, schema):
        await upgrade(engine)
        yield Database(url, schema, engine, session_factory(engine))


@pytest_asyncio.fixture
async def pg() -> AsyncIterator[Database]:
    """PostgreSQL only (skipped with the reason when unreachable)."""
    url = await require_postgres()
    async with postgres_schema(url) as (engine, schema):
        await upgrade(engine)
        yield Database(url, schema, engine, session_factory(engine))


class Clock:
    """The scheduler's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """A handler that records the jobs it ran (and can be told to fail or to hang)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.jobs: list[Job] = []
        self.error = error
        self.started = asyncio.Event()
        self.release: asyncio.Event | None = None

    async def __call__(self, job: Job) -> None:
        self.jobs.append(job)
        self.started.set()
        await asyncio.sleep(0)  # let concurrent runners interleave
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error

    @property
    def keys(self) -> list[str]:
        return [job.key for job in self.jobs]


async def plan(
    sessions: SessionFactory, kind: str, key: str, due: datetime, **payload: object
) -> int:
    async with sessions() as session, session.begin():
        job_id = await schedule(session, kind, key, due, payload, now=T0)
    assert job_id is not None
    return job_id


async def row(sessions: SessionFactory, kind: str, key: str) -> ScheduledJob:
    async with sessions() as session:
        found = await get_job(session, kind, key)
    assert found is not None
    return found


async def rows(sessions: SessionFactory, kind: str) -> list[ScheduledJob]:
    async with sessions() as session:
        found = await session.exec(
            select(ScheduledJob)
            .where(col(ScheduledJob.kind) == kind)
            .order_by(col(ScheduledJob.due_at))
        )
        return list(found.all())


def scheduler(
    sessions: SessionFactory, handler: Recorder, grace: timedelta = DAY, **kw: object
) -> DurableScheduler:
    runner = DurableScheduler(sessions, clock=Clock(T0))
    runner.register("reminder", handler, grace=grace, lease=LEASE, **kw)  # type: ignore[arg-type]
    return runner


# -- storage helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([("reminder", "a", True)], {("reminder", "a")}),
        # the same key twice keeps one row (the first one's due time)
        ([("reminder", "a", True), ("reminder", "a", True)], {("reminder", "a")}),
        # a key is unique per kind only
        ([("reminder", "a", True), ("digest", "a", True)], {("reminder", "a"), ("digest", "a")}),
        # scheduled inside a transaction that rolls back: it never existed
        ([("reminder", "a", False)], set()),
        ([("reminder", "a", True), ("reminder", "b", False)], {("reminder", "a")}),
    ],
)
async def test_schedule_is_idempotent_and_commits_with_the_callers_transaction(
    db: Database, steps: list[tuple[str, str, bool]], expected: set[tuple[str, str]]
) -> None:
    class Rollback(Exception):
        pass

    for i, (kind, key, commit) in enumerate(steps):
        try:
            async with db.sessions() as session, session.begin():
                await schedule(session, kind, key, T0 + timedelta(hours=i), {"n": i}, now=T0)
                if not commit:
                    raise Rollback
        except Rollback:
            pass
    async with db.sessions() as session:
        found = (await session.exec(select(ScheduledJob))).all()
    assert {(r.kind, r.key) for r in found} == expected
    assert all(
        r.due_at == T0 and r.payload == '{"n": 0}'
        for r in found
        if r.key == "a" and r.kind == "reminder"
    )


async def test_scheduling_a_taken_key_returns_none(db: Database) -> None:
    await plan(db.sessions, "reminder", "tip_overdue:17", T0)
    async with db.sessions() as session, session.begin():
        assert await schedule(session, "reminder", "tip_overdue:17", T0 + DAY, now=T0) is None


async def test_cancel_removes_a_waiting_job_not_a_running_one(db: Database) -> None:
    handler = Recorder()
    runner = scheduler(db.sessions, handler)
    await plan(db.sessions, "reminder", "waiting", T0 + DAY)
    await plan(db.sessions, "reminder", "running", T0)
    async with db.sessions() as session, session.begin():
        claimed = await store.claim(
            session, "other-process", {"reminder"}, T0, {"reminder": LEASE}, 10
        )
    assert [j.key for j in claimed] == ["running"]

    async with db.sessions() as session, session.begin():
        assert await cancel(session, "reminder", "waiting", now=T0) is True
        assert await cancel(session, "reminder", "waiting", now=T0) is False
        assert await cancel(session, "reminder", "running", now=T0) is False  # held by a runner
    async with db.sessions() as session:
        assert await get_job(session, "reminder", "waiting") is None
    # Cancelled, the key is free again.
    await plan(db.sessions, "reminder", "waiting", T0 + 2 * DAY)
    assert (await runner.run_due(T0 + 2 * DAY)).done == [
        (await row(db.sessions, "reminder", "waiting")).id
    ]


# -- running ------------------------------------------------------------------------------


async def test_a_job_runs_once_at_its_time_and_not_before(db: Database) -> None:
    handler = Recorder()
    runner = scheduler(db.sessions, handler)
    due = T0 + timedelta(hours=2)
    job_id = await plan(db.sessions, "reminder", "tip_overdue:17", due, tip=17, note="Tổ 5")

    early = await runner.run_due(due - timedelta(seconds=1))
    assert early.done == [] and handler.jobs == []
    assert (await row(db.sessions, "reminder", "tip_overdue:17")).status == JobStatus.PENDING

    assert (await runner.run_due(due)).done == [job_id]
    assert (await runner.run_due(due + timedelta(minutes=1))).done == []
    assert (await runner.run_due(due + 30 * DAY)).done == []

    assert len(handler.jobs) == 1
    job = handler.jobs[0]
    assert (job.id, job.key, job.due_at, job.attempt) == (job_id, "tip_overdue:17", due, 1)
    assert job.payload == {"tip": 17, "note": "Tổ 5"}
    done = await row(db.sessions, "reminder", "tip_overdue:17")
    assert (done.status, done.done_at, done.lease_owner, done.attempts) == (
        JobStatus.DONE,
        due,
        None,
        1,
    )


async def test_jobs_of_kinds_this_process_does_not_run_are_left_alone(db: Database) -> None:
    runner = scheduler(db.sessions, Recorder())
    await plan(db.sessions, "digest", "w48", T0)
    assert (await runner.run_due(T0 + DAY)).done == []
    left = await row(db.sessions, "digest", "w48")
    assert (left.status, left.attempts, left.lease_owner) == (JobStatus.PENDING, 0, None)


@pytest.mark.parametrize(
    ("late", "outcome"),
    [
        (timedelta(0), "done"),
        (timedelta(minutes=59), "done"),
        (timedelta(hours=1), "done"),  # exactly the grace window: still in time
        (timedelta(hours=1, seconds=1), "skipped"),
        (timedelta(days=3), "skipped"),
    ],
)
async def test_a_job_past_its_grace_window_is_skipped_never_run_late(
    db: Database, late: timedelta, outcome: str
) -> None:
    handler = Recorder()
    runner = scheduler(db.sessions, handler, grace=timedelta(hours=1))
    job_id = await plan(db.sessions, "reminder", "k", T0)
    report = await runner.run_due(T0 + late)
    assert getattr(report, outcome) == [job_id]
    stored = await row(db.sessions, "reminder", "k")
    assert stored.status == outcome
    assert len(handler.jobs) == (1 if outcome == "done" else 0)
    if outcome == "skipped":
        assert stored.last_error == f"{int(late.total_seconds())} s late"


async def test_a_failing_handler_is_retried_with_backoff_then_failed_and_logged_by_id(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder(error=RuntimeError("Nguyễn Văn An, 0912 345 678"))
    runner = scheduler(
        db.sessions,
        handler,
        max_attempts=3,
        backoff=timedelta(minutes=1),
        max_backoff=timedelta(hours=1),
    )
    job_id = await plan(db.sessions, "reminder", "k", T0)
    minute = timedelta(minutes=1)
    steps = [  # (when, retrying, failed, claimable again at)
        (T0, [job_id], [], T0 + minute),
        (T0 + 30 * timedelta(seconds=1), [], [], T0 + minute),  # held by the backoff
        (T0 + minute, [job_id], [], T0 + 3 * minute),  # then twice as long
        (T0 + 2 * minute, [], [], T0 + 3 * minute),
        (T0 + 3 * minute, [], [job_id], None),
        (T0 + 10 * minute, [], [], None),
    ]
    with caplog.at_level(logging.DEBUG, logger="bot.scheduling"):
        for at, retrying, failed, claimable in steps:
            report = await runner.run_due(at)
            assert (report.retrying, report.failed, report.done) == (retrying, failed, [])
            async with db.sessions() as session:
                assert await store.next_due(session, {"reminder"}) == claimable
    assert [j.attempt for j in handler.jobs] == [1, 2, 3]
    stored = await row(db.sessions, "reminder", "k")
    assert (stored.status, stored.attempts, stored.due_at) == (JobStatus.FAILED, 3, T0)
    assert stored.last_error == "RuntimeError: Nguyễn Văn An, 0912 345 678"
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("bot.scheduling")]
    assert len(messages) == 3 and all(f"job {job_id} " in m for m in messages)
    assert "Nguyễn" not in caplog.text and "0912" not in caplog.text


async def test_a_crashed_runners_job_runs_again_once_its_lease_expires(db: Database) -> None:
    crashing = Recorder()
    crashing.release = asyncio.Event()  # never set: the handler hangs until the "crash"
    first = scheduler(db.sessions, crashing)
    job_id = await plan(db.sessions, "reminder", "k", T0)
    run = asyncio.create_task(first.run_due(T0))
    async with asyncio.timeout(10):
        await crashing.started.wait()
    run.cancel()  # the process dies mid-run: nothing is recorded
    with pytest.raises(asyncio.CancelledError):
        await run
    held = await row(db.sessions, "reminder", "k")
    assert (held.status, held.lease_owner, held.lease_until) == (
        JobStatus.RUNNING,
        first.owner,
        T0 + LEASE,
    )

    other_engine = db.another_engine()
    try:
        handler = Recorder()
        second = scheduler(session_factory(other_engine), handler)
        assert (await second.run_due(T0 + LEASE - timedelta(seconds=1))).done == []
        assert (await second.run_due(T0 + LEASE)).done == [job_id]
        assert [j.attempt for j in handler.jobs] == [2]
        assert (await row(db.sessions, "reminder", "k")).status == JobStatus.DONE
    finally:
        await other_engine.dispose()


async def test_a_job_that_keeps_crashing_its_runner_is_failed_not_run_again(db: Database) -> None:
    handler = Recorder()
    runner = scheduler(db.sessions, handler, max_attempts=2)
    job_id = await plan(db.sessions, "reminder", "k", T0)
    for crash in range(2):  # two runners took it and died before recording anything
        async with db.sessions() as session, session.begin():
            at = T0 + crash * LEASE
            taken = await store.claim(
                session, f"dead-{crash}", {"reminder"}, at, {"reminder": LEASE}, 5
            )
        assert [j.id for j in taken] == [job_id]
    assert (await runner.run_due(T0 + 2 * LEASE)).failed == [job_id]
    assert handler.jobs == []
    stored = await row(db.sessions, "reminder", "k")
    assert (stored.status, stored.attempts, stored.last_error) == (
        JobStatus.FAILED,
        3,
        "too many attempts",
    )


async def test_a_runner_whose_lease_was_taken_over_does_not_record_its_outcome(
    db: Database,
) -> None:
    slow = Recorder()
    slow.release = asyncio.Event()
    first = scheduler(db.sessions, slow)
    job_id = await plan(db.sessions, "reminder", "k", T0)
    run = asyncio.create_task(first.run_due(T0))
    async with asyncio.timeout(10):
        await slow.started.wait()
    second = scheduler(db.sessions, Recorder(error=RuntimeError("boom")), max_attempts=5)
    assert (await second.run_due(T0 + LEASE)).retrying == [job_id]
    slow.release.set()
    report = await run
    assert (report.done, report.lost) == ([], [job_id])
    stored = await row(db.sessions, "reminder", "k")
    assert (stored.status, stored.attempts) == (JobStatus.PENDING, 2)  # the second runner's retry


async def test_two_runners_racing_run_each_job_exactly_once(db: Database) -> None:
    ids = [
        await plan(db.sessions, "reminder", f"k{i}", T0 + timedelta(seconds=i)) for i in range(40)
    ]
    other_engine = db.another_engine()
    try:
        counts: Counter[int] = Counter()

        class Counting(Recorder):
            async def __call__(self, job: Job) -> None:
                counts[job.id] += 1
                await asyncio.sleep(0)

        runners = [
            scheduler(db.sessions, Counting()),
            scheduler(session_factory(other_engine), Counting()),
        ]
        for r in runners:
            r.batch_size = 3
        now = T0 + timedelta(minutes=1)
        reports = await asyncio.gather(*(r.run_due(now) for r in runners))
        assert sorted(reports[0].done + reports[1].done) == ids
        assert set(reports[0].done).isdisjoint(reports[1].done)
        assert counts == Counter(dict.fromkeys(ids, 1))
        again = await asyncio.gather(*(r.run_due(now + DAY) for r in runners))
        assert again[0].done == again[1].done == []
    finally:
        await other_engine.dispose()


async def test_an_uncommitted_claim_is_skipped_not_waited_for_nor_taken(pg: Database) -> None:
    first = await plan(pg.sessions, "reminder", "first", T0)
    second = await plan(pg.sessions, "reminder", "second", T0 + timedelta(seconds=1))
    other_engine = pg.another_engine()
    try:
        handler = Recorder()
        runner = scheduler(session_factory(other_engine), handler)
        async with pg.sessions() as holder, holder.begin():
            claimed = await store.claim(
                holder, "process-a", {"reminder"}, T0 + timedelta(minutes=1), {"reminder": LEASE}, 1
            )
            assert [j.id for j in claimed] == [first]
            # Process A has not committed: its row is locked, B skips it and takes the other.
            async with asyncio.timeout(10):
                report = await runner.run_due(T0 + timedelta(minutes=1))
            assert report.done == [second]
        # A committed its lease: B still leaves the row alone until the lease expires.
        assert (await runner.run_due(T0 + timedelta(minutes=2))).done == []
        assert (await runner.run_due(T0 + timedelta(minutes=1) + LEASE)).done == [first]
        assert [j.id for j in handler.jobs] == [second, first]
    finally:
        await other_engine.dispose()


# -- recurring ------------------------------------------------------------------------------


def week_key(at: datetime) -> str:
    return f"digest:{at:%G-W%V}:{at:%H%M}"


def digests(
    sessions: SessionFactory, handler: Recorder, tz: ZoneInfo, grace: timedelta = timedelta(hours=6)
) -> DurableScheduler:
    runner = DurableScheduler(sessions, clock=Clock(T0))
    runner.register("digest", handler, grace=grace, lease=LEASE)
    runner.every("digest", "0 8 * * 1", tz, key_fn=week_key)
    return runner


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        # Hà Nội has no daylight saving time: 08:00 is always 01:00 UTC.
        (
            HCM,
            utc(2026, 11, 25, 3),
            [utc(2026, 11, 30, 1), utc(2026, 12, 7, 1), utc(2026, 12, 14, 1)],
        ),
        # Berlin moves to summer time on Sunday 28 March 2027: 08:00 goes from 07:00 to 06:00 UTC.
        (
            BERLIN,
            utc(2027, 3, 17, 12),
            [utc(2027, 3, 22, 7), utc(2027, 3, 29, 6), utc(2027, 4, 5, 6)],
        ),
        # ... and back to winter time on Sunday 25 October 2026.
        (
            BERLIN,
            utc(2026, 10, 14, 12),
            [utc(2026, 10, 19, 6), utc(2026, 10, 26, 7), utc(2026, 11, 2, 7)],
        ),
    ],
)
async def test_a_weekly_cron_materialises_each_next_monday_8am_local(
    db: Database, tz: ZoneInfo, start: datetime, expected: list[datetime]
) -> None:
    handler = Recorder()
    runner = digests(db.sessions, handler, tz)
    assert (await runner.run_due(start)).done == []
    for i, due in enumerate(expected):
        pending = [r for r in await rows(db.sessions, "digest") if r.status == JobStatus.PENDING]
        assert [r.due_at for r in pending] == [due]
        assert (await runner.run_due(due - timedelta(seconds=1))).done == []
        assert (await runner.run_due(due)).done == [pending[0].id]
        assert handler.jobs[i].due_at == due
    local = [j.due_at.astimezone(tz) for j in handler.jobs]
    assert all((at.isoweekday(), at.hour, at.minute) == (1, 8, 0) for at in local)
    assert handler.keys == [week_key(at) for at in local]


async def test_a_restart_neither_repeats_nor_skips_a_recurring_run(db: Database) -> None:
    handler = Recorder()
    monday = utc(2026, 11, 30, 1)
    await digests(db.sessions, handler, HCM).run_due(T0)
    # The process restarts twice before Monday; each new instance looks at the database.
    for at in (T0 + timedelta(hours=1), monday - timedelta(minutes=1)):
        await digests(db.sessions, handler, HCM).run_due(at)
    assert len(await rows(db.sessions, "digest")) == 1
    restarted = digests(db.sessions, handler, HCM)
    assert len((await restarted.run_due(monday + timedelta(minutes=3))).done) == 1
    await digests(db.sessions, handler, HCM).run_due(monday + timedelta(minutes=4))
    assert [j.due_at for j in handler.jobs] == [monday]
    statuses = [(r.due_at, r.status) for r in await rows(db.sessions, "digest")]
    assert statuses == [(monday, JobStatus.DONE), (monday + 7 * DAY, JobStatus.PENDING)]


async def test_after_downtime_the_latest_run_within_grace_runs_and_the_older_is_skipped(
    db: Database,
) -> None:
    handler = Recorder()
    first, second, third = utc(2026, 11, 30, 1), utc(2026, 12, 7, 1), utc(2026, 12, 14, 1)
    await digests(db.sessions, handler, HCM).run_due(T0)  # plans the first Monday, then "crashes"
    back = digests(db.sessions, handler, HCM)
    report = await back.run_due(second + timedelta(hours=2))  # down over two Mondays
    stored = {r.due_at: r for r in await rows(db.sessions, "digest")}
    assert report.skipped == [stored[first].id] and report.done == [stored[second].id]
    assert [j.due_at for j in handler.jobs] == [second]
    assert [stored[t].status for t in (first, second, third)] == [
        JobStatus.SKIPPED,
        JobStatus.DONE,
        JobStatus.PENDING,
    ]


async def test_after_a_long_downtime_only_the_next_run_is_planned(db: Database) -> None:
    handler = Recorder()
    await digests(db.sessions, handler, HCM).run_due(T0)
    report = await digests(db.sessions, handler, HCM).run_due(utc(2027, 2, 3, 1))  # ten weeks
    assert len(report.skipped) == 1 and report.done == [] and handler.jobs == []
    pending = [r.due_at for r in await rows(db.sessions, "digest") if r.status == JobStatus.PENDING]
    assert pending == [utc(2027, 2, 8, 1)]
    assert len(await rows(db.sessions, "digest")) == 2  # the missed Mondays left no rows


async def test_a_recurring_run_that_fails_still_plans_the_next(db: Database) -> None:
    handler = Recorder(error=ValueError("no data"))
    runner = DurableScheduler(db.sessions, clock=Clock(T0))
    runner.register("digest", handler, grace=timedelta(hours=6), max_attempts=1)
    runner.every("digest", "0 8 * * 1", HCM)
    await runner.run_due(T0)
    monday = utc(2026, 11, 30, 1)
    assert len((await runner.run_due(monday)).failed) == 1
    statuses = [(r.key, r.status) for r in await rows(db.sessions, "digest")]
    assert statuses == [
        ("2026-11-30T01:00Z", JobStatus.FAILED),
        ("2026-12-07T01:00Z", JobStatus.PENDING),
    ]
