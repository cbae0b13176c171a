"""Weekly digests: who gets one, when, with which figures; telegram-free.

A run (the default schedule, a group's own weekday and hour, or one person's request) freezes
the week's figures per area (`digest_snapshots`), then writes in one transaction one `digests`
row per recipient and its outbox row: unique keys make a repeated run write nothing, so a
digest is sent once however often its job runs. Group administrators come from Telegram, read
by the caller (an `AdminReader`) at most once per group and week and kept in `digest_admins`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits
from bot.delivery.kinds import OutgoingKind
from bot.delivery.outbox import enqueue
from bot.delivery.outgoing import Document, Outgoing, Target
from bot.i18n import Catalog
from bot.scheduling import DurableScheduler, Job, crontab_trigger
from bot.scheduling import cancel as cancel_job
from bot.scheduling import schedule as schedule_job
from bot.services.charts import ChartCache, ChartData
from bot.services.digest_render import (
    DigestView,
    Section,
    chart_caption,
    chart_data,
    digest_text,
    table_caption,
    table_csv,
    table_filename,
)
from bot.services.digest_types import (
    CHART_KIND,
    CUSTOM_JOB,
    DIGEST_KIND,
    FOLLOW_JOB,
    NOTE_KIND,
    PLAN_JOB,
    PLAN_SCHEDULE,
    START_PAYLOAD,
    TABLE_KIND,
    WEEKLY_JOB,
    AreaFigures,
    Audience,
    DigestConfig,
    Slot,
)
from bot.services.stats import Period, last_full_week
from storage.db import SessionFactory
from storage.models import (
    Chat,
    DeliveryStatus,
    DigestGroupSetting,
    DigestOptOut,
    DigestRun,
    DigestSnapshot,
)
from storage.queries import digests as q
from storage.types import utcnow

log = logging.getLogger(__name__)

# Reads a group's administrators from Telegram: their user ids (bots left out), or None when
# the group cannot be read (the bot was removed, the group is gone).
AdminReader = Callable[[int], Awaitable[Sequence[int] | None]]
# Weekly digests wait behind alerts in the outbox (alerts use 0 to 2); a digest someone just
# asked for goes first: they are waiting for it.
PRIORITY = -1
REQUEST_PRIORITY = 3
_ADMIN_READS = 10  # getChatAdministrators calls in flight at once (each waits in the limiter)
JOB_LEASE = timedelta(minutes=30)  # reading 3,000 groups' admins takes minutes
# Charts and tables follow their text: the first look a few seconds after the run, then every
# few seconds while some text is still on its way (a day at most).
FOLLOW_FIRST = timedelta(seconds=3)
FOLLOW_EVERY = timedelta(seconds=5)
FOLLOW_FOR = timedelta(days=1)
_PENDING, _DELIVERED = DeliveryStatus.PENDING.value, DeliveryStatus.DELIVERED.value


class FigureSource(Protocol):
    """Computes the figures of one commune or province (official code) for one week."""

    async def figures(self, code: str, period: Period) -> AreaFigures: ...


@dataclass(frozen=True)
class GroupPrefs:
    """A group's digest settings as /caidat shows them."""

    enabled: bool
    slot: Slot | None  # None: the default schedule
    post_in_group: bool
    default_at: datetime  # the default schedule's next time, in the time zone

    @property
    def effective(self) -> tuple[int, int, int]:
        """ISO weekday, hour and minute the group's digest goes out."""
        if self.slot is not None:
            return self.slot.weekday, self.slot.hour, 0
        at = self.default_at
        return at.isoweekday(), at.hour, at.minute


@dataclass
class RunOutcome:
    """What a run wrote: the run row and its new digests by audience (texts and notes are in
    the outbox; charts and tables follow)."""

    run_id: int | None = None
    written: dict[str, int] = field(default_factory=dict)
    follow_at: datetime | None = None  # when charts and tables start to follow

    @property
    def total(self) -> int:
        return sum(self.written.values())


class RequestStatus(StrEnum):
    """What became of a /tonghop."""

    SENT = "sent"  # on its way to the person, privately
    START = "start"  # they must open the bot first
    NONE = "none"  # nothing to summarise for them
    UNSUBSCRIBED = "unsubscribed"  # the group has no area


@dataclass(frozen=True)
class RequestOutcome:
    """What /tonghop did, and whether the person turned their weekly digest off."""

    status: RequestStatus
    opted_out: bool = False
    chat_row_id: int | None = None  # the group's row, for its deep link


