"""SQL pieces the statistics need on both databases: minutes between two instants, a typed
instant as a parameter, and medians per group computed by the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Select

from storage.types import UtcDateTime

# Decimals kept of a median in minutes: SQLite's julianday arithmetic is exact only to about a
# microsecond of a day, so 17.5 minutes comes back as 17.49999996.
PRECISION = 3


class minutes_between(FunctionElement[float]):
    """`later - earlier` in minutes (a float), on SQLite and PostgreSQL."""

    type = Float()
    name = "minutes_between"
    inherit_cache = True


@compiles(minutes_between, "sqlite")
def _minutes_sqlite(element: minutes_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 1440.0)"


@compiles(minutes_between)
def _minutes_postgresql(element: minutes_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 60.0)"


def instant(moment: datetime) -> ColumnElement[datetime]:
    """A UTC instant as a bound parameter stored the way the columns store it."""
    return literal(moment, UtcDateTime())


def medians(source: Select[Any]) -> Select[Any]:
    """(k, median of v) per k over the rows of `source`, which selects columns labelled "k" and
    "v" (rows whose v is NULL are left out). The middle row(s) of each k are found with window
    functions, which both databases have; a constant k gives one row for all."""
    values = source.subquery("vals")
    ranked = (
        select(
            values.c.k,
            values.c.v,
            func.row_number().over(partition_by=values.c.k, order_by=values.c.v).label("rn"),
            func.count().over(partition_by=values.c.k).label("n"),
        )
        .where(values.c.v.is_not(None))
        .subquery("ranked")
    )
    # The middle row when n is odd, the two middle rows when it is even: 2*rn in [n, n+2].
    middle = and_(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
    return select(ranked.c.k, func.avg(ranked.c.v)).where(middle).group_by(ranked.c.k)
