"""An officer composing an alert in the private chat, button by button, as a person would.

Shared by the broadcast benchmark and the end-to-end tests.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from simulator.models import SimMessage, SimUser

STEP_TIMEOUT = 15.0
CONFIRM = "✅ Xác nhận gửi"
CORRECT = "✏️ Đính chính"
CONFIRM_CORRECTION = "✅ Xác nhận đính chính"
CANCEL_CORRECTION = "✖️ Huỷ, giữ nội dung cũ"


class Driver(Protocol):
    """What the officer needs of a driver: `simulator.SimDriver` (a simulator in this process)
    or `simulator.remote.RemoteDriver` (one in another process, whose `last_bot_message` is a
    coroutine). Chats and messages are theirs: `SimChat`/`SimMessage` or the remote ones."""

    def private_chat(self, user: SimUser) -> Any: ...

    async def start_private(self, user: SimUser, payload: str | None = None) -> Any: ...

    async def send_text(self, user: SimUser, chat: Any, text: str, reply_to: Any = None) -> Any: ...

    async def press_button(
        self, user: SimUser, chat: Any, label: str, message: Any = None
    ) -> str: ...

    def last_bot_message(self, chat: Any) -> Any: ...

    async def wait_for_bot_message(
        self,
        chat: Any,
        contains: str | None = None,
        predicate: Callable[[Any], bool] | None = None,
        after: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Any: ...


def has_button(message: Any, label: str) -> bool:
    return any(label in row for row in message.buttons) and not message.deleted


class OfficerAtKeyboard:
    """Drives the composer: /canhbao, scope, severity, category, text, skips, validity; and
    corrections: Đính chính, the reply with the new text, the preview's question."""

    def __init__(self, driver: Driver, user: SimUser) -> None:
        self.driver, self.user = driver, user
        self.chat = driver.private_chat(user)

    async def wait(self, **kw: Any) -> SimMessage:
        found: SimMessage = await self.driver.wait_for_bot_message(
            self.chat, timeout=STEP_TIMEOUT, **kw
        )
        return found

    async def last_message(self) -> SimMessage | None:
        """The bot's newest message in the officer's chat."""
        found = self.driver.last_bot_message(self.chat)
        if inspect.isawaitable(found):
            found = await found
        last: SimMessage | None = found
        return last

    async def open(self) -> None:
        """The officer opens the private chat (/start) and reads the welcome."""
        before = await self.last_message()
        await self.driver.start_private(self.user)
        await self.wait(contains="Canh Gác", after=before.message_id if before else None)

    async def press(self, label: str) -> SimMessage:
        """Press the newest button with this label (waiting for it to appear)."""
        found = await self.wait(predicate=lambda m: has_button(m, label))
        await self.driver.press_button(self.user, self.chat, label, message=found)
        return found

    async def say(self, text: str, reply_to: SimMessage | None = None) -> SimMessage:
        """Send a message; the bot's first answer after it."""
        sent = await self.driver.send_text(self.user, self.chat, text, reply_to=reply_to)
        return await self.wait(after=sent.message_id)

    async def compose(
        self, text: str, *, severity: str = "🔴 KHẨN CẤP", scope: str = "Toàn địa bàn"
    ) -> SimMessage:
        """Every step up to the audience message that carries Confirm; `scope` starts the label
        of the target button."""
        await self.open()
        start = await self.say("/canhbao")
        assert "Soạn cảnh báo" in (start.text or ""), start.text
        await self.press(next(b for row in start.buttons for b in row if b.startswith(scope)))
        return await self.finish_draft(text, severity=severity)

    async def finish_draft(self, text: str, *, severity: str = "🔴 KHẨN CẤP") -> SimMessage:
        """The steps after the target (a scam, `text`, no photo, no place, 24 hours, real) up to
        the audience message that carries Confirm."""
        await self.press(severity)
        await self.press("Lừa đảo")
        await self.wait(contains="Bước 4/8")
        await self.driver.send_text(self.user, self.chat, text)
        await self.press("Bỏ qua ⏭")  # photo
        await self.wait(contains="Bước 6/8")
        await self.press("Bỏ qua ⏭")  # location
        await self.press("24 giờ")
        await self.press("Tình huống thật")
        return await self.wait(contains="Sẽ gửi đến", predicate=lambda m: has_button(m, CONFIRM))

    async def confirm(self, audience: SimMessage) -> float:
        """Press Confirm; the monotonic time of the press (the benchmark's t0)."""
        t0 = time.monotonic()
        await self.driver.press_button(self.user, self.chat, CONFIRM, message=audience)
        return t0

    async def sent_number(self) -> int:
        """The number of the alert the bot reports as sent."""
        sent = await self.wait(contains="Đã gửi cảnh báo")
        match = re.search(r"#(\d+)", sent.text or "")
        assert match is not None, sent.text
        return int(match.group(1))

    async def ask_correction(self) -> SimMessage:
        """Press Đính chính under the sent alert; the prompt showing the current text."""
        before = await self.last_message()
        await self.press(CORRECT)
        return await self.wait(
            predicate=lambda m: m.force_reply, after=before.message_id if before else None
        )

    async def correct(self, text: str) -> SimMessage:
        """Ask to correct and reply with `text`; the question under the corrected preview."""
        prompt = await self.ask_correction()
        sent = await self.driver.send_text(self.user, self.chat, text, reply_to=prompt)
        return await self.wait(
            after=sent.message_id, predicate=lambda m: has_button(m, CONFIRM_CORRECTION)
        )
