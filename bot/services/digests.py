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
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits
from bot.delivery.outbox import enqueue
from bot.delivery.outgoing import Document, Outgoing, Target
from bot.i18n import Catalog
from bot.scheduling import DurableScheduler, Job, crontab_trigger
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
    CUSTOM_JOB,
    DIGEST_KIND,
    NOTE_KIND,
    PLAN_JOB,
    PLAN_SCHEDULE,
    START_PAYLOAD,
    TABLE_KIND,
    WEEKLY_JOB,
    AreaFigures,
    Audience,
    DigestConfig,
    Period,
    Slot,
    week_before,
)
from storage.db import SessionFactory
from storage.models import (
    Area,
    Chat,
    Digest,
    DigestAdmin,
    DigestGroupSetting,
    DigestOptOut,
    DigestRun,
    DigestSnapshot,
    Officer,
    Subscription,
    User,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

# Reads a group's administrators from Telegram: their user ids (bots left out), or None when
# the group cannot be read (the bot was removed, the group is gone).
AdminReader = Callable[[int], Awaitable[Sequence[int] | None]]
# Weekly digests wait behind alerts in the outbox (alerts use 0 to 2); a digest someone just
# asked for goes first: they are waiting for it.
PRIORITY = -1
REQUEST_PRIORITY = 3
_CHUNK = 500  # ids per IN (...) list
_ADMIN_READS = 10  # getChatAdministrators calls in flight at once (each waits in the limiter)
JOB_LEASE = timedelta(minutes=30)  # reading 3,000 groups' admins takes minutes


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


@dataclass(frozen=True)
class DueGroup:
    """A subscribed group whose digest this run prepares."""

    chat_id: int
    telegram_id: int
    commune_code: str
    language: str | None
    post_in_group: bool
    note_sent: bool


@dataclass
class RunOutcome:
    """What a run wrote: the run row and the digests it enqueued, by audience."""

    run_id: int | None = None
    enqueued: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.enqueued.values())


@dataclass(frozen=True)
class RequestOutcome:
    """What /tonghop did: `sent` (to the person privately), `start` (they must open the bot
    first), `none` (nothing to summarise for them), `unsubscribed` (the group has no area)."""

    status: str
    opted_out: bool = False
    chat_row_id: int | None = None  # the group's row, for its deep link


@dataclass(frozen=True)
class OfficerRef:
    """An officer with rights: who, and the jurisdiction's official code."""

    telegram_id: int
    area_code: str


@dataclass(frozen=True)
class DigestRow:
    """A stored digest: for whom, and what it names (snapshots, groups, a link)."""

    audience: Audience
    body: dict[str, Any]


@dataclass
class _Plan:
    """The rows one run writes, keyed by (chat, audience)."""

    bodies: dict[tuple[int, Audience], dict[str, Any]] = field(default_factory=dict)
    languages: dict[int, str | None] = field(default_factory=dict)
    group_rows: dict[int, int] = field(default_factory=dict)  # telegram id -> chat row id
    noted: list[int] = field(default_factory=list)  # chat rows told to open the bot

    def add(
        self, telegram_id: int, audience: Audience, body: dict[str, Any], lang: str | None
    ) -> None:
        self.bodies[(telegram_id, audience)] = body
        self.languages[telegram_id] = lang


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


