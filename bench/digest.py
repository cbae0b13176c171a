"""`python -m bench digest`: the figures of a province of 3,135 groups over a year.

Seeds a fresh database with Phú Thọ's groups and a year of alerts, copies, acknowledgements and
tips (bulk inserts), then times `StatisticsService.figures` for the province and for each of
its communes over the year, and prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bench.database import describe, fresh_database
from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from bot.services.stats import Period, PeriodName, Scope, StatisticsService
from bot.services.tip_types import TipCategory, TipConfig
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Alert, AlertAck, AlertTarget, Area, Chat, Delivery, Subscription, Tip

PHU_THO = "25"
PHU_THO_GROUPS = 3135
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BATCH = 5000
SEVERITIES = ("urgent", "warning", "warning", "info", "info", "info")
CATEGORIES = ("scam", "theft", "drugs", "fire", "traffic", "wanted", "other")
STATES = ("new", "acknowledged", "resolved", "resolved", "rejected")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--groups", type=int, default=PHU_THO_GROUPS, help="groups in Phú Thọ")
    parser.add_argument("--weeks", type=int, default=52, help="weeks of history")
    parser.add_argument(
        "--commune-alerts", type=int, default=2, help="alerts per commune per month"
    )
    parser.add_argument("--tips", type=int, default=100, help="tips per commune per year")
    parser.add_argument("--ack-share", type=float, default=0.7, help="copies acknowledged")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server URL (postgresql+asyncpg://...); a database bench_<random> is "
        "created and dropped. Default: a temporary SQLite file",
    )
    parser.add_argument("--seed", type=int, default=8, help="random seed of the history")


@dataclass(frozen=True)
class Seeded:
    communes: list[str]
    alerts: int
    copies: int
    acks: int
    tips: int


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _bulk(engine: AsyncEngine, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    """Insert the rows in batches, one transaction per batch; how many."""
    count = 0
    for batch in _batches(rows):
        async with engine.begin() as conn:
            await conn.execute(insert(table), batch)
        count += len(batch)
    return count


async def _areas(engine: AsyncEngine) -> tuple[int, dict[str, int]]:
    """The province's row and its communes' rows by code."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(col(Area.id), col(Area.code), col(Area.kind)).where(
                    col(Area.province_code) == PHU_THO
                )
            )
        ).all()
    province = next(int(r[0] or 0) for r in rows if r[2] == "province")
    return province, {str(r[1]): int(r[0] or 0) for r in rows if r[2] == "commune"}


async def seed(
    engine: AsyncEngine, units: AdminUnits, args: argparse.Namespace, now: datetime
) -> Seeded:
    """Groups, a year of alerts with their copies and acknowledgements, and tips."""
    rng = random.Random(args.seed)
    await upgrade(engine)
    await sync_admin_units(session_factory(engine), units)
    province, communes = await _areas(engine)
    codes = sorted(communes)
    start = now - timedelta(weeks=args.weeks)
    groups = await _groups(engine, args.groups, codes, communes, start - timedelta(days=30))
    alerts = _alert_plan(rng, args, codes, start, now)
    await _bulk(engine, Alert, (a.row(n) for n, a in enumerate(alerts, 1)))
    await _bulk(
        engine,
        AlertTarget,
        (a.target(n, province, communes) for n, a in enumerate(alerts, 1)),
    )
    copies, acks = _copies(rng, args.ack_share, alerts, groups)
    delivered = await _bulk(engine, Delivery, iter(copies))
    acknowledged = await _bulk(engine, AlertAck, iter(acks))
    tips = await _bulk(
        engine,
        Tip,
        _tips(rng, args.tips * len(codes) * args.weeks // 52, codes, start, now),
    )
    return Seeded(codes, len(alerts), delivered, acknowledged, tips)


async def _groups(
    engine: AsyncEngine, count: int, codes: Sequence[str], communes: dict[str, int], since: datetime
) -> dict[str, list[tuple[int, int]]]:
    """`count` groups round-robin over the communes; commune code -> [(chat row, telegram id)]."""
    chats = (
        {
            "telegram_id": -4_000_000_000 - n,
            "kind": "group",
            "title": f"Tổ {n + 1}",
            "bot_member": True,
            "created_at": since,
            "updated_at": since,
        }
        for n in range(count)
    )
    await _bulk(engine, Chat, chats)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(col(Chat.id), col(Chat.telegram_id)).order_by(col(Chat.id)))
        ).all()
    by_commune: dict[str, list[tuple[int, int]]] = {c: [] for c in codes}
    subscriptions = []
    for n, (chat_id, telegram_id) in enumerate(rows):
        code = codes[n % len(codes)]
        by_commune[code].append((int(chat_id or 0), telegram_id))
        subscriptions.append(
            {
                "chat_id": chat_id,
                "area_id": communes[code],
                "commune_id": communes[code],
                "province_code": PHU_THO,
                "paused": False,
                "min_severity": "info",
                "created_at": since,
                "updated_at": since,
            }
        )
    await _bulk(engine, Subscription, iter(subscriptions))
    return by_commune


