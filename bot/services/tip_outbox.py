"""The tips' outbox: who gets a card, a notice or a relayed message, and how each is rendered.

Every message about a tip that does not answer a person's own press goes through the delivery
engine (durable, at Telegram's limits). The hooks run inside `TipService`'s transactions, so a
card, a notice or a relayed message is written with the change it reports, or not at all.
The kinds, all "tip_…" (what `ref_id` names in brackets):

- `tip_card` [the tip]: the card of each officer who must act and of the commune's duty group,
  the photos after it as an album and the place as a map pin; every change edits every copy.
- `tip_notice_<action>` [the tip]: the reporter hears that the tip was acknowledged, resolved
  (with «Vẫn còn»), rejected, or judged valuable. One kind per notice: a renderer knows only a
  row's kind and ref, and the erasure of identities deletes them all (`REPORTER_NOTICE_KINDS`).
- `tip_reply` [a tip_messages row]: what an officer wrote, to the reporter, «Trả lời cán bộ»
  under it.
- `tip_relay` [a tip_messages row]: what the reporter wrote, to the officers, signed
  "Người báo tin #R-12" — never a name, a username or an id.
- `tip_still`, `tip_late` [a card's delivery row]: a reply under each copy of the card: the
  reporter says it is still happening; nobody took the tip up in time.

Two scheduler kinds: `tip_overdue` (key `tip_overdue:<id>`, planned at submit for the tip's
acknowledgement deadline) and the daily `tip_erasure`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.kinds import OutgoingKind
from bot.delivery.outbox import enqueue, enqueue_replies, request_edit
from bot.delivery.outgoing import Outgoing, Pin, Renderer, Target
from bot.i18n import Catalog
from bot.scheduling import DurableScheduler, Job, cancel, schedule
from bot.services.tip_cards import (
    CardButton,
    ReporterButton,
    card_buttons,
    card_data,
    card_text,
    reporter_data,
)
from bot.services.tip_states import TriageAction
from bot.services.tip_types import tip_number
from bot.services.tips import (
    NOTICE_ACTIONS,
    REPORTER_NOTICE_KIND,
    REPORTER_REPLY_KIND,
    Escalation,
    Refused,
    Relayed,
    ReporterAddress,
    TipCard,
    TipService,
    TipSubmitted,
    TriageChanged,
)
from storage.db import SessionFactory
from storage.models import Delivery
from storage.models.tips import Direction, TipMessage, TipState
from storage.queries import tips as q
from storage.queries.tips import Contact
from storage.types import utcnow

log = logging.getLogger(__name__)

CARD_KIND = "tip_card"
REPLY_KIND = REPORTER_REPLY_KIND
RELAY_KIND = "tip_relay"
STILL_KIND = "tip_still"
LATE_KIND = "tip_late"
OVERDUE_JOB = "tip_overdue"
ERASURE_JOB = "tip_erasure"
ERASURE_CRONTAB = "30 3 * * *"  # every night at 03:30, when the bot is quiet
# A bot that was down past a deadline still escalates when it is back: late beats never.
OVERDUE_GRACE = timedelta(days=7)
ERASURE_GRACE = timedelta(hours=20)
# A tip may be about harm under way and goes to few chats: as urgent alerts.
PRIORITY = 2
OPENED_PRIORITY = 3  # a card an officer opened from /xulytin: they are waiting for it


def notice_kind(action: TriageAction) -> str:
    """The outbox kind of the reporter's notice of `action`."""
    return f"{REPORTER_NOTICE_KIND}_{action.value}"


def overdue_key(tip_id: int) -> str:
    return f"{OVERDUE_JOB}:{tip_id}"


def _officers(contacts: Iterable[Contact]) -> list[Target]:
    return [Target(c.telegram_id, None, False, c.language) for c in contacts]


def _reporter(address: ReporterAddress) -> list[Target]:
    return [Target(address.telegram_id, None, False, address.language)]