@dataclass
class _Plan:
    """The rows one run writes, keyed by (chat, audience), with their place in the chat."""

    bodies: dict[tuple[int, Audience], dict[str, Any]] = field(default_factory=dict)
    positions: dict[tuple[int, Audience], int] = field(default_factory=dict)
    languages: dict[int, str | None] = field(default_factory=dict)
    group_rows: dict[int, int] = field(default_factory=dict)  # telegram id -> chat row id
    noted: list[int] = field(default_factory=list)  # chat rows told to open the bot

    def add(
        self,
        telegram_id: int,
        audience: Audience,
        body: dict[str, Any],
        lang: str | None,
        position: int = 0,
    ) -> None:
        self.bodies[(telegram_id, audience)] = body
        self.positions[(telegram_id, audience)] = position
        self.languages[telegram_id] = lang

    def add_digest(
        self,
        telegram_id: int,
        audience: Audience,
        body: dict[str, Any],
        lang: str | None,
        table: int | None = None,
    ) -> None:
        """A digest's text, then the chart of its first area, then a province's table."""
        self.add(telegram_id, audience, body, lang)
        sections = body.get("sections") or []
        position = 0
        if sections:
            position += 1
            chart = {"snapshot": sections[0]["snapshot"], "public": audience is Audience.GROUP}
            self.add(telegram_id, Audience.CHART, chart, lang, position)
        if table is not None:
            self.add(telegram_id, Audience.TABLE, {"snapshot": table}, lang, position + 1)

    def drop(self, telegram_id: int, audience: Audience) -> None:
        self.bodies.pop((telegram_id, audience), None)
        self.positions.pop((telegram_id, audience), None)


