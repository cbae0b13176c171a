"""`python -m bench national`: a ministry officer's alert to 100,000 groups of the whole
country, with paid broadcast on (1,000 messages/s)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import col

from bench.botprocess import BotProcess, bot_environment
from bench.database import describe, fresh_database
from bench.measure import Copies, memory_mb
from bench.officer import CONFIRM, OfficerAtKeyboard, has_button
from bench.report import Target, cpu_seconds, figures, per_message_ms, rounded, verdict_lines
from bot.areas import AdminUnits
from bot.services.area_sync import sync_admin_units
from bot.services.officers import CLI_ACTOR, COUNTRY_CODE, OfficerService
from simulator import BotApiSimulator, Limits, SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Area, AreaKind, Chat, Subscription
from storage.types import utcnow

NATIONAL_GROUPS = 100_000
ALERT_TEXT = "Cảnh báo toàn quốc: thủ đoạn lừa đảo qua ứng dụng dịch vụ công giả mạo"
WHOLE_COUNTRY = "🇻🇳 Toàn quốc"
RECONFIRM = "✅ Gửi tới"  # the second confirmation's button starts so
PAUSED_GROUPS = 20  # subscribed but paused (the bot was removed): must receive nothing
SEED_BATCH = 5_000
SAMPLE_EVERY = 0.5  # seconds between samples of the bot's memory
GRACE = 1.0  # after the last copy, how long to keep watching for duplicates
PAID_LIMIT = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--groups", type=int, default=NATIONAL_GROUPS, help="target groups")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server URL (postgresql+asyncpg://...); a database bench_<random> is "
        "created and dropped. Default: a temporary SQLite file",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="a SQLite file holding the seeded groups: made by the first run, copied (never "
        "changed) by the next ones with the same --groups",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the broadcast")


@dataclass(frozen=True)
class NationWorld:
    """The simulator's side of the seeded database: groups in seeding order, and the officer."""

    targets: list[SimChat]
    others: list[SimChat]
    officer: SimUser


def people_and_groups(driver: SimDriver, groups: int) -> NationWorld:
    """The simulator's users and groups, created in the same order every run, so that their
    ids match a reused database."""
    admin = driver.create_user("Trưởng thôn")
    officer = driver.create_user("Cán bộ Bộ Công an", username="officer_ministry")
    targets = [
        driver.create_group(f"Tổ an ninh {n + 1}", admins=[admin], with_bot=True)
        for n in range(groups)
    ]
    others = [
        driver.create_group(f"Tạm dừng {n + 1}", admins=[admin], with_bot=True)
        for n in range(PAUSED_GROUPS)
    ]
    return NationWorld(targets, others, officer)


async def seed(url: str, units: AdminUnits, world: NationWorld) -> None:
    """Migrate, load the areas, and write the groups' chats and subscriptions in bulk (plain
    INSERTs, round-robin over every commune of the 34 provinces); the others are paused."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        await sync_admin_units(sessions, units)
        async with engine.begin() as conn:
            communes = (
                await conn.execute(
                    select(col(Area.id), col(Area.province_code))
                    .where(col(Area.kind) == AreaKind.COMMUNE.value)
                    .order_by(col(Area.code))
                )
            ).all()
            groups = [*world.targets, *world.others]
            ids = await _insert_chats(conn, groups)
            now = utcnow()
            rows = [
                {
                    "chat_id": ids[g.id],
                    "area_id": communes[n % len(communes)][0],
                    "commune_id": communes[n % len(communes)][0],
                    "province_code": communes[n % len(communes)][1],
                    "paused": False,
                    "min_severity": "info",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, g in enumerate(groups)
            ]
            for start in range(0, len(rows), SEED_BATCH):
                await conn.execute(insert(Subscription), rows[start : start + SEED_BATCH])
            paused = [ids[g.id] for g in world.others]
            await conn.execute(
                update(Subscription)
                .where(col(Subscription.chat_id).in_(paused))
                .values(paused=True)
            )
        officers = OfficerService(sessions, units, frozenset())
        await officers.grant(CLI_ACTOR, world.officer.id, COUNTRY_CODE, "Đại tá Trần Văn Bình")
    finally:
        await engine.dispose()


async def _insert_chats(conn: Any, groups: list[SimChat]) -> dict[int, int]:
    """Insert the groups' chats; Telegram id -> chats row."""
    now = utcnow()
    rows = [
        {
            "telegram_id": g.id,
            "kind": g.type,
            "title": g.title,
            "language": None,
            "bot_member": True,
            "created_at": now,
            "updated_at": now,
        }
        for g in groups
    ]
    for start in range(0, len(rows), SEED_BATCH):
        await conn.execute(insert(Chat), rows[start : start + SEED_BATCH])
    found = await conn.execute(select(col(Chat.telegram_id), col(Chat.id)))
    return {telegram_id: row_id for telegram_id, row_id in found.all()}


