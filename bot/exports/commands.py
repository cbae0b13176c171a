"""`canhgac export reports|alerts`: what the command line does once its arguments are parsed.

Data goes to the file named (or standard output); the progress bar and the closing sentence go
to standard error, the bar only when that is a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import IO, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from bot.areas import AdminUnits
from bot.exports.cap import AtomFeed, CapBuilder, CapMessage, InvalidSender, document, filename
from bot.exports.dates import since_moment
from bot.exports.reports import CsvReport, ExportRole, GeoJsonReport, ReportWriter, csv_labels
from bot.exports.service import ExportService
from bot.i18n import load_catalog
from bot.services.officers import CLI_ACTOR, UnknownJurisdiction, jurisdiction_of
from bot.settings import Settings
from storage.db import session_factory
from storage.queries.exports import TipScope
from storage.types import utcnow


def _service(settings: Settings, engine: AsyncEngine, units: AdminUnits) -> ExportService:
    catalog = load_catalog(settings.default_language)
    return ExportService(session_factory(engine), units, catalog, settings.tz)


def _progress(total: int, unit: str) -> tqdm:
    """A bar on standard error, shown only when it is a terminal."""
    return tqdm(total=total, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty())


@contextlib.contextmanager
def _text_output(path: str | None) -> Iterator[TextIO]:
    """The file, or standard output, as UTF-8 text with newlines as written."""
    if path is None:
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            yield stream
        finally:
            stream.flush()
            stream.detach()  # standard output stays open for whoever prints next
        return
    with open(path, "w", encoding="utf-8", newline="") as file:
        yield file


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The database, migrated (as every command leaves it), closed afterwards."""
    from bot.runner import prepare_database

    engine = await prepare_database(settings)
    try:
        yield engine
    finally:
        await engine.dispose()


async def export_reports(settings: Settings, args: argparse.Namespace) -> int:
    """Tips as CSV or GeoJSON, for the police or the public."""
    units = AdminUnits.load()
    try:
        where = jurisdiction_of(units, args.area.strip()) if args.area else None
    except UnknownJurisdiction:
        print(f"canhgac: no commune or province has the code {args.area!r}.", file=sys.stderr)
        return 2
    since = since_moment(args.since, settings.tz)
    scope = TipScope(where.kind if where else None, where.code if where else None, since)
    role = ExportRole(args.role)
    async with _database(settings) as engine:
        service = _service(settings, engine, units)
        total = await service.count_tips(scope)
        with _text_output(args.output) as out, _progress(total, "tip") as bar:
            writer: ReportWriter
            if args.format == "csv":
                labels = csv_labels(service.catalog, args.language or settings.default_language)
                writer = CsvReport(out, role, labels, settings.tz)
            else:
                writer = GeoJsonReport(out, role, settings.tz)
            count = await service.write_tips(scope, role, writer, bar.update)
        target = where.code if where else "all"
        detail = f"{args.format}/{role.value}"
        await service.audit(CLI_ACTOR, "tips_exported", target, count, detail)
    place = f" of {where.label}" if where else ""
    print(f"Exported {count} tips{place} ({role.value}).", file=sys.stderr)
    return 0


async def export_alerts(settings: Settings, args: argparse.Namespace) -> int:
    """Every alert version since `--since` as CAP 1.2: files in a directory, or an Atom feed."""
    units = AdminUnits.load()
    try:
        builder = CapBuilder(load_catalog(settings.default_language), args.sender, settings.tz)
    except InvalidSender:
        print("canhgac: --sender may not contain spaces, commas, '<' or '&'.", file=sys.stderr)
        return 2
    since = since_moment(args.since, settings.tz)
    async with _database(settings) as engine:
        service = _service(settings, engine, units)
        total = await service.count_alert_versions(since)
        with _progress(total, "alert") as bar:
            items = _counted(service.alert_messages(since), bar)
            async with contextlib.aclosing(items):
                if args.output is not None:
                    count = await _write_files(Path(args.output), builder, items)
                else:
                    count = await _write_feed(args.atom, builder, items, settings)
        await service.audit(CLI_ACTOR, "alerts_exported", "all", count, "cap")
    where = f"to {args.output}" if args.output else f"as an Atom feed to {args.atom or 'stdout'}"
    print(f"Exported {count} CAP messages {where}.", file=sys.stderr)
    return 0


async def _counted(
    items: AsyncGenerator[CapMessage, None], bar: tqdm
) -> AsyncGenerator[CapMessage, None]:
    async with contextlib.aclosing(items):  # an error while writing ends the read at once
        async for item in items:
            yield item
            bar.update(1)


# The command line's event loop serves this export alone: writing files blocks nobody else.


def _make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)


def _save(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _binary_output(path: str | None) -> contextlib.AbstractContextManager[IO[bytes]]:
    """The file, or standard output, for bytes."""
    if path is None:
        return contextlib.nullcontext(sys.stdout.buffer)
    return open(path, "wb")


async def _write_files(
    folder: Path, builder: CapBuilder, items: AsyncGenerator[CapMessage, None]
) -> int:
    _make_folder(folder)
    count = 0
    async for message in items:
        _save(folder / filename(message), document(builder.alert(message)))
        count += 1
    return count


async def _write_feed(
    path: str | None,
    builder: CapBuilder,
    items: AsyncGenerator[CapMessage, None],
    settings: Settings,
) -> int:
    with _binary_output(path) as out:
        return await AtomFeed(out, builder, utcnow(), settings.tz).write(items)
