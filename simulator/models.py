"""Plain data of the simulated Telegram world and of the simulator's bookkeeping."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
PRESENT_STATUSES = ("creator", "administrator", "member", "restricted")


class ApiError(Exception):
    """A Telegram error answer; `violation` marks calls that break the API contract."""

    def __init__(
        self,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        violation: bool = False,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.violation = violation

    def body(self) -> dict[str, Any]:
        """The JSON answer Telegram would give."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str, violation: bool = False) -> ApiError:
    """A 400 answer with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {description}", violation=violation)


@dataclass(frozen=True)
class Violation:
    """A call that Telegram would reject because it breaks the API contract."""

    method: str
    description: str
    params: dict[str, Any]


@dataclass(eq=False)
class SimUser:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    started: bool = False
    blocked: bool = False

    def to_api(self) -> dict[str, Any]:
        """The User object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(eq=False)
class SimChat:
    """A private chat, group or supergroup."""

    id: int
    type: str
    title: str | None = None
    user: SimUser | None = None
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, SimMessage] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    migrated_from: int | None = None
    bot_removed: bool = False
    # The custom (reply) keyboard the bot showed under the input field and has not removed.
    reply_keyboard: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        """The (short) Chat object embedded in messages."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            data.update({k: v for k, v in self.user.to_api().items() if k in _PRIVATE_CHAT_KEYS})
        else:
            data["title"] = self.title
        return data

    def status_of(self, user_id: int) -> str:
        """Membership status of a user ("left" if unknown)."""
        return self.members.get(user_id, "left")


_PRIVATE_CHAT_KEYS = ("first_name", "last_name", "username")


@dataclass(eq=False)
class SimMessage:
    """A message as stored by the simulator, with edits applied."""

    message_id: int
    chat_id: int
    date: int
    from_user: SimUser | None
    from_bot: bool = False
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    venue: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    service: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    edit_date: int | None = None
    edit_history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    method: str | None = None

    @property
    def edited(self) -> bool:
        """Whether the message was edited at least once."""
        return bool(self.edit_history)

    @property
    def edit_count(self) -> int:
        """How many times the message was edited."""
        return len(self.edit_history)

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        """Rows of inline buttons (empty when there is no inline keyboard)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline buttons, row by row."""
        return [[b.get("text", "") for b in row] for row in self.inline_keyboard]

    @property
    def callback_data(self) -> dict[str, str]:
        """Inline button label -> callback_data."""
        return {
            b["text"]: b["callback_data"]
            for row in self.inline_keyboard
            for b in row
            if "callback_data" in b
        }

    @property
    def force_reply(self) -> bool:
        """Whether the message asks for a reply (ForceReply markup)."""
        return bool(self.reply_markup and self.reply_markup.get("force_reply"))

    def snapshot(self) -> dict[str, Any]:
        """The editable content, for edit history and "not modified" checks."""
        return {
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
            "reply_markup": self.reply_markup,
        }


@dataclass
class FileRecord:
    """A stored file, downloadable under base_file_url."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    mime_type: str
    file_name: str | None = None  # as uploaded: a document sent again by file_id keeps it


@dataclass
class CallbackRecord:
    """A callback query sent to the bot and whether it was answered."""

    id: str
    user: SimUser
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class Limits:
    """Telegram's flood limits; `time_scale` > 1 shrinks the windows (fast benchmarks)."""

    global_per_second: int = 30
    group_per_minute: int = 20
    private_per_second: int = 1
    paid_global_per_second: int = 1000
    time_scale: float = 1.0


class ApiCall(NamedTuple):
    """One Bot API call as the bot made it: the method and every parameter (uploads by name)."""

    method: str
    params: dict[str, Any]


class SentRecord(NamedTuple):
    """One successful send: when, where, which message."""

    time: float
    chat_id: int
    message_id: int
    method: str


@dataclass
class Stats:
    """Counters for tests and benchmarks."""

    calls: Counter[str] = field(default_factory=Counter)
    http_429: int = 0
    errors: Counter[int] = field(default_factory=Counter)
    sent: list[SentRecord] = field(default_factory=list)
    uploads: Counter[str] = field(default_factory=Counter)  # files received, by method