@contextlib.asynccontextmanager
async def seeded_database(
    args: argparse.Namespace, units: AdminUnits, world: NationWorld
) -> AsyncIterator[tuple[str, float, bool]]:
    """(URL, seconds spent seeding, reused) of a database holding the world, removed (or, for
    --reuse, left as it was) afterwards."""
    if args.reuse is None or (args.database_url or "").startswith("postgresql"):
        async with fresh_database(args.database_url) as url:
            began = time.monotonic()
            await seed(url, units, world)
            yield url, time.monotonic() - began, False
        return
    source: Path = args.reuse
    reused = _exists(source)
    began = time.monotonic()
    if not reused:
        source.parent.mkdir(parents=True, exist_ok=True)
        await seed(f"sqlite+aiosqlite:///{source}", units, world)
    with tempfile.TemporaryDirectory(prefix="canhgac-national-") as tmp:
        copy = Path(tmp) / "bench.sqlite3"
        shutil.copyfile(source, copy)  # the run changes the copy, never the seeded file
        yield f"sqlite+aiosqlite:///{copy}", time.monotonic() - began, reused


def _exists(path: Path) -> bool:
    return path.exists()


@dataclass
class MemoryWatch:
    """The bot's resident memory, sampled while the alert is delivered."""

    pid: int | None
    peak_mb: float = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            found = memory_mb(self.pid)
            if found is not None:
                self.peak_mb = max(self.peak_mb, found[0])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; the metrics."""
    units = AdminUnits.load()
    sim = BotApiSimulator()
    # Telegram's own limits, paid broadcast's 1,000/s overall for the bot's bulk sends.
    sim.limits = Limits(paid_global_per_second=PAID_LIMIT)
    await sim.start("127.0.0.1", 0)
    try:
        driver = SimDriver(sim)
        world = people_and_groups(driver, args.groups)
        async with seeded_database(args, units, world) as (url, seeding, reused):
            env = bot_environment(sim, url, 1, "local", None, paid_broadcast=True)
            bot = BotProcess(env)
            try:
                await bot.start(sim, timeout=120)
                metrics = await national_alert(driver, world, bot, args.timeout)
            finally:
                bot_exit = await bot.stop()
                tail = bot.log_tail()
                bot.cleanup()
    finally:
        await sim.stop()
    metrics.update(
        database=describe(url),
        seed_s=round(seeding, 1),
        reused_database=reused,
        bot_exit=bot_exit,
        violations=len(sim.violations),
    )
    if tail:
        print(f"bot log (tail):\n{tail}", file=sys.stderr)
    return metrics


async def national_alert(
    driver: SimDriver,
    world: NationWorld,
    bot: BotProcess,
    timeout: float,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Compose for the whole country, confirm twice, watch every copy arrive; the metrics."""
    sim = driver.sim
    officer = OfficerAtKeyboard(driver, world.officer)
    audience = await officer.compose(ALERT_TEXT + ".", scope=WHOLE_COUNTRY)
    await driver.press_button(officer.user, officer.chat, CONFIRM, message=audience)
    # The audience message becomes the second confirmation, naming the number of groups.
    question = await officer.wait(predicate=lambda m: _reconfirm_label(m) is not None)
    copies = Copies(sim, {g.id for g in world.targets}, {g.id for g in world.others}, ALERT_TEXT)
    copies.seen = before_sent = len(sim.stats.sent)
    before_429 = sim.stats.http_429
    reset_peak_memory(bot.pid)
    cpu_before, memory_before = cpu_seconds(bot.pid), memory_mb(bot.pid)
    bench_cpu_before = time.process_time()
    label = _reconfirm_label(question)
    assert label is not None
    t0 = copies.since = time.monotonic()
    await driver.press_button(officer.user, officer.chat, label, message=question)
    stop = asyncio.Event()
    watch = MemoryWatch(bot.pid, memory_before[0] if memory_before else 0.0)
    watching = asyncio.create_task(watch.run(stop))
    try:
        sent = await driver.wait_for(lambda: _sent_message(driver, officer.chat), timeout=timeout)
    except TimeoutError:
        shown = [m.text for m in driver.bot_messages(officer.chat)[-3:]]
        raise RuntimeError(f"the alert was not sent; the officer's chat ends: {shown}") from None
    confirmed_at = time.monotonic()  # the wait wakes at every change of the simulated world
    with contextlib.suppress(TimeoutError):
        await driver.wait_for(lambda: copies.scan() >= len(copies.targets), timeout=timeout)
    with contextlib.suppress(TimeoutError):
        await driver.wait_for(lambda: copies.scan() < 0, timeout=GRACE)
    stop.set()
    await watching
    copies.scan()
    cpu_after, memory_after = cpu_seconds(bot.pid), memory_mb(bot.pid)
    sends = len(sim.stats.sent) - before_sent
    bot_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    metrics = figures(copies, t0, (PAID_LIMIT, sim.limits.group_per_minute if sim.limits else 0))
    metrics.update(_memory(memory_before, memory_after, watch.peak_mb))
    metrics.update(
        seconds=metrics["t100_s"],  # from the second Confirm to the last copy
        send_span_s=metrics["seconds"],  # from the first copy to the last
        confirm_s=rounded(confirmed_at - t0, 3),
        sends=sends,
        http_429=sim.stats.http_429 - before_429,
        bot_cpu_s=rounded(bot_cpu),
        bot_cpu_ms_per_msg=rounded(per_message_ms(bot_cpu, sends), 3),
        # The simulator's (and this benchmark's) own CPU: with the bot's, what the run cost.
        bench_cpu_s=round(time.process_time() - bench_cpu_before, 2),
        confirmed="Đã gửi cảnh báo" in (sent.text or ""),
    )
    return metrics