async def _run(session: AsyncSession, statement: Executable) -> Any:  # a Result
    """Execute Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)


async def _insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT into `table` (both have ON CONFLICT)."""
    connection = await session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class DigestService:
    """Digest settings, scheduled and requested runs, and the rendering of each digest."""

    def __init__(
        self,
        sessions: SessionFactory,
        units: AdminUnits,
        catalog: Catalog,
        config: DigestConfig,
        tz: tzinfo,
        default_language: str,
        figures: FigureSource,
    ) -> None:
        self._sessions = sessions
        self._units = units
        self._catalog = catalog
        self.config = config
        self.tz = tz
        self._default_language = default_language
        self._figures = figures
        self._trigger = crontab_trigger(config.schedule, tz)
        self.charts = ChartCache()
        self._notify: Callable[[], None] = lambda: None
        self._snapshots: dict[int, tuple[AreaFigures, Period]] = {}

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
            found = await _subscribed_chat(session, telegram_chat_id)
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
            chat_id = await _subscribed_chat(session, telegram_chat_id)
            if chat_id is None:
                return None
            await _upsert_setting(session, chat_id, {**values, "updated_at": now})
            row = await session.get(DigestGroupSetting, chat_id, populate_existing=True)
            prefs = self._prefs(row, now)
            if prefs.enabled and prefs.slot is not None:
                # The new weekly time gets its run with the change: none can be missed.
                await self._plan_slot(session, prefs.slot, now)
        return prefs

    async def set_person_enabled(self, telegram_id: int, enabled: bool) -> None:
        """A person's own switch (/tonghop bat, /tonghop tat) for every digest sent to them."""
        async with self._sessions() as session, session.begin():
            row = await session.get(DigestOptOut, telegram_id)
            if enabled and row is not None:
                await session.delete(row)
            elif not enabled and row is None:
                session.add(DigestOptOut(telegram_id=telegram_id))

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

        grace = self.config.grace
        scheduler.register(WEEKLY_JOB, run, grace=grace, lease=JOB_LEASE)
        scheduler.every(WEEKLY_JOB, self.config.schedule, self.tz, key_fn=_minute_key)
        scheduler.register(CUSTOM_JOB, run, grace=grace, lease=JOB_LEASE)
        # Planning is idempotent, so a late planner is still useful.
        scheduler.register(PLAN_JOB, plan, grace=timedelta(days=6))
        scheduler.every(PLAN_JOB, PLAN_SCHEDULE, self.tz)

    async def plan_slots(self, now: datetime) -> int:
        """Give each weekday/hour some group chose its next run; how many were new."""
        async with self._sessions() as session, session.begin():
            result = await _run(
                session,
                select(col(DigestGroupSetting.weekday), col(DigestGroupSetting.hour))
                .where(col(DigestGroupSetting.enabled))
                .where(col(DigestGroupSetting.weekday).is_not(None))
                .where(col(DigestGroupSetting.hour).is_not(None))
                .distinct(),
            )
            slots = [Slot(w, h) for w, h in result.all()]
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
        """Prepare and enqueue the digests of one scheduled run (idempotent)."""
        period = week_before(job.due_at, self.tz)
        slot = None if job.kind == WEEKLY_JOB else Slot(**job.payload)
        groups = await self._due_groups(slot, period)
        await self._read_admins(groups, period, admins)
        plan = await self._plan_run(groups, period, officers=slot is None, start_url=start_url)
        trigger = "weekly" if slot is None else "custom"
        async with self._sessions() as session, session.begin():
            outcome = await self._write(session, f"{job.kind}:{job.key}", trigger, period, plan)
            await _mark_done(session, [g.chat_id for g in groups], period, plan.noted)
            if slot is not None:
                await self._plan_slot(session, slot, job.due_at + timedelta(minutes=1))
        log.info("digest run #%s (%s): %s", outcome.run_id, job.key, _describe(outcome.enqueued))
        if outcome.total:
            self._notify()
        return outcome

    async def _due_groups(self, slot: Slot | None, period: Period) -> list[DueGroup]:
        async with self._sessions() as session:
            return await due_groups(session, slot, period)

    async def _read_admins(
        self, groups: Sequence[DueGroup], period: Period, reader: AdminReader
    ) -> None:
        """Ask Telegram for the administrators of the groups not yet read this week."""
        async with self._sessions() as session:
            known = await groups_with_admins(session, [g.chat_id for g in groups], period)
        missing = [g for g in groups if g.chat_id not in known]
        gate = asyncio.Semaphore(_ADMIN_READS)

        async def read(group: DueGroup) -> tuple[int, Sequence[int]]:
            async with gate:
                found = await reader(group.telegram_id)
            return group.chat_id, found or ()

        for start in range(0, len(missing), 50):  # stored as read: a crash keeps what was read
            batch = await asyncio.gather(*(read(g) for g in missing[start : start + 50]))
            async with self._sessions() as session, session.begin():
                for chat_id, ids in batch:
                    await remember_admins(session, chat_id, period, ids)

    async def _plan_run(
        self,
        groups: Sequence[DueGroup],
        period: Period,
        *,
        officers: bool,
        start_url: Callable[[str], str],
    ) -> _Plan:
        """Who gets what: each admin one digest of all their groups, the groups' posts and
        notes, and (on the default schedule) every officer."""
        plan = _Plan()
        async with self._sessions() as session:
            admins = await admins_of(session, [g.chat_id for g in groups], period)
            officer_rows = await active_officers(session) if officers else []
            people = {a for ids in admins.values() for a in ids}
            people |= {o.telegram_id for o in officer_rows}
            reachable = await reachable_people(session, sorted(people))
            languages = await person_languages(session, sorted(reachable), self._default_language)
        snapshot = await self._snapshot_ids({g.commune_code for g in groups}, period)
        mine: dict[int, list[DueGroup]] = defaultdict(list)
        for group in groups:
            ids = admins.get(group.chat_id, ())
            for person in ids:
                if person in reachable:
                    mine[person].append(group)
            if group.post_in_group:
                body = _sections_body([(snapshot[group.commune_code], [group.chat_id])])
                plan.add(group.telegram_id, Audience.GROUP, body, group.language)
                plan.group_rows[group.telegram_id] = group.chat_id
            if not group.note_sent and any(p not in reachable for p in ids):
                body = {"url": start_url(f"{START_PAYLOAD}_{group.chat_id}")}
                plan.add(group.telegram_id, Audience.NOTE, body, group.language)
                plan.group_rows[group.telegram_id] = group.chat_id
                plan.noted.append(group.chat_id)
        for person, own in mine.items():
            if reachable[person]:
                body = _sections_body(_by_commune(own, snapshot))
                plan.add(person, Audience.ADMIN, body, languages.get(person))
        if officers:
            await self._plan_officers(
                plan, officer_rows, reachable, languages, mine, snapshot, period
            )
        return plan

    async def _plan_officers(
        self,
        plan: _Plan,
        officers: Sequence[OfficerRef],
        reachable: Mapping[int, bool],
        languages: Mapping[int, str | None],
        mine: Mapping[int, Sequence[DueGroup]],
        snapshot: Mapping[str, int],
        period: Period,
    ) -> None:
        people = [o for o in officers if reachable.get(o.telegram_id)]
        areas = await self._snapshot_ids({o.area_code for o in people}, period)
        for officer in people:
            person = officer.telegram_id
            own = mine.get(person, ())
            sections = [(areas[officer.area_code], []), *_by_commune(own, snapshot)]
            body = {**_sections_body(sections), "officer": True}
            plan.add(person, Audience.OFFICER, body, languages.get(person))
            plan.bodies.pop((person, Audience.ADMIN), None)
            if self._is_province(officer.area_code):  # the per-commune table too
                table = {"snapshot": areas[officer.area_code]}
                plan.add(person, Audience.TABLE, table, languages.get(person))

    async def _write(
        self,
        session: AsyncSession,
        key: str,
        trigger: str,
        period: Period,
        plan: _Plan,
        priority: int = PRIORITY,
    ) -> RunOutcome:
        """The run, its digests and their outbox rows; rows already written are left alone."""
        run_id = await _run_row(session, key, trigger, period)
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
                "created_at": utcnow(),
            }
            for (chat, audience), body in plan.bodies.items()
        ]
        statement = (
            (await _insert(session, Digest))
            .values(rows)
            .on_conflict_do_nothing(index_elements=["run_id", "telegram_chat_id", "audience"])
            .returning(col(Digest.telegram_chat_id), col(Digest.audience))
        )
        written = (await _run(session, statement)).all()
        targets: dict[str, list[Target]] = defaultdict(list)
        for chat, audience in written:
            kind = _KIND_OF[Audience(audience)]
            lang = plan.languages.get(chat)
            targets[kind].append(Target(chat, plan.group_rows.get(chat), False, lang))
            outcome.enqueued[audience] = outcome.enqueued.get(audience, 0) + 1
        for kind in (DIGEST_KIND, NOTE_KIND, TABLE_KIND):  # the text before the table
            if targets[kind]:
                await enqueue(session, kind, run_id, targets[kind], priority=priority)
        return outcome

    def _is_province(self, code: str) -> bool:
        return self._units.province(code) is not None

    # -- figures -------------------------------------------------------------------------

    async def _snapshot_ids(self, codes: Iterable[str], period: Period) -> dict[str, int]:
        """The frozen figures of each area for the week, computed the first time."""
        wanted = sorted(set(codes))
        async with self._sessions() as session:
            found = await snapshot_ids(session, wanted, period)
        for code in wanted:
            if code in found:
                continue
            figures = await self._figures.figures(code, period)
            async with self._sessions() as session, session.begin():
                found[code] = await store_snapshot(session, figures, period)
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
            group = await _due_group(session, telegram_chat_id)
            reachable = await reachable_people(session, [person])
            languages = await person_languages(session, [person], self._default_language)
        if group is None:
            return RequestOutcome("unsubscribed")
        if person not in reachable:
            return RequestOutcome("start", chat_row_id=group.chat_id)
        period = week_before(now, self.tz)
        snapshot = await self._snapshot_ids([group.commune_code], period)
        plan = _Plan()
        body = _sections_body(_by_commune([group], snapshot))
        plan.add(person, Audience.ADMIN, {**body, "requested": True}, languages.get(person))
        return await self._send_request(person, f"g{group.chat_id}", period, plan, now)

    async def group_telegram_id(self, chat_row_id: int) -> int | None:
        """The Telegram id of a subscribed group, by its chat row (deep links carry the row)."""
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_row_id)
            if chat is None or await _subscribed_chat(session, chat.telegram_id) is None:
                return None
            return chat.telegram_id

    async def request_private(self, person: int, now: datetime) -> RequestOutcome:
        """A person asks privately: an officer their jurisdiction's, an administrator the
        groups Telegram last listed them for."""
        async with self._sessions() as session:
            officer = await _officer(session, person)
            groups = await groups_administered(session, person)
            languages = await person_languages(session, [person], self._default_language)
        if officer is None and not groups:
            return RequestOutcome("none")
        period = week_before(now, self.tz)
        snapshot = await self._snapshot_ids({g.commune_code for g in groups}, period)
        plan = _Plan()
        sections: list[tuple[int, list[int]]] = []
        lang = languages.get(person)
        if officer is not None:
            areas = await self._snapshot_ids([officer.area_code], period)
            sections.append((areas[officer.area_code], []))
            if self._is_province(officer.area_code):
                plan.add(person, Audience.TABLE, {"snapshot": areas[officer.area_code]}, lang)
        sections += _by_commune(groups, snapshot)
        body = {**_sections_body(sections), "requested": True, "officer": officer is not None}
        audience = Audience.OFFICER if officer is not None else Audience.ADMIN
        plan.add(person, audience, body, lang)
        return await self._send_request(person, "p", period, plan, now)

    async def _send_request(
        self, person: int, scope: str, period: Period, plan: _Plan, now: datetime
    ) -> RequestOutcome:
        # One request per person, scope and minute: a double tap sends one digest.
        key = f"request:{person}:{scope}:{now.astimezone(self.tz):%Y-%m-%dT%H:%M}"
        async with self._sessions() as session, session.begin():
            await self._write(session, key, "request", period, plan, REQUEST_PRIORITY)
            opted_out = await session.get(DigestOptOut, person) is not None
        self._notify()
        return RequestOutcome("sent", opted_out=opted_out)

    # -- rendering at send time ----------------------------------------------------------

    async def render(self, run_id: int, language: str | None, telegram_chat_id: int) -> Outgoing:
        """A digest: its text, then its chart (one per area, week and language)."""
        digest = await self._digest(run_id, telegram_chat_id, _TEXT_AUDIENCES)
        body, audience = digest.body, digest.audience
        sections = await self._sections(body)
        period = await self._period(run_id)
        opted_out = False
        if audience is not Audience.GROUP and body.get("requested"):
            async with self._sessions() as session:
                opted_out = await session.get(DigestOptOut, telegram_chat_id) is not None
        view = DigestView(audience, period, sections, bool(body.get("officer")), opted_out)
        lang = self._catalog.language(language)
        text = digest_text(self._catalog, lang, self.tz, view)
        if not sections:
            return Outgoing(text=text)
        first = body["sections"][0]["snapshot"]
        public = audience is Audience.GROUP
        figures = sections[0].figures
        png = await self.charts.get(
            _chart_key(first, lang, public), lambda: self._chart(first, lang, public)
        )
        return Outgoing(
            text=text,
            photo_data=png,
            cache_key=_chart_key(first, lang, public),
            photo_caption=chart_caption(self._catalog, lang, self.tz, figures, period),
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
        )

    async def _digest(
        self, run_id: int, telegram_chat_id: int, audiences: Iterable[Audience]
    ) -> DigestRow:
        wanted = [a.value for a in audiences]
        async with self._sessions() as session:
            row = await _digest_row(session, run_id, telegram_chat_id, wanted)
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
            titles = await chat_titles(session, chats)
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
    Audience.TABLE: TABLE_KIND,
}


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
    groups: Iterable[DueGroup], snapshot: Mapping[str, int]
) -> list[tuple[int, list[int]]]:
    """Sections of a person's groups: one per commune, the commune with most groups first."""
    by_code: dict[str, list[int]] = defaultdict(list)
    for group in groups:
        by_code[group.commune_code].append(group.chat_id)
    ordered = sorted(by_code.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(snapshot[code], chats) for code, chats in ordered]


