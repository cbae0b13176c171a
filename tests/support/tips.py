"""The people of a tip's life for end-to-end tests: officers, a duty group, a reporter.

Until the resident's conversation has its handlers, a tip is written through `TipService` the
way those handlers do (every event, then Send), so the submit hooks run exactly as in the bot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, func, or_, select

from bot.areas import AdminUnits
from bot.container import Services
from bot.services.tip_flow import Choice, Event, Location, Photo, Question, Skip, Text
from bot.services.tips import Refused, TipSubmitted
from simulator import BotApiSimulator, SimDriver
from simulator.models import SimChat, SimMessage, SimUser
from simulator.world import TINY_PNG
from storage.models import Delivery
from tests.support.botrunner import BotRunner

DONG_DA, BA_DINH, HA_NOI = "00235", "00004", "01"
STORY = "Hai người lạ đi xe máy không biển số, cứ tối lại nhìn vào các nhà trong ngõ 5."


def body(message: SimMessage | None) -> str:
    if message is None:
        return ""
    return message.text if message.text is not None else (message.caption or "")


def is_card(message: SimMessage, number: str) -> bool:
    """The card of tip `number` (not a line replying under it)."""
    return f"Tin #{number} ·" in body(message) and "Trạng thái:" in body(message)


@dataclass
class Scene:
    """Officers An and Bình of Phường Đống Đa, Cường of Phường Ba Đình, Dũng of Hà Nội, the
    duty group of Đống Đa, and a reporter whose name, username and id must never leak."""

    bot: BotRunner
    sim: BotApiSimulator
    driver: SimDriver
    units: AdminUnits
    an: SimUser
    binh: SimUser
    cuong: SimUser
    dung: SimUser
    reporter: SimUser
    duty: SimChat
    photos: list[str] = field(default_factory=list)

    @property
    def svc(self) -> Services:
        return self.bot.services

    def photo(self) -> str:
        """A photo Telegram has (as if the reporter had sent it)."""
        record = self.driver.world.store_file(TINY_PNG, "photos", ".jpg", "image/jpeg")
        return str(self.driver.world.photo_sizes(record)[-1]["file_id"])

    async def submit(
        self,
        *,
        photos: int = 2,
        name: str | None = None,
        category: str = "suspicious",
        person: SimUser | None = None,
    ) -> TipSubmitted:
        """The reporter's whole conversation, ending with Send."""
        result = await self.write(photos=photos, name=name, category=category, person=person)
        assert isinstance(result, TipSubmitted), result
        return result

    async def write(
        self,
        *,
        photos: int = 2,
        name: str | None = None,
        category: str = "suspicious",
        person: SimUser | None = None,
    ) -> TipSubmitted | Question | Refused:
        """The conversation of a tip shared with its location; Send's answer."""
        who = person or self.reporter
        tips = self.svc.tips
        first = await tips.start(who.id)
        if isinstance(first, Refused):
            return first
        commune = self.units.commune(DONG_DA)
        assert commune is not None
        events: list[Event] = [Choice(category), Text(STORY)]
        events += [Location(commune.lat, commune.lon), Choice("yes")]
        shot = [self.photo() for _ in range(photos)]
        self.photos += shot
        events += [Photo(file_id) for file_id in shot] + [Choice("done") if shot else Skip()]
        events += [Choice("named"), Text(name)] if name else [Choice("anonymous")]
        for event in events:
            question = await tips.answer(who.id, event)
            assert isinstance(question, Question) and question.notice is None, (event, question)
        return await tips.answer(who.id, Choice("send", "review"), first.token, "vi")

    async def card(self, chat: SimChat | SimUser, number: str, **match: Any) -> SimMessage:
        """The card of `number` in `chat`, once it is there (and matches `contains`)."""
        return await self.driver.wait_for_bot_message(
            chat, predicate=lambda m: is_card(m, number), timeout=15, **match
        )

    async def press(
        self, user: SimUser, chat: SimChat | SimUser, label: str, message: SimMessage | None = None
    ) -> str:
        """`user` presses `label`; the text the press was answered with."""
        query = await self.driver.press_button(user, chat, label, message)
        return await self.answered(query)

    async def press_data(
        self, user: SimUser, chat: SimChat | SimUser, message: SimMessage, data: str
    ) -> str:
        """A modified client sends any data from `message`; the answer's text."""
        query = await self.driver.press_callback_data(user, chat, message, data)
        return await self.answered(query)

    async def answered(self, query: str) -> str:
        await self.driver.wait_for(lambda: self.sim.callbacks[query].answered, timeout=10)
        return str(self.sim.callbacks[query].answer.get("text") or "")

    async def say(self, user: SimUser, text: str) -> SimMessage:
        """`user` writes in their private chat; the bot's first answer."""
        sent = await self.driver.send_text(user, user, text)
        return await self.driver.wait_for_bot_message(user, after=sent.message_id, timeout=10)

    async def settled(self) -> None:
        """Wait until the outbox has sent and edited everything it holds."""

        async def idle() -> bool:
            async with self.svc.sessions() as session:
                busy = await session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        or_(
                            col(Delivery.status) == "pending",
                            col(Delivery.content_version) > col(Delivery.sent_version),
                        ),
                        col(Delivery.status).in_(("pending", "delivered")),
                    )
                )
            return not busy

        await self.driver.wait_for(idle, timeout=30)


