"""The tip service against real databases: submitting, limits, blocks, recipients, triage,
overdue tips, the relayed dialogue, and the erasure of reporters' identities."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.areas import AdminUnits
from bot.delivery.outbox import enqueue
from bot.delivery.outgoing import Target
from bot.services.chats import ChatRef, ChatService, Person
from bot.services.officers import OfficerService
from bot.services.subscriptions import SubscriptionService
from bot.services.tip_flow import Choice, Label, Location, Photo, Question, Skip, Text
from bot.services.tip_types import TipConfig
from bot.services.tips import (
    REPORTER_NOTICE_KIND,
    REPORTER_REPLY_KIND,
    Escalation,
    Refused,
    Relayed,
    TipService,
    TipSubmitted,
    TriageChanged,
)
from storage.db import SessionFactory, session_factory
from storage.models import Delivery, Setting, Tip, TipBlock, TipDraft, TipEvent, TipMedia, User
from storage.models.tips import Direction

DONG_DA, BA_DINH, HA_NOI = "00235", "00004", "01"
HAI_DUONG = "10525"  # a ward of Hải Phòng
SUPERADMIN = 42
RESIDENT, OTHER_RESIDENT = 7_123_456_789, 7_987_654_321
START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
STORY = "Có người lạ đi xe máy không biển số, nhìn vào các nhà trong ngõ."


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    sessions: SessionFactory
    units: AdminUnits
    clock: Clock
    tips: TipService
    officers: OfficerService
    chats: ChatService
    config: TipConfig = field(default_factory=TipConfig)

    def service(self, **config: object) -> TipService:
        """Another service instance (a restart, or other settings) over the same database."""
        merged = TipConfig(**{**self.config.__dict__, **config})  # type: ignore[arg-type]
        return TipService(session_factory_of(self.sessions), self.units, merged, self.clock)

    async def officer(self, telegram_id: int, area: str, started: bool = True) -> int:
        """Grant officer rights; `started`: they pressed Start (the bot may message them)."""
        await self.officers.grant(SUPERADMIN, telegram_id, area)
        if started:
            await self.chats.person_started(Person(telegram_id, "vi"))
        return telegram_id


def session_factory_of(sessions: SessionFactory) -> SessionFactory:
    engine = sessions.kw["bind"]
    return session_factory(engine)


@pytest.fixture
def world(sessions: SessionFactory, small_units: AdminUnits) -> World:
    clock = Clock()
    return World(
        sessions=sessions,
        units=small_units,
        clock=clock,
        tips=TipService(sessions, small_units, TipConfig(), clock),
        officers=OfficerService(sessions, small_units, frozenset({SUPERADMIN})),
        chats=ChatService(sessions, "vi"),
    )


def centre(units: AdminUnits, code: str) -> Location:
    commune = units.commune(code)
    assert commune is not None
    return Location(commune.lat, commune.lon)


async def write_tip(
    tips: TipService,
    units: AdminUnits,
    person: int = RESIDENT,
    commune: str = DONG_DA,
    category: str = "suspicious",
    photos: Iterable[str] = (),
    name: str | None = None,
    within: object = None,
) -> TipSubmitted | Question | Refused:
    """The whole conversation, ending with Send."""
    first = await tips.start(person)
    if isinstance(first, Refused):
        return first
    events = [Choice(category), Text(STORY), centre(units, commune), Choice("yes")]
    events += [Photo(file_id) for file_id in photos]
    events += [Choice("done") if photos else Skip()]
    events += [Choice("named"), Text(name)] if name else [Choice("anonymous")]
    for event in events:
        question = await tips.answer(person, event)
        assert isinstance(question, Question) and question.notice is None, question
    return await tips.answer(person, Choice("send", "review"), first.token, "vi", within)  # type: ignore[arg-type]


async def submitted(tips: TipService, units: AdminUnits, **kwargs: object) -> TipSubmitted:
    result = await write_tip(tips, units, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, TipSubmitted), result
    return result


async def count(sessions: SessionFactory, model: type, *where: object) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)  # type: ignore[arg-type]
        return int(await session.scalar(query) or 0)


# -- submitting -----------------------------------------------------------------------------


async def test_submit_writes_the_tip_its_photos_and_one_number(world: World) -> None:
    officer = await world.officer(5_000_000_100, DONG_DA)
    await world.officer(5_000_000_101, DONG_DA, started=False)  # cannot be messaged
    await world.officer(5_000_000_102, BA_DINH)
    sent = await submitted(world.tips, world.units, photos=["AgAD1", "AgAD2"], name="Bác Lan")

    assert sent.number == f"R-{sent.tip_id}" and not sent.already
    assert [o.telegram_id for o in sent.officers] == [officer] and not sent.province_fallback
    assert sent.commune_label == "Phường Đống Đa — Thành phố Hà Nội"
    assert sent.notice == Label(
        "tips.submitted", {"number": sent.number, "commune": sent.commune_label}
    )
    assert sent.ack_deadline == START + timedelta(minutes=30)  # đối tượng khả nghi: urgent
    async with world.sessions() as session:
        tip = await session.get(Tip, sent.tip_id)
        media = (
            await session.exec(select(TipMedia.file_id).order_by(col(TipMedia.position)))
        ).all()
    assert tip is not None and media == ["AgAD1", "AgAD2"]
    assert (tip.category, tip.text, tip.commune_code, tip.province_code) == (
        "suspicious",
        STORY,
        DONG_DA,
        HA_NOI,
    )
    assert (tip.anonymous, tip.display_name, tip.area_source) == (False, "Bác Lan", "location")
    assert tip.reporter_telegram_id == RESIDENT and tip.reporter_hash != str(RESIDENT)
    assert await world.tips.draft(RESIDENT) is None
    again = await world.tips.answer(RESIDENT, Choice("send", "review"), tip.draft_token)
    assert isinstance(again, TipSubmitted) and again.already and again.tip_id == sent.tip_id
    assert await count(world.sessions, Tip) == 1


async def test_send_pressed_twice_at_once_writes_one_tip(world: World) -> None:
    first = await world.tips.start(RESIDENT)
    assert isinstance(first, Question)
    for event in (Choice("fire"), Text(STORY), Skip(), Text("Đống Đa"), Choice(DONG_DA)):
        await world.tips.answer(RESIDENT, event)
    for event in (Skip(), Choice("anonymous")):
        await world.tips.answer(RESIDENT, event)
    press = Choice("send", "review")
    results = await asyncio.gather(
        world.tips.answer(RESIDENT, press, first.token),
        world.tips.answer(RESIDENT, press, first.token),
    )
    assert all(isinstance(r, TipSubmitted) for r in results), results
    assert sorted(r.already for r in results if isinstance(r, TipSubmitted)) == [False, True]
    assert len({r.tip_id for r in results if isinstance(r, TipSubmitted)}) == 1
    assert await count(world.sessions, Tip) == 1


async def test_the_cards_are_enqueued_in_the_same_transaction(world: World) -> None:
    await world.officer(5_000_000_100, DONG_DA)

    async def cards(session: object, sent: TipSubmitted) -> None:
        targets = [Target(o.telegram_id, language=o.language) for o in sent.officers]
        await enqueue(session, "tip_card", sent.tip_id, targets)  # type: ignore[arg-type]

    sent = await submitted(world.tips, world.units, within=cards)
    assert await count(world.sessions, Delivery, col(Delivery.ref_id) == sent.tip_id) == 1

    async def failing(session: object, sent: TipSubmitted) -> None:
        raise RuntimeError("the outbox is down")

    with pytest.raises(RuntimeError):
        await write_tip(world.tips, world.units, person=OTHER_RESIDENT, within=failing)
    assert await count(world.sessions, Tip) == 1  # nothing of the failed submission remains
    assert await world.tips.draft(OTHER_RESIDENT) is not None


async def test_registered_submit_hooks_run_in_the_same_transaction(world: World) -> None:
    await world.officer(5_000_000_100, DONG_DA)
    seen: list[int] = []

    async def cards(session: object, sent: TipSubmitted) -> None:
        seen.append(sent.tip_id)
        targets = [Target(o.telegram_id, language=o.language) for o in sent.officers]
        await enqueue(session, "tip_card", sent.tip_id, targets)  # type: ignore[arg-type]

    world.tips.add_submitted_hook(cards)
    sent = await submitted(world.tips, world.units)
    assert seen == [sent.tip_id]
    assert await count(world.sessions, Delivery, col(Delivery.ref_id) == sent.tip_id) == 1

    async def failing(session: object, sent: TipSubmitted) -> None:
        raise RuntimeError("the outbox is down")

    world.tips.add_submitted_hook(failing)
    with pytest.raises(RuntimeError):
        await write_tip(world.tips, world.units, person=OTHER_RESIDENT)
    assert await count(world.sessions, Tip) == 1  # the failed submission left nothing


async def test_a_restart_loses_nothing(world: World) -> None:
    await world.tips.start(RESIDENT, seed=Photo("AgADseed"))
    await world.tips.answer(RESIDENT, Choice("theft"))
    await world.tips.answer(RESIDENT, Text(STORY))
    restarted = world.service()
    question = await restarted.current(RESIDENT)
    assert question is not None and question.key == "tips.ask_where"
    for event in (centre(world.units, BA_DINH), Choice("yes"), Choice("done"), Choice("anonymous")):
        await restarted.answer(RESIDENT, event)
    sent = await restarted.submit(RESIDENT)
    assert isinstance(sent, TipSubmitted) and sent.commune_code == BA_DINH
    async with world.sessions() as session:
        media = (await session.exec(select(TipMedia.file_id))).all()
    assert media == ["AgADseed"]


async def test_a_deep_link_from_a_group_names_its_commune(world: World) -> None:
    subscriptions = SubscriptionService(world.sessions, world.units)
    area = await subscriptions.create_residential(BA_DINH, "Tổ dân phố 5", 1)
    await world.tips.start(RESIDENT, source_area_id=area.id)
    for event in (Choice("other"), Text(STORY)):
        await world.tips.answer(RESIDENT, event)
    confirm = await world.tips.answer(RESIDENT, Skip())
    assert isinstance(confirm, Question) and confirm.key == "tips.confirm_commune"
    await world.tips.answer(RESIDENT, Choice("yes"))
    draft = await world.tips.draft(RESIDENT)
    assert draft is not None and (draft.commune_code, draft.area_source) == (BA_DINH, "group")
    assert draft.source_area_id == area.id
    await world.tips.start(OTHER_RESIDENT, source_area_id=999_999)  # a forged payload
    other = await world.tips.draft(OTHER_RESIDENT)
    assert other is not None and other.source_commune_code is None


# -- recipients -----------------------------------------------------------------------------


async def test_recipients_fall_back_to_the_province_then_nobody(world: World) -> None:
    nobody = await submitted(world.tips, world.units, person=1001)
    assert (nobody.officers, nobody.province_fallback, nobody.duty_group) == ((), True, None)
    assert nobody.notice.key == "tips.submitted_nobody"

    provincial = await world.officer(5_000_000_200, HA_NOI)
    await world.officer(5_000_000_300, "31")  # another province: never
    fallback = await submitted(world.tips, world.units, person=1002)
    assert [o.telegram_id for o in fallback.officers] == [provincial]
    assert fallback.province_fallback and fallback.notice.key == "tips.submitted_province"

    local = await world.officer(5_000_000_100, DONG_DA)
    direct = await submitted(world.tips, world.units, person=1003)
    assert [o.telegram_id for o in direct.officers] == [local] and not direct.province_fallback


async def test_the_duty_group_gets_the_tip_but_never_the_name(world: World) -> None:
    officer = await world.officer(5_000_000_100, DONG_DA)
    group = ChatRef(-4_100_000_001, "supergroup", "Trực ban CA Đống Đa")
    await world.chats.bot_joined(group)
    refused = await world.tips.register_duty_group(officer, group.telegram_id, BA_DINH)
    assert refused == Refused(Label("tips.duty.outside"))
    assert await world.tips.register_duty_group(officer, 5_000_000_999) == Refused(
        Label("tips.duty.not_a_group")
    )
    assert await world.tips.register_duty_group(RESIDENT, group.telegram_id) == Refused(
        Label("errors.not_officer")
    )
    done = await world.tips.register_duty_group(officer, group.telegram_id)
    assert not isinstance(done, Refused) and done.commune_code == DONG_DA

    sent = await submitted(world.tips, world.units, name="Bác Lan")
    assert sent.duty_group is not None and sent.duty_group.telegram_id == group.telegram_id
    officer_card = await world.tips.card(officer, sent.tip_id)
    group_card = await world.tips.group_card(sent.tip_id)
    assert not isinstance(officer_card, Refused) and group_card is not None
    assert officer_card.sender == Label("tips.sender_named", {"name": "Bác Lan"})
    assert group_card.display_name is None and group_card.sender.key == "tips.sender_named_hidden"
    await world.chats.bot_left(group.telegram_id)
    assert await world.tips.duty_group(DONG_DA) is None


# -- anti-abuse -----------------------------------------------------------------------------


async def test_the_per_hour_limit_counts_by_the_keyed_hash(world: World) -> None:
    tips = world.service(per_hour=2)
    await submitted(tips, world.units)
    world.clock.advance(minutes=20)
    await submitted(tips, world.units)
    world.clock.advance(minutes=10)
    limited = await tips.start(RESIDENT)
    assert limited == Refused(Label("tips.rate_limited", {"limit": 2, "minutes": 30}))
    assert await tips.draft(RESIDENT) is None
    assert isinstance(await tips.start(OTHER_RESIDENT), Question)  # someone else may
    world.clock.advance(minutes=31)
    assert isinstance(await tips.start(RESIDENT), Question)


async def test_can_start_says_why_before_anything_else_is_closed(world: World) -> None:
    tips = world.service(per_hour=1)
    assert await tips.can_start(RESIDENT) is None
    await submitted(tips, world.units)
    world.clock.advance(minutes=45)
    refused = Refused(Label("tips.rate_limited", {"limit": 1, "minutes": 15}))
    assert await tips.can_start(RESIDENT) == refused
    assert await tips.can_start(OTHER_RESIDENT) is None
    assert await tips.draft(RESIDENT) is None  # it only looks
    world.clock.advance(minutes=15)
    assert await tips.can_start(RESIDENT) is None


@pytest.mark.parametrize(
    ("subscribe_to", "expected"),
    [
        pytest.param(None, None, id="a group without a subscription"),
        pytest.param("commune", "commune", id="the whole commune"),
        pytest.param("residential", "residential", id="one residential area"),
    ],
)
async def test_a_groups_tip_links_carry_the_area_it_is_subscribed_to(
    world: World, subscribe_to: str | None, expected: str | None
) -> None:
    subscriptions = SubscriptionService(world.sessions, world.units)
    group = ChatRef(-4_100_000_002, "group", "TDP 5")
    await world.chats.bot_joined(group)
    residential = await subscriptions.create_residential(DONG_DA, "Tổ dân phố 5", 1)
    if subscribe_to is not None:
        area_id = residential.id if subscribe_to == "residential" else None
        await subscriptions.subscribe(group, DONG_DA, area_id, 1)
    found = await world.tips.group_area(group.telegram_id)
    assert await world.tips.group_area(-4_100_000_999) is None  # an unknown chat
    if expected is None:
        assert found is None
        return
    assert found is not None and (found == residential.id) is (expected == "residential")
    await world.tips.start(RESIDENT, source_area_id=found)
    draft = await world.tips.draft(RESIDENT)
    assert draft is not None and draft.source_commune_code == DONG_DA  # the group's commune


async def test_the_limit_is_checked_again_at_send(world: World) -> None:
    tips = world.service(per_hour=1)
    await tips.start(RESIDENT)
    async with world.sessions() as session, session.begin():  # a tip sent meanwhile
        session.add(_tip_row(await tips.sender_hash(RESIDENT), "elsewhere"))
    for event in (Choice("scam"), Text(STORY), centre(world.units, DONG_DA), Choice("yes")):
        await tips.answer(RESIDENT, event)
    await tips.answer(RESIDENT, Skip())
    await tips.answer(RESIDENT, Choice("anonymous"))
    review = await tips.answer(RESIDENT, Choice("send"))
    assert isinstance(review, Question) and review.key == "tips.review"
    assert review.notice is not None and review.notice.key == "tips.rate_limited"
    draft = await tips.draft(RESIDENT)
    assert draft is not None and draft.step == "review"  # kept, to send later


def _tip_row(sender_hash: str, token: str) -> Tip:
    return Tip(
        draft_token=token,
        category="other",
        text=STORY,
        commune_code=DONG_DA,
        province_code=HA_NOI,
        area_source="chosen",
        reporter_hash=sender_hash,
        created_at=START,
        updated_at=START,
    )


async def test_a_block_by_hash_outlives_the_erasure_of_the_id(world: World) -> None:
    officer = await world.officer(5_000_000_100, DONG_DA)
    spam = await submitted(world.tips, world.units, category="other")
    blocked = await world.tips.block_sender(officer, spam.tip_id)
    assert not isinstance(blocked, Refused) and not blocked.already
    assert (await world.tips.block_sender(officer, spam.tip_id)) == type(blocked)(
        spam.tip_id, spam.number, already=True
    )
    async with world.sessions() as session:
        block = (await session.exec(select(TipBlock))).one()
    assert str(RESIDENT) not in block.sender_hash and block.area_code == DONG_DA

    refused = await write_tip(world.tips, world.units)
    assert isinstance(refused, Question) and refused.notice == Label("tips.blocked")
    await world.tips.cancel(RESIDENT)
    assert isinstance(await submitted(world.tips, world.units, commune=HAI_DUONG), TipSubmitted)

    await world.tips.act(officer, spam.tip_id, "reject")
    world.clock.advance(days=31)
    assert await world.tips.erase_identities(world.clock.now) == 1
    async with world.sessions() as session:
        erased = await session.get(Tip, spam.tip_id)
    assert erased is not None and (erased.reporter_telegram_id, erased.reporter_hash) == (
        None,
        None,
    )
    gone = await world.tips.block_sender(officer, spam.tip_id)
    assert gone == Refused(Label("tips.block.sender_gone", {"number": spam.number}))
    still = await write_tip(world.tips, world.units)
    assert isinstance(still, Question) and still.notice == Label("tips.blocked")


async def test_the_hash_secret_is_generated_once_and_kept(world: World) -> None:
    first = await world.tips.sender_hash(RESIDENT)
    assert len(first) == 64 and first == await world.service().sender_hash(RESIDENT)
    async with world.sessions() as session:
        stored = await session.get(Setting, "tip_hash_secret")
    assert stored is not None and len(stored.value) >= 32
    configured = world.service(hash_secret="s" * 32)
    assert await configured.sender_hash(RESIDENT) not in (first, "")
    assert await world.tips.sender_hash(OTHER_RESIDENT) != first


# -- triage ---------------------------------------------------------------------------------


async def test_triage_is_audited_and_a_second_take_up_is_refused(world: World) -> None:
    first = await world.officer(5_000_000_100, DONG_DA)
    second = await world.officer(5_000_000_101, DONG_DA)
    provincial = await world.officer(5_000_000_200, HA_NOI)
    elsewhere = await world.officer(5_000_000_102, BA_DINH)
    sent = await submitted(world.tips, world.units)

    taken = await world.tips.act(first, sent.tip_id, "ack")
    assert isinstance(taken, TriageChanged) and taken.rerender_cards
    assert taken.reporter_notice == Label("tips.notify.acknowledged", {"number": sent.number})
    assert taken.reporter is not None and str(RESIDENT) not in repr(taken)
    again = await world.tips.act(second, sent.tip_id, "ack")
    assert again == Refused(Label("tips.triage.already_acknowledged", {"number": sent.number}))
    assert await world.tips.act(elsewhere, sent.tip_id, "ack") == Refused(
        Label("tips.unknown_tip", {"number": sent.number})
    )
    assert await world.tips.act(first, sent.tip_id, "drop table") == Refused(
        Label("tips.triage.unknown_action", {"number": sent.number})
    )
    valuable = await world.tips.act(provincial, sent.tip_id, "val")
    assert isinstance(valuable, TriageChanged) and valuable.reporter_notice is not None
    quiet = await world.tips.act(second, sent.tip_id, "noval")
    assert isinstance(quiet, TriageChanged) and (quiet.reporter_notice, quiet.reporter) == (
        None,
        None,
    )
    done = await world.tips.act(second, sent.tip_id, "done")
    assert isinstance(done, TriageChanged) and done.state == "resolved"

    async with world.sessions() as session:
        events = (await session.exec(select(TipEvent).order_by(col(TipEvent.id)))).all()
        tip = await session.get(Tip, sent.tip_id)
    rows = [(e.action, e.from_value, e.to_value) for e in events]
    assert rows == [
        ("ack", "new", "acknowledged"),
        ("val", "unassessed", "valuable"),
        ("noval", "valuable", "not_valuable"),
        ("done", "acknowledged", "resolved"),
    ]
    assert len({e.officer_id for e in events}) == 3 and None not in {e.officer_id for e in events}
    assert tip is not None and tip.closed_at == START and tip.version == 5


async def test_concurrent_presses_change_the_tip_once(world: World) -> None:
    officers = [await world.officer(5_000_000_100 + i, DONG_DA) for i in range(4)]
    sent = await submitted(world.tips, world.units)
    results = await asyncio.gather(*(world.tips.act(o, sent.tip_id, "ack") for o in officers))
    changed = [r for r in results if isinstance(r, TriageChanged)]
    assert len(changed) == 1 and changed[0].reporter_notice is not None
    assert all(
        r.notice.key == "tips.triage.already_acknowledged"
        for r in results
        if isinstance(r, Refused)
    )
    assert await count(world.sessions, TipEvent) == 1


async def test_the_reporter_says_still_happening_within_seven_days(world: World) -> None:
    officer = await world.officer(5_000_000_100, DONG_DA)
    sent = await submitted(world.tips, world.units)
    for action in ("ack", "done"):
        await world.tips.act(officer, sent.tip_id, action)
    (mine,) = await world.tips.my_tips(RESIDENT)
    assert (mine.number, mine.state, mine.can_reopen) == (sent.number, "resolved", True)
    assert await world.tips.still_happening(OTHER_RESIDENT, sent.tip_id) == Refused(
        Label("tips.unknown_tip", {"number": sent.number})
    )
    world.clock.advance(days=6)
    reopened = await world.tips.still_happening(RESIDENT, sent.tip_id)
    assert isinstance(reopened, TriageChanged) and reopened.state == "acknowledged"
    assert reopened.reporter_notice is None  # the reporter pressed it: answered directly
    await world.tips.act(officer, sent.tip_id, "done")
    world.clock.advance(days=7, minutes=1)
    late = await world.tips.still_happening(RESIDENT, sent.tip_id)
    assert late == Refused(Label("tips.triage.reopen_expired", {"number": sent.number}))
    assert not (await world.tips.my_tips(RESIDENT))[0].can_reopen


# -- overdue --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "within"),
    [
        ("drugs", timedelta(minutes=30)),
        ("fire", timedelta(minutes=30)),
        ("suspicious", timedelta(minutes=30)),
        ("disorder", timedelta(minutes=30)),
        ("scam", timedelta(hours=24)),
        ("theft", timedelta(hours=24)),
        ("traffic", timedelta(hours=24)),
        ("other", timedelta(hours=24)),
    ],
)
async def test_overdue_deadlines_by_category(
    world: World, category: str, within: timedelta
) -> None:
    provincial = await world.officer(5_000_000_200, HA_NOI)
    await world.officer(5_000_000_100, DONG_DA)
    sent = await submitted(world.tips, world.units, category=category)
    assert sent.ack_deadline == START + within
    early = START + within - timedelta(seconds=1)
    assert await world.tips.escalate_overdue(sent.tip_id, early) is None
    assert await world.tips.due_escalations(early) == []
    world.clock.now = START + within
    assert await world.tips.due_escalations(world.clock.now) == [sent.tip_id]
    page = await world.tips.open_tips(provincial, "overdue")
    assert not isinstance(page, Refused) and [c.tip_id for c in page.items] == [sent.tip_id]
    assert page.items[0].overdue

    escalated = await world.tips.escalate_overdue(sent.tip_id, world.clock.now)
    assert isinstance(escalated, Escalation)
    assert [o.telegram_id for o in escalated.officers] == [provincial]
    assert await world.tips.escalate_overdue(sent.tip_id, world.clock.now) is None  # once
    assert await world.tips.due_escalations(world.clock.now) == []
    assert await count(world.sessions, TipEvent, col(TipEvent.action) == "escalated") == 1


async def test_an_acknowledged_tip_is_never_overdue(world: World) -> None:
    officer = await world.officer(5_000_000_100, DONG_DA)
    sent = await submitted(world.tips, world.units, category="fire")
    world.clock.advance(minutes=10)
    await world.tips.act(officer, sent.tip_id, "ack")
    later = START + timedelta(days=2)
    assert await world.tips.escalate_overdue(sent.tip_id, later) is None
    assert await world.tips.due_escalations(later) == []


# -- queries --------------------------------------------------------------------------------


async def test_open_tips_newest_first_paged_within_the_jurisdiction(world: World) -> None:
    local = await world.officer(5_000_000_100, DONG_DA)
    provincial = await world.officer(5_000_000_200, HA_NOI)
    ids = []
    for person in range(2001, 2008):
        ids.append((await submitted(world.tips, world.units, person=person)).tip_id)
        world.clock.advance(minutes=1)
    ids.append((await submitted(world.tips, world.units, person=2008, commune=BA_DINH)).tip_id)
    await world.tips.act(local, ids[0], "ack")
    await world.tips.act(local, ids[1], "reject")

    first = await world.tips.open_tips(local)
    second = await world.tips.open_tips(local, "all", 1)
    assert not isinstance(first, Refused) and not isinstance(second, Refused)
    assert [c.tip_id for c in first.items] == ids[6:1:-1] and (first.total, first.pages) == (6, 2)
    assert [c.tip_id for c in second.items] == [ids[0]]
    beyond = await world.tips.open_tips(local, "all", 9)
    assert not isinstance(beyond, Refused) and beyond.page == 1
    mine = await world.tips.open_tips(local, "mine")
    new = await world.tips.open_tips(local, "new")
    everything = await world.tips.open_tips(provincial, "forged")
    assert not isinstance(mine, Refused) and [c.tip_id for c in mine.items] == [ids[0]]
    assert not isinstance(new, Refused) and new.total == 5
    assert not isinstance(everything, Refused) and everything.total == 7
    assert await world.tips.open_tips(RESIDENT) == Refused(Label("errors.not_officer"))
    assert all(not hasattr(card, "reporter_telegram_id") for card in first.items)


async def test_the_relayed_dialogue_never_names_the_reporter(world: World) -> None:
    officer = await world.officer(5_000_000_100, DONG_DA)
    sent = await submitted(world.tips, world.units)
    asked = await world.tips.relay(Direction.TO_REPORTER, officer, sent.tip_id, "Xe máy màu gì?")
    assert not isinstance(asked, Refused) and asked.reporter is not None
    assert str(RESIDENT) not in repr(asked)
    answered = await world.tips.relay(
        Direction.FROM_REPORTER, RESIDENT, sent.tip_id, "Màu đỏ.", "AgADpic"
    )
    assert not isinstance(answered, Refused)
    assert [o.telegram_id for o in answered.officers] == [officer]
    assert await world.tips.relay(
        Direction.FROM_REPORTER, OTHER_RESIDENT, sent.tip_id, "x"
    ) == Refused(Label("tips.unknown_tip", {"number": sent.number}))
    assert await world.tips.relay(Direction.TO_REPORTER, officer, sent.tip_id, "  ") == Refused(
        Label("tips.relay.empty")
    )
    thread = await world.tips.thread(officer, sent.tip_id)
    assert not isinstance(thread, Refused)
    assert [(m.direction, m.text, m.file_id) for m in thread] == [
        ("to_reporter", "Xe máy màu gì?", None),
        ("from_reporter", "Màu đỏ.", "AgADpic"),
    ]
    card = await world.tips.card(officer, sent.tip_id)
    assert not isinstance(card, Refused)
    assert card.reporter_alias == Label("tips.reporter_alias", {"number": sent.number})


# -- privacy --------------------------------------------------------------------------------


async def occurrences(engine: AsyncEngine, needle: int) -> set[tuple[str, str]]:
    """(table, column) of every value in the database that contains `needle` as text."""

    def layout(sync: object) -> dict[str, list[str]]:
        inspector = inspect(sync)
        return {
            table: [c["name"] for c in inspector.get_columns(table)]
            for table in inspector.get_table_names()
        }

    found: set[tuple[str, str]] = set()
    async with engine.connect() as conn:
        for table, columns in (await conn.run_sync(layout)).items():
            for column in columns:
                query = text(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE :n'
                )
                if (await conn.execute(query, {"n": f"%{needle}%"})).scalar():
                    found.add((table, column))
    return found


async def test_nothing_of_the_reporter_remains_after_erasure(world: World) -> None:
    engine = world.sessions.kw["bind"]
    officer = await world.officer(5_000_000_100, DONG_DA)
    await world.chats.person_started(Person(RESIDENT, "vi"))  # pressed Start: a users row
    # OTHER_RESIDENT never pressed Start: a photo sent to the bot began their tip.

    async def notify(session: object, change: TriageChanged) -> None:
        if change.reporter is not None:
            target = Target(change.reporter.telegram_id, language=change.reporter.language)
            await enqueue(session, REPORTER_NOTICE_KIND, change.tip_id, [target])  # type: ignore[arg-type]

    async def relay(session: object, relayed: Relayed) -> None:
        assert relayed.reporter is not None
        target = Target(relayed.reporter.telegram_id)
        await enqueue(session, REPORTER_REPLY_KIND, relayed.message_id, [target])  # type: ignore[arg-type]

    tips = []
    for person, name in ((RESIDENT, None), (OTHER_RESIDENT, "Chú Minh")):
        sent = await submitted(world.tips, world.units, person=person, photos=["AgAD1"], name=name)
        tips.append(sent)
        await world.tips.act(officer, sent.tip_id, "ack", notify)
        await world.tips.relay(
            Direction.TO_REPORTER, officer, sent.tip_id, "Cảm ơn, cho hỏi thêm?", within=relay
        )
        await world.tips.relay(Direction.FROM_REPORTER, person, sent.tip_id, "Dạ vâng.")
        async with world.sessions() as session, session.begin():
            await enqueue(session, "tip_status", sent.tip_id, [Target(person)])  # another kind
            await enqueue(session, "tip_card", sent.tip_id, [Target(officer)])  # not theirs
    await world.tips.act(officer, tips[0].tip_id, "done", notify)
    await world.tips.act(officer, tips[1].tip_id, "reject", notify)
    await world.tips.start(OTHER_RESIDENT, seed=Photo("AgADabandoned"))  # never finished

    before = await occurrences(engine, RESIDENT)
    assert {("tips", "reporter_telegram_id"), ("deliveries", "telegram_chat_id")} <= before
    assert ("tip_drafts", "person_telegram_id") in await occurrences(engine, OTHER_RESIDENT)

    world.clock.advance(days=29)
    assert await world.tips.erase_identities(world.clock.now) == 0  # not yet 30 days closed
    world.clock.advance(days=1, seconds=1)
    assert await world.tips.erase_identities(world.clock.now) == 2

    # The person's own account row (language, may-message) is all that is left: no tip of theirs
    # points at it, and one who never pressed Start leaves nothing at all.
    assert await occurrences(engine, RESIDENT) == {("users", "telegram_id")}
    assert await occurrences(engine, OTHER_RESIDENT) == set()
    async with world.sessions() as session:
        named = await session.get(Tip, tips[1].tip_id)
        kept = await count(world.sessions, Delivery)
    assert named is not None and named.display_name == "Chú Minh"  # officers keep the name
    assert kept == 2  # the officer's cards stay; every row addressed to a reporter is gone
    assert await world.tips.my_tips(RESIDENT) == []
    relay_gone = await world.tips.relay(
        Direction.TO_REPORTER, officer, tips[0].tip_id, "Còn đó không?"
    )
    assert relay_gone == Refused(Label("tips.relay.reporter_gone", {"number": tips[0].number}))


async def test_people_are_kept_as_an_id_and_a_language(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("users")}
        )
    assert columns == {
        "id",
        "telegram_id",
        "language_code",
        "can_message",
        "created_at",
        "last_seen_at",
    }
    assert not hasattr(User, "first_name") and not hasattr(User, "username")
    assert TipDraft.__tablename__ == "tip_drafts"
