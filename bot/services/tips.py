"""Residents' tips: the conversation kept in the database, submitting, triage, overdue tips,
the relayed dialogue, blocked senders, duty groups and the erasure of reporters' identities.

Privacy: a reporter's Telegram id is stored in one column (`tips.reporter_telegram_id`) only to
deliver answers; it is never returned in a view, never logged, and erased (with its keyed hash)
`TIP_IDENTITY_RETENTION_DAYS` after the tip closed. Results that must reach the reporter through
the outbox carry a `ReporterAddress`, which does not print.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ColumnElement, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits
from bot.services.chats import get_chat, subscription_of
from bot.services.officers import Jurisdiction, jurisdiction_of, record_audit
from bot.services.subscriptions import Page
from bot.services.tip_flow import (
    SEND,
    Choice,
    Draft,
    Event,
    Label,
    Question,
    SourceArea,
    Step,
    TipFlow,
    place_label,
    sender_label,
)
from bot.services.tip_states import (
    Actor,
    Assessment,
    Refusal,
    TipState,
    Transition,
    Triage,
    TriageAction,
    decide,
)
from bot.services.tip_types import (
    FILE_ID_MAX,
    PAGE_SIZE,
    RELAY_MAX,
    URGENT_CATEGORIES,
    Dated,
    TipConfig,
    tip_number,
)
from storage.db import SessionFactory
from storage.models import Area, AreaKind, Chat, ChatKind, Officer, Setting, Tip, TipMedia
from storage.models import TipDraft as DraftRow
from storage.models.tips import Direction, DutyGroup, TipBlock, TipEvent, TipMessage
from storage.queries import tips as q
from storage.queries.tips import Contact
from storage.types import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

HASH_SECRET_KEY = "tip_hash_secret"  # the settings row holding a generated TIP_HASH_SECRET
RATE_WINDOW = timedelta(hours=1)
MY_TIPS_LIMIT = 10
# Outbox kinds addressed to a reporter, and what their ref_id names; their rows are deleted
# when the reporter's identity is erased. Every tip kind starts with TIP_KIND_PREFIX.
TIP_KIND_PREFIX = "tip_"
REPORTER_NOTICE_KIND = "tip_notice"  # ref_id: the tip
REPORTER_REPLY_KIND = "tip_reply"  # ref_id: the tip_messages row relayed to the reporter
# A renderer knows only a row's kind and ref, so each notice a reporter may get about one tip
# has a kind of its own, "tip_notice_<action>" (ref_id: the tip).
NOTICE_ACTIONS = (
    TriageAction.ACKNOWLEDGE,
    TriageAction.RESOLVE,
    TriageAction.REJECT,
    TriageAction.VALUABLE,
)
REPORTER_NOTICE_KINDS = (
    REPORTER_NOTICE_KIND,
    *(f"{REPORTER_NOTICE_KIND}_{action.value}" for action in NOTICE_ACTIONS),
)


class TipFilter(StrEnum):
    NEW = "new"
    OVERDUE = "overdue"
    MINE = "mine"  # acknowledged by the officer asking
    ALL = "all"  # every open tip


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Nothing changed; the person is told why."""

    notice: Label


@dataclass(frozen=True)
class ReporterAddress:
    """Where the outbox reaches a reporter; for the outbox only, never shown nor logged."""

    telegram_id: int = field(repr=False)
    language: str | None = None


@dataclass(frozen=True)
class TipSubmitted:
    """A tip just written, and everyone who must get its card."""

    tip_id: int
    number: str
    commune_code: str
    commune_label: str
    officers: tuple[Contact, ...]
    province_fallback: bool  # no officer of the commune can be messaged: the province's get it
    duty_group: Contact | None  # gets the card without the reporter's name
    ack_deadline: datetime
    already: bool = False  # a second press of Send: nothing new was written

    @property
    def notice(self) -> Label:
        """What the reporter is told at once."""
        values = {"number": self.number, "commune": self.commune_label}
        if not self.officers and self.duty_group is None:
            return Label("tips.submitted_nobody", values)
        if self.province_fallback:
            return Label("tips.submitted_province", values)
        return Label("tips.submitted", values)


@dataclass(frozen=True)
class TriageChanged:
    """A stored triage change: re-render every card of the tip; tell the reporter `notice`."""

    tip_id: int
    number: str
    action: TriageAction
    field: str
    from_value: str
    to_value: str
    state: TipState
    assessment: Assessment
    reporter_notice: Label | None
    reporter: ReporterAddress | None  # set when there is a notice and the reporter is reachable
    rerender_cards: bool = True


@dataclass(frozen=True)
class Escalation:
    """An overdue tip escalated once: the province's officers must be told."""

    tip_id: int
    number: str
    deadline: datetime
    officers: tuple[Contact, ...]


@dataclass(frozen=True)
class Relayed:
    """A message of the dialogue stored; the outbox takes it to the other side."""

    message_id: int
    tip_id: int
    number: str
    reporter: ReporterAddress | None = None  # an officer wrote: to the reporter
    officers: tuple[Contact, ...] = ()  # the reporter wrote: to these officers