def reset_peak_memory(pid: int | None) -> None:
    """Reset the process's VmHWM to its current resident set (Linux: clear_refs 5), so that
    the peak read later is the delivery's, not the start-up's."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def _reconfirm_label(message: SimMessage) -> str | None:
    for row in message.buttons:
        for label in row:
            if label.startswith(RECONFIRM) and has_button(message, label):
                return label
    return None


def _sent_message(driver: SimDriver, chat: SimChat) -> SimMessage | None:
    """The bot's "alert sent" message (the second confirmation, edited), once there."""
    for message in reversed(driver.bot_messages(chat)):
        if "Đã gửi cảnh báo" in (message.text or ""):
            return message
    return None


def _memory(
    before: tuple[float, float] | None, after: tuple[float, float] | None, sampled: float
) -> dict[str, Any]:
    """The bot's resident memory at the second Confirm, its peak during the delivery (the
    kernel's high-water mark, or the highest sample if that is higher), and the growth."""
    if before is None or after is None:
        return {"rss_start_mb": None, "rss_peak_mb": None, "rss_growth_mb": None}
    peak = max(after[1], sampled)
    return {
        "rss_start_mb": round(before[0], 1),
        "rss_end_mb": round(after[0], 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - before[0], 1),
    }


TARGETS: tuple[Target, ...] = (
    ("seconds", "<=", 110),
    ("ratio_to_limit", ">=", 0.9),
    ("rss_growth_mb", "<=", 50),
    ("lost", "<=", 0),
    ("duplicates", "<=", 0),
    ("leaked", "<=", 0),
)


def main(args: argparse.Namespace) -> int:
    """Run, print the JSON line on stdout and the verdicts on stderr; 0 unless it broke."""
    metrics = asyncio.run(run(args))
    print(json.dumps(metrics, ensure_ascii=False), flush=True)
    print(verdict_lines("national benchmark", metrics, TARGETS), file=sys.stderr)
    return 0