def _sections_body(sections: Iterable[tuple[int, Sequence[int]]]) -> dict[str, Any]:
    return {"sections": [{"snapshot": s, "groups": list(g)} for s, g in sections]}


# -- queries (take a session, never commit) --------------------------------------------------


async def _subscribed_chat(session: AsyncSession, telegram_chat_id: int) -> int | None:
    """The chat row of a group with a subscription (paused or not)."""
    result = await _run(
        session,
        select(col(Chat.id))
        .join(Subscription, col(Subscription.chat_id) == col(Chat.id))
        .where(col(Chat.telegram_id) == telegram_chat_id),
    )
    found: int | None = result.scalar_one_or_none()
    return found


def _due_group_query() -> Any:
    commune = Area.__table__.alias("commune")  # type: ignore[attr-defined]
    setting = DigestGroupSetting.__table__  # type: ignore[attr-defined]
    return (
        select(
            col(Chat.id),
            col(Chat.telegram_id),
            commune.c.code,
            col(Chat.language),
            setting.c.post_in_group,
            setting.c.note_sent_at,
        )
        .select_from(Subscription)
        .join(Chat, col(Chat.id) == col(Subscription.chat_id))
        .join(commune, commune.c.id == col(Subscription.commune_id))
        .outerjoin(setting, setting.c.chat_id == col(Chat.id))
        .where(~col(Subscription.paused), col(Chat.bot_member))
    )