@dataclass(frozen=True)
class RelayLine:
    """One message as an officer reads the dialogue ("Người báo tin #R-12", never an id)."""

    direction: Direction
    text: str | None
    file_id: str | None
    officer_id: int | None
    at: datetime


@dataclass(frozen=True)
class TipCard:
    """A tip as officers see it (a duty group's copy has no name: see `for_group`)."""

    tip_id: int
    number: str
    category: str
    text: str
    commune_code: str
    commune_label: str
    place: Label
    lat: float | None
    lon: float | None
    photos: tuple[str, ...]
    anonymous: bool
    display_name: str | None
    state: TipState
    assessment: Assessment
    created_at: datetime
    ack_deadline: datetime
    overdue: bool
    escalated: bool
    version: int = 1  # carried by the card's buttons: a press on an older card is refused
    handler_id: int | None = None  # the officers row of who acknowledged it
    handler_name: str | None = None
    acknowledged_at: datetime | None = None
    updated_at: datetime | None = None
    venue_title: str | None = None  # a shared venue: its map pin is a venue
    venue_address: str | None = None

    @property
    def sender(self) -> Label:
        """ "Ẩn danh" or the name the reporter chose to leave."""
        return sender_label(self.anonymous, self.display_name)

    @property
    def reporter_alias(self) -> Label:
        """How officers address the reporter: "Người báo tin #R-12"."""
        return Label("tips.reporter_alias", {"number": self.number})

    def for_group(self) -> TipCard:
        """The duty group's copy: never the reporter's name."""
        return replace(self, display_name=None)


@dataclass(frozen=True)
class MyTip:
    """A reporter's own tip in their list."""

    tip_id: int
    number: str
    category: str
    state: TipState
    created_at: datetime
    can_reopen: bool


@dataclass(frozen=True)
class Blocked:
    tip_id: int
    number: str
    already: bool


@dataclass(frozen=True)
class DutyGroupSet:
    commune_code: str
    commune_label: str
    chat_title: str | None


# A hook run inside the service's transaction, e.g. to enqueue outbox rows with the change.
Within = Callable[[AsyncSession, T], Awaitable[None]]


# -- the service ----------------------------------------------------------------------------


