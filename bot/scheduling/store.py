"""The scheduled_jobs rows: scheduling, cancelling, claiming under a lease, recording outcomes.

Every helper takes the caller's session and never commits, so a feature can schedule a job
inside its own transaction and the job exists exactly when the feature's change does.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable
from sqlmodel import col
from sqlmodel import select as select_rows
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import JobStatus, ScheduledJob
from storage.types import UtcDateTime, utcnow

_PENDING = JobStatus.PENDING.value
_RUNNING = JobStatus.RUNNING.value
_OPEN = (_PENDING, _RUNNING)


@dataclass(frozen=True)
class Job:
    """A claimed job, as its handler sees it; `attempt` counts this run (1 the first time)."""

    id: int
    kind: str
    key: str
    due_at: datetime
    attempt: int
    payload: Mapping[str, Any] = field(default_factory=dict)


async def _run(session: AsyncSession, statement: Executable) -> Any:  # a Result
    """Execute Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:255]


async def schedule(
    session: AsyncSession,
    kind: str,
    key: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> int | None:
    """Plan `kind`/`key` for `due_at`; the new row's id, or None if that key already exists.

    Idempotent on (kind, key) whatever the existing row's status: a key names one run.
    """
    connection = await session.connection()
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(ScheduledJob)
        .values(
            kind=kind,
            key=key,
            due_at=due_at,
            payload=json.dumps(dict(payload or {}), ensure_ascii=False, sort_keys=True),
            status=_PENDING,
            attempts=0,
            created_at=now or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["kind", "key"])
        .returning(col(ScheduledJob.id))
    )
    result = await connection.execute(statement)
    return result.scalar_one_or_none()


async def cancel(
    session: AsyncSession, kind: str, key: str, *, now: datetime | None = None
) -> bool:
    """Call off a job that has not run (nor is running now); whether there was one.

    The row is removed, so the same key can be scheduled again later.
    """
    now = now or utcnow()
    result = await _run(
        session,
        delete(ScheduledJob)
        .where(col(ScheduledJob.kind) == kind, col(ScheduledJob.key) == key)
        .where(col(ScheduledJob.status).in_(_OPEN))
        .where(or_(col(ScheduledJob.lease_owner).is_(None), col(ScheduledJob.lease_until) <= now))
        .execution_options(synchronize_session=False),
    )
    return bool(getattr(result, "rowcount", 0))


async def get_job(session: AsyncSession, kind: str, key: str) -> ScheduledJob | None:
    """The row of `kind`/`key`, if any."""
    found = await session.exec(
        select_rows(ScheduledJob).where(
            col(ScheduledJob.kind) == kind, col(ScheduledJob.key) == key
        )
    )
    return found.first()


async def has_open(session: AsyncSession, kind: str) -> bool:
    """Whether some job of `kind` is waiting or running."""
    result = await _run(
        session,
        select(col(ScheduledJob.id))
        .where(col(ScheduledJob.kind) == kind, col(ScheduledJob.status).in_(_OPEN))
        .limit(1),
    )
    return result.first() is not None


def _claimable(kinds: Collection[str], now: datetime) -> Any:
    return and_(
        col(ScheduledJob.kind).in_(list(kinds)),
        col(ScheduledJob.status).in_(_OPEN),
        col(ScheduledJob.due_at) <= now,
        or_(col(ScheduledJob.lease_until).is_(None), col(ScheduledJob.lease_until) <= now),
    )


_JOB_COLUMNS = (
    col(ScheduledJob.id),
    col(ScheduledJob.kind),
    col(ScheduledJob.key),
    col(ScheduledJob.due_at),
    col(ScheduledJob.attempts),
    col(ScheduledJob.payload),
)