def _due(row: Any) -> DueGroup:
    chat_id, telegram_id, code, language, post, noted = row
    return DueGroup(chat_id, telegram_id, code, language, bool(post), noted is not None)


async def due_groups(session: AsyncSession, slot: Slot | None, period: Period) -> list[DueGroup]:
    """Subscribed groups (bot present, digest on) of this weekly time not yet sent this week."""
    setting = DigestGroupSetting.__table__  # type: ignore[attr-defined]
    query = _due_group_query().where(
        or_(setting.c.chat_id.is_(None), setting.c.enabled),
        or_(setting.c.last_period_start.is_(None), setting.c.last_period_start < period.start),
    )
    if slot is None:
        query = query.where(or_(setting.c.weekday.is_(None), setting.c.hour.is_(None)))
    else:
        query = query.where(setting.c.weekday == slot.weekday, setting.c.hour == slot.hour)
    result = await _run(session, query.order_by(col(Chat.id)))
    return [_due(row) for row in result.all()]


async def _due_group(session: AsyncSession, telegram_chat_id: int) -> DueGroup | None:
    result = await _run(
        session, _due_group_query().where(col(Chat.telegram_id) == telegram_chat_id)
    )
    row = result.first()
    return None if row is None else _due(row)


async def groups_administered(session: AsyncSession, person: int) -> list[DueGroup]:
    """The subscribed groups Telegram last listed `person` as an administrator of."""
    latest = (
        select(col(DigestAdmin.chat_id))
        .where(col(DigestAdmin.telegram_id) == person)
        .group_by(col(DigestAdmin.chat_id))
    )
    result = await _run(
        session, _due_group_query().where(col(Chat.id).in_(latest)).order_by(col(Chat.id))
    )
    return [_due(row) for row in result.all()]