@dataclass
class _FaultRule:
    kind: str
    method: str | None
    chat_id: int | None
    count: int | None
    status: int = 500
    description: str = ""
    seconds: float = 0.0
    after_delivery: bool = False

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def consume(self) -> None:
        if self.count is not None:
            self.count -= 1


class Faults:
    """Injected failures: error answers, slow answers, chats that forbid the bot."""

    def __init__(self) -> None:
        self._rules: list[_FaultRule] = []
        self.forbidden: set[int] = set()

    def fail(
        self,
        method: str | None = None,
        chat_id: int | None = None,
        status: int = 500,
        description: str = "Internal Server Error",
        count: int | None = 1,
        after_delivery: bool = False,
    ) -> None:
        """Answer the next `count` matching calls (None: all) with `status`.

        With `after_delivery` the call takes effect first (a send that "failed" but was
        delivered, as after a timeout).
        """
        rule = _FaultRule("fail", method, chat_id, count, status, description)
        rule.after_delivery = after_delivery
        self._rules.append(rule)

    def delay(self, seconds: float, method: str | None = None, count: int | None = None) -> None:
        """Answer matching calls only after `seconds`."""
        self._rules.append(_FaultRule("delay", method, None, count, seconds=seconds))

    def forbid(self, chat_id: int) -> None:
        """Answer 403 for every call about this chat from now on."""
        self.forbidden.add(chat_id)

    def clear(self) -> None:
        """Remove all faults."""
        self._rules.clear()
        self.forbidden.clear()

    def take_delay(self, method: str, chat_id: int | None) -> float:
        """Total delay for this call (consumes matching rules)."""
        total = 0.0
        for rule in self._rules:
            if rule.kind == "delay" and rule.matches(method, chat_id):
                rule.consume()
                total += rule.seconds
        return total

    def take_failure(self, method: str, chat_id: int | None) -> _FaultRule | None:
        """The failure rule for this call, if any (consumed)."""
        for rule in self._rules:
            if rule.kind == "fail" and rule.matches(method, chat_id):
                rule.consume()
                return rule
        return None


class RateLimiter:
    """Sliding-window counters for Telegram's flood limits."""

    def __init__(self) -> None:
        self._global: deque[float] = deque()
        self._paid: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}

    def reset(self) -> None:
        """Forget all recorded calls."""
        self._global.clear()
        self._paid.clear()
        self._chats.clear()

    def acquire(
        self,
        limits: Limits,
        chat_id: int | None,
        group: bool,
        paid: bool,
        now: float,
        weight: int = 1,
    ) -> int | None:
        """Record a call counting `weight` messages (an album of N counts N) and return None,
        or return retry_after seconds when over a limit. A call heavier than a whole window
        needs it empty."""
        scale = limits.time_scale
        windows: list[tuple[deque[float], float, int]] = []
        if paid:
            windows.append((self._paid, 1.0 / scale, limits.paid_global_per_second))
        else:
            windows.append((self._global, 1.0 / scale, limits.global_per_second))
        if chat_id is not None:
            per_chat = self._chats.setdefault(chat_id, deque())
            if group:
                windows.append((per_chat, 60.0 / scale, limits.group_per_minute))
            else:
                windows.append((per_chat, 1.0 / scale, limits.private_per_second))
        wait = 0.0
        for times, span, limit in windows:
            while times and times[0] <= now - span:
                times.popleft()
            excess = len(times) - (limit - min(weight, limit))
            if excess > 0:
                wait = max(wait, times[excess - 1] + span - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        for times, _, _ in windows:
            times.extend([now] * weight)
        return None


class ShownMessage(Protocol):
    """What a wait for a bot message reads of one (a `SimMessage`, or a remote copy of it)."""

    @property
    def message_id(self) -> int: ...
    @property
    def text(self) -> str | None: ...
    @property
    def caption(self) -> str | None: ...


M = TypeVar("M", bound=ShownMessage)


def first_match(
    messages: Iterable[M],
    after: int | None,
    contains: str | None,
    predicate: Callable[[M], bool] | None,
) -> M | None:
    """The oldest of `messages` newer than `after` whose text or caption has `contains` and
    that satisfies `predicate`."""
    for msg in messages:
        if after is not None and msg.message_id <= after:
            continue
        body = msg.text if msg.text is not None else (msg.caption or "")
        if contains is not None and contains not in body:
            continue
        if predicate is not None and not predicate(msg):
            continue
        return msg
    return None