async def build_scene(bot: BotRunner, sim: BotApiSimulator, units: AdminUnits) -> Scene:
    """Everyone, with rights granted, Start pressed and the duty group registered."""
    driver = SimDriver(sim)
    svc = bot.services
    people = {}
    for key, name, area in (
        ("an", "Thiếu tá An", DONG_DA),
        ("binh", "Trung úy Bình", DONG_DA),
        ("cuong", "Đại úy Cường", BA_DINH),
        ("dung", "Đại úy Dũng", HA_NOI),
    ):
        user = driver.create_user(name.split()[-1], username=f"officer_{key}")
        await svc.officers.grant(0, user.id, area, name)
        chat = await driver.start_private(user)
        await driver.wait_for_bot_message(chat)
        people[key] = user
    reporter = driver.create_user(
        "Quỳnh Anh", username="quynhanh_ngo5", last_name="Trịnh Thị", language_code="vi"
    )
    await driver.wait_for_bot_message(await driver.start_private(reporter))
    duty = driver.create_group("Trực ban CA Đống Đa", admins=[people["an"], people["binh"]])
    await driver.add_bot(duty, by=people["an"])
    await driver.wait_for_bot_message(duty)
    said = await driver.send_text(people["an"], duty, "/nhomtruc")
    await driver.wait_for_bot_message(duty, contains="nhóm trực", after=said.message_id)
    return Scene(bot, sim, driver, units, duty=duty, reporter=reporter, **people)


def leaks(sim: BotApiSimulator, person: SimUser, secrets: Iterable[str]) -> list[str]:
    """Calls to anyone but `person` whose parameters carry one of the secrets.

    A call is the person's own when it goes to their private chat, answers their own button
    press, or sets their own menu. copyMessage's `from_chat_id` is not shown to its recipient
    (a copy has no sender); forwardMessage's origin is, so it is scanned like the rest.
    """
    own_presses = {q for q, record in sim.callbacks.items() if record.user.id == person.id}
    found: list[str] = []
    for call in sim.calls:
        params = dict(call.params)
        if _chat_of(params.get("chat_id")) == person.id or _scope_chat(params) == person.id:
            continue
        if call.method == "answerCallbackQuery" and params.get("callback_query_id") in own_presses:
            continue
        if call.method == "copyMessage":
            params.pop("from_chat_id", None)
        blob = json.dumps(params, ensure_ascii=False, default=str)
        found += [f"{call.method} {blob[:200]}: {s!r}" for s in secrets if s in blob]
    return found


def _chat_of(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _scope_chat(params: dict[str, Any]) -> int | None:
    scope = params.get("scope")
    if isinstance(scope, str):
        try:
            scope = json.loads(scope)
        except ValueError:
            return None
    return _chat_of(scope.get("chat_id")) if isinstance(scope, dict) else None