async def claim(
    session: AsyncSession,
    owner: str,
    kinds: Collection[str],
    now: datetime,
    lease: Mapping[str, timedelta],
    limit: int,
) -> list[Job]:
    """Lease up to `limit` due jobs of `kinds` to `owner`, oldest first (SKIP LOCKED on
    PostgreSQL, so concurrent runners never take the same row); each claim is an attempt."""
    if not kinds:
        return []
    due = (
        select(col(ScheduledJob.id))
        .where(_claimable(kinds, now))
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )

    def at(span: timedelta) -> Any:
        return literal(now + span, UtcDateTime())

    until = case(
        *((col(ScheduledJob.kind) == k, at(span)) for k, span in lease.items()),
        else_=at(max(lease.values())),
    )
    statement = (
        update(ScheduledJob)
        .where(col(ScheduledJob.id).in_(due.scalar_subquery()))
        .values(
            status=_RUNNING,
            lease_owner=owner,
            lease_until=until,
            attempts=col(ScheduledJob.attempts) + 1,
        )
        .returning(*_JOB_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    rows = (await _run(session, statement)).all()
    jobs = [Job(i, k, key, due_at, n, json.loads(p or "{}")) for i, k, key, due_at, n, p in rows]
    return sorted(jobs, key=lambda j: (j.due_at, j.id))


async def _finish(
    session: AsyncSession, job_id: int, owner: str, values: Mapping[str, Any]
) -> bool:
    """Apply `values` to a job only while `owner` still holds it (a runner whose lease was
    taken over must not overwrite the new holder's outcome)."""
    result = await _run(
        session,
        update(ScheduledJob)
        .where(col(ScheduledJob.id) == job_id, col(ScheduledJob.lease_owner) == owner)
        .where(col(ScheduledJob.status) == _RUNNING)
        .values(**values)
        .execution_options(synchronize_session=False),
    )
    return bool(getattr(result, "rowcount", 0))


def _closed(status: JobStatus, now: datetime, error: str | None) -> dict[str, Any]:
    return {
        "status": status.value,
        "lease_owner": None,
        "lease_until": None,
        "done_at": now,
        "last_error": _clip(error),
    }


async def mark_done(session: AsyncSession, job_id: int, owner: str, now: datetime) -> bool:
    """The handler finished; False if `owner` no longer held the job."""
    return await _finish(session, job_id, owner, _closed(JobStatus.DONE, now, None))


async def mark_skipped(
    session: AsyncSession, job_id: int, owner: str, now: datetime, reason: str
) -> bool:
    """Never run: too late (or called off); False if `owner` no longer held the job."""
    return await _finish(session, job_id, owner, _closed(JobStatus.SKIPPED, now, reason))


async def mark_failed(
    session: AsyncSession, job_id: int, owner: str, now: datetime, error: str
) -> bool:
    """Given up after its last attempt; False if `owner` no longer held the job."""
    return await _finish(session, job_id, owner, _closed(JobStatus.FAILED, now, error))


async def mark_retry(
    session: AsyncSession, job_id: int, owner: str, at: datetime, error: str
) -> bool:
    """Give the job back, claimable again from `at` (`due_at` stays the planned time)."""
    values = {
        "status": _PENDING,
        "lease_owner": None,
        "lease_until": at,
        "last_error": _clip(error),
    }
    return await _finish(session, job_id, owner, values)


async def next_due(session: AsyncSession, kinds: Collection[str]) -> datetime | None:
    """The earliest time a waiting or running job of `kinds` becomes claimable."""
    if not kinds:
        return None
    lease_until, due_at = col(ScheduledJob.lease_until), col(ScheduledJob.due_at)
    ready = case((and_(lease_until.is_not(None), lease_until > due_at), lease_until), else_=due_at)
    result = await _run(
        session,
        select(type_coerce(func.min(ready), UtcDateTime())).where(
            col(ScheduledJob.kind).in_(list(kinds)), col(ScheduledJob.status).in_(_OPEN)
        ),
    )
    value: datetime | None = result.scalar()
    return value
