"""Police alerts: composing a draft, the audience, confirming, correcting, ending, receipts.

The alert row, its first version and its delivery rows are written in one transaction at
Confirm; the delivery engine sends them. A correction is first kept as a pending row and
previewed; its Confirm bumps the alert's version, asks the engine to edit every copy (copies not
yet sent go out with the current content) and to post a short notice under each copy already
in a group, since an edit notifies nobody. Every version is kept in `alert_versions`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.areas import AdminUnits, Commune
from bot.delivery.kinds import OutgoingKind
from bot.delivery.outbox import (
    delivery_stats,
    enqueue_replies,
    enqueue_select,
    job_progress,
    request_edit,
    request_edit_for_chat,
    withdraw_unsent,
)
from bot.delivery.outgoing import DeliveryStats, Outgoing
from bot.i18n import Catalog
from bot.services.alert_copies import CopyLookup
from bot.services.alert_flow import AlertFlow, Event, Scope, with_groups
from bot.services.alert_render import (
    ACK_PREFIX,
    MAX_ALERT_NUMBER,
    PREVIEW_ACK,
    render_alert,
    with_acknowledgement,
    with_tip_button,
)
from bot.services.alert_types import (
    CAPTION_TEXT_LIMIT,
    CATEGORIES,
    TEXT_LIMIT,
    AlertContent,
    Draft,
    ResidentialChoice,
    Severity,
    Step,
    TargetKind,
    text_problem,
)
from bot.services.flow_types import Question
from bot.services.officers import OfficerService, OfficerView, record_audit
from bot.services.tip_links import TipLinks
from storage.db import SessionFactory
from storage.models import (
    Alert,
    AlertAck,
    AlertCorrection,
    AlertDraft,
    AlertVersion,
    AlertVersionKind,
    Area,
    AreaKind,
    CorrectionStatus,
    Delivery,
    Officer,
)
from storage.queries import alerts as alert_queries
from storage.queries import areas, groups
from storage.queries.deliveries import delivered_chat
from storage.queries.groups import Reach
from storage.types import utcnow

log = logging.getLogger(__name__)
ALERT_KIND = "alert"
# A short reply under a group's copy saying it was corrected (the edit itself notifies nobody).
NOTICE_KIND = "alert_notice"
ACTIVE, CANCELLED = "active", "cancelled"
NATIONAL = (TargetKind.COUNTRY, TargetKind.PROVINCES)  # the ministry's targets


class AlertError(Exception):
    """A user-caused problem; `key` names the catalogue message that explains it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class PreviewExpired(AlertError):
    """The preview is too old to be sent as shown: it is shown again with a new expiry."""

    def __init__(self) -> None:
        super().__init__("compose.preview_refreshed")


@dataclass(frozen=True)
class Audience:
    recipients: int
    filtered: int


@dataclass(frozen=True)
class Sent:
    alert_id: int
    recipients: int
    filtered: int
    already: bool = False


@dataclass(frozen=True)
class AlertStatus:
    alert_id: int
    status: str
    version: int
    target_label: str
    stats: DeliveryStats
    acknowledged: int


@dataclass(frozen=True)
class CorrectionStart:
    """The text a correction replaces, and how long the new one may be."""

    alert_id: int
    text: str
    limit: int


@dataclass(frozen=True)
class CorrectionPreview:
    """A pending correction and the corrected copy exactly as groups will see it."""

    correction_id: int
    token: str
    alert_id: int
    outgoing: Outgoing


@dataclass(frozen=True)
class Corrected:
    """A confirmed correction: the new version and how many groups get a notice."""

    alert_id: int
    version: int
    notices: int
    already: bool = False


def check_text(text: str | None, has_photo: bool) -> AlertError | None:
    """None if the text can be sent; else the error to show (the step is asked again)."""
    problem = text_problem(text, has_photo)
    return None if problem is None else AlertError(problem.key, **problem.values)


