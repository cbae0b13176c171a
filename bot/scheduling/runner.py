"""The durable scheduler: the database says what is due; APScheduler only says when to look.

Any number of processes may run one over the same database: a job is claimed under a lease
(SKIP LOCKED on PostgreSQL), so one runner executes it; a runner that dies leaves a lease that
expires, and another takes the job. A job found older than its kind's grace window is marked
`skipped` instead of run late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduling import store
from bot.scheduling.recurring import KeyFn, Recurrence, crontab_trigger, utc_minute_key
from bot.scheduling.store import Job
from storage.db import SessionFactory
from storage.types import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]
Clock = Callable[[], datetime]
_TICK_JOB, _WAKE_JOB = "scheduler-tick", "scheduler-wake"
# A run drains what is due in batches; the bound stops a handler that keeps scheduling due
# work from holding the tick forever (the rest waits for the next tick).
_MAX_BATCHES = 50


@dataclass(frozen=True)
class JobKind:
    """How jobs of one kind run: the handler, how late they may start, how they retry."""

    handler: Handler
    grace: timedelta
    lease: timedelta
    max_attempts: int
    backoff: timedelta
    max_backoff: timedelta

    def retry_delay(self, attempt: int) -> timedelta:
        """Exponential backoff after the `attempt`-th failure, capped."""
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)


@dataclass
class RunReport:
    """What one `run_due` did, by job id."""

    done: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # another runner took over the lease


def new_owner_id() -> str:
    """A lease owner id unique to this scheduler instance."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DurableScheduler:
    """Runs `scheduled_jobs` rows once at their time, across restarts and processes."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        clock: Clock = utcnow,
        owner: str | None = None,
        batch_size: int = 20,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.owner = owner or new_owner_id()
        self.batch_size = batch_size
        self._kinds: dict[str, JobKind] = {}
        self._recurring: dict[str, Recurrence] = {}
        self._ticker: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._current: asyncio.Task[object] | None = None
        self._stopping = False
        self._again = False

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        grace: timedelta,
        lease: timedelta = timedelta(minutes=10),
        max_attempts: int = 5,
        backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(minutes=30),
    ) -> None:
        """Run jobs of `kind` with `handler`; a job more than `grace` late is skipped.

        `lease` must outlast the handler: past it, another runner may take the job.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._kinds[kind] = JobKind(handler, grace, lease, max_attempts, backoff, max_backoff)

    def every(self, kind: str, crontab: str, tz: tzinfo, key_fn: KeyFn | None = None) -> None:
        """Run the registered `kind` at each time of a crontab line in `tz`; each run is a row
        whose key is `key_fn(fire time in tz)` (default: the UTC minute)."""
        if kind not in self._kinds:
            raise ValueError(f"register the handler of {kind!r} before its schedule")
        trigger = crontab_trigger(crontab, tz)
        self._recurring[kind] = Recurrence(kind, trigger, key_fn or utc_minute_key)

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds this scheduler runs; rows of other kinds are left for other processes."""
        return frozenset(self._kinds)

    # -- running due jobs ----------------------------------------------------------------

    async def run_due(self, now: datetime | None = None) -> RunReport:
        """Claim what is due at `now` (default: the clock) and run, skip or retry each job."""
        report = RunReport()
        await self._materialise(self.clock() if now is None else now)
        for _ in range(_MAX_BATCHES):
            at = self.clock() if now is None else now
            jobs = await self._claim(at)
            if not jobs:
                break
            await asyncio.gather(*(self._execute(job, at, report) for job in jobs))
            if self._stopping:
                break
        return report

    async def _materialise(self, now: datetime) -> None:
        """Give every recurring kind its next run if it has none (first start, new schedule)."""
        for kind, recurrence in self._recurring.items():
            at = recurrence.first_from(now)
            if at is None:
                continue
            async with self.sessions() as session, session.begin():
                if not await store.has_open(session, kind):
                    await store.schedule(session, kind, recurrence.key(at), at, now=now)

    async def _claim(self, now: datetime) -> list[Job]:
        lease = {kind: spec.lease for kind, spec in self._kinds.items()}
        async with self.sessions() as session, session.begin():
            return await store.claim(session, self.owner, self.kinds, now, lease, self.batch_size)

    async def _execute(self, job: Job, now: datetime, report: RunReport) -> None:
        spec = self._kinds[job.kind]
        try:
            late = now - job.due_at
            if late > spec.grace:
                await self._skip(job, now, late, report)
            elif job.attempt > spec.max_attempts:  # earlier attempts crashed their runner
                await self._fail(job, now, "too many attempts", report)
            else:
                await self._run(job, spec, now, report)
        except Exception:  # the database failed us: the lease expires and the job runs again
            log.exception("recording the outcome of job %d (%s) failed", job.id, job.kind)

    async def _run(self, job: Job, spec: JobKind, now: datetime, report: RunReport) -> None:
        try:
            await spec.handler(job)
        except Exception as exc:
            await self._after_error(job, spec, exc, now, report)
            return
        if await self._close(job, store.mark_done, now):
            log.debug("job %d (%s) done", job.id, job.kind)
            report.done.append(job.id)
        else:
            self._lost(job, report)

    async def _after_error(
        self, job: Job, spec: JobKind, exc: Exception, now: datetime, report: RunReport
    ) -> None:
        # Only the exception's type is logged: its message may quote personal data (it is
        # kept in the row's last_error for whoever inspects the database).
        error, name = f"{type(exc).__name__}: {exc}", type(exc).__name__
        if job.attempt >= spec.max_attempts:
            log.error("job %d (%s) failed: %s on attempt %d", job.id, job.kind, name, job.attempt)
            await self._fail(job, now, error, report)
            return
        delay = spec.retry_delay(job.attempt)
        log.warning(
            "job %d (%s) raised %s on attempt %d of %d; retrying in %d s",
            job.id,
            job.kind,
            name,
            job.attempt,
            spec.max_attempts,
            delay.total_seconds(),
        )
        async with self.sessions() as session, session.begin():
            held = await store.mark_retry(session, job.id, self.owner, now + delay, error)
        if held:
            report.retrying.append(job.id)
        else:
            self._lost(job, report)

    async def _skip(self, job: Job, now: datetime, late: timedelta, report: RunReport) -> None:
        log.warning("job %d (%s) skipped: %d s late", job.id, job.kind, late.total_seconds())
        reason = f"{int(late.total_seconds())} s late"
        if await self._close(job, store.mark_skipped, now, reason):
            report.skipped.append(job.id)
        else:
            self._lost(job, report)

    async def _fail(self, job: Job, now: datetime, error: str, report: RunReport) -> None:
        if await self._close(job, store.mark_failed, now, error):
            report.failed.append(job.id)
        else:
            self._lost(job, report)

    async def _close(
        self, job: Job, mark: Callable[..., Awaitable[bool]], now: datetime, *args: str
    ) -> bool:
        """Record a final outcome; a recurring kind gets its next run in the same
        transaction, so no restart can lose it."""
        async with self.sessions() as session, session.begin():
            held = await mark(session, job.id, self.owner, now, *args)
            if held and job.kind in self._recurring:
                await self._plan_next(session, job, now)
        return bool(held)

    async def _plan_next(self, session: AsyncSession, job: Job, now: datetime) -> None:
        recurrence = self._recurring[job.kind]
        at = recurrence.next_after(job.due_at, now, self._kinds[job.kind].grace)
        if at is not None:
            await store.schedule(session, job.kind, recurrence.key(at), at, now=now)

    def _lost(self, job: Job, report: RunReport) -> None:
        log.warning("job %d (%s): its lease was taken over; outcome not recorded", job.id, job.kind)
        report.lost.append(job.id)

    # -- ticking -------------------------------------------------------------------------

    async def start(self, tick_seconds: float) -> None:
        """Look for due jobs now, every `tick_seconds`, and at the next due time."""
        self._stopping = False
        self._ticker = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
        self._ticker.add_job(
            self._tick,
            IntervalTrigger(seconds=tick_seconds, timezone=UTC),
            id=_TICK_JOB,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._ticker.start()

    def wake(self, at: datetime | None = None) -> None:
        """Look for due jobs at `at` (default: now) rather than at the next tick; a feature
        calls it after committing a job due soon."""
        if self._ticker is None or self._stopping:
            return
        self._ticker.add_job(
            self._tick,
            DateTrigger(run_date=at or datetime.now(UTC), timezone=UTC),
            id=_WAKE_JOB,
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def stop(self, *, abort: bool = False, grace: float = 10.0) -> None:
        """Stop ticking; a run in progress gets `grace` seconds to finish (`abort`: none, as a
        crash would: its leases expire and another runner retries those jobs)."""
        self._stopping = True
        ticker, self._ticker = self._ticker, None
        if ticker is None:
            return
        ticker.remove_all_jobs()
        current = self._current
        if current is not None and not current.done():
            if not abort:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait({current}, timeout=grace)
            current.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await current
        ticker.shutdown(wait=False)

    async def _tick(self) -> None:
        if self._stopping:
            return
        if self._lock.locked():
            self._again = True  # the run in progress looks once more before it ends
            return
        async with self._lock:
            self._current = asyncio.current_task()
            try:
                await self._run_until_quiet()
            except asyncio.CancelledError:  # stop(): the jobs' leases expire
                log.info("stopped during a run of due jobs")
            except Exception:  # the database is unreachable: the next tick tries again
                log.exception("running due jobs failed")
            finally:
                self._current = None

    async def _run_until_quiet(self) -> None:
        # A wake-up that arrives while this run holds the lock only sets `_again`; it is
        # checked after the last await, so none is lost.
        while not self._stopping:
            self._again = False
            await self.run_due()
            await self._plan_wake()
            if not self._again:
                break

    async def _plan_wake(self) -> None:
        """Wake at the next due time when it comes before the next tick."""
        async with self.sessions() as session:
            due = await store.next_due(session, self.kinds)
        tick = self._ticker.get_job(_TICK_JOB) if self._ticker else None
        next_tick = tick.next_run_time if tick is not None else None
        if due is not None and due > self.clock() and (next_tick is None or due < next_tick):
            self.wake(due)
