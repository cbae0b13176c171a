"""The export service: streams tips and alert versions out of the database for the command line
and the officers' `/xuatdulieu`, and records every export in the audit log."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.areas import AdminUnits
from bot.exports.cap import CapMessage, messages
from bot.exports.reports import (
    CsvReport,
    ExportRole,
    ReportWriter,
    TipRecord,
    csv_labels,
    tip_record,
)
from bot.i18n import Catalog
from bot.services.officers import OfficerView, record_audit
from storage.db import SessionFactory
from storage.queries import exports as q
from storage.queries.exports import TipScope
from storage.types import utcnow

log = logging.getLogger(__name__)
# Telegram takes documents a bot uploads up to 50 MB.
DOCUMENT_LIMIT = 50 * 1000 * 1000
MAX_DAYS = 3660
Progress = Callable[[int], None]  # called with how many rows were just written


@dataclass(frozen=True)
class TipsFile:
    """An officer's CSV: the bytes, its file name and how many tips it holds."""

    filename: str
    data: bytes
    rows: int

    @property
    def too_big(self) -> bool:
        """More than Telegram lets a bot send."""
        return len(self.data) > DOCUMENT_LIMIT


class ExportService:
    """Tips (CSV, GeoJSON) and alerts (CAP 1.2) out of the database, streamed row by row."""

    def __init__(
        self,
        sessions: SessionFactory,
        units: AdminUnits,
        catalog: Catalog,
        tz: tzinfo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._units = units
        self._catalog = catalog
        self._tz = tz
        self._clock = clock

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    # -- tips -----------------------------------------------------------------------------

    async def count_tips(self, scope: TipScope) -> int:
        """How many tips an export of `scope` will hold."""
        async with self._sessions() as session:
            return await q.count_tips(session, scope)

    async def tips(self, scope: TipScope, role: ExportRole) -> AsyncGenerator[TipRecord, None]:
        """The scope's tips in id order, redacted for `role`, read in one transaction."""
        async with self._sessions() as session, session.begin():
            private = role is ExportRole.POLICE
            async for row in q.stream_tips(session, scope, private=private):
                yield tip_record(row, role, self._units)

    async def write_tips(
        self,
        scope: TipScope,
        role: ExportRole,
        writer: ReportWriter,
        progress: Progress | None = None,
    ) -> int:
        """Write the scope's tips with `writer`; how many were written."""
        count = 0
        writer.begin()
        async with aclosing(self.tips(scope, role)) as records:  # ends the read at once
            async for record in records:
                writer.write(record)
                count += 1
                if progress is not None:
                    progress(1)
        writer.end()
        return count

    async def officer_csv(
        self, officer: OfficerView, days: int | None, language: str | None
    ) -> TipsFile:
        """The CSV of the officer's own jurisdiction (police view), of the last `days` days
        (all when None), in the officer's language; the export is audited."""
        now = self._clock()
        since = now - timedelta(days=days) if days is not None else None
        where = officer.jurisdiction
        scope = TipScope(where.kind, where.code, since)
        buffer = io.StringIO(newline="")
        labels = csv_labels(self._catalog, language)
        rows = await self.write_tips(
            scope, ExportRole.POLICE, CsvReport(buffer, ExportRole.POLICE, labels, self._tz)
        )
        day = now.astimezone(self._tz).strftime("%Y%m%d")
        name = self._catalog.t(language, "exports.filename", code=where.code, date=day)
        await self.audit(officer.telegram_id, "tips_exported", where.code, rows, "csv/police")
        log.info("tips export for %s %s: %d tips", where.kind, where.code, rows)
        return TipsFile(name, buffer.getvalue().encode("utf-8"), rows)

    # -- alerts ---------------------------------------------------------------------------

    async def count_alert_versions(self, since: datetime | None) -> int:
        """How many CAP messages an export since `since` will hold."""
        async with self._sessions() as session:
            return await q.count_versions(session, since)

    async def alert_messages(self, since: datetime | None) -> AsyncGenerator[CapMessage, None]:
        """One CAP message per alert version made since `since`, by alert then version."""
        async with self._sessions() as session, session.begin():
            async for message in messages(q.stream_versions(session, since), self._units, since):
                yield message

    # -- audit ----------------------------------------------------------------------------

    async def audit(self, actor: int, action: str, target: str, rows: int, detail: str) -> None:
        """Record who exported what, and how many rows (the command line is actor 0)."""
        async with self._sessions() as session, session.begin():
            await record_audit(session, actor, action, target, rows, detail)