class TipOutbox:
    """Enqueues and renders every outbox message about tips; runs the tips' scheduled jobs."""

    def __init__(
        self,
        sessions: SessionFactory,
        tips: TipService,
        catalog: Catalog,
        tz: tzinfo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._tips = tips
        self._catalog = catalog
        self._tz = tz
        self._clock = clock
        self._notify: Callable[[], None] = lambda: None

    def set_notifier(self, notify: Callable[[], None]) -> None:
        """Wake the delivery engine after a change committed new rows."""
        self._notify = notify

    def kinds(self) -> tuple[OutgoingKind, ...]:
        """The outbox kinds of tips. A card is rendered for each chat (an officer may see the
        reporter's chosen name, a duty group never) and edited by every change; the notices,
        relayed messages and the lines under a card are sent once, never edited."""
        once = {"per_chat": False, "editable": False}
        return (
            OutgoingKind(CARD_KIND, self.render_card, per_chat=True, editable=True),
            OutgoingKind(REPLY_KIND, self.render_reply, **once),
            OutgoingKind(RELAY_KIND, self.render_relay, **once),
            OutgoingKind(STILL_KIND, self.render_still, **once),
            OutgoingKind(LATE_KIND, self.render_late, **once),
            *(
                OutgoingKind(notice_kind(a), self._notice_renderer(a), **once)
                for a in NOTICE_ACTIONS
            ),
        )

    def register_jobs(self, scheduler: DurableScheduler) -> None:
        """The overdue escalation of each tip and the nightly erasure of identities (at
        ERASURE_CRONTAB in the bot's time zone)."""
        scheduler.register(OVERDUE_JOB, self.run_overdue, grace=OVERDUE_GRACE)
        scheduler.register(ERASURE_JOB, self.run_erasure, grace=ERASURE_GRACE)
        scheduler.every(ERASURE_JOB, ERASURE_CRONTAB, self._tz)

    # -- what officers and reporters do (the service decides; the outbox follows) ----------

    async def act(
        self, officer: int, tip_id: int, action: str, version: int | None
    ) -> TriageChanged | Refused:
        """An officer's triage button; every card and the reporter follow the change."""
        done = await self._tips.act(officer, tip_id, action, self.on_changed, version)
        self._notify()
        return done

    async def still_happening(self, person: int, tip_id: int) -> TriageChanged | Refused:
        """The reporter's «Vẫn còn»: the tip reopens and every card holder is told."""
        done = await self._tips.still_happening(person, tip_id, self.on_changed)
        self._notify()
        return done

    async def to_reporter(self, officer: int, tip_id: int, text: str) -> Relayed | Refused:
        """An officer's message, to the tip's reporter."""
        done = await self._tips.relay(
            Direction.TO_REPORTER, officer, tip_id, text, within=self.on_to_reporter
        )
        self._notify()
        return done

    async def to_officers(self, person: int, tip_id: int, text: str) -> Relayed | Refused:
        """The reporter's answer, to the officers, signed only "Người báo tin #R-12"."""
        done = await self._tips.relay(
            Direction.FROM_REPORTER, person, tip_id, text, within=self.on_to_officers
        )
        self._notify()
        return done

    async def open_card(self, officer: int, tip_id: int, language: str | None) -> TipCard | Refused:
        """Send the officer the tip's card (with its album and pin) through the outbox, as a
        copy that every later change edits like the others."""
        card = await self._tips.card(officer, tip_id)
        if isinstance(card, Refused):
            return card
        async with self._sessions() as session, session.begin():
            target = Target(officer, None, False, language)
            await enqueue(session, CARD_KIND, tip_id, [target], priority=OPENED_PRIORITY)
        self._notify()
        return card

    # -- hooks, inside the service's transaction -------------------------------------------

    async def on_submitted(self, session: AsyncSession, submitted: TipSubmitted) -> None:
        """A new tip: one card per officer and for the duty group; its deadline planned."""
        targets = _officers(submitted.officers)
        duty = submitted.duty_group
        if duty is not None:
            targets.append(Target(duty.telegram_id, duty.row_id, False, duty.language))
        await enqueue(session, CARD_KIND, submitted.tip_id, targets, priority=PRIORITY)
        payload = {"tip_id": submitted.tip_id}
        key = overdue_key(submitted.tip_id)
        await schedule(session, OVERDUE_JOB, key, submitted.ack_deadline, payload)
        self._notify()  # the engine also polls: the rows are seen once this commits

    async def on_changed(self, session: AsyncSession, changed: TriageChanged) -> None:
        """Edit every card; tell the reporter; a tip taken up or closed is never overdue."""
        if changed.rerender_cards:
            await request_edit(session, CARD_KIND, changed.tip_id)
        if changed.reporter_notice is not None and changed.reporter is not None:
            kind = notice_kind(changed.action)
            await enqueue(session, kind, changed.tip_id, _reporter(changed.reporter), priority=1)
        if changed.field == "state" and changed.state is not TipState.NEW:
            await cancel(session, OVERDUE_JOB, overdue_key(changed.tip_id))
        if changed.action is TriageAction.STILL_HAPPENING:
            await enqueue_replies(session, STILL_KIND, CARD_KIND, changed.tip_id)

    async def on_to_reporter(self, session: AsyncSession, relayed: Relayed) -> None:
        if relayed.reporter is not None:
            targets = _reporter(relayed.reporter)
            await enqueue(session, REPLY_KIND, relayed.message_id, targets, priority=PRIORITY)

    async def on_to_officers(self, session: AsyncSession, relayed: Relayed) -> None:
        targets = _officers(relayed.officers)
        await enqueue(session, RELAY_KIND, relayed.message_id, targets, priority=PRIORITY)

    async def on_escalated(self, session: AsyncSession, escalation: Escalation) -> None:
        """Mark every card overdue, say so under each, and give the province's officers the
        card (those who have none yet)."""
        await request_edit(session, CARD_KIND, escalation.tip_id)
        await enqueue_replies(session, LATE_KIND, CARD_KIND, escalation.tip_id)
        holders = await q.job_chats(session, CARD_KIND, escalation.tip_id)
        fresh = [c for c in escalation.officers if c.telegram_id not in holders]
        await enqueue(session, CARD_KIND, escalation.tip_id, _officers(fresh), priority=PRIORITY)

    # -- scheduled jobs ---------------------------------------------------------------------

    async def run_overdue(self, job: Job) -> None:
        """The tip's deadline passed: escalate it once, unless someone took it up."""
        tip_id = int(job.payload["tip_id"])
        # The scheduler runs the job once its due time (the deadline) has come.
        now = max(self._clock(), job.due_at)
        escalated = await self._tips.escalate_overdue(tip_id, now, within=self.on_escalated)
        if escalated is not None:
            self._notify()

    async def run_erasure(self, job: Job) -> None:
        """Forget the reporters of tips closed long enough ago."""
        await self._tips.erase_identities(max(self._clock(), job.due_at))

    # -- rendering --------------------------------------------------------------------------

    async def card_view(self, tip_id: int, language: str | None, chat_id: int) -> Outgoing:
        """The card as this chat sees it: a duty group (a group id) never sees a name."""
        for_group = chat_id < 0
        card: TipCard | Refused | None
        if for_group:
            card = await self._tips.group_card(tip_id)
        else:
            card = await self._tips.card(chat_id, tip_id)
        if card is None or isinstance(card, Refused):  # e.g. the officer's rights were revoked
            gone = self._catalog.t(language, "tips.card.gone", number=tip_number(tip_id))
            return Outgoing(text=gone)
        text = card_text(self._catalog, language, card, self._tz, for_group=for_group)
        buttons = card_buttons(self._catalog, language, card, for_group=for_group)
        return replace(Outgoing(text=text, buttons=buttons), album=card.photos, location=_pin(card))

    async def render_card(self, tip_id: int, language: str | None, chat_id: int) -> Outgoing:
        return await self.card_view(tip_id, language, chat_id)

    def _notice_renderer(self, action: TriageAction) -> Renderer:
        key = f"tips.notify.{_NOTICE_KEYS[action]}"

        async def render(tip_id: int, language: str | None, _chat_id: int) -> Outgoing:
            text = self._catalog.t(language, key, number=tip_number(tip_id))
            if action is not TriageAction.RESOLVE:
                return Outgoing(text=text)
            label = self._catalog.t(language, "tips.action.still")
            return Outgoing(
                text=text, buttons=[[(label, reporter_data(ReporterButton.STILL, tip_id))]]
            )

        return render

    async def render_reply(self, message_id: int, language: str | None, _chat_id: int) -> Outgoing:
        """An officer's words to the reporter, and the button to answer."""
        row = await self._message(message_id)
        t = self._catalog.t
        if row is None:
            return Outgoing(text=t(language, "tips.card.relay_gone"))
        number = tip_number(row.tip_id)
        text = t(language, "tips.reporter.reply", number=number, text=row.text or "")
        label = t(language, "tips.reporter.btn_answer")
        return Outgoing(
            text=text, buttons=[[(label, reporter_data(ReporterButton.ANSWER, row.tip_id))]]
        )

    async def render_relay(self, message_id: int, language: str | None, _chat_id: int) -> Outgoing:
        """The reporter's words to an officer, signed "Người báo tin #R-12"."""
        row = await self._message(message_id)
        t = self._catalog.t
        if row is None:
            return Outgoing(text=t(language, "tips.card.relay_gone"))
        number = tip_number(row.tip_id)
        text = t(language, "tips.card.relay", number=number, text=row.text or "")
        label = t(language, "tips.card.btn_reply")
        return Outgoing(text=text, buttons=[[(label, card_data(CardButton.REPLY, row.tip_id))]])

    async def render_still(self, copy_id: int, language: str | None, _chat_id: int) -> Outgoing:
        return await self._under_card(copy_id, language, "tips.card.still_notice")

    async def render_late(self, copy_id: int, language: str | None, _chat_id: int) -> Outgoing:
        return await self._under_card(copy_id, language, "tips.card.late_notice")

    async def _under_card(self, copy_id: int, language: str | None, key: str) -> Outgoing:
        """A short line sent as a reply to one copy of a card."""
        async with self._sessions() as session:
            copy = await session.get(Delivery, copy_id)
        if copy is None or copy.kind != CARD_KIND:
            return Outgoing(text=self._catalog.t(language, "tips.card.relay_gone"))
        text = self._catalog.t(language, key, number=tip_number(copy.ref_id))
        return Outgoing(text=text, reply_to_message_id=copy.message_id)

    async def _message(self, message_id: int) -> TipMessage | None:
        async with self._sessions() as session:
            return await session.get(TipMessage, message_id)


_NOTICE_KEYS = {
    TriageAction.ACKNOWLEDGE: "acknowledged",
    TriageAction.RESOLVE: "resolved",
    TriageAction.REJECT: "rejected",
    TriageAction.VALUABLE: "valuable",
}


def _pin(card: TipCard) -> Pin | None:
    if card.lat is None or card.lon is None:
        return None
    return Pin(card.lat, card.lon, title=card.venue_title, address=card.venue_address)
