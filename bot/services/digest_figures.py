"""The digest's figures, read from the statistics service (the one read model)."""

from __future__ import annotations

from datetime import tzinfo

from bot.areas import AdminUnits
from bot.services.digest_types import AreaFigures, Period
from storage.db import SessionFactory


class StatsFigures:
    """A `FigureSource` over `StatisticsService`."""

    def __init__(self, sessions: SessionFactory, units: AdminUnits, tz: tzinfo) -> None:
        self._sessions = sessions
        self._units = units
        self._tz = tz

    async def figures(self, code: str, period: Period) -> AreaFigures:
        """The figures of a commune or province for one week."""
        raise NotImplementedError("waiting for StatisticsService (branch stats)")