async def groups_with_admins(
    session: AsyncSession, chat_ids: Sequence[int], period: Period
) -> set[int]:
    """The groups whose administrators were already read for this week."""
    found: set[int] = set()
    for chunk in _chunks(chat_ids):
        result = await _run(
            session,
            select(col(DigestAdmin.chat_id))
            .where(col(DigestAdmin.chat_id).in_(chunk))
            .where(col(DigestAdmin.period_start) == period.start)
            .distinct(),
        )
        found.update(result.scalars().all())
    return found


async def remember_admins(
    session: AsyncSession, chat_id: int, period: Period, admins: Iterable[int]
) -> None:
    """Keep the administrators Telegram listed for the group this week."""
    rows = [
        {"chat_id": chat_id, "period_start": period.start, "telegram_id": a}
        for a in sorted(set(admins))
    ]
    if rows:
        await _run(
            session, (await _insert(session, DigestAdmin)).values(rows).on_conflict_do_nothing()
        )


async def admins_of(
    session: AsyncSession, chat_ids: Sequence[int], period: Period
) -> dict[int, list[int]]:
    """Each group's administrators as read for this week."""
    admins: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(chat_ids):
        result = await _run(
            session,
            select(col(DigestAdmin.chat_id), col(DigestAdmin.telegram_id))
            .where(col(DigestAdmin.chat_id).in_(chunk))
            .where(col(DigestAdmin.period_start) == period.start)
            .order_by(col(DigestAdmin.chat_id), col(DigestAdmin.telegram_id)),
        )
        for chat_id, person in result.all():
            admins[chat_id].append(person)
    return admins


