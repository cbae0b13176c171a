"""The tips' outbox against real databases: who gets a card, which change tells the reporter,
the overdue escalation through the scheduler, the relayed dialogue, and what the renderers show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.delivery.outgoing import Pin
from bot.i18n import load_catalog
from bot.scheduling import DurableScheduler, Job, get_job, schedule
from bot.scheduling.store import has_open
from bot.services.chats import ChatRef
from bot.services.tip_cards import parse_press
from bot.services.tip_outbox import (
    CARD_KIND,
    ERASURE_JOB,
    LATE_KIND,
    OVERDUE_JOB,
    RELAY_KIND,
    REPLY_KIND,
    STILL_KIND,
    TipOutbox,
    notice_kind,
    overdue_key,
)
from bot.services.tip_states import TriageAction
from bot.services.tips import Refused, Relayed, TipSubmitted, TriageChanged
from storage.db import SessionFactory
from storage.models import Delivery, Tip, TipEvent
from tests.storage.test_tips import (
    BA_DINH,
    DONG_DA,
    HA_NOI,
    RESIDENT,
    START,
    World,
    count,
    submitted,
    world,  # noqa: F401 - the fixture
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = load_catalog()
OFFICER, COLLEAGUE, ELSEWHERE, PROVINCIAL = (
    5_000_000_100,
    5_000_000_101,
    5_000_000_102,
    5_000_000_200,
)
DUTY = ChatRef(-4_100_000_001, "supergroup", "Trực ban CA Đống Đa")


@dataclass
class Desk:
    world: World
    outbox: TipOutbox
    scheduler: DurableScheduler

    @property
    def sessions(self) -> SessionFactory:
        return self.world.sessions

    async def rows(self, kind: str, ref_id: int) -> list[Delivery]:
        async with self.sessions() as session:
            found = await session.exec(
                select(Delivery)
                .where(col(Delivery.kind) == kind, col(Delivery.ref_id) == ref_id)
                .order_by(col(Delivery.id))
            )
            return list(found)

    async def chats(self, kind: str, ref_id: int) -> list[int]:
        return [row.telegram_chat_id for row in await self.rows(kind, ref_id)]

    async def versions(self, tip_id: int) -> list[int]:
        return [row.content_version for row in await self.rows(CARD_KIND, tip_id)]

    async def deliver_all(self, kind: str, ref_id: int) -> None:
        """As if the engine had sent every copy (message ids 100, 101, …)."""
        for n, row in enumerate(await self.rows(kind, ref_id)):
            async with self.sessions() as session, session.begin():
                await session.exec(
                    update(Delivery)  # type: ignore[call-overload]
                    .where(col(Delivery.id) == row.id)
                    .values(status="delivered", message_id=100 + n, sent_version=1)
                )


@pytest.fixture
async def desk(world: World) -> Desk:  # noqa: F811 - the fixture above
    outbox = TipOutbox(world.sessions, world.tips, CATALOG, TZ)
    world.tips.add_submitted_hook(outbox.on_submitted)
    scheduler = DurableScheduler(world.sessions)
    outbox.register_jobs(scheduler)
    for officer, area in ((OFFICER, DONG_DA), (COLLEAGUE, DONG_DA), (ELSEWHERE, BA_DINH)):
        await world.officer(officer, area)
    await world.officer(5_000_000_103, DONG_DA, started=False)  # never pressed Start
    await world.chats.bot_joined(DUTY)
    assert not isinstance(await world.tips.register_duty_group(OFFICER, DUTY.telegram_id), Refused)
    return Desk(world, outbox, scheduler)


async def tip(desk: Desk, **kwargs: object) -> TipSubmitted:
    return await submitted(desk.world.tips, desk.world.units, **kwargs)


async def test_a_new_tip_cards_its_officers_and_duty_group_and_plans_its_deadline(
    desk: Desk,
) -> None:
    sent = await tip(desk, photos=["AgAD1", "AgAD2"])
    assert sorted(await desk.chats(CARD_KIND, sent.tip_id)) == sorted(
        [OFFICER, COLLEAGUE, DUTY.telegram_id]
    )
    async with desk.sessions() as session:
        job = await get_job(session, OVERDUE_JOB, overdue_key(sent.tip_id))
    assert job is not None and job.due_at == sent.ack_deadline == START + timedelta(minutes=30)


# (action, the reporter's notice kind, or None)
TRIAGE = [
    (TriageAction.ACKNOWLEDGE, notice_kind(TriageAction.ACKNOWLEDGE)),
    (TriageAction.NOT_VALUABLE, None),
    (TriageAction.VALUABLE, notice_kind(TriageAction.VALUABLE)),
    (TriageAction.NOT_VALUABLE, None),
    (TriageAction.VALUABLE, None),  # "valuable" is told once
    (TriageAction.RESOLVE, notice_kind(TriageAction.RESOLVE)),
]


async def test_every_change_edits_every_card_and_tells_the_reporter_once(desk: Desk) -> None:
    sent = await tip(desk)
    told: list[str] = []
    for step, (action, notice) in enumerate(TRIAGE, start=1):
        async with desk.sessions() as session:
            version = (await session.get(Tip, sent.tip_id)).version  # type: ignore[union-attr]
        changed = await desk.outbox.act(OFFICER, sent.tip_id, action, version)
        assert isinstance(changed, TriageChanged), (action, changed)
        assert await desk.versions(sent.tip_id) == [1 + step] * 3, action
        if notice is not None:
            told.append(notice)
        for kind in {k for _, k in TRIAGE if k}:
            expected = [RESIDENT] * told.count(kind)
            assert await desk.chats(kind, sent.tip_id) == expected, (action, kind)
    async with desk.sessions() as session:
        job = await get_job(session, OVERDUE_JOB, overdue_key(sent.tip_id))
    assert job is None  # taken up in time: no escalation is planned any more


# (what is pressed, the refusal)
REFUSALS = [
    ("second ack", TriageAction.ACKNOWLEDGE, 0, "tips.triage.already_acknowledged"),
    ("stale card", TriageAction.RESOLVE, -1, "tips.triage.stale"),
    ("forged action", "steal", 0, "tips.triage.unknown_action"),
]


@pytest.mark.parametrize(("case", "action", "version_delta", "refusal"), REFUSALS)
async def test_impossible_presses_change_nothing(
    desk: Desk, case: str, action: str, version_delta: int, refusal: str
) -> None:
    sent = await tip(desk)
    first = await desk.outbox.act(OFFICER, sent.tip_id, TriageAction.ACKNOWLEDGE, 1)
    assert isinstance(first, TriageChanged)
    before = (await desk.versions(sent.tip_id), await count(desk.sessions, TipEvent))
    refused = await desk.outbox.act(COLLEAGUE, sent.tip_id, action, 2 + version_delta)
    assert isinstance(refused, Refused) and refused.notice.key == refusal, case
    assert (await desk.versions(sent.tip_id), await count(desk.sessions, TipEvent)) == before


async def test_a_tip_of_another_commune_is_refused_like_one_that_does_not_exist(
    desk: Desk,
) -> None:
    sent = await tip(desk)
    for tip_id in (sent.tip_id, 999_999):
        refused = await desk.outbox.act(ELSEWHERE, tip_id, TriageAction.ACKNOWLEDGE, 1)
        assert isinstance(refused, Refused) and refused.notice.key == "tips.unknown_tip"
    assert await desk.versions(sent.tip_id) == [1, 1, 1]


async def test_an_overdue_tip_is_escalated_once_to_the_province(desk: Desk) -> None:
    await desk.world.officer(PROVINCIAL, HA_NOI)
    sent = await tip(desk)
    await desk.deliver_all(CARD_KIND, sent.tip_id)
    early = await desk.scheduler.run_due(START + timedelta(minutes=29))
    assert early.done == [] and await desk.chats(CARD_KIND, sent.tip_id) == [
        OFFICER,
        COLLEAGUE,
        DUTY.telegram_id,
    ]

    late = await desk.scheduler.run_due(START + timedelta(minutes=31))
    assert len(late.done) == 1
    holders = [OFFICER, COLLEAGUE, DUTY.telegram_id, PROVINCIAL]
    assert await desk.chats(CARD_KIND, sent.tip_id) == holders
    assert await desk.versions(sent.tip_id) == [2, 2, 2, 1]  # the copies sent are edited
    copies = [row.id or 0 for row in await desk.rows(CARD_KIND, sent.tip_id)]
    for copy_id in copies[:3]:  # one "overdue" line under each copy already sent
        assert len(await desk.rows(LATE_KIND, copy_id)) == 1

    # Once: the job run again (a runner that died before recording it) adds nothing.
    again = Job(
        0, OVERDUE_JOB, overdue_key(sent.tip_id), sent.ack_deadline, 2, {"tip_id": sent.tip_id}
    )
    await desk.outbox.run_overdue(again)
    assert await desk.chats(CARD_KIND, sent.tip_id) == holders
    assert await desk.versions(sent.tip_id) == [2, 2, 2, 1]
    assert sum([len(await desk.rows(LATE_KIND, c)) for c in copies]) == 3


async def test_a_tip_taken_up_in_time_is_never_escalated(desk: Desk) -> None:
    await desk.world.officer(PROVINCIAL, HA_NOI)
    sent = await tip(desk)
    async with desk.sessions() as session, session.begin():
        # Plan a second run of the same deadline, as if cancelling had raced the runner.
        await schedule(session, OVERDUE_JOB, "again", sent.ack_deadline, {"tip_id": sent.tip_id})
    assert isinstance(await desk.outbox.act(OFFICER, sent.tip_id, "ack", 1), TriageChanged)
    report = await desk.scheduler.run_due(START + timedelta(hours=2))
    assert len(report.done) == 1  # the job ran and did nothing
    assert PROVINCIAL not in await desk.chats(CARD_KIND, sent.tip_id)
    async with desk.sessions() as session:
        tip_row = await session.get(Tip, sent.tip_id)
    assert tip_row is not None and tip_row.escalated_at is None


async def test_the_dialogue_goes_through_the_outbox_both_ways(desk: Desk) -> None:
    sent = await tip(desk)
    to_reporter = await desk.outbox.to_reporter(OFFICER, sent.tip_id, "Bác cho biết thêm biển số?")
    assert isinstance(to_reporter, Relayed)
    assert await desk.chats(REPLY_KIND, to_reporter.message_id) == [RESIDENT]
    reply = await desk.outbox.render_reply(to_reporter.message_id, "vi", RESIDENT)
    assert "Bác cho biết thêm biển số?" in reply.text and "#R-" in reply.text
    answer = parse_press(reply.buttons[0][0][1])
    assert answer is not None and (answer.prefix, answer.tip_id) == ("tr", sent.tip_id)

    back = await desk.outbox.to_officers(RESIDENT, sent.tip_id, "Biển số 29A-123.45")
    assert isinstance(back, Relayed)
    assert await desk.chats(RELAY_KIND, back.message_id) == [OFFICER, COLLEAGUE]
    relay = await desk.outbox.render_relay(back.message_id, "vi", OFFICER)
    assert relay.text.startswith(f"💬 <b>Người báo tin #{sent.number}</b>")
    assert "29A-123.45" in relay.text and str(RESIDENT) not in relay.text

    stranger = await desk.outbox.to_officers(RESIDENT + 1, sent.tip_id, "Tôi là người khác")
    assert isinstance(stranger, Refused) and stranger.notice.key == "tips.unknown_tip"


async def test_still_happening_reopens_and_replies_under_every_card(desk: Desk) -> None:
    sent = await tip(desk)
    await desk.deliver_all(CARD_KIND, sent.tip_id)
    for version, action in enumerate((TriageAction.ACKNOWLEDGE, TriageAction.RESOLVE), start=1):
        assert isinstance(
            await desk.outbox.act(OFFICER, sent.tip_id, action, version), TriageChanged
        )
    reopened = await desk.outbox.still_happening(RESIDENT, sent.tip_id)
    assert isinstance(reopened, TriageChanged) and reopened.reporter_notice is None
    assert await desk.versions(sent.tip_id) == [4, 4, 4]
    copies = [row.id for row in await desk.rows(CARD_KIND, sent.tip_id)]
    for copy_id in copies:
        assert copy_id is not None and len(await desk.rows(STILL_KIND, copy_id)) == 1
    under = await desk.outbox.render_still(copies[0] or 0, "vi", OFFICER)
    assert under.reply_to_message_id == 100 and "vẫn còn" in under.text
    stranger = await desk.outbox.still_happening(RESIDENT + 1, sent.tip_id)
    assert isinstance(stranger, Refused) and stranger.notice.key == "tips.unknown_tip"


async def test_a_duty_group_card_never_shows_the_name(desk: Desk) -> None:
    sent = await tip(desk, name="Bác Lan", photos=["AgAD1"])
    private = await desk.outbox.card_view(sent.tip_id, "vi", OFFICER)
    group = await desk.outbox.card_view(sent.tip_id, "vi", DUTY.telegram_id)
    assert "Bác Lan" in private.text and f"Người báo tin #{sent.number}" in private.text
    assert "Bác Lan" not in group.text and f"Người báo tin #{sent.number}" in group.text
    for view in (private, group):
        assert str(RESIDENT) not in repr(view)
        assert view.album == ("AgAD1",) and isinstance(view.location, Pin)
    labels = [label for row in group.buttons for label, _ in row]
    assert "💬 Trả lời" not in labels and "🚫 Chặn người gửi" not in labels
    assert "💬 Trả lời" in [label for row in private.buttons for label, _ in row]
    gone = await desk.outbox.card_view(sent.tip_id, "vi", ELSEWHERE)
    assert gone.buttons == [] and "không còn thuộc quyền" in gone.text


async def test_the_erasure_removes_every_notice_to_the_reporter(desk: Desk) -> None:
    sent = await tip(desk)
    for version, action in enumerate(("ack", "val", "done"), start=1):
        assert isinstance(
            await desk.outbox.act(OFFICER, sent.tip_id, action, version), TriageChanged
        )
    assert await count(desk.sessions, Delivery, col(Delivery.telegram_chat_id) == RESIDENT) == 3
    desk.world.clock.advance(days=31)
    assert await desk.world.tips.erase_identities(desk.world.clock()) == 1
    assert await count(desk.sessions, Delivery, col(Delivery.telegram_chat_id) == RESIDENT) == 0


async def test_the_nightly_job_erases_the_identities_due(desk: Desk) -> None:
    sent = await tip(desk)
    for version, action in enumerate(("ack", "done"), start=1):
        assert isinstance(
            await desk.outbox.act(OFFICER, sent.tip_id, action, version), TriageChanged
        )
    await desk.scheduler.run_due(START)  # plans the first nightly run
    async with desk.sessions() as session:
        assert await has_open(session, ERASURE_JOB)
    report = await desk.scheduler.run_due(START + timedelta(days=31))
    assert len(report.done) == 1  # the latest night only; older ones were past their grace
    async with desk.sessions() as session:
        row = await session.get(Tip, sent.tip_id)
    assert row is not None and row.reporter_telegram_id is None and row.reporter_hash is None
