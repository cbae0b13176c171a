"""Aggregates of tips for the statistics: counts by outcome, overdue, time to the first
response, categories; each takes a session and never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, case, func, literal_column
from sqlalchemy import select as core_select
from sqlalchemy.sql.selectable import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Assessment, Tip, TipState
from storage.queries.sql import PRECISION, instant, medians, minutes_between
from storage.queries.tips import Deadlines


class TipCounts(NamedTuple):
    """Tips received in a period, and what became of them."""

    received: int = 0
    valuable: int = 0
    resolved: int = 0
    rejected: int = 0
    overdue: int = 0


def first_response() -> ColumnElement[datetime]:
    """When officers first answered the tip: acknowledged, or closed without that."""
    return func.coalesce(col(Tip.acknowledged_at), col(Tip.closed_at))


def late(deadlines: Deadlines, end: datetime) -> ColumnElement[bool]:
    """Not answered within its deadline, as things stood at `end`: answered late, or still
    unanswered at `end` with the deadline passed."""
    answered = first_response()
    until = case((answered < instant(end), answered), else_=instant(end))
    limit = case(
        (col(Tip.category).in_(list(deadlines.urgent_categories)), _minutes(deadlines.urgent)),
        else_=_minutes(deadlines.ordinary),
    )
    return minutes_between(until, col(Tip.created_at)) > limit


def _minutes(delta: Any) -> Any:
    return literal_column(str(float(delta.total_seconds() / 60)))


def _received(where: ColumnElement[bool], start: datetime, end: datetime) -> list[Any]:
    return [where, col(Tip.created_at) >= start, col(Tip.created_at) < end]


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def tip_counts(
    session: AsyncSession,
    where: ColumnElement[bool],
    start: datetime,
    end: datetime,
    deadlines: Deadlines,
    by: Any = None,
) -> dict[Any, TipCounts]:
    """key -> counts of the tips matching `where` received in [start, end); `by` a column of
    tips (None: one row, key 0)."""
    key = (by if by is not None else literal_column("0")).label("k")
    statement: Select[Any] = core_select(
        key,
        func.count(),
        _count(col(Tip.assessment) == Assessment.VALUABLE.value),
        _count(col(Tip.state) == TipState.RESOLVED.value),
        _count(col(Tip.state) == TipState.REJECTED.value),
        _count(late(deadlines, end)),
    ).where(*_received(where, start, end))
    if by is not None:
        statement = statement.group_by(key)
    result = await _run(session, statement)
    return {row[0]: TipCounts(*(int(n) for n in row[1:])) for row in result if row[1]}


async def response_medians(
    session: AsyncSession,
    where: ColumnElement[bool],
    start: datetime,
    end: datetime,
    by: Any = None,
) -> dict[Any, float]:
    """key -> median minutes from a tip's arrival to the officers' first response."""
    key = (by if by is not None else literal_column("0")).label("k")
    minutes = minutes_between(first_response(), col(Tip.created_at)).label("v")
    values = core_select(key, minutes).where(*_received(where, start, end))
    result = await _run(session, medians(values))
    return {k: round(float(v), PRECISION) for k, v in result}


async def _run(session: AsyncSession, statement: Any) -> Any:
    """Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)