async def reachable_people(session: AsyncSession, people: Sequence[int]) -> dict[int, bool]:
    """Of these people, those who opened the bot: True if they want digests, False if they
    turned them off (/tonghop tat)."""
    found: dict[int, bool] = {}
    for chunk in _chunks(people):
        result = await _run(
            session,
            select(col(User.telegram_id), col(DigestOptOut.telegram_id))
            .outerjoin(DigestOptOut, col(DigestOptOut.telegram_id) == col(User.telegram_id))
            .where(col(User.telegram_id).in_(chunk), col(User.can_message)),
        )
        found.update({person: opted is None for person, opted in result.all()})
    return found


async def person_languages(
    session: AsyncSession, people: Sequence[int], default: str
) -> dict[int, str | None]:
    """Each person's language: their private chat's choice, else their Telegram language."""
    languages: dict[int, str | None] = {}
    for chunk in _chunks(people):
        result = await _run(
            session,
            select(col(User.telegram_id), col(User.language_code), col(Chat.language))
            .outerjoin(Chat, col(Chat.telegram_id) == col(User.telegram_id))
            .where(col(User.telegram_id).in_(chunk)),
        )
        for person, code, chosen in result.all():
            base = (code or "").split("-")[0].lower()
            languages[person] = chosen or (base if base in ("vi", "en") else default)
    return languages


async def active_officers(session: AsyncSession) -> list[OfficerRef]:
    """Every officer with rights now."""
    result = await _run(
        session,
        select(col(Officer.telegram_id), col(Officer.area_code))
        .where(col(Officer.active))
        .order_by(col(Officer.id)),
    )
    return [OfficerRef(person, code) for person, code in result.all()]