class DigestService:
    """Digest settings, scheduled and requested runs, and the rendering of each digest."""

    def __init__(
        self,
        sessions: SessionFactory,
        units: AdminUnits,
        catalog: Catalog,
        config: DigestConfig,
        tz: ZoneInfo,
        default_language: str,
        figures: FigureSource,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._units = units
        self._catalog = catalog
        self.config = config
        self.tz = tz
        self._default_language = default_language
        self._figures = figures
        # The one source of "now" for scheduled work (the scheduler's clock in tests); a job
        # is never handled as if before its due time.
        self._clock = clock
        self._trigger = crontab_trigger(config.schedule, tz)
        self.charts = ChartCache()
        self._notify: Callable[[], None] = lambda: None
        self._scheduler: DurableScheduler | None = None
        self._snapshots: dict[int, tuple[AreaFigures, Period]] = {}

    def kinds(self) -> tuple[OutgoingKind, ...]:
        """The outbox kinds digests send, each rendered for its chat and never edited: the text,
        then its chart (a reply to it) and a province officer's table; a group's note."""
        return (
            OutgoingKind(DIGEST_KIND, self.render, per_chat=True, editable=False),
            OutgoingKind(CHART_KIND, self.render_chart, per_chat=True, editable=False),
            OutgoingKind(TABLE_KIND, self.render_table, per_chat=True, editable=False),
            OutgoingKind(NOTE_KIND, self.render_note, per_chat=True, editable=False),
        )

    def set_notifier(self, notify: Callable[[], None]) -> None:
        """Call `notify` after committing digests (the delivery engine's wake-up)."""
        self._notify = notify

    # -- settings ------------------------------------------------------------------------

    def default_at(self, now: datetime) -> datetime:
        """The default schedule's next time at or after `now`, in the time zone."""
        found: datetime | None = self._trigger.get_next_fire_time(None, now)
        return (found or now).astimezone(self.tz)

    async def group_prefs(self, telegram_chat_id: int, now: datetime) -> GroupPrefs | None:
        """The group's digest settings; None if it has no subscription."""
        async with self._sessions() as session:
            found = await q.subscribed_chat(session, telegram_chat_id)
            if found is None:
                return None
            row = await session.get(DigestGroupSetting, found)
        return self._prefs(row, now)

    def _prefs(self, row: DigestGroupSetting | None, now: datetime) -> GroupPrefs:
        slot = None
        if row is not None and row.weekday is not None and row.hour is not None:
            slot = Slot(row.weekday, row.hour)
        return GroupPrefs(
            enabled=row.enabled if row is not None else True,
            slot=slot,
            post_in_group=row.post_in_group if row is not None else False,
            default_at=self.default_at(now),
        )

    async def set_slot(
        self, telegram_chat_id: int, slot: Slot | None, now: datetime
    ) -> GroupPrefs | None:
        """Send the group's digest at its own weekly time (None: the default schedule)."""
        values = {"weekday": slot.weekday if slot else None, "hour": slot.hour if slot else None}
        return await self._change(telegram_chat_id, values, now)

    async def set_enabled(
        self, telegram_chat_id: int, enabled: bool, now: datetime
    ) -> GroupPrefs | None:
        """Turn the group's digest on or off."""
        return await self._change(telegram_chat_id, {"enabled": enabled}, now)

    async def set_post_in_group(
        self, telegram_chat_id: int, post: bool, now: datetime
    ) -> GroupPrefs | None:
        """Also post the digest in the group (small tip counts hidden), or not."""
        return await self._change(telegram_chat_id, {"post_in_group": post}, now)

    async def _change(
        self, telegram_chat_id: int, values: dict[str, Any], now: datetime
    ) -> GroupPrefs | None:
        async with self._sessions() as session, session.begin():
            chat_id = await q.subscribed_chat(session, telegram_chat_id)
            if chat_id is None:
                return None
            before = self._prefs(await session.get(DigestGroupSetting, chat_id), now)
            await q.upsert_setting(session, chat_id, {**values, "updated_at": now})
            row = await session.get(DigestGroupSetting, chat_id, populate_existing=True)
            prefs = self._prefs(row, now)
            if prefs.enabled and prefs.slot is not None:
                # The new weekly time gets its run with the change: none can be missed.
                await self._plan_slot(session, prefs.slot, now)
            if before.enabled and before.slot not in (None, _slot_of(prefs)):
                await self._unplan_slot(session, before.slot, now)
        return prefs

    async def _unplan_slot(self, session: AsyncSession, slot: Slot | None, now: datetime) -> None:
        """Call off the next run of a weekly time no group uses any more."""
        if slot is None or await q.slot_in_use(session, slot.weekday, slot.hour):
            return
        await cancel_job(
            session, CUSTOM_JOB, slot.key(slot.next_at(now, self.tz), self.tz), now=now
        )

    async def set_person_enabled(self, telegram_id: int, enabled: bool) -> None:
        """A person's own switch (/tonghop bat, /tonghop tat) for every digest sent to them."""
        async with self._sessions() as session, session.begin():
            await q.set_opted_out(session, telegram_id, not enabled)

    async def person_enabled(self, telegram_id: int) -> bool:
        """Whether the person receives the weekly digests."""
        async with self._sessions() as session:
            return await session.get(DigestOptOut, telegram_id) is None

    # -- scheduling ----------------------------------------------------------------------

    def register_jobs(
        self, scheduler: DurableScheduler, admins: AdminReader, start_url: Callable[[str], str]
    ) -> None:
        """Run digests on `scheduler`: the default schedule, groups' own times, the planner.

        `start_url(payload)` is the bot's deep link (t.me/<bot>?start=<payload>).
        """

        async def run(job: Job) -> None:
            await self.run(job, admins, start_url)

        async def plan(job: Job) -> None:
            await self.plan_slots(job.due_at)

        self._scheduler = scheduler
        grace = self.config.grace
        scheduler.register(WEEKLY_JOB, run, grace=grace, lease=JOB_LEASE)
        scheduler.every(WEEKLY_JOB, self.config.schedule, self.tz, key_fn=_minute_key)
        scheduler.register(CUSTOM_JOB, run, grace=grace, lease=JOB_LEASE)

        async def follow(job: Job) -> None:
            await self.follow_up(job)

        scheduler.register(FOLLOW_JOB, follow, grace=FOLLOW_FOR)
        # Planning is idempotent, so a late planner is still useful.
        scheduler.register(PLAN_JOB, plan, grace=timedelta(days=6))
        scheduler.every(PLAN_JOB, PLAN_SCHEDULE, self.tz)

    async def plan_slots(self, now: datetime) -> int:
        """Give each weekday/hour some group chose its next run; how many were new."""
        async with self._sessions() as session, session.begin():
            slots = [Slot(w, h) for w, h in await q.slots_in_use(session)]
            planned = [await self._plan_slot(session, slot, now) for slot in slots]
        return sum(planned)

    async def _plan_slot(self, session: AsyncSession, slot: Slot, now: datetime) -> bool:
        at = slot.next_at(now, self.tz)
        payload = {"weekday": slot.weekday, "hour": slot.hour}
        key = slot.key(at, self.tz)
        return await schedule_job(session, CUSTOM_JOB, key, at, payload, now=now) is not None

    # -- a scheduled run -----------------------------------------------------------------

    async def run(
        self, job: Job, admins: AdminReader, start_url: Callable[[str], str]
    ) -> RunOutcome:
        """Prepare and enqueue the digests of one scheduled run (idempotent).

        The job's due time decides the week, however late the job runs."""
        period = last_full_week(job.due_at, self.tz)
        slot = None if job.kind == WEEKLY_JOB else Slot(**job.payload)
        groups = await self._due_groups(slot, period)
        await self._read_admins(groups, period, admins)
        plan = await self._plan_run(groups, period, officers=slot is None, start_url=start_url)
        trigger = "weekly" if slot is None else "custom"
        now = self._now(job)
        async with self._sessions() as session, session.begin():
            key = f"{job.kind}:{job.key}"
            outcome = await self._write(session, key, trigger, period, plan, now)
            await q.mark_groups_done(
                session, [g.chat_id for g in groups], period.start, plan.noted, now
            )
            if slot is not None:
                await self._plan_slot(session, slot, job.due_at + timedelta(minutes=1))
        log.info("digest run #%s (%s): %s", outcome.run_id, job.key, _describe(outcome.written))
        self._committed(outcome)
        return outcome

    def _now(self, job: Job) -> datetime:
        """The time a job is handled at: the clock's, never before the job's due time."""
        return max(self._clock(), job.due_at)

    async def _due_groups(self, slot: Slot | None, period: Period) -> list[q.DueGroup]:
        async with self._sessions() as session:
            return await q.due_groups(
                session, None if slot is None else (slot.weekday, slot.hour), period.start
            )

    async def _read_admins(
        self, groups: Sequence[q.DueGroup], period: Period, reader: AdminReader
    ) -> None:
        """Ask Telegram for the administrators of the groups not yet read this week."""
        async with self._sessions() as session:
            known = await q.groups_with_admins(session, [g.chat_id for g in groups], period.start)
        missing = [g for g in groups if g.chat_id not in known]
        gate = asyncio.Semaphore(_ADMIN_READS)

        async def read(group: q.DueGroup) -> tuple[int, Sequence[int]]:
            async with gate:
                found = await reader(group.telegram_id)
            return group.chat_id, found or ()

        for start in range(0, len(missing), 50):  # stored as read: a crash keeps what was read
            batch = await asyncio.gather(*(read(g) for g in missing[start : start + 50]))
            async with self._sessions() as session, session.begin():
                for chat_id, ids in batch:
                    await q.remember_admins(session, chat_id, period.start, ids)

    async def _plan_run(
        self,
        groups: Sequence[q.DueGroup],
        period: Period,
        *,
        officers: bool,
        start_url: Callable[[str], str],
    ) -> _Plan:
        """Who gets what: each admin one digest of all their groups, the groups' posts and
        notes, and (on the default schedule) every officer."""
        plan = _Plan()
        async with self._sessions() as session:
            admins = await q.admins_of(session, [g.chat_id for g in groups], period.start)
            officer_rows = await q.active_officers(session) if officers else []
            people = {a for ids in admins.values() for a in ids}
            people |= {o.telegram_id for o in officer_rows}
            reachable = await q.reachable_people(session, sorted(people))
            languages = await q.person_languages(session, sorted(reachable), self._default_language)
        snapshot = await self._snapshot_ids({g.commune_code for g in groups}, period)
        mine: dict[int, list[q.DueGroup]] = defaultdict(list)
        for group in groups:
            ids = admins.get(group.chat_id, ())
            for person in ids:
                if person in reachable:
                    mine[person].append(group)
            _plan_group(plan, group, snapshot[group.commune_code], ids, reachable, start_url)
        for person, own in mine.items():
            if reachable[person]:
                body = _sections_body(_by_commune(own, snapshot))
                plan.add_digest(person, Audience.ADMIN, body, languages.get(person))
        if officers:
            await self._plan_officers(
                plan, officer_rows, reachable, languages, mine, snapshot, period
            )
        return plan

    async def _plan_officers(
        self,
        plan: _Plan,
        officers: Sequence[q.OfficerRef],
        reachable: Mapping[int, bool],
        languages: Mapping[int, str | None],
        mine: Mapping[int, Sequence[q.DueGroup]],
        snapshot: Mapping[str, int],
        period: Period,
    ) -> None:
        # The ministry's officers (the whole country) get no weekly digest: it is made of
        # provinces' and communes' figures, and /thongke shows them the country's.
        people = [
            o for o in officers if reachable.get(o.telegram_id) and self._has_figures(o.area_code)
        ]
        areas = await self._snapshot_ids({o.area_code for o in people}, period)
        for officer in people:
            person = officer.telegram_id
            own = mine.get(person, ())
            sections = [(areas[officer.area_code], []), *_by_commune(own, snapshot)]
            body = {**_sections_body(sections), "officer": True}
            plan.drop(person, Audience.ADMIN)  # the officer's digest lists their groups too
            table = areas[officer.area_code] if self._is_province(officer.area_code) else None
            plan.add_digest(person, Audience.OFFICER, body, languages.get(person), table)

    async def _write(
        self,
        session: AsyncSession,
        key: str,
        trigger: str,
        period: Period,
        plan: _Plan,
        now: datetime,
        priority: int = PRIORITY,
    ) -> RunOutcome:
        """The run, its digests and the outbox rows of the first message in each chat; rows
        already written are left alone. What follows (charts, tables) waits for the follow-up,
        first looking a few seconds after `now`."""
        run_id = await q.run_row(session, key, trigger, period.start, period.end, now)
        outcome = RunOutcome(run_id)
        if not plan.bodies:
            return outcome
        rows = [
            {
                "run_id": run_id,
                "audience": audience.value,
                "telegram_chat_id": chat,
                "chat_id": plan.group_rows.get(chat) if chat < 0 else None,
                "body": json.dumps(body, sort_keys=True),
                "position": plan.positions[(chat, audience)],
                "created_at": now,
            }
            for (chat, audience), body in plan.bodies.items()
        ]
        written = await q.insert_digests(session, rows)
        targets: dict[str, list[Target]] = defaultdict(list)
        for chat, audience, position in written:
            outcome.written[audience] = outcome.written.get(audience, 0) + 1
            if position > 0:
                outcome.follow_at = now + FOLLOW_FIRST
                continue
            lang = plan.languages.get(chat)
            target = Target(chat, plan.group_rows.get(chat), False, lang)
            targets[_KIND_OF[Audience(audience)]].append(target)
        for kind, chats in targets.items():
            await enqueue(session, kind, run_id, chats, priority=priority)
        if outcome.follow_at is not None:
            payload = {"run": run_id, "sweep": 0, "priority": priority}
            await schedule_job(
                session, FOLLOW_JOB, f"{run_id}:0", outcome.follow_at, payload, now=now
            )
        return outcome

    def _committed(self, outcome: RunOutcome) -> None:
        """After the commit: wake the sender, and the scheduler for the follow-up."""
        if outcome.total:
            self._notify()
        if outcome.follow_at is not None and self._scheduler is not None:
            self._scheduler.wake(outcome.follow_at)

    # -- what follows a digest's text ----------------------------------------------------

    async def follow_up(self, job: Job) -> int:
        """Queue each chart or table whose previous message is in its chat (as a reply to the
        text); drop those whose text could not be delivered; look again while some wait."""
        run_id, sweep = int(job.payload["run"]), int(job.payload["sweep"])
        priority = int(job.payload.get("priority", PRIORITY))
        now = self._now(job)
        async with self._sessions() as session, session.begin():
            waiting = await q.waiting_followups(session, run_id)
            if not waiting:
                return 0
            sent = await q.copies_of_run(session, run_id, (DIGEST_KIND, CHART_KIND))
            queued, dropped, targets = _release(waiting, sent)
            await q.mark_followed(session, queued, dropped, now)
            for kind, chats in targets.items():
                await enqueue(session, kind, run_id, chats, priority=priority)
            left = len(waiting) - len(queued) - len(dropped)
            since = datetime.fromisoformat(job.payload.get("since") or job.due_at.isoformat())
            again = now + FOLLOW_EVERY
            if left and now - since < FOLLOW_FOR:
                payload = {**job.payload, "sweep": sweep + 1, "since": since.isoformat()}
                key = f"{run_id}:{sweep + 1}"
                await schedule_job(session, FOLLOW_JOB, key, again, payload, now=now)
        if dropped:  # their text was not delivered, and is counted as such by the outbox
            log.info(
                "digest run #%d: %d charts or tables not sent after a failed text",
                run_id,
                len(dropped),
            )
        if left and now - since >= FOLLOW_FOR:
            log.warning(
                "digest run #%d: %d charts or tables still wait for their text", run_id, left
            )
        if queued:
            self._notify()
        if left and self._scheduler is not None:
            self._scheduler.wake(again)
        return len(queued)

    def _is_province(self, code: str) -> bool:
        return self._units.province(code) is not None

    def _has_figures(self, code: str) -> bool:
        """Whether a weekly digest is made for this area (a province or a commune)."""
        return self._is_province(code) or self._units.commune(code) is not None

    # -- figures -------------------------------------------------------------------------

    async def _snapshot_ids(self, codes: Iterable[str], period: Period) -> dict[str, int]:
        """The frozen figures of each area for the week, computed the first time."""
        wanted = sorted(set(codes))
        async with self._sessions() as session:
            found = await q.snapshot_ids(session, wanted, period.start, period.end)
        for code in wanted:
            if code in found:
                continue
            figures = await self._figures.figures(code, period)
            async with self._sessions() as session, session.begin():
                found[code] = await q.store_snapshot(
                    session, code, period.start, period.end, figures.to_json()
                )
        return found

    async def _snapshot(self, snapshot_id: int) -> tuple[AreaFigures, Period]:
        cached = self._snapshots.get(snapshot_id)
        if cached is not None:
            return cached
        async with self._sessions() as session:
            row = await session.get(DigestSnapshot, snapshot_id)
        if row is None:
            raise LookupError(f"digest snapshot #{snapshot_id} does not exist")
        value = AreaFigures.from_json(row.figures), Period(row.period_start, row.period_end)
        if len(self._snapshots) > 1024:
            self._snapshots.clear()
        self._snapshots[snapshot_id] = value
        return value

    # -- requests (/tonghop) -------------------------------------------------------------

    async def request_for_group(
        self, person: int, telegram_chat_id: int, now: datetime
    ) -> RequestOutcome:
        """An administrator of the group (checked by the caller) asks for its digest."""
        async with self._sessions() as session:
            group = await q.due_group(session, telegram_chat_id)
            reachable = await q.reachable_people(session, [person])
            languages = await q.person_languages(session, [person], self._default_language)
        if group is None:
            return RequestOutcome(RequestStatus.UNSUBSCRIBED)
        if person not in reachable:
            return RequestOutcome(RequestStatus.START, chat_row_id=group.chat_id)
        period = last_full_week(now, self.tz)
        snapshot = await self._snapshot_ids([group.commune_code], period)
        plan = _Plan()
        body = _sections_body(_by_commune([group], snapshot))
        plan.add_digest(person, Audience.ADMIN, {**body, "requested": True}, languages.get(person))
        return await self._send_request(person, f"g{group.chat_id}", period, plan, now)

    async def group_telegram_id(self, chat_row_id: int) -> int | None:
        """The Telegram id of a subscribed group, by its chat row (deep links carry the row)."""
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_row_id)
            if chat is None or await q.subscribed_chat(session, chat.telegram_id) is None:
                return None
            return chat.telegram_id

    async def request_private(self, person: int, now: datetime) -> RequestOutcome:
        """A person asks privately: an officer their jurisdiction's, an administrator the
        groups Telegram last listed them for."""
        async with self._sessions() as session:
            officer = await q.officer_of(session, person)
            groups = await q.groups_administered(session, person)
            languages = await q.person_languages(session, [person], self._default_language)
        if officer is not None and not self._has_figures(officer.area_code):
            officer = None  # the ministry's: only the groups the person administers
        if officer is None and not groups:
            return RequestOutcome(RequestStatus.NONE)
        period = last_full_week(now, self.tz)
        snapshot = await self._snapshot_ids({g.commune_code for g in groups}, period)
        plan = _Plan()
        sections: list[tuple[int, list[int]]] = []
        table = None
        if officer is not None:
            areas = await self._snapshot_ids([officer.area_code], period)
            sections.append((areas[officer.area_code], []))
            table = areas[officer.area_code] if self._is_province(officer.area_code) else None
        sections += _by_commune(groups, snapshot)
        body = {**_sections_body(sections), "requested": True, "officer": officer is not None}
        audience = Audience.OFFICER if officer is not None else Audience.ADMIN
        plan.add_digest(person, audience, body, languages.get(person), table)
        return await self._send_request(person, "p", period, plan, now)

    async def _send_request(
        self, person: int, scope: str, period: Period, plan: _Plan, now: datetime
    ) -> RequestOutcome:
        # One request per person, scope and minute: a double tap sends one digest.
        key = f"request:{person}:{scope}:{now.astimezone(self.tz):%Y-%m-%dT%H:%M}"
        async with self._sessions() as session, session.begin():
            outcome = await self._write(
                session, key, "request", period, plan, now, REQUEST_PRIORITY
            )
            opted_out = await session.get(DigestOptOut, person) is not None
        self._committed(outcome)
        return RequestOutcome(RequestStatus.SENT, opted_out=opted_out)

    # -- rendering at send time ----------------------------------------------------------

    async def render(self, run_id: int, language: str | None, telegram_chat_id: int) -> Outgoing:
        """A digest's text (its chart follows as a reply)."""
        digest = await self._digest(run_id, telegram_chat_id, _TEXT_AUDIENCES)
        body, audience = digest.body, digest.audience
        sections = await self._sections(body)
        period = await self._period(run_id)
        opted_out = False
        if audience is not Audience.GROUP and body.get("requested"):
            async with self._sessions() as session:
                opted_out = await session.get(DigestOptOut, telegram_chat_id) is not None
        view = DigestView(audience, period, sections, bool(body.get("officer")), opted_out)
        return Outgoing(text=digest_text(self._catalog, language or "", self.tz, view))

    async def render_chart(
        self, run_id: int, language: str | None, telegram_chat_id: int
    ) -> Outgoing:
        """The chart of a digest's first area, drawn once per area, week and language (and
        sent by file_id after its first upload)."""
        digest = await self._digest(run_id, telegram_chat_id, (Audience.CHART,))
        snapshot_id, public = int(digest.body["snapshot"]), bool(digest.body.get("public"))
        figures, period = await self._snapshot(snapshot_id)
        lang = self._catalog.language(language)
        key = _chart_key(snapshot_id, lang, public)
        png = await self.charts.get(key, lambda: self._chart(snapshot_id, lang, public))
        return Outgoing(
            text=chart_caption(self._catalog, lang, self.tz, figures, period),
            photo_data=png,
            cache_key=key,
            reply_to_message_id=digest.reply_to_message_id,
        )

    async def _chart(self, snapshot_id: int, lang: str, public: bool) -> ChartData:
        figures, period = await self._snapshot(snapshot_id)
        return chart_data(self._catalog, lang, self.tz, figures, period, public)

    async def render_note(
        self, run_id: int, language: str | None, telegram_chat_id: int
    ) -> Outgoing:
        """The group's one-time note: its admins open the bot to get the digest."""
        digest = await self._digest(run_id, telegram_chat_id, (Audience.NOTE,))
        url = str(digest.body["url"])
        t = self._catalog.t
        return Outgoing(
            text=t(language, "digest.note"), buttons=[[(t(language, "digest.note_button"), url)]]
        )

    async def render_table(
        self, run_id: int, language: str | None, telegram_chat_id: int
    ) -> Outgoing:
        """A province officer's per-commune table, as a CSV document."""
        digest = await self._digest(run_id, telegram_chat_id, (Audience.TABLE,))
        snapshot_id = int(digest.body["snapshot"])
        figures, period = await self._snapshot(snapshot_id)
        lang = self._catalog.language(language)
        data = table_csv(self._catalog, lang, figures.communes)
        return Outgoing(
            text=table_caption(self._catalog, lang, self.tz, figures, period),
            document=Document(table_filename(figures.code, period, self.tz), data=data),
            cache_key=f"digest-csv:{snapshot_id}:{lang}",
            reply_to_message_id=digest.reply_to_message_id,
        )

    async def _digest(
        self, run_id: int, telegram_chat_id: int, audiences: Iterable[Audience]
    ) -> q.DigestRow:
        wanted = [a.value for a in audiences]
        async with self._sessions() as session:
            row = await q.digest_row(session, run_id, telegram_chat_id, wanted)
        if row is None:
            raise LookupError(f"run #{run_id} has no digest for this chat")
        return row

    async def _period(self, run_id: int) -> Period:
        async with self._sessions() as session:
            run = await session.get(DigestRun, run_id)
        if run is None:
            raise LookupError(f"digest run #{run_id} does not exist")
        return Period(run.period_start, run.period_end)

    async def _sections(self, body: Mapping[str, Any]) -> list[Section]:
        chats = [c for s in body.get("sections", []) for c in s["groups"]]
        async with self._sessions() as session:
            titles = await q.chat_titles(session, chats)
        sections = []
        for item in body.get("sections", []):
            figures, _ = await self._snapshot(int(item["snapshot"]))
            groups = [(c, titles.get(c, "")) for c in item["groups"]]
            sections.append(Section(figures, groups))
        return sections


