"""State of the simulated Telegram world: users, chats, messages, files, the update queue."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from typing import Any

from simulator.markup import entity_text
from simulator.models import PRESENT_STATUSES, FileRecord, SimChat, SimMessage, SimUser

DEFAULT_EXCLUDED_UPDATES = ("chat_member", "message_reaction", "message_reaction_count")
# A valid 1x1 PNG, the content of photos users send.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def now() -> int:
    """Telegram dates: integer Unix seconds."""
    return int(time.time())


class World:
    """Everything the simulated Telegram knows, for one bot."""

    def __init__(self, bot: SimUser) -> None:
        self.bot = bot
        self.users: dict[int, SimUser] = {bot.id: bot}
        self.chats: dict[int, SimChat] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: list[str] | None = None
        self._update_ids = itertools.count(1)
        self._user_ids = itertools.count(5_000_000_001)
        self._group_ids = itertools.count(4_000_000_001)
        self._supergroup_ids = itertools.count(1_002_000_000_001)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._updates_changed = asyncio.Event()

    # -- change notification --------------------------------------------------------------

    def changed_event(self) -> asyncio.Event:
        """An event set at the next change; grab it before checking a condition."""
        return self._changed

    def notify(self) -> None:
        """Wake everyone waiting for a change."""
        self._changed.set()
        self._changed = asyncio.Event()

    def updates_event(self) -> asyncio.Event:
        """An event set when an update is queued (or polls must look again): what a long poll
        waits on, so the bot's own sends do not wake it."""
        return self._updates_changed

    def notify_updates(self) -> None:
        """Wake the long polls and the webhook delivery."""
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    # -- ids and lookup -------------------------------------------------------------------

    def new_user_id(self) -> int:
        """A fresh 64-bit user id."""
        return next(self._user_ids)

    def new_group_id(self, supergroup: bool) -> int:
        """A fresh negative chat id (supergroups: -100…)."""
        return -next(self._supergroup_ids if supergroup else self._group_ids)

    def find_username(self, name: str) -> int | None:
        """Chat or user id for an @username."""
        bare = name.lstrip("@").lower()
        for user in self.users.values():
            if user.username and user.username.lower() == bare:
                return user.id
        return None

    def message(self, chat_id: int, message_id: int) -> SimMessage | None:
        """A stored, not deleted message."""
        chat = self.chats.get(chat_id)
        msg = chat.messages.get(message_id) if chat else None
        return None if msg is None or msg.deleted else msg

    # -- messages -------------------------------------------------------------------------

    def add_message(self, chat: SimChat, sender: SimUser | None, **content: Any) -> SimMessage:
        """Store a new message in `chat` with the next message id."""
        msg = SimMessage(
            message_id=chat.next_message_id,
            chat_id=chat.id,
            date=now(),
            from_user=sender,
            from_bot=sender is self.bot,
            **content,
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        self.notify()
        return msg

    def message_to_api(self, msg: SimMessage, nested: bool = False) -> dict[str, Any]:
        """The Message object."""
        chat = self.chats[msg.chat_id]
        data: dict[str, Any] = {"message_id": msg.message_id}
        if msg.from_user is not None:
            data["from"] = msg.from_user.to_api()
        data.update(date=msg.date, chat=chat.to_api())
        if msg.reply_to_message_id is not None and not nested:
            replied = self.message(msg.chat_id, msg.reply_to_message_id)
            if replied is not None:
                data["reply_to_message"] = self.message_to_api(replied, nested=True)
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        optional = {
            "text": msg.text,
            "entities": msg.entities,
            "caption": msg.caption,
            "caption_entities": msg.caption_entities,
            "photo": msg.photo,
            "document": msg.document,
            "location": msg.location,
            "venue": msg.venue,
        }
        data.update({k: v for k, v in optional.items() if v})
        data.update(msg.extra)
        data.update(msg.service)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        return data

    # -- privacy mode ---------------------------------------------------------------------

    def bot_receives(self, chat: SimChat, msg: SimMessage) -> bool:
        """Whether the bot gets an update for a user's message (privacy mode in groups)."""
        if chat.type == "private":
            return bool(chat.user and chat.user.started and not chat.user.blocked)
        status = chat.status_of(self.bot.id)
        if status not in PRESENT_STATUSES:
            return False
        if status in ("administrator", "creator") or msg.service:
            return True
        if msg.reply_to_message_id is not None:
            replied = chat.messages.get(msg.reply_to_message_id)
            if replied is not None and replied.from_bot:
                return True
        return self._addressed_to_bot(msg)

    def _addressed_to_bot(self, msg: SimMessage) -> bool:
        me = (self.bot.username or "").lower()
        text = msg.text if msg.text is not None else (msg.caption or "")
        entities = msg.entities if msg.text is not None else msg.caption_entities
        for entity in entities:
            part = entity_text(text, entity)
            if entity["type"] == "bot_command":
                _, _, target = part.partition("@")
                if not target or target.lower() == me:
                    return True
            elif entity["type"] == "mention" and part[1:].lower() == me:
                return True
        return False

    # -- updates --------------------------------------------------------------------------

    def _allowed(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED_UPDATES

    def enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update for the bot unless allowed_updates filters it out."""
        if not self._allowed(kind):
            return None
        update = {"update_id": next(self._update_ids), kind: payload}
        self.updates.append(update)
        self.notify_updates()
        self.notify()
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates with update_id < offset (negative: keep only the last -offset)."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def pending(self, limit: int) -> list[dict[str, Any]]:
        """Unconfirmed updates of allowed kinds, oldest first."""
        kinds = (next(k for k in u if k != "update_id") for u in self.updates)
        return [u for u, k in zip(self.updates, kinds, strict=True) if self._allowed(k)][:limit]

    # -- files ----------------------------------------------------------------------------

    def store_file(
        self, content: bytes, folder: str, suffix: str, mime: str, file_name: str | None = None
    ) -> FileRecord:
        """Keep a file and give it Telegram-like ids and a download path."""
        n = next(self._file_ids)
        digest = hashlib.sha256(content + n.to_bytes(8, "big")).hexdigest()
        record = FileRecord(
            file_id=f"SIM{folder[:2].upper()}{n:06d}{digest[:24]}",
            file_unique_id=f"U{digest[:14]}",
            file_path=f"{folder}/file_{n}{suffix}",
            content=content,
            mime_type=mime,
            file_name=file_name,
        )
        self.files[record.file_id] = record
        self.files_by_path[record.file_path] = record
        return record

    def photo_sizes(self, record: FileRecord) -> list[dict[str, Any]]:
        """PhotoSize list (all sizes share the stored content)."""
        sizes = []
        for i, (w, h) in enumerate(((90, 68), (320, 240), (1280, 960))):
            sizes.append(
                {
                    "file_id": f"{record.file_id}_{i}",
                    "file_unique_id": f"{record.file_unique_id}{i}",
                    "file_size": len(record.content),
                    "width": w,
                    "height": h,
                }
            )
            alias = FileRecord(
                f"{record.file_id}_{i}",
                f"{record.file_unique_id}{i}",
                record.file_path,
                record.content,
                record.mime_type,
            )
            self.files[alias.file_id] = alias
        return sizes

    def chat_instance(self, chat_id: int) -> str:
        """A stable chat_instance for callback queries from this chat."""
        return str(int(hashlib.sha256(f"{self.bot.id}:{chat_id}".encode()).hexdigest()[:15], 16))

    # -- chat members ---------------------------------------------------------------------

    def member_to_api(self, user: SimUser, status: str) -> dict[str, Any]:
        """The ChatMember object for a user with this status."""
        data: dict[str, Any] = {"status": status, "user": user.to_api()}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(dict.fromkeys(_ADMIN_RIGHTS, True))
            data.update(can_be_edited=user is not self.bot, is_anonymous=False)
        elif status == "kicked":
            data["until_date"] = 0
        elif status == "restricted":
            data["status"] = "member"
        return data

    def set_status(self, chat: SimChat, user: SimUser, status: str, actor: SimUser) -> None:
        """Change a membership; the bot hears of changes to itself via my_chat_member."""
        old = chat.status_of(user.id)
        chat.members[user.id] = status
        kind = "my_chat_member" if user is self.bot else "chat_member"
        if old != status:
            self.enqueue(
                kind,
                {
                    "chat": chat.to_api(),
                    "from": actor.to_api(),
                    "date": now(),
                    "old_chat_member": self.member_to_api(user, old),
                    "new_chat_member": self.member_to_api(user, status),
                },
            )
        self.notify()


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