@dataclass(frozen=True)
class _Alert:
    sent: datetime
    severity: str
    category: str
    commune: str | None  # None: the whole province

    def row(self, n: int) -> dict[str, Any]:
        return {
            "id": n,
            "draft_token": f"bench{n}",
            "officer_telegram_id": 5_000_000_001,
            "issuer": "Công an",
            "issuer_code": self.commune or PHU_THO,
            "target_kind": "commune" if self.commune else "province",
            "target_codes": "{}",
            "target_label": self.commune or PHU_THO,
            "severity": self.severity,
            "category": self.category,
            "text": "Cảnh giác.",
            "valid_until": self.sent + timedelta(days=1),
            "exercise": False,
            "status": "active",
            "version": 1,
            "recipients": 0,
            "created_at": self.sent,
            "updated_at": self.sent,
        }

    def target(self, n: int, province: int, communes: dict[str, int]) -> dict[str, Any]:
        area = communes[self.commune] if self.commune else province
        return {
            "alert_id": n,
            "area_id": area,
            "area_kind": "commune" if self.commune else "province",
            "area_code": self.commune or PHU_THO,
        }


def _alert_plan(
    rng: random.Random,
    args: argparse.Namespace,
    codes: Sequence[str],
    start: datetime,
    end: datetime,
) -> list[_Alert]:
    """One province-wide alert a week, and `--commune-alerts` per commune per month."""
    span = (end - start).total_seconds()
    plan = [
        _Alert(
            start + timedelta(weeks=w, hours=9),
            rng.choice(SEVERITIES),
            rng.choice(CATEGORIES),
            None,
        )
        for w in range(args.weeks)
    ]
    per_commune = max(1, round(args.commune_alerts * 12 * args.weeks / 52))
    for code in codes:
        for _ in range(per_commune):
            sent = start + timedelta(seconds=rng.uniform(0, span - 3600))
            plan.append(_Alert(sent, rng.choice(SEVERITIES), rng.choice(CATEGORIES), code))
    return plan


def _copies(
    rng: random.Random,
    share: float,
    alerts: Sequence[_Alert],
    groups: dict[str, list[tuple[int, int]]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    everyone = [g for members in groups.values() for g in members]
    copies, acks = [], []
    for n, alert in enumerate(alerts, 1):
        delivered = alert.sent + timedelta(seconds=30)
        for chat_id, telegram_id in groups[alert.commune] if alert.commune else everyone:
            copies.append(
                {
                    "kind": "alert",
                    "ref_id": n,
                    "chat_id": chat_id,
                    "telegram_chat_id": telegram_id,
                    "priority": 0,
                    "status": "delivered",
                    "content_version": 1,
                    "sent_version": 1,
                    "message_id": n,
                    "is_photo": False,
                    "attempts": 1,
                    "created_at": alert.sent,
                    "delivered_at": delivered,
                    "updated_at": delivered,
                }
            )
            if rng.random() < share:
                minutes = rng.lognormvariate(3, 1)  # a median of about 20 minutes
                acks.append(
                    {
                        "alert_id": n,
                        "chat_id": chat_id,
                        "user_telegram_id": 5_100_000_000,
                        "created_at": delivered + timedelta(minutes=minutes),
                    }
                )
    return copies, acks


def _tips(
    rng: random.Random, count: int, codes: Sequence[str], start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    span = (end - start).total_seconds()
    categories = [c.value for c in TipCategory]
    for n in range(count):
        created = start + timedelta(seconds=rng.uniform(0, span))
        state = rng.choice(STATES)
        answered = (
            created + timedelta(minutes=rng.lognormvariate(4, 1.5)) if state != "new" else None
        )
        yield {
            "draft_token": f"tip{n}",
            "category": rng.choice(categories),
            "text": "Có chuyện.",
            "commune_code": codes[n % len(codes)],
            "province_code": PHU_THO,
            "area_source": "chosen",
            "anonymous": True,
            "state": state,
            "assessment": "valuable" if rng.random() < 0.2 else "unassessed",
            "valuable_told": False,
            "version": 1,
            "created_at": created,
            "updated_at": created,
            "acknowledged_at": answered if state in ("acknowledged", "resolved") else None,
            "closed_at": answered if state in ("resolved", "rejected") else None,
            "resolved_at": answered if state == "resolved" else None,
        }


async def _timed(
    stats: StatisticsService, scope: Scope, period: Period, now: datetime
) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await stats.figures(scope, period, now)
    return time.perf_counter() - wall, time.process_time() - cpu


async def run(args: argparse.Namespace) -> dict[str, Any]:
    units = AdminUnits.load()
    now = datetime.now(UTC)
    async with fresh_database(args.database_url) as url:
        engine = create_engine(url)
        try:
            seeded = await seed(engine, units, args, now)
            stats = StatisticsService(session_factory(engine), units, TipConfig(), TZ)
            period = Period(now - timedelta(weeks=args.weeks), now)
            await _timed(stats, Scope.province(PHU_THO), period, now)  # warm the caches once
            seconds, cpu = await _timed(stats, Scope.province(PHU_THO), period, now)
            week, _ = await _timed(
                stats, Scope.province(PHU_THO), stats.period(PeriodName.WEEK, now), now
            )
            per_commune = [
                (await _timed(stats, Scope.commune(code), period, now))[0] * 1000
                for code in seeded.communes
            ]
        finally:
            await engine.dispose()
    return {
        "benchmark": "digest",
        "database": describe(url),
        "groups": args.groups,
        "communes": len(seeded.communes),
        "weeks": args.weeks,
        "alerts": seeded.alerts,
        "copies": seeded.copies,
        "acks": seeded.acks,
        "tips": seeded.tips,
        "seconds": round(seconds, 3),
        "cpu_s": round(cpu, 3),
        "last_week_seconds": round(week, 3),
        "per_commune_ms": {
            "median": round(statistics.median(per_commune), 1),
            "max": round(max(per_commune), 1),
            "total_s": round(sum(per_commune) / 1000, 2),
        },
    }


def main(args: argparse.Namespace) -> int:
    """Run and print the JSON line."""
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