_TEXT_AUDIENCES = (Audience.ADMIN, Audience.OFFICER, Audience.GROUP)
_KIND_OF = {
    Audience.ADMIN: DIGEST_KIND,
    Audience.OFFICER: DIGEST_KIND,
    Audience.GROUP: DIGEST_KIND,
    Audience.NOTE: NOTE_KIND,
    Audience.CHART: CHART_KIND,
    Audience.TABLE: TABLE_KIND,
}


def _release(
    waiting: Sequence[q.FollowUp], sent: Mapping[tuple[str, str, int], q.RunCopy]
) -> tuple[list[tuple[int, int | None]], list[int], dict[str, list[Target]]]:
    """Of the waiting charts and tables: those to queue now (with the text's message to
    answer), those to drop (their text failed), and the outbox targets by kind."""
    queued: list[tuple[int, int | None]] = []
    dropped: list[int] = []
    targets: dict[str, list[Target]] = defaultdict(list)
    for w in waiting:
        before = sent.get(q.copy_key(_KIND_OF[w.previous], w.telegram_chat_id, w.chat_id))
        if before is None or before.status in (_PENDING,):
            continue
        if before.status != _DELIVERED or before.message_id is None:
            dropped.append(w.digest_id)
            continue
        text = sent.get(q.copy_key(DIGEST_KIND, w.telegram_chat_id, w.chat_id))
        reply_to = text.message_id if text is not None else None
        queued.append((w.digest_id, reply_to))
        target = Target(before.telegram_chat_id, w.chat_id, False, before.language)
        targets[_KIND_OF[w.audience]].append(target)
    return queued, dropped, targets


