"""SimDriver: plays the humans of the simulated world and waits for the bot's answers."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import secrets
from collections.abc import Callable
from typing import Any

from simulator.markup import user_entities
from simulator.models import (
    MEMBER_STATUSES,
    PRESENT_STATUSES,
    CallbackRecord,
    SimChat,
    SimMessage,
    SimUser,
    first_match,
)
from simulator.server import BotApiSimulator
from simulator.world import TINY_PNG, now

ChatLike = SimChat | SimUser
_DEEP_LINK_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SimDriver:
    """Manipulates the simulator's world in-process and queues the resulting updates."""

    def __init__(self, sim: BotApiSimulator) -> None:
        self.sim = sim
        self.world = sim.world

    # -- people and chats -----------------------------------------------------------------

    def create_user(
        self,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "vi",
        last_name: str | None = None,
    ) -> SimUser:
        """A new user with a 64-bit id."""
        user = SimUser(
            id=self.world.new_user_id(),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.world.users[user.id] = user
        return user

    def create_group(
        self,
        title: str,
        members: list[SimUser] | None = None,
        admins: list[SimUser] | None = None,
        supergroup: bool = False,
        with_bot: bool = False,
    ) -> SimChat:
        """A group; the first admin (else the first member) is its creator.

        `with_bot`: the bot is already a member, as if added long ago: no join updates (and so
        no welcome), for tests and benchmarks that need many groups quickly.
        """
        admins = list(admins or [])
        people = list(members or []) + [a for a in admins if a not in (members or [])]
        chat = SimChat(
            id=self.world.new_group_id(supergroup),
            type="supergroup" if supergroup else "group",
            title=title,
        )
        for user in people:
            chat.members[user.id] = "administrator" if user in admins else "member"
        creator = admins[0] if admins else (people[0] if people else None)
        if creator is not None:
            chat.members[creator.id] = "creator"
        if with_bot:
            chat.members[self.world.bot.id] = "member"
        self.world.chats[chat.id] = chat
        return chat

    def private_chat(self, user: SimUser) -> SimChat:
        """The private chat between a user and the bot (created on demand)."""
        chat = self.world.chats.get(user.id)
        if chat is None:
            chat = SimChat(id=user.id, type="private", user=user)
            self.world.chats[chat.id] = chat
        return chat

    async def start_private(self, user: SimUser, payload: str | None = None) -> SimChat:
        """The user opens the bot (unblocking it if needed) and sends /start [payload]."""
        if payload is not None and not _DEEP_LINK_RE.fullmatch(payload):
            raise AssertionError(
                f"deep-link payload {payload!r} is invalid: Telegram allows 1-64 of A-Z a-z 0-9 _ -"
            )
        chat = self.private_chat(user)
        if user.blocked:
            user.blocked = False
            self._private_status(chat, user, "kicked", "member")
        user.started = True
        await self.send_text(user, chat, f"/start {payload}" if payload else "/start")
        return chat

    async def block_bot(self, user: SimUser) -> None:
        """The user blocks the bot; the bot gets my_chat_member (kicked)."""
        chat = self.private_chat(user)
        user.blocked = True
        self._private_status(chat, user, "member", "kicked")

    def _private_status(self, chat: SimChat, user: SimUser, old: str, new: str) -> None:
        world = self.world
        world.enqueue(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": user.to_api(),
                "date": now(),
                "old_chat_member": world.member_to_api(world.bot, old),
                "new_chat_member": world.member_to_api(world.bot, new),
            },
        )

    # -- group membership -----------------------------------------------------------------

    async def add_bot(self, chat: SimChat, by: SimUser, as_admin: bool = False) -> None:
        """`by` adds the bot: my_chat_member plus a new_chat_members service message."""
        world = self.world
        chat.bot_removed = False
        world.set_status(chat, world.bot, "administrator" if as_admin else "member", by)
        self._service(chat, by, new_chat_members=[world.bot.to_api()])

    async def remove_bot(self, chat: SimChat, by: SimUser) -> None:
        """`by` removes the bot: my_chat_member plus a left_chat_member service message."""
        world = self.world
        status = "kicked" if chat.type == "supergroup" else "left"
        world.set_status(chat, world.bot, status, by)
        chat.bot_removed = True
        msg = world.add_message(chat, by, service={"left_chat_member": world.bot.to_api()})
        world.enqueue("message", world.message_to_api(msg))

    async def set_bot_admin(self, chat: SimChat, admin: bool, by: SimUser) -> None:
        """Promote or demote the bot (my_chat_member)."""
        self.world.set_status(chat, self.world.bot, "administrator" if admin else "member", by)

    def set_member_status(self, chat: SimChat, user: SimUser, status: str) -> None:
        """Change a membership as the chat's creator would (chat_member / my_chat_member)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {MEMBER_STATUSES}")
        world = self.world
        creator = next((world.users[u] for u, s in chat.members.items() if s == "creator"), user)
        world.set_status(chat, user, status, user if status == "left" else creator)

    async def migrate_to_supergroup(self, chat: SimChat) -> SimChat:
        """Upgrade a group: new id, members carried over, migrate_* service messages."""
        world = self.world
        new = SimChat(
            id=world.new_group_id(supergroup=True),
            type="supergroup",
            title=chat.title,
            members=dict(chat.members),
            migrated_from=chat.id,
        )
        world.chats[new.id] = new
        creator = next(
            (world.users[u] for u, s in chat.members.items() if s == "creator"), world.bot
        )
        self._service(chat, creator, migrate_to_chat_id=new.id)
        chat.migrated_to = new.id
        self._service(new, creator, migrate_from_chat_id=chat.id)
        return new

    def _service(self, chat: SimChat, by: SimUser, **service: Any) -> SimMessage:
        msg = self.world.add_message(chat, by, service=service)
        if self.world.bot_receives(chat, msg):
            self.world.enqueue("message", self.world.message_to_api(msg))
        return msg

    # -- what users send ------------------------------------------------------------------

    def _chat(self, chat: ChatLike) -> SimChat:
        if isinstance(chat, SimUser):
            return self.private_chat(chat)
        if chat.migrated_to is not None:
            raise AssertionError(
                f"chat {chat.id} was migrated to {chat.migrated_to}; use the new SimChat"
            )
        return chat

    def _user_message(
        self, user: SimUser, chat: ChatLike, reply_to: SimMessage | None = None, **content: Any
    ) -> SimMessage:
        target = self._chat(chat)
        if target.type == "private":
            user.started = True
        elif target.status_of(user.id) not in PRESENT_STATUSES:
            raise AssertionError(f"{user.first_name} is not a member of {target.title!r}")
        msg = self.world.add_message(
            target,
            user,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            **content,
        )
        if self.world.bot_receives(target, msg):
            self.world.enqueue("message", self.world.message_to_api(msg))
        return msg

    async def send_text(
        self, user: SimUser, chat: ChatLike, text: str, reply_to: SimMessage | None = None
    ) -> SimMessage:
        """The user types `text` (commands and mentions get their entities)."""
        return self._user_message(user, chat, reply_to, text=text, entities=user_entities(text))

    async def send_location(
        self,
        user: SimUser,
        chat: ChatLike,
        latitude: float,
        longitude: float,
        reply_to: SimMessage | None = None,
    ) -> SimMessage:
        """The user shares a location."""
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._user_message(user, chat, reply_to, location=location)

    async def send_venue(
        self,
        user: SimUser,
        chat: ChatLike,
        latitude: float,
        longitude: float,
        title: str,
        address: str,
    ) -> SimMessage:
        """The user shares a place picked on the map (a venue, which also carries its location)."""
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        venue = {"location": location, "title": title, "address": address}
        return self._user_message(user, chat, location=location, venue=venue)

    async def send_voice(
        self, user: SimUser, chat: ChatLike, duration: int = 3, content: bytes = b"OggS\x00voice"
    ) -> SimMessage:
        """The user records a voice message."""
        record = self.world.store_file(content, "voice", ".oga", "audio/ogg")
        voice = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        return self._user_message(user, chat, extra={"voice": voice})

    async def press_reply_button(
        self,
        user: SimUser,
        label: str,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> SimMessage:
        """The user presses a button of the custom keyboard under their private chat's input
        field: a text button sends its label; a location button shares a location."""
        chat = self.private_chat(user)
        rows = (chat.reply_keyboard or {}).get("keyboard", [])
        button = next((b for row in rows for b in row if b.get("text") == label), None)
        if button is None:
            labels = [b.get("text") for row in rows for b in row]
            raise AssertionError(f"no keyboard button {label!r} in chat {chat.id}; shown: {labels}")
        if button.get("request_location"):
            if latitude is None or longitude is None:
                raise AssertionError(f"{label!r} shares a location: give latitude and longitude")
            return await self.send_location(user, chat, latitude, longitude)
        return await self.send_text(user, chat, label)

    async def send_photo(
        self,
        user: SimUser,
        chat: ChatLike,
        caption: str | None = None,
        content: bytes = TINY_PNG,
        reply_to: SimMessage | None = None,
    ) -> SimMessage:
        """The user sends a photo (downloadable through getFile)."""
        record = self.world.store_file(content, "photos", ".jpg", "image/jpeg")
        return self._user_message(
            user,
            chat,
            reply_to,
            photo=self.world.photo_sizes(record),
            caption=caption,
            caption_entities=user_entities(caption) if caption else [],
        )

    async def send_document(
        self,
        user: SimUser,
        chat: ChatLike,
        filename: str = "document.pdf",
        content: bytes = b"%PDF-1.4\n%simulated\n",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        reply_to: SimMessage | None = None,
    ) -> SimMessage:
        """The user sends a file."""
        record = self.world.store_file(
            content, "documents", "." + filename.rsplit(".")[-1], mime_type
        )
        document = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        return self._user_message(
            user,
            chat,
            reply_to,
            document=document,
            caption=caption,
            caption_entities=user_entities(caption) if caption else [],
        )

    async def press_button(
        self, user: SimUser, chat: ChatLike, label: str, message: SimMessage | None = None
    ) -> str:
        """The user presses an inline button; returns the callback query id."""
        target = self._chat(chat)
        candidates = [message] if message is not None else reversed(self.bot_messages(target))
        available: list[str] = []
        for msg in candidates:
            for row in msg.inline_keyboard:
                for button in row:
                    available.append(button.get("text", ""))
                    if button.get("text") == label:
                        return self._callback(user, target, msg, button)
        raise AssertionError(
            f"no inline button {label!r} in chat {target.id}; available: {available}"
        )

    async def press_callback_data(
        self, user: SimUser, chat: ChatLike, message: SimMessage, data: str
    ) -> str:
        """A modified client presses `message` sending any `data` (1-64 bytes, as Telegram
        carries), whatever its buttons say; returns the callback query id."""
        target = self._chat(chat)
        if target.messages.get(message.message_id) is not message:
            raise AssertionError(f"message {message.message_id} is not in chat {target.id}")
        if not 1 <= len(data.encode()) <= 64:
            raise AssertionError(f"callback data must be 1-64 bytes, got {len(data.encode())}")
        return self._callback(user, target, message, {"callback_data": data})

    def _callback(
        self, user: SimUser, chat: SimChat, msg: SimMessage, button: dict[str, Any]
    ) -> str:
        if "callback_data" not in button:
            raise AssertionError(f"button {button.get('text')!r} has no callback_data: {button}")
        query_id = str(secrets.randbits(63))
        self.sim.callbacks[query_id] = CallbackRecord(
            query_id, user, chat.id, msg.message_id, button["callback_data"]
        )
        self.world.enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "message": self.world.message_to_api(msg),
                "chat_instance": self.world.chat_instance(chat.id),
                "data": button["callback_data"],
            },
        )
        return query_id

    # -- reading the world ----------------------------------------------------------------

    def messages(self, chat: ChatLike) -> list[SimMessage]:
        """All messages of a chat (deleted ones included, marked), oldest first."""
        target = chat if isinstance(chat, SimChat) else self.private_chat(chat)
        return list(target.messages.values())

    def bot_messages(self, chat: ChatLike) -> list[SimMessage]:
        """The bot's messages in a chat that are not deleted, oldest first."""
        return [m for m in self.messages(chat) if m.from_bot and not m.deleted]

    def last_bot_message(self, chat: ChatLike) -> SimMessage | None:
        """The newest not deleted bot message, if any."""
        found = self.bot_messages(chat)
        return found[-1] if found else None

    async def wait_for(
        self,
        condition: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the public driver API
        message: str | None = None,
    ) -> Any:
        """Wait until `condition()` (sync or async) is truthy; return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self.world.changed_event()
            value = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(
                    message
                    or f"condition {condition!r} not met within {timeout}s; "
                    f"violations so far: {self.sim.violations}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, 0.05))

    async def wait_for_bot_message(
        self,
        chat: ChatLike,
        contains: str | None = None,
        predicate: Callable[[SimMessage], bool] | None = None,
        after: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the public driver API
    ) -> SimMessage:
        """The oldest bot message in `chat` newer than `after` that matches."""

        def match() -> SimMessage | None:
            return first_match(self.bot_messages(chat), after, contains, predicate)

        try:
            found: SimMessage = await self.wait_for(match, timeout)
        except TimeoutError:
            seen = [(m.message_id, m.text or m.caption) for m in self.bot_messages(chat)]
            raise TimeoutError(
                f"no bot message (contains={contains!r}, after={after}) within {timeout}s; "
                f"bot messages in chat: {seen}; violations: {self.sim.violations}"
            ) from None
        return found