class AlertService:
    """Everything an officer does with alerts, and the rendering the delivery engine uses."""

    def __init__(
        self,
        sessions: SessionFactory,
        units: AdminUnits,
        catalog: Catalog,
        tz: ZoneInfo,
        officers: OfficerService,
        notify: Callable[[], None] = lambda: None,
        tip_links: TipLinks | None = None,
    ) -> None:
        self._sessions = sessions
        self._tip_links = tip_links or TipLinks(sessions)
        self._units = units
        self._catalog = catalog
        self._tz = tz
        self._officers = officers
        self._notify = notify
        self._copies = CopyLookup(sessions, ALERT_KIND, content_of)
        self._flow = AlertFlow(units)
        # The rendering every group shares, by content and language (see `render`).
        self._bodies: dict[tuple[AlertContent, str | None], Outgoing] = {}

    def set_notifier(self, notify: Callable[[], None]) -> None:
        """Wake the delivery engine after a commit that added or changed copies."""
        self._notify = notify

    def kinds(self) -> tuple[OutgoingKind, ...]:
        """The outbox kinds alerts send: each group's copy is rendered for that group (its
        acknowledgement footer; the body is shared, see `render`) and edited by corrections and
        the end; a notice is one reply under one copy, never edited."""
        return (
            OutgoingKind(ALERT_KIND, self.render, per_chat=True, editable=True),
            OutgoingKind(NOTICE_KIND, self.render_notice, per_chat=False, editable=False),
        )

    # -- drafts ---------------------------------------------------------------------------

    @property
    def flow(self) -> AlertFlow:
        return self._flow

    async def start(self, officer: OfficerView) -> tuple[Draft, Question]:
        """Start composing (replacing an unfinished draft): the draft and its first question."""
        draft, question = self._flow.start(secrets.token_hex(4), Scope(officer.jurisdiction))
        await self.save_draft(officer.telegram_id, draft)
        return draft, question

    async def new_draft(self, officer: OfficerView) -> Draft:
        """Start composing (replacing an unfinished draft)."""
        draft, _ = await self.start(officer)
        return draft

    async def scope(self, officer: OfficerView, draft: Draft) -> Scope:
        """What the composer needs to know for the draft's next event."""
        code = self._flow.residential_commune(draft)
        residential = await self.residential_choices(code) if code else []
        return Scope(officer.jurisdiction, tuple(residential))

    async def question(self, officer: OfficerView, draft: Draft) -> Question:
        """The question the draft is waiting on."""
        question = self._flow.question(draft, await self.scope(officer, draft))
        return await self._counted(officer, draft, question)

    async def answer(self, officer: OfficerView, draft: Draft, event: Event) -> Question:
        """Apply one event to the draft and keep what it changed: saved, or deleted at Cancel.

        A question with a notice changed nothing. At Confirm the caller calls `confirm`.
        """
        question = self._flow.apply(draft, event, await self.scope(officer, draft))
        if question.step is Step.DISCARDED:
            await self.discard_draft(officer.telegram_id)
        elif question.notice is None and question.step is not Step.CONFIRM:
            await self.save_draft(officer.telegram_id, draft)
        return await self._counted(officer, draft, question)

    async def _counted(self, officer: OfficerView, draft: Draft, question: Question) -> Question:
        """The second confirmation of a national alert names how many groups will get it,
        counted now."""
        if question.step is not Step.RECONFIRM or question.notice is not None:
            return question
        severity = Severity(draft.severity or Severity.INFO.value)
        audience = await self.audience(officer, draft, severity)
        return with_groups(question, audience.recipients)

    async def draft(self, officer_id: int) -> Draft | None:
        async with self._sessions() as session:
            row = await session.get(AlertDraft, officer_id)
        return Draft.from_json(row.token, row.step, row.data) if row is not None else None

    async def save_draft(self, officer_id: int, draft: Draft) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(AlertDraft, officer_id)
            if row is None:
                row = AlertDraft(officer_telegram_id=officer_id, token=draft.token, step=draft.step)
                session.add(row)
            row.token, row.step, row.data = draft.token, draft.step, draft.to_json()
            row.updated_at = utcnow()

    async def discard_draft(self, officer_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            row = await session.get(AlertDraft, officer_id)
            if row is None:
                return False
            await session.delete(row)
            return True

    # -- choices --------------------------------------------------------------------------

    def communes_in(self, officer: OfficerView, query: str) -> list[Commune]:
        """Communes of the officer's jurisdiction matching `query`."""
        return self._flow.communes_in(officer.jurisdiction, query)

    def toggle_province(self, officer: OfficerView, draft: Draft, code: str) -> None:
        """Select or unselect a province of a national draft (for scripts and tests: officers
        press the composer's toggles); refused for anyone else and for codes of no province."""
        if not self._flow.toggle_province(officer.jurisdiction, draft, code):
            raise AlertError("compose.outside_jurisdiction")
        draft.target_kind, draft.commune_code, draft.residential_ids = "provinces", None, []

    def choose_commune(self, officer: OfficerView, draft: Draft, code: str) -> Commune:
        """Narrow the draft to one commune; refused outside the jurisdiction."""
        commune = self._flow.commune_in(officer.jurisdiction, code)
        if commune is None:
            raise AlertError("compose.outside_jurisdiction")
        draft.commune_code, draft.residential_ids = commune.code, []
        return commune

    async def residential_choices(self, commune_code: str) -> list[ResidentialChoice]:
        """Residential areas created under the commune, by name (at most 48)."""
        async with self._sessions() as session:
            commune = await _commune_area(session, commune_code)
            rows = await areas.residential_areas(session, commune.id, limit=48)
            return [ResidentialChoice(a.id or 0, a.name) for a in rows]

    async def target_label(self, officer: OfficerView, draft: Draft) -> str:
        """The area as groups will read it."""
        if draft.target_kind in NATIONAL and not officer.jurisdiction.national:
            raise AlertError("compose.outside_jurisdiction")
        residential: list[ResidentialChoice] = []
        if draft.target_kind == "residential" and draft.commune_code:
            residential = await self.residential_choices(draft.commune_code)
        label = self._flow.target_label(draft, Scope(officer.jurisdiction, tuple(residential)))
        if label is None and draft.target_kind == TargetKind.PROVINCES:
            raise AlertError("compose.no_province")
        if label is None:
            raise AlertError("compose.outside_jurisdiction")
        return label

    # -- preview and audience -------------------------------------------------------------

    async def content(self, officer: OfficerView, draft: Draft) -> AlertContent:
        """The draft as an alert (number unknown until sent)."""
        if not draft.complete:
            raise AlertError("compose.incomplete")
        return AlertContent(
            severity=Severity(draft.severity or Severity.INFO.value),
            category=draft.category or "other",
            area=await self.target_label(officer, draft),
            text=(draft.text or "").strip(),
            issuer=officer.issuer,
            valid_until=draft.expiry(utcnow()),
            exercise=bool(draft.exercise),
            photo_file_id=draft.photo_file_id,
            lat=draft.lat,
            lon=draft.lon,
        )

    async def preview(
        self, officer: OfficerView, draft: Draft, lang: str
    ) -> tuple[Outgoing, Audience]:
        """Exactly what groups will see, and how many groups will get it; the expiry shown is
        kept in the draft, and Confirm sends exactly that."""
        draft.stamp_preview(utcnow())
        content = await self.content(officer, draft)
        await self.save_draft(officer.telegram_id, draft)
        audience = await self.audience(officer, draft, content.severity)
        outgoing = render_alert(self._catalog, lang, content, self._tz)
        outgoing = await self._with_tip_link(outgoing, lang)
        return outgoing, audience

    async def audience(self, officer: OfficerView, draft: Draft, severity: Severity) -> Audience:
        """How many groups the draft reaches and how many of them filter it out, counted in SQL
        (a national alert's 100,000 groups never pass through Python)."""
        async with self._sessions() as session:
            reach = await self._reach(session, officer, draft)
            receiving, filtered = await groups.audience_counts(session, reach, _filtering(severity))
        return Audience(receiving, filtered)

    async def _reach(self, session: AsyncSession, officer: OfficerView, draft: Draft) -> Reach:
        """Which subscribed groups the draft goes to; refused outside the jurisdiction."""
        where = officer.jurisdiction
        if draft.target_kind in NATIONAL:
            await self.target_label(officer, draft)  # refuses others, and no province chosen
            if draft.target_kind == TargetKind.COUNTRY:
                return Reach()
            return Reach(province_codes=tuple(draft.province_codes))
        if draft.target_kind == "province":
            if where.kind != "province":
                raise AlertError("compose.outside_jurisdiction")
            return Reach(province_codes=(where.code,))
        commune = await _commune_area(session, draft.commune_code or "")
        unit = self._units.commune(commune.code or "")
        if unit is None or not where.covers(unit):
            raise AlertError("compose.outside_jurisdiction")
        if draft.target_kind == "residential":
            return Reach(commune_id=commune.id, area_ids=(*draft.residential_ids, commune.id or 0))
        return Reach(commune_id=commune.id)

    # -- confirm, correct, end ------------------------------------------------------------

    async def confirm(self, officer_id: int, token: str, *, reconfirmed: bool = False) -> Sent:
        """Write the alert and one delivery row per group, once: a second press sends nothing.

        Raises `PreviewExpired` (nothing written) when the preview is older than ten minutes,
        and `AlertError("compose.reconfirm")` for a draft to more than one province that was
        not confirmed a second time (`reconfirmed`).
        """
        try:
            confirmed = await self._confirm(officer_id, token, reconfirmed)
        except IntegrityError:
            confirmed = None
        if confirmed is None:
            return await self._already_sent(token)
        sent, by = confirmed
        self._notify()
        log.info(
            "alert #%d confirmed for %d groups (%d filtered) by %s",
            sent.alert_id,
            sent.recipients,
            sent.filtered,
            by,
        )
        return sent

    async def _confirm(
        self, officer_id: int, token: str, reconfirmed: bool
    ) -> tuple[Sent, str] | None:
        officer = await self._officers.officer(officer_id)
        if officer is None:
            raise AlertError("errors.not_officer")
        async with self._sessions() as session, session.begin():
            row = await session.get(AlertDraft, officer_id)
            if row is None or row.token != token:
                return None
            draft = Draft.from_json(row.token, row.step, row.data)
            if draft.preview_expired(utcnow()):
                raise PreviewExpired
            if draft.national and not reconfirmed:
                raise AlertError("compose.reconfirm")
            content = await self.content(officer, draft)
            alert = self._alert_row(officer, draft, content)
            session.add(alert)
            await session.flush()
            assert alert.id is not None
            alert_queries.add_targets(
                session, alert.id, await _target_areas(session, officer, draft)
            )
            _add_version(session, alert, AlertVersionKind.ORIGINAL, officer_id)
            reach = await self._reach(session, officer, draft)
            rows = groups.audience_rows(reach, _filtering(content.severity))
            priority = content.severity.rank
            await enqueue_select(session, ALERT_KIND, alert.id, rows, priority=priority)
            written = await job_progress(session, ALERT_KIND, alert.id)
            alert.recipients = written.pending
            await session.delete(row)
            await record_audit(
                session,
                officer_id,
                "alert_sent",
                f"#{alert.id} {content.area}",
                alert.recipients,
                detail=f"{content.severity.value}/{content.category}",
            )
            sent = Sent(alert.id, alert.recipients, written.filtered)
            return sent, await _actor_label(session, officer_id)

    def _alert_row(self, officer: OfficerView, draft: Draft, content: AlertContent) -> Alert:
        targets: dict[str, object] = {
            "province": officer.jurisdiction.province_code,
            "commune": draft.commune_code,
            "residential": draft.residential_ids,
        }
        if draft.target_kind == TargetKind.COUNTRY:
            targets = {"country": officer.jurisdiction.code}
        elif draft.target_kind == TargetKind.PROVINCES:
            targets = {"provinces": draft.province_codes}
        return Alert(
            draft_token=draft.token,
            officer_telegram_id=officer.telegram_id,
            issuer=content.issuer,
            issuer_code=officer.jurisdiction.code,
            target_kind=draft.target_kind or "commune",
            target_codes=json.dumps(targets),
            target_label=content.area[:512],
            severity=content.severity.value,
            category=content.category,
            text=content.text,
            photo_file_id=content.photo_file_id,
            lat=content.lat,
            lon=content.lon,
            valid_until=content.valid_until,
            exercise=content.exercise,
        )

    async def _already_sent(self, token: str) -> Sent:
        async with self._sessions() as session:
            alert = (
                await session.exec(select(Alert).where(col(Alert.draft_token) == token))
            ).first()
        if alert is None or alert.id is None:
            raise AlertError("compose.expired")
        return Sent(alert.id, alert.recipients, 0, already=True)

    # -- corrections: current text, preview, Confirm or Cancel ---------------------------

    async def correction_start(self, actor: int, alert_id: int) -> CorrectionStart:
        """The current text the officer will replace (refused for others and ended alerts)."""
        async with self._sessions() as session:
            alert = await self._correctable(session, actor, alert_id)
        limit = CAPTION_TEXT_LIMIT if alert.photo_file_id is not None else TEXT_LIMIT
        return CorrectionStart(alert_id, alert.text, limit)

    async def propose_correction(
        self, actor: int, alert_id: int, text: str, lang: str
    ) -> CorrectionPreview:
        """Keep `text` as a pending correction and render the corrected copy; nothing changes
        in any group until `confirm_correction`."""
        async with self._sessions() as session, session.begin():
            alert = await self._correctable(session, actor, alert_id)
            problem = check_text(text, alert.photo_file_id is not None)
            if problem is not None:
                raise problem
            if text.strip() == alert.text:
                raise AlertError("manage.correction_unchanged", number=alert_id)
            row = AlertCorrection(
                alert_id=alert_id,
                token=secrets.token_hex(4),
                officer_telegram_id=actor,
                base_version=alert.version,
                text=text.strip(),
            )
            session.add(row)
            await session.flush()
            assert row.id is not None
            # As groups will see it after Confirm: the new text, one more correction.
            corrected = replace(content_of(alert), text=row.text, corrections=alert.version)
        outgoing = _as_preview(render_alert(self._catalog, lang, corrected, self._tz))
        return CorrectionPreview(
            row.id, row.token, alert_id, await self._with_tip_link(outgoing, lang)
        )

    async def confirm_correction(self, actor: int, correction_id: int, token: str) -> Corrected:
        """Apply a pending correction once: the text is replaced, every delivered copy is
        edited and gets a short notice, pending copies go out corrected."""
        try:
            corrected, by = await self._apply_correction(actor, correction_id, token)
        except IntegrityError:  # another correction of the same version won at the same moment
            raise AlertError("manage.correction_stale") from None
        if not corrected.already:
            self._notify()
            log.info(
                "alert #%d corrected (version %d) by %s", corrected.alert_id, corrected.version, by
            )
        return corrected

    async def _apply_correction(
        self, actor: int, correction_id: int, token: str
    ) -> tuple[Corrected, str]:
        async with self._sessions() as session, session.begin():
            # Deciding first makes the transaction a writer at once: of two presses, one wins.
            won = await _decide(session, actor, correction_id, token, CorrectionStatus.APPLIED)
            row = await session.get(AlertCorrection, correction_id)
            if not won or row is None:
                row = _decided_before(row, actor, token, CorrectionStatus.APPLIED)
                return Corrected(row.alert_id, row.base_version + 1, 0, already=True), ""
            alert = await self._correctable(session, actor, row.alert_id)
            if alert.version != row.base_version:
                raise AlertError("manage.correction_stale", number=alert.id)
            alert.text, alert.version, alert.updated_at = row.text, alert.version + 1, utcnow()
            _add_version(session, alert, AlertVersionKind.CORRECTION, actor)
            await request_edit(session, ALERT_KIND, row.alert_id)
            notices = await enqueue_replies(session, NOTICE_KIND, ALERT_KIND, row.alert_id)
            await record_audit(
                session,
                actor,
                "alert_corrected",
                f"#{row.alert_id}",
                alert.recipients,
                detail=f"version {alert.version}",
            )
            by = await _actor_label(session, actor)
            return Corrected(row.alert_id, alert.version, notices), by

    async def cancel_correction(self, actor: int, correction_id: int, token: str) -> int:
        """Drop a pending correction (nothing changes anywhere); the alert's number."""
        async with self._sessions() as session, session.begin():
            won = await _decide(session, actor, correction_id, token, CorrectionStatus.CANCELLED)
            row = await session.get(AlertCorrection, correction_id)
            if not won or row is None:
                row = _decided_before(row, actor, token, CorrectionStatus.CANCELLED)
            return row.alert_id

    async def correct(self, actor: int, alert_id: int, text: str) -> Corrected:
        """Propose and confirm in one step, for scripts and tests (officers see a preview)."""
        proposed = await self.propose_correction(
            actor, alert_id, text, self._catalog.default_language
        )
        return await self.confirm_correction(actor, proposed.correction_id, proposed.token)

    async def _correctable(self, session: AsyncSession, actor: int, alert_id: int) -> Alert:
        alert = await self._managed(session, actor, alert_id)
        if alert.status == CANCELLED:
            raise AlertError("manage.already_ended", number=alert_id)
        return alert

    # -- ending ---------------------------------------------------------------------------

    async def end(self, actor: int, alert_id: int) -> Alert:
        """End (cancel) the alert: every delivered copy is edited to show it no longer applies;
        copies not yet sent are withdrawn (a group that never saw it gets no "ended" notice)."""
        async with self._sessions() as session, session.begin():
            alert = await self._managed(session, actor, alert_id)
            if alert.status == CANCELLED:
                raise AlertError("manage.already_ended", number=alert_id)
            alert.status, alert.version, alert.updated_at = CANCELLED, alert.version + 1, utcnow()
            _add_version(session, alert, AlertVersionKind.CANCEL, actor)
            await request_edit(session, ALERT_KIND, alert_id)
            await withdraw_unsent(session, ALERT_KIND, alert_id)
            await record_audit(session, actor, "alert_cancelled", f"#{alert_id}", alert.recipients)
            by = await _actor_label(session, actor)
        self._notify()
        log.info("alert #%d ended by %s", alert_id, by)
        return alert

    async def _managed(self, session: AsyncSession, actor: int, alert_id: int) -> Alert:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            raise AlertError("manage.unknown_alert", number=alert_id)
        if not await self._may_manage(session, actor, alert):
            raise AlertError("manage.not_yours", number=alert_id)
        return alert

    async def _may_manage(self, session: AsyncSession, actor: int, alert: Alert) -> bool:
        """The sender, a superadmin, the ministry's officers, and the officers of an area the
        alert was sent to; a national alert (the ministry's) only by the ministry."""
        if self._officers.is_superadmin(actor) or actor == alert.officer_telegram_id:
            return True
        officer = await self._officers.officer(actor)
        if officer is None or alert.id is None:
            return False
        where = officer.jurisdiction
        if where.national:
            return True
        if alert.target_kind in NATIONAL:
            return False
        targets = await alert_queries.targets_of(session, alert.id)
        if where.kind == "province":
            return any(t.province_code == where.code for t in targets)
        return any(t.commune_code == where.code for t in targets)

    # -- receipts and status --------------------------------------------------------------

    async def acknowledge(self, alert_id: int, chat_telegram_id: int, user_id: int) -> bool:
        """Record the group's "received" once; True if this press was the first, and that
        group's copy is then edited to show it. Refused (`ack.not_here`) unless the alert was
        delivered to this group: button data is untrusted."""
        if not 0 < alert_id <= MAX_ALERT_NUMBER:
            raise AlertError("ack.not_here")
        try:
            async with self._sessions() as session, session.begin():
                chat_id = await delivered_chat(session, ALERT_KIND, alert_id, chat_telegram_id)
                if chat_id is None:
                    raise AlertError("ack.not_here")
                seen = await session.exec(
                    select(AlertAck.id).where(
                        col(AlertAck.alert_id) == alert_id, col(AlertAck.chat_id) == chat_id
                    )
                )
                if seen.first() is not None:
                    return False
                session.add(AlertAck(alert_id=alert_id, chat_id=chat_id, user_telegram_id=user_id))
                await session.flush()  # a simultaneous second press fails here, touching nothing
                await request_edit_for_chat(session, ALERT_KIND, alert_id, chat_id)
        except IntegrityError:  # another admin of the group pressed at the same moment
            return False
        self._notify()
        return True

    async def status(self, actor: int, alert_id: int) -> AlertStatus:
        """Delivered, pending, failed, filtered and acknowledged copies, and timings."""
        async with self._sessions() as session:
            alert = await self._managed(session, actor, alert_id)
            stats = await delivery_stats(session, ALERT_KIND, alert_id)
            acks = await session.scalar(
                select(func.count()).select_from(AlertAck).where(col(AlertAck.alert_id) == alert_id)
            )
        return AlertStatus(
            alert_id, alert.status, alert.version, alert.target_label, stats, int(acks or 0)
        )

    async def recent(self, actor: int, limit: int = 5) -> list[Alert]:
        """The actor's latest alerts (all alerts for a superadmin)."""
        async with self._sessions() as session:
            query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
            if not self._officers.is_superadmin(actor):
                query = query.where(col(Alert.officer_telegram_id) == actor)
            return list(await session.exec(query))

    # -- rendering for the delivery engine ------------------------------------------------

    async def render(self, alert_id: int, language: str | None, chat_id: int) -> Outgoing:
        """The current copy of alert `alert_id` for the group `chat_id` (its Telegram id): the
        body every group shares, plus this group's acknowledgement if it gave one and its
        "send a tip" link with the group's area."""
        copies = await self._copies.get(alert_id, chat_id)
        if copies is None:
            raise LookupError(f"alert {alert_id} does not exist")
        body = self._body(copies.content, language)
        acknowledged = copies.acknowledged.get(chat_id)
        if acknowledged is not None:
            body = with_acknowledgement(self._catalog, language, body, acknowledged, self._tz)
        url = await self._tip_links.url(copies.areas.get(chat_id))
        return with_tip_button(self._catalog, language, body, url)

    async def _with_tip_link(self, preview: Outgoing, lang: str | None) -> Outgoing:
        """A preview shows the "send a tip" button as groups will (with no group's area)."""
        return with_tip_button(self._catalog, lang, preview, await self._tip_links.url(None))

    def _body(self, content: AlertContent, language: str | None) -> Outgoing:
        """Rendered once per content and language, however many groups get it."""
        body = self._bodies.get((content, language))
        if body is None:
            if len(self._bodies) >= 256:
                self._bodies.clear()
            body = self._bodies[(content, language)] = render_alert(
                self._catalog, language, content, self._tz
            )
        return body

    async def render_notice(self, copy_id: int, language: str | None, _chat_id: int) -> Outgoing:
        """The notice under a group's copy (delivery row `copy_id`) that it was corrected."""
        async with self._sessions() as session:
            copy = await session.get(Delivery, copy_id)
        if copy is None or copy.kind != ALERT_KIND:
            raise LookupError(f"delivery {copy_id} is not a copy of an alert")
        text = self._catalog.t(language, "manage.corrected_notice", number=copy.ref_id)
        return Outgoing(text=text, reply_to_message_id=copy.message_id)


def content_of(alert: Alert) -> AlertContent:
    """A stored alert as content to render."""
    return AlertContent(
        severity=Severity(alert.severity),
        category=alert.category if alert.category in CATEGORIES else "other",
        area=alert.target_label,
        text=alert.text,
        issuer=alert.issuer,
        valid_until=alert.valid_until,
        exercise=alert.exercise,
        number=alert.id,
        photo_file_id=alert.photo_file_id,
        lat=alert.lat,
        lon=alert.lon,
        corrections=max(0, alert.version - 1) if alert.status != CANCELLED else 0,
        cancelled=alert.status == CANCELLED,
    )


def _as_preview(out: Outgoing) -> Outgoing:
    """The copy with its "received" button inert, for showing in the officer's chat."""
    buttons = [
        [(label, PREVIEW_ACK if data.startswith(ACK_PREFIX) else data) for label, data in row]
        for row in out.buttons
    ]
    return replace(out, buttons=buttons)


def _add_version(
    session: AsyncSession, alert: Alert, kind: AlertVersionKind, officer_telegram_id: int
) -> None:
    """Record the alert's current text as its current version (inside the caller's transaction)."""
    assert alert.id is not None
    session.add(
        AlertVersion(
            alert_id=alert.id,
            version=alert.version,
            kind=kind.value,
            text=alert.text,
            officer_telegram_id=officer_telegram_id,
        )
    )


async def _decide(
    session: AsyncSession, actor: int, correction_id: int, token: str, status: CorrectionStatus
) -> bool:
    """Move the actor's pending correction to `status`; False if it was not pending or theirs."""
    connection = await session.connection()
    result = await connection.execute(
        update(AlertCorrection)
        .where(col(AlertCorrection.id) == correction_id, col(AlertCorrection.token) == token)
        .where(col(AlertCorrection.officer_telegram_id) == actor)
        .where(col(AlertCorrection.status) == CorrectionStatus.PENDING.value)
        .values(status=status.value, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _decided_before(
    row: AlertCorrection | None, actor: int, token: str, wanted: CorrectionStatus
) -> AlertCorrection:
    """The correction already decided as `wanted` (a repeated press); otherwise why not."""
    if row is None or row.token != token or row.officer_telegram_id != actor:
        raise AlertError("manage.correction_expired")
    if row.status == wanted.value:
        return row
    if row.status == CorrectionStatus.APPLIED.value:
        raise AlertError("manage.correction_already_applied", number=row.alert_id)
    raise AlertError("manage.correction_was_cancelled", number=row.alert_id)


async def _actor_label(session: AsyncSession, telegram_id: int) -> str:
    """Who acted, for operator logs: the officer's row id, never a Telegram id or a name."""
    result = await session.exec(select(Officer.id).where(col(Officer.telegram_id) == telegram_id))
    row_id = result.first()
    return f"officer row #{row_id}" if row_id is not None else "a superadmin"


async def _target_areas(session: AsyncSession, officer: OfficerView, draft: Draft) -> list[Area]:
    """The rows of the areas the draft is sent to: every province or the chosen ones (a
    national alert), the province, the commune, or the chosen residential areas of the
    commune."""
    if draft.target_kind in NATIONAL:
        codes = None if draft.target_kind == TargetKind.COUNTRY else draft.province_codes
        return await areas.provinces(session, codes)
    if draft.target_kind == "province":
        province = await areas.area_by_code(session, officer.jurisdiction.code, AreaKind.PROVINCE)
        if province is None:
            raise AlertError("compose.outside_jurisdiction")
        return [province]
    commune = await _commune_area(session, draft.commune_code or "")
    if draft.target_kind != "residential":
        return [commune]
    chosen = set(draft.residential_ids)
    return [a for a in await areas.residential_areas(session, commune.id) if a.id in chosen]


def _filtering(severity: Severity) -> list[str]:
    """The minimum severities of groups that do not receive an alert of `severity` (as
    `receives` decides; an unknown minimum receives everything)."""
    return [s.value for s in Severity if s.rank > severity.rank]


async def _commune_area(session: AsyncSession, code: str) -> Area:
    area = await areas.commune_area(session, code)
    if area is None:
        raise AlertError("compose.outside_jurisdiction")
    return area