class TipService:
    """Everything residents and officers do with tips; no Telegram, plain values."""

    def __init__(
        self,
        sessions: SessionFactory,
        units: AdminUnits,
        config: TipConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._units = units
        self._config = config
        self._clock = clock
        self._flow = TipFlow(units)
        self._secret: bytes | None = (
            config.hash_secret.encode() if config.hash_secret is not None else None
        )
        self._submitted_hooks: list[Within[TipSubmitted]] = []

    @property
    def flow(self) -> TipFlow:
        return self._flow

    def add_submitted_hook(self, hook: Within[TipSubmitted]) -> None:
        """Run `hook` inside every submit's transaction, after the tip is written (the
        composition root enqueues the officers' cards this way, so they commit with the tip)."""
        self._submitted_hooks.append(hook)

    # -- the keyed hash ---------------------------------------------------------------------

    async def prepare(self) -> None:
        """Load (or generate and store, once) the secret of the senders' keyed hash."""
        await self._hash_key()

    async def _hash_key(self) -> bytes:
        if self._secret is None:
            self._secret = (await self._stored_secret()).encode()
        return self._secret

    async def _stored_secret(self) -> str:
        async with self._sessions() as session:
            row = await session.get(Setting, HASH_SECRET_KEY)
        if row is not None:
            return row.value
        try:
            async with self._sessions() as session, session.begin():
                session.add(Setting(key=HASH_SECRET_KEY, value=secrets.token_urlsafe(32)))
            log.warning(
                "TIP_HASH_SECRET is not set: generated a random one and stored it in the "
                "database (settings table). Set TIP_HASH_SECRET to keep it out of the database."
            )
        except IntegrityError:  # another process generated it first
            pass
        async with self._sessions() as session:
            stored = await session.get(Setting, HASH_SECRET_KEY)
        assert stored is not None
        return stored.value

    async def sender_hash(self, telegram_id: int) -> str:
        """The keyed hash (HMAC-SHA256) of a Telegram id: what blocks and limits remember."""
        key = await self._hash_key()
        return hmac.new(key, f"tip-sender:{telegram_id}".encode(), hashlib.sha256).hexdigest()

    # -- the conversation -------------------------------------------------------------------

    async def start(
        self, person: int, seed: Event | None = None, source_area_id: int | None = None
    ) -> Question | Refused:
        """Begin a tip (replacing an unfinished one), seeded by what was sent before."""
        sender = await self.sender_hash(person)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            limited = await self._rate_refusal(session, sender, now)
            if limited is not None:
                return limited
            source = await self._source(session, source_area_id)
            draft, question = self._flow.start(secrets.token_hex(4), seed, source)
            await _save_draft(session, person, draft, now)
        return question

    async def can_start(self, person: int) -> Refused | None:
        """Why the person may not begin a tip now (the per-hour limit), else None; checked
        before anything else they have open is closed for the new tip."""
        sender = await self.sender_hash(person)
        async with self._sessions() as session:
            return await self._rate_refusal(session, sender, self._clock())

    async def group_area(self, telegram_chat_id: int) -> int | None:
        """The area a group is subscribed to (what its "send a tip" links carry), if any."""
        async with self._sessions() as session:
            chat = await get_chat(session, telegram_chat_id)
            sub = await subscription_of(session, chat) if chat is not None else None
        return sub.area_id if sub is not None else None

    async def draft(self, person: int) -> Draft | None:
        """The person's unfinished tip, if any (for the private-chat router)."""
        async with self._sessions() as session:
            row = await session.get(DraftRow, person)
        return _draft_of(row) if row is not None else None

    async def current(self, person: int) -> Question | None:
        """The question the person's draft is waiting on (to ask again after a restart)."""
        draft = await self.draft(person)
        return self._flow.question(draft) if draft is not None else None

    async def cancel(self, person: int) -> bool:
        """Discard the person's unfinished tip; False if there was none."""
        async with self._sessions() as session, session.begin():
            row = await session.get(DraftRow, person)
            if row is None:
                return False
            await session.delete(row)
        return True

    async def answer(
        self,
        person: int,
        event: Event,
        token: str | None = None,
        language: str | None = None,
        within: Within[TipSubmitted] | None = None,
    ) -> Question | TipSubmitted | Refused:
        """Apply one event to the person's draft; pressing Send submits it.

        `token` is the draft token a button carried (a button of an older draft is refused);
        `within` runs inside the submitting transaction (to enqueue the cards with the tip).
        """
        sender = await self.sender_hash(person)
        try:
            async with self._sessions() as session, session.begin():
                row = await session.get(DraftRow, person)
                if row is not None:
                    reply = await self._step(session, person, row, event, token)
                    if not isinstance(reply, Draft):
                        return reply
                    return await self._send(session, person, sender, reply, language, within)
        except IntegrityError:  # Send pressed twice at once: the first press wrote the tip
            return await self._already_sent(person, token)
        if token is not None and event == Choice(SEND, Step.REVIEW.value):
            return await self._already_sent(person, token)  # Send pressed again afterwards
        return Refused(Label("tips.no_draft"))

    async def _step(
        self,
        session: AsyncSession,
        person: int,
        row: DraftRow,
        event: Event,
        token: str | None,
    ) -> Question | Draft:
        """The next question, saved; or the draft, when Send was pressed."""
        draft = _draft_of(row)
        if token is not None and token != row.token:
            return self._flow.question(draft, Label("tips.stale_button"))
        question = self._flow.apply(draft, event)
        if draft.step is Step.SEND:
            return draft
        await _save_draft(session, person, draft, self._clock())
        return question

    async def submit(
        self, person: int, language: str | None = None, within: Within[TipSubmitted] | None = None
    ) -> TipSubmitted | Refused:
        """Submit the person's complete draft (what Send does)."""
        sender = await self.sender_hash(person)
        async with self._sessions() as session, session.begin():
            row = await session.get(DraftRow, person)
            if row is None:
                return Refused(Label("tips.no_draft"))
            draft = _draft_of(row)
            if not draft.complete:
                return Refused(Label("tips.incomplete"))
            result = await self._send(session, person, sender, draft, language, within)
        return result if not isinstance(result, Question) else Refused(result.notice or _INCOMPLETE)

    async def _send(
        self,
        session: AsyncSession,
        person: int,
        sender: str,
        draft: Draft,
        language: str | None,
        within: Within[TipSubmitted] | None,
    ) -> Question | TipSubmitted:
        """Write the tip in the caller's transaction; a refusal returns to the review."""
        refusal = await self._submit_refusal(session, sender, draft)
        if refusal is not None:
            draft.step = Step.REVIEW
            await _save_draft(session, person, draft, self._clock())
            return self._flow.question(draft, refusal.notice)
        tip = await self._write_tip(session, person, sender, draft, language)
        submitted = await self._recipients(session, tip)
        for hook in (*self._submitted_hooks, *([within] if within is not None else [])):
            await hook(session, submitted)
        log.info(
            "tip %s submitted: commune %s, %d officers, duty group %s",
            tip.id,
            tip.commune_code,
            len(submitted.officers),
            submitted.duty_group is not None,
        )
        return submitted

    async def _submit_refusal(
        self, session: AsyncSession, sender: str, draft: Draft
    ) -> Refused | None:
        commune = self._units.commune(draft.commune_code or "")
        if commune is None or not draft.complete:
            return Refused(Label("tips.incomplete"))
        if await q.is_blocked(session, sender, (commune.code, commune.province_code)):
            return Refused(Label("tips.blocked"))
        return await self._rate_refusal(session, sender, self._clock())

    async def _rate_refusal(
        self, session: AsyncSession, sender: str, now: datetime
    ) -> Refused | None:
        sent = await q.sent_since(session, sender, now - RATE_WINDOW)
        if len(sent) < self._config.per_hour:
            return None
        # Free again when the oldest tip counted leaves the window.
        wait = sent[len(sent) - self._config.per_hour] + RATE_WINDOW - now
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        values = {"limit": self._config.per_hour, "minutes": minutes}
        return Refused(Label("tips.rate_limited", values))

    async def _write_tip(
        self, session: AsyncSession, person: int, sender: str, draft: Draft, language: str | None
    ) -> Tip:
        commune = self._units.commune(draft.commune_code or "")
        assert commune is not None and draft.category and draft.text
        now = self._clock()
        tip = Tip(
            draft_token=draft.token,
            category=draft.category,
            text=draft.text,
            commune_code=commune.code,
            province_code=commune.province_code,
            area_source=draft.area_source or "chosen",
            source_area_id=draft.source_area_id,
            lat=draft.lat,
            lon=draft.lon,
            venue_title=draft.venue_title,
            venue_address=draft.venue_address,
            address=draft.address,
            anonymous=draft.is_anonymous,
            display_name=None if draft.is_anonymous else draft.display_name,
            reporter_telegram_id=person,
            reporter_hash=sender,
            reporter_language=language,
            created_at=now,
            updated_at=now,
        )
        session.add(tip)
        await session.flush()
        assert tip.id is not None
        for position, file_id in enumerate(draft.photos):
            session.add(TipMedia(tip_id=tip.id, position=position, file_id=file_id))
        row = await session.get(DraftRow, person)
        if row is not None:
            await session.delete(row)
        await session.flush()
        return tip

    async def _recipients(self, session: AsyncSession, tip: Tip) -> TipSubmitted:
        assert tip.id is not None
        officers = await q.reachable_officers(session, tip.commune_code)
        fallback = not officers
        if fallback:
            officers = await q.reachable_officers(session, tip.province_code)
        duty = await self._duty_contact(session, tip.commune_code)
        return TipSubmitted(
            tip_id=tip.id,
            number=tip_number(tip.id),
            commune_code=tip.commune_code,
            commune_label=self._commune_label(tip.commune_code),
            officers=tuple(officers),
            province_fallback=fallback,
            duty_group=duty,
            ack_deadline=self.ack_deadline(tip),
        )

    async def _already_sent(self, person: int, token: str | None) -> TipSubmitted | Refused:
        async with self._sessions() as session:
            if token is not None:
                tip = await q.tip_by_token(session, token)
            else:
                tip = next(iter(await q.reporter_tips(session, person, 1)), None)
            if tip is None or tip.reporter_telegram_id != person:
                return Refused(Label("tips.no_draft"))
            submitted = await self._recipients(session, tip)
        return replace(submitted, already=True)

    async def _source(self, session: AsyncSession, area_id: int | None) -> SourceArea | None:
        """The commune of the group a deep link came from (a residential area's commune)."""
        if area_id is None:
            return None
        area = await session.get(Area, area_id)
        if area is not None and area.kind == AreaKind.RESIDENTIAL.value and area.parent_id:
            commune_area = await session.get(Area, area.parent_id)
        else:
            commune_area = area
        if commune_area is None or commune_area.kind != AreaKind.COMMUNE.value:
            return None
        commune = self._units.commune(commune_area.code or "")
        if commune is None:
            return None
        return SourceArea(area_id, commune.code, commune.province_code)

    # -- deadlines and escalation -----------------------------------------------------------

    def ack_deadline(self, tip: Dated) -> datetime:
        """When the tip becomes overdue if nobody has acknowledged it."""
        return tip.created_at + self._config.ack_within(tip.category)

    def _deadlines(self) -> q.Deadlines:
        return q.Deadlines(
            urgent_categories=[c.value for c in URGENT_CATEGORIES],
            urgent=timedelta(minutes=self._config.ack_urgent_minutes),
            ordinary=timedelta(hours=self._config.ack_hours),
        )

    async def due_escalations(self, now: datetime) -> list[int]:
        """Overdue tips not escalated yet (for a scheduler catching up after a restart)."""
        async with self._sessions() as session:
            rows = await q.overdue_unescalated(session, self._deadlines(), now)
        return [row.id for row in rows if row.id is not None]

    async def escalate_overdue(
        self, tip_id: int, now: datetime, within: Within[Escalation] | None = None
    ) -> Escalation | None:
        """Escalate a tip nobody acknowledged in time, once; None if there is nothing to do.

        `within` runs inside the escalating transaction (to enqueue the notices with it)."""
        async with self._sessions() as session, session.begin():
            tip = await session.get(Tip, tip_id)
            if tip is None or tip.state != TipState.NEW.value or tip.escalated_at is not None:
                return None
            deadline = self.ack_deadline(tip)
            if now < deadline:
                return None
            claimed = await _compare_and_set(
                session, tip, {"escalated_at": now, "updated_at": now}, extra_state=TipState.NEW
            )
            if not claimed:
                return None
            session.add(TipEvent(tip_id=tip_id, action="escalated", at=now))
            officers = await q.reachable_officers(session, tip.province_code)
            escalation = Escalation(tip_id, tip_number(tip_id), deadline, tuple(officers))
            if within is not None:
                await within(session, escalation)
        log.info("tip %s overdue: escalated to %d provincial officers", tip_id, len(officers))
        return escalation

    # -- triage -----------------------------------------------------------------------------

    async def act(
        self,
        officer_telegram_id: int,
        tip_id: int,
        action: str,
        within: Within[TriageChanged] | None = None,
        version: int | None = None,
    ) -> TriageChanged | Refused:
        """An officer's button on a tip card (Tiếp nhận, Đã xử lý, Có giá trị, …).

        `version` is the tip's version the pressed card showed: if the tip changed since, the
        press is refused (the officer decided on what they saw) and nothing changes.
        """
        async with self._sessions() as session, session.begin():
            found = await self._officer_and_tip(session, officer_telegram_id, tip_id)
            if isinstance(found, Refused):
                return found
            officer, tip = found
            if version is not None and version != tip.version:
                return Refused(Label("tips.triage.stale", {"number": tip_number(tip_id)}))
            changed = await self._triage(
                session, tip, action, Actor.OFFICER, officer.id, retry=version is None
            )
            if within is not None and isinstance(changed, TriageChanged):
                await within(session, changed)
        return changed

    async def still_happening(
        self, person: int, tip_id: int, within: Within[TriageChanged] | None = None
    ) -> TriageChanged | Refused:
        """The reporter's "Vẫn còn": a resolved tip goes back to acknowledged (within 7 days)."""
        async with self._sessions() as session, session.begin():
            tip = await session.get(Tip, tip_id)
            if tip is None or tip.reporter_telegram_id != person:
                return Refused(Label("tips.unknown_tip", {"number": tip_number(tip_id)}))
            changed = await self._triage(session, tip, TriageAction.STILL_HAPPENING, Actor.REPORTER)
            if within is not None and isinstance(changed, TriageChanged):
                await within(session, changed)
        return changed

    async def _triage(
        self,
        session: AsyncSession,
        tip: Tip,
        action: str,
        actor: Actor,
        officer_id: int | None = None,
        retry: bool = True,
    ) -> TriageChanged | Refused:
        """Decide and store one change; a press that lost a race is decided again (unless it
        named the version it was pressed on: then it is refused)."""
        assert tip.id is not None
        for _ in range(3 if retry else 1):
            now = self._clock()
            decision = decide(_triage_of(tip), action, actor, now)
            if isinstance(decision, Refusal):
                return Refused(Label(decision.key, {"number": tip_number(tip.id)}))
            values = _stored_values(tip, decision, officer_id, now)
            if await _compare_and_set(session, tip, values):
                session.add(
                    TipEvent(
                        tip_id=tip.id,
                        officer_id=officer_id,
                        action=decision.action.value,
                        from_value=decision.from_value,
                        to_value=decision.to_value,
                        at=now,
                    )
                )
                await session.refresh(tip)
                return _changed(tip, decision)
            await session.refresh(tip)
        return Refused(Label("tips.triage.busy", {"number": tip_number(tip.id)}))

    async def _officer_and_tip(
        self, session: AsyncSession, officer_telegram_id: int, tip_id: int
    ) -> tuple[Officer, Tip] | Refused:
        """The officer and the tip, if the tip lies in the officer's jurisdiction."""
        officer = await q.officer_row(session, officer_telegram_id)
        if officer is None:
            return Refused(Label("errors.not_officer"))
        tip = await session.get(Tip, tip_id)
        if tip is None or not _covers(self._jurisdiction(officer), tip):
            # The same answer for a tip that does not exist and one elsewhere: ids are guessable.
            return Refused(Label("tips.unknown_tip", {"number": tip_number(tip_id)}))
        return officer, tip

    def _jurisdiction(self, officer: Officer) -> Jurisdiction:
        return jurisdiction_of(self._units, officer.area_code)

    # -- blocking ---------------------------------------------------------------------------

    async def block_sender(self, officer_telegram_id: int, tip_id: int) -> Blocked | Refused:
        """ "Chặn người gửi": the tip's sender may send no more tips in the officer's area.

        Only the keyed hash is stored, so the block survives the erasure of the sender's id and
        the officer never learns who it is.
        """
        async with self._sessions() as session, session.begin():
            found = await self._officer_and_tip(session, officer_telegram_id, tip_id)
            if isinstance(found, Refused):
                return found
            officer, tip = found
            if tip.reporter_hash is None:
                return Refused(Label("tips.block.sender_gone", {"number": tip_number(tip_id)}))
            if await q.is_blocked(session, tip.reporter_hash, (officer.area_code,)):
                return Blocked(tip_id, tip_number(tip_id), already=True)
            assert officer.id is not None
            session.add(
                TipBlock(
                    sender_hash=tip.reporter_hash,
                    area_code=officer.area_code,
                    officer_id=officer.id,
                    tip_id=tip_id,
                    created_at=self._clock(),
                )
            )
            session.add(TipEvent(tip_id=tip_id, officer_id=officer.id, action="sender_blocked"))
        return Blocked(tip_id, tip_number(tip_id), already=False)

    # -- duty groups ------------------------------------------------------------------------

    async def register_duty_group(
        self, officer_telegram_id: int, chat_telegram_id: int, commune_code: str | None = None
    ) -> DutyGroupSet | Refused:
        """Make a group the commune's duty group (it gets the commune's tip cards)."""
        async with self._sessions() as session, session.begin():
            officer = await q.officer_row(session, officer_telegram_id)
            if officer is None or officer.id is None:
                return Refused(Label("errors.not_officer"))
            jurisdiction = self._jurisdiction(officer)
            code = commune_code or (jurisdiction.code if jurisdiction.kind == "commune" else "")
            commune = self._units.commune(code)
            if commune is None or not jurisdiction.covers(commune):
                return Refused(Label("tips.duty.outside"))
            chat = await _group_chat(session, chat_telegram_id)
            if chat is None or chat.id is None:
                return Refused(Label("tips.duty.not_a_group"))
            row = await session.get(DutyGroup, commune.code)
            if row is None:
                row = DutyGroup(commune_code=commune.code, chat_id=chat.id, officer_id=officer.id)
                session.add(row)
            row.chat_id, row.officer_id, row.updated_at = chat.id, officer.id, self._clock()
            await record_audit(
                session,
                officer_telegram_id,
                "duty_group_set",
                commune.code,
                detail=f"chat {chat.id}",
            )
        return DutyGroupSet(commune.code, commune.label, chat.title)

    async def duty_group(self, commune_code: str) -> Contact | None:
        """The commune's duty group, if one is registered and the bot is still in it."""
        async with self._sessions() as session:
            return await self._duty_contact(session, commune_code)

    async def _duty_contact(self, session: AsyncSession, commune_code: str) -> Contact | None:
        found = await q.duty_group(session, commune_code)
        if found is None:
            return None
        _, chat = found
        if not chat.bot_member or chat.id is None:
            return None
        return Contact(chat.id, chat.telegram_id, chat.language)

    # -- the relayed dialogue ---------------------------------------------------------------

    async def relay(
        self,
        direction: Direction,
        sender: int,
        tip_id: int,
        text: str | None = None,
        file_id: str | None = None,
        within: Within[Relayed] | None = None,
    ) -> Relayed | Refused:
        """One message of a tip's dialogue: an officer (`sender`) writes to its reporter, who
        stays unknown to them, or the reporter answers the officers who have its card. Checked,
        then written in one transaction with whatever `within` adds."""
        problem = _relay_problem(text, file_id)
        if problem is not None:
            return problem
        write = self._to_reporter if direction is Direction.TO_REPORTER else self._to_officers
        async with self._sessions() as session, session.begin():
            relayed = await write(session, sender, tip_id, text, file_id)
            if isinstance(relayed, Relayed) and within is not None:
                await within(session, relayed)
        return relayed

    async def _to_reporter(
        self,
        session: AsyncSession,
        officer_id: int,
        tip_id: int,
        text: str | None,
        file: str | None,
    ) -> Relayed | Refused:
        found = await self._officer_and_tip(session, officer_id, tip_id)
        if isinstance(found, Refused):
            return found
        officer, tip = found
        if tip.reporter_telegram_id is None:
            return Refused(Label("tips.relay.reporter_gone", {"number": tip_number(tip_id)}))
        row = await _add_message(session, tip_id, Direction.TO_REPORTER, officer.id, text, file)
        reporter = ReporterAddress(tip.reporter_telegram_id, tip.reporter_language)
        return Relayed(row, tip_id, tip_number(tip_id), reporter=reporter)

    async def _to_officers(
        self, session: AsyncSession, person: int, tip_id: int, text: str | None, file: str | None
    ) -> Relayed | Refused:
        tip = await session.get(Tip, tip_id)
        if tip is None or tip.reporter_telegram_id != person:
            return Refused(Label("tips.unknown_tip", {"number": tip_number(tip_id)}))
        row = await _add_message(session, tip_id, Direction.FROM_REPORTER, None, text, file)
        officers = await q.reachable_officers(session, tip.commune_code)
        if not officers:
            officers = await q.reachable_officers(session, tip.province_code)
        return Relayed(row, tip_id, tip_number(tip_id), officers=tuple(officers))

    async def is_reporter(self, person: int, tip_id: int) -> bool:
        """Whether `person` sent the tip and is still known as its sender (not yet erased)."""
        async with self._sessions() as session:
            tip = await session.get(Tip, tip_id)
        return tip is not None and tip.reporter_telegram_id == person

    async def thread(self, officer_telegram_id: int, tip_id: int) -> list[RelayLine] | Refused:
        """The dialogue of a tip, oldest first, as an officer reads it."""
        async with self._sessions() as session:
            found = await self._officer_and_tip(session, officer_telegram_id, tip_id)
            if isinstance(found, Refused):
                return found
            rows = await q.messages(session, tip_id)
        return [
            RelayLine(Direction(r.direction), r.text, r.file_id, r.officer_id, r.at) for r in rows
        ]

    # -- reading ----------------------------------------------------------------------------

    async def card(self, officer_telegram_id: int, tip_id: int) -> TipCard | Refused:
        """The tip as an officer of its area sees it."""
        async with self._sessions() as session:
            found = await self._officer_and_tip(session, officer_telegram_id, tip_id)
            if isinstance(found, Refused):
                return found
            return await self._card(session, found[1])

    async def group_card(self, tip_id: int) -> TipCard | None:
        """The duty group's copy of a tip (no reporter name), for the outbox's renderer."""
        async with self._sessions() as session:
            tip = await session.get(Tip, tip_id)
            return (await self._card(session, tip)).for_group() if tip is not None else None

    async def _card(self, session: AsyncSession, tip: Tip) -> TipCard:
        assert tip.id is not None
        deadline = self.ack_deadline(tip)
        state = TipState(tip.state)
        return TipCard(
            tip_id=tip.id,
            number=tip_number(tip.id),
            category=tip.category,
            text=tip.text,
            commune_code=tip.commune_code,
            commune_label=self._commune_label(tip.commune_code),
            place=place_label(tip.venue_title, tip.venue_address, tip.address, tip.lat is not None),
            lat=tip.lat,
            lon=tip.lon,
            photos=tuple(await q.photos(session, tip.id)),
            anonymous=tip.anonymous,
            display_name=None if tip.anonymous else tip.display_name,
            state=state,
            assessment=Assessment(tip.assessment),
            created_at=tip.created_at,
            ack_deadline=deadline,
            overdue=state is TipState.NEW and self._clock() >= deadline,
            escalated=tip.escalated_at is not None,
            version=tip.version,
            handler_id=tip.handler_officer_id,
            handler_name=await _officer_name(session, tip.handler_officer_id),
            acknowledged_at=tip.acknowledged_at,
            updated_at=tip.updated_at,
            venue_title=tip.venue_title,
            venue_address=tip.venue_address,
        )

    async def open_tips(
        self, officer_telegram_id: int, filter: str = TipFilter.ALL, page: int = 0
    ) -> Page[TipCard] | Refused:
        """Open tips of the officer's jurisdiction, newest first, one page at a time."""
        try:
            wanted = TipFilter(filter)
        except ValueError:
            wanted = TipFilter.ALL
        async with self._sessions() as session:
            officer = await q.officer_row(session, officer_telegram_id)
            if officer is None:
                return Refused(Label("errors.not_officer"))
            jurisdiction = self._jurisdiction(officer)
            scope = q.Scope(jurisdiction.kind, jurisdiction.code)
            condition = self._filter(wanted, officer, self._clock())
            first = max(page, 0) * PAGE_SIZE
            rows, total = await q.open_tips(session, scope, condition, first, PAGE_SIZE)
            if not rows and total and page > 0:  # past the end: the last page
                page = (total - 1) // PAGE_SIZE
                rows, total = await q.open_tips(
                    session, scope, condition, page * PAGE_SIZE, PAGE_SIZE
                )
            cards = [await self._card(session, row) for row in rows]
        pages = max(1, -(-total // PAGE_SIZE))
        return Page(cards, min(max(page, 0), pages - 1), pages, total)

    def _filter(self, wanted: TipFilter, officer: Officer, now: datetime) -> ColumnElement[bool]:
        if wanted is TipFilter.NEW:
            return col(Tip.state) == TipState.NEW.value
        if wanted is TipFilter.OVERDUE:
            return self._deadlines().overdue(now)
        if wanted is TipFilter.MINE:
            return col(Tip.handler_officer_id) == officer.id
        return col(Tip.id).is_not(None)

    async def my_tips(self, person: int) -> list[MyTip]:
        """The reporter's own tips and their states, newest first."""
        now = self._clock()
        async with self._sessions() as session:
            rows = await q.reporter_tips(session, person, MY_TIPS_LIMIT)
        return [
            MyTip(
                tip_id=row.id or 0,
                number=tip_number(row.id or 0),
                category=row.category,
                state=TipState(row.state),
                created_at=row.created_at,
                can_reopen=not isinstance(
                    decide(_triage_of(row), TriageAction.STILL_HAPPENING, Actor.REPORTER, now),
                    Refusal,
                ),
            )
            for row in rows
        ]

    # -- erasure ----------------------------------------------------------------------------

    async def erase_identities(self, now: datetime) -> int:
        """Erase reporters' ids (and hashes) from tips closed `retention` days ago, with the
        outbox rows addressed to them and abandoned drafts; the number of tips erased."""
        cutoff = now - timedelta(days=self._config.identity_retention_days)
        async with self._sessions() as session, session.begin():
            tips = await q.erasable_tips(session, cutoff)
            tip_ids = [t.id for t in tips if t.id is not None]
            reporters = {t.reporter_telegram_id for t in tips if t.reporter_telegram_id}
            replies = await q.reporter_message_ids(session, tip_ids) if tip_ids else []
            if tip_ids:
                await q.forget_identity(session, tip_ids, now)
            for reporter in reporters:
                await _forget_deliveries(session, reporter, tip_ids, replies)
            await q.delete_stale_drafts(session, cutoff)
        if tip_ids:
            log.info("erased the reporter identity of %d closed tips", len(tip_ids))
        return len(tip_ids)

    def _commune_label(self, code: str) -> str:
        commune = self._units.commune(code)
        return commune.label if commune is not None else code


# -- helpers --------------------------------------------------------------------------------

_INCOMPLETE = Label("tips.incomplete")


def _draft_of(row: DraftRow) -> Draft:
    return Draft.from_json(row.token, row.step, row.data)


async def _save_draft(session: AsyncSession, person: int, draft: Draft, now: datetime) -> None:
    row = await session.get(DraftRow, person)
    if row is None:
        row = DraftRow(
            person_telegram_id=person, token=draft.token, step=draft.step.value, created_at=now
        )
        session.add(row)
    if row.token != draft.token:  # a new draft replaces an unfinished one
        row.created_at = now
    row.token, row.step, row.data, row.updated_at = (
        draft.token,
        draft.step.value,
        draft.to_json(),
        now,
    )


def _triage_of(tip: Tip) -> Triage:
    return Triage(
        state=TipState(tip.state),
        assessment=Assessment(tip.assessment),
        resolved_at=tip.resolved_at,
        valuable_told=tip.valuable_told,
    )


def _stored_values(
    tip: Tip, decision: Transition, officer_id: int | None, now: datetime
) -> dict[str, object]:
    """The columns a transition writes (timestamps of the state reached)."""
    after = decision.after
    values: dict[str, object] = {
        "state": after.state.value,
        "assessment": after.assessment.value,
        "valuable_told": after.valuable_told,
        "resolved_at": after.resolved_at,
        "updated_at": now,
    }
    if decision.field == "state":
        values["closed_at"] = None if after.state.open else now
        if after.state is TipState.ACKNOWLEDGED and decision.before.state is TipState.NEW:
            values["acknowledged_at"] = now
            values["handler_officer_id"] = officer_id
    return values


async def _compare_and_set(
    session: AsyncSession,
    tip: Tip,
    values: dict[str, object],
    extra_state: TipState | None = None,
) -> bool:
    """Write `values` only if nobody changed the tip since it was read (its version)."""
    statement = (
        update(Tip)
        .where(col(Tip.id) == tip.id, col(Tip.version) == tip.version)
        .values(**values, version=tip.version + 1)
        .execution_options(synchronize_session=False)
    )
    if extra_state is not None:
        statement = statement.where(col(Tip.state) == extra_state.value)
    connection = await session.connection()
    result = await connection.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _changed(tip: Tip, decision: Transition) -> TriageChanged:
    assert tip.id is not None
    notice = decision.notify_reporter
    reporter = None
    if notice is not None and tip.reporter_telegram_id is not None:
        reporter = ReporterAddress(tip.reporter_telegram_id, tip.reporter_language)
    return TriageChanged(
        tip_id=tip.id,
        number=tip_number(tip.id),
        action=decision.action,
        field=decision.field,
        from_value=decision.from_value,
        to_value=decision.to_value,
        state=decision.after.state,
        assessment=decision.after.assessment,
        reporter_notice=Label(notice, {"number": tip_number(tip.id)}) if notice else None,
        reporter=reporter,
    )


def _covers(jurisdiction: Jurisdiction, tip: Tip) -> bool:
    """Whether the officer handles the tip: the ministry's officers are in no commune's or
    province's triage (tips never reach them), so none of theirs."""
    if jurisdiction.national:
        return False
    if jurisdiction.kind == "province":
        return tip.province_code == jurisdiction.code
    return tip.commune_code == jurisdiction.code


def _relay_problem(text: str | None, file_id: str | None) -> Refused | None:
    body = (text or "").strip()
    if not body and not file_id:
        return Refused(Label("tips.relay.empty"))
    if len(body) > RELAY_MAX:
        return Refused(Label("tips.relay.too_long", {"max": RELAY_MAX, "length": len(body)}))
    if file_id is not None and not 0 < len(file_id) <= FILE_ID_MAX:
        return Refused(Label("tips.not_a_photo"))
    return None


async def _add_message(
    session: AsyncSession,
    tip_id: int,
    direction: Direction,
    officer_id: int | None,
    text: str | None,
    file_id: str | None,
) -> int:
    row = TipMessage(
        tip_id=tip_id,
        direction=direction.value,
        officer_id=officer_id,
        text=(text or "").strip() or None,
        file_id=file_id,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    return row.id


async def _officer_name(session: AsyncSession, officer_id: int | None) -> str | None:
    officer = await session.get(Officer, officer_id) if officer_id is not None else None
    return officer.name if officer is not None else None


async def _group_chat(session: AsyncSession, telegram_id: int) -> Chat | None:
    """The group with this id, if the bot is in it."""
    chat = await get_chat(session, telegram_id)
    groups = (ChatKind.GROUP.value, ChatKind.SUPERGROUP.value)
    if chat is None or chat.kind not in groups or not chat.bot_member:
        return None
    return chat


async def _forget_deliveries(
    session: AsyncSession, reporter: int, tip_ids: list[int], replies: list[int]
) -> None:
    """Delete the outbox rows that carried these tips' news and replies to the reporter; all
    tip rows to them once none of their tips keeps their id."""
    await q.delete_deliveries(session, reporter, REPORTER_NOTICE_KINDS, tip_ids)
    await q.delete_deliveries(session, reporter, (REPORTER_REPLY_KIND,), replies)
    if not await q.still_identified(session, reporter):
        await q.delete_all_tip_deliveries(session, reporter, TIP_KIND_PREFIX)