async def _officer(session: AsyncSession, person: int) -> OfficerRef | None:
    result = await _run(
        session,
        select(col(Officer.telegram_id), col(Officer.area_code)).where(
            col(Officer.telegram_id) == person, col(Officer.active)
        ),
    )
    row = result.first()
    return None if row is None else OfficerRef(*row)


async def chat_titles(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, str]:
    """Groups' titles by chat row."""
    titles: dict[int, str] = {}
    for chunk in _chunks(sorted(set(chat_ids))):
        result = await _run(
            session, select(col(Chat.id), col(Chat.title)).where(col(Chat.id).in_(chunk))
        )
        titles.update({chat_id: title or "" for chat_id, title in result.all()})
    return titles


async def snapshot_ids(
    session: AsyncSession, codes: Sequence[str], period: Period
) -> dict[str, int]:
    """The snapshots already computed for these areas and this week."""
    if not codes:
        return {}
    result = await _run(
        session,
        select(col(DigestSnapshot.area_code), col(DigestSnapshot.id)).where(
            col(DigestSnapshot.area_code).in_(list(codes)),
            col(DigestSnapshot.period_start) == period.start,
            col(DigestSnapshot.period_end) == period.end,
        ),
    )
    return {code: snapshot_id for code, snapshot_id in result.all()}


async def store_snapshot(session: AsyncSession, figures: AreaFigures, period: Period) -> int:
    """Freeze an area's figures for the week (a concurrent run's snapshot wins)."""
    await _run(
        session,
        (await _insert(session, DigestSnapshot))
        .values(
            area_code=figures.code,
            period_start=period.start,
            period_end=period.end,
            figures=figures.to_json(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(),
    )
    found = await snapshot_ids(session, [figures.code], period)
    return found[figures.code]


async def _run_row(session: AsyncSession, key: str, trigger: str, period: Period) -> int:
    await _run(
        session,
        (await _insert(session, DigestRun))
        .values(
            key=key,
            trigger=trigger,
            period_start=period.start,
            period_end=period.end,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"]),
    )
    result = await _run(session, select(col(DigestRun.id)).where(col(DigestRun.key) == key))
    run_id: int = result.scalar_one()
    return run_id


async def _upsert_setting(session: AsyncSession, chat_id: int, values: Mapping[str, Any]) -> None:
    defaults = {"enabled": True, "weekday": None, "hour": None, "post_in_group": False}
    row = {"chat_id": chat_id, **defaults, "updated_at": utcnow(), **values}
    statement = (await _insert(session, DigestGroupSetting)).values(**row)
    await _run(
        session, statement.on_conflict_do_update(index_elements=["chat_id"], set_=dict(values))
    )


async def _mark_done(
    session: AsyncSession, chat_ids: Sequence[int], period: Period, noted: Sequence[int]
) -> None:
    """This week's digest is out for these groups; those told to open the bot are not told
    again."""
    now = utcnow()
    for chat_id in chat_ids:
        await _upsert_setting(
            session, chat_id, {"last_period_start": period.start, "updated_at": now}
        )
    for chunk in _chunks(list(noted)):
        await _run(
            session,
            update(DigestGroupSetting)
            .where(col(DigestGroupSetting.chat_id).in_(chunk))
            .values(note_sent_at=now),
        )


async def _digest_row(
    session: AsyncSession, run_id: int, telegram_chat_id: int, audiences: Sequence[str]
) -> DigestRow | None:
    """The digest of a run for a chat; a group that became a supergroup is found by its row."""
    moved = select(col(Chat.id)).where(col(Chat.telegram_id) == telegram_chat_id)
    result = await _run(
        session,
        select(col(Digest.audience), col(Digest.body)).where(
            col(Digest.run_id) == run_id,
            col(Digest.audience).in_(audiences),
            or_(
                col(Digest.telegram_chat_id) == telegram_chat_id,
                and_(col(Digest.chat_id).is_not(None), col(Digest.chat_id).in_(moved)),
            ),
        ),
    )
    row = result.first()
    return None if row is None else DigestRow(Audience(row[0]), json.loads(row[1]))