def _plan_group(
    plan: _Plan,
    group: q.DueGroup,
    snapshot: int,
    admins: Sequence[int],
    reachable: Mapping[int, bool],
    start_url: Callable[[str], str],
) -> None:
    """What a group itself gets: its post, and the once-only note when an admin cannot be
    written to."""
    if group.post_in_group:
        body = _sections_body([(snapshot, [group.chat_id])])
        plan.add_digest(group.telegram_id, Audience.GROUP, body, group.language)
        plan.group_rows[group.telegram_id] = group.chat_id
    if not group.note_sent and any(p not in reachable for p in admins):
        body = {"url": start_url(f"{START_PAYLOAD}_{group.chat_id}")}
        plan.add(group.telegram_id, Audience.NOTE, body, group.language)
        plan.group_rows[group.telegram_id] = group.chat_id
        plan.noted.append(group.chat_id)


def _slot_of(prefs: GroupPrefs) -> Slot | None:
    """The group's own weekly time while its digest is on."""
    return prefs.slot if prefs.enabled else None


def _chart_key(snapshot_id: int, lang: str, public: bool) -> str:
    return f"digest-chart:{snapshot_id}:{lang}:{'public' if public else 'full'}"


def _minute_key(at: datetime) -> str:
    """A default-schedule run's key: its local fire time, to the minute."""
    return f"{at:%Y-%m-%dT%H:%M}"


def _describe(enqueued: Mapping[str, int]) -> str:
    if not enqueued:
        return "nothing new to send"
    return ", ".join(f"{n} {audience}" for audience, n in sorted(enqueued.items()))


def _by_commune(
    groups: Iterable[q.DueGroup], snapshot: Mapping[str, int]
) -> list[tuple[int, list[int]]]:
    """Sections of a person's groups: one per commune, the commune with most groups first."""
    by_code: dict[str, list[int]] = defaultdict(list)
    for group in groups:
        by_code[group.commune_code].append(group.chat_id)
    ordered = sorted(by_code.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(snapshot[code], chats) for code, chats in ordered]


def _sections_body(sections: Iterable[tuple[int, Sequence[int]]]) -> dict[str, Any]:
    return {"sections": [{"snapshot": s, "groups": list(g)} for s, g in sections]}
