"""Bot API method implementations on top of the simulated world."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from simulator.markup import EntityParseError, parse_html, parse_markdown, utf16_len
from simulator.models import (
    PRESENT_STATUSES,
    ApiError,
    FileRecord,
    SentRecord,
    SimChat,
    SimMessage,
    bad_request,
)
from simulator.spec import Upload
from simulator.world import now

if TYPE_CHECKING:
    from simulator.server import BotApiSimulator

ATTACHMENTS = "_attachments"  # uploads named by attach:// inside InputMedia, for the handler
Handler = Callable[["BotApiSimulator", dict[str, Any]], Any | Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_ACTION_SET = frozenset(_BUTTON_ACTIONS)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_PARSERS: dict[str, Callable[[str], tuple[str, list[dict[str, Any]]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown,
    "markdown": lambda text: parse_markdown(text, legacy=True),
}
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def method(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for a Bot API method."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


# -- shared checks --------------------------------------------------------------------------


def resolve_chat(sim: BotApiSimulator, chat_id: int | str) -> SimChat:
    """The chat a call is about, or the error Telegram would answer."""
    world = sim.world
    if isinstance(chat_id, str):
        found = world.find_username(chat_id) if chat_id.startswith("@") else None
        if found is None:
            raise bad_request("chat not found")
        chat_id = found
    if chat_id in sim.faults.forbidden:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    chat = world.chats.get(chat_id)
    if chat is None:
        if chat_id in world.users:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        raise bad_request("chat not found")
    if chat.migrated_to is not None:
        raise ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": chat.migrated_to},
        )
    _check_access(sim, chat)
    return chat


def _check_access(sim: BotApiSimulator, chat: SimChat) -> None:
    if chat.type == "private":
        assert chat.user is not None
        if chat.user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not chat.user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return
    status = chat.status_of(sim.world.bot.id)
    kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
    if status == "kicked" or (status == "left" and chat.bot_removed):
        raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
    if status not in PRESENT_STATUSES:
        raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")


def formatted(
    p: dict[str, Any], key: str, entities_key: str, limit: int
) -> tuple[str | None, list[dict[str, Any]]]:
    """Text/caption and entities after parse_mode, with Telegram's length checks."""
    raw = p.get(key)
    if raw is None:
        return None, []
    mode = p.get("parse_mode")
    if entities_key in p or not mode:
        text, entities = raw, list(p.get(entities_key) or [])
    elif mode.lower() in _PARSERS:
        try:
            text, parsed = _parse(mode.lower(), raw)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}", violation=True) from exc
        entities = [dict(e) for e in parsed]
    else:
        raise bad_request("unsupported parse_mode", violation=True)
    if key == "text" and not text.strip():
        raise bad_request("message text is empty", violation=True)
    if utf16_len(text) > limit:
        what = "message is too long" if key == "text" else "message caption is too long"
        raise bad_request(what, violation=True)
    return text, entities


@functools.lru_cache(maxsize=256)
def _parse(mode: str, raw: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    """Text and entities of a formatted text: a broadcast parses the same body many times."""
    text, entities = _PARSERS[mode](raw)
    return text, tuple(entities)


def check_markup(markup: dict[str, Any] | None) -> None:
    """Inline keyboard rules the JSON schema cannot express."""
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if len(_BUTTON_ACTION_SET.intersection(button)) != 1:
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must have "
                    "exactly one optional field",
                    violation=True,
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID", violation=True)
            if not button.get("text"):
                raise bad_request(
                    "text buttons are unallowed in the inline keyboard", violation=True
                )


def _reply_target(sim: BotApiSimulator, chat: SimChat, p: dict[str, Any]) -> int | None:
    rp = p.get("reply_parameters")
    if not rp:
        return None
    if sim.world.message(chat.id, rp["message_id"]) is None:
        if rp.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return int(rp["message_id"])


def deliver(sim: BotApiSimulator, name: str, p: dict[str, Any], **content: Any) -> dict[str, Any]:
    """Store a bot message in the target chat and return the Message object."""
    markup = p.get("reply_markup")
    check_markup(markup)
    chat = resolve_chat(sim, p["chat_id"])
    reply = _reply_target(sim, chat, p)
    if markup and "keyboard" in markup:  # stays under the input field until removed
        chat.reply_keyboard = markup
    elif markup and markup.get("remove_keyboard"):
        chat.reply_keyboard = None
    msg = sim.world.add_message(
        chat,
        sim.world.bot,
        reply_to_message_id=reply,
        reply_markup=markup,
        method=name,
        **content,
    )
    sim.stats.sent.append(SentRecord(time.monotonic(), chat.id, msg.message_id, name))
    return sim.world.message_to_api(msg)


def _file_from(sim: BotApiSimulator, value: Upload | str, folder: str, mime: str) -> FileRecord:
    world = sim.world
    if isinstance(value, Upload):
        suffix = "." + value.filename.rsplit(".", 1)[-1] if "." in value.filename else ""
        mime = value.content_type or mime
        return world.store_file(value.content, folder, suffix, mime, value.filename)
    if value in world.files:
        return world.files[value]
    if value.startswith(("http://", "https://")):
        return world.store_file(value.encode(), folder, "", mime)
    raise bad_request("wrong file identifier/HTTP URL specified")


# -- getting updates and the bot itself -----------------------------------------------------


@method("getMe")
def get_me(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """The bot's User object with the getMe-only fields."""
    data = sim.world.bot.to_api()
    extras = {
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }
    fields = sim.spec.fields("User")
    data.update({k: v for k, v in extras.items() if k in fields})
    return data


@method("getUpdates")
async def get_updates(sim: BotApiSimulator, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Long polling: answer as soon as updates exist, or after `timeout`."""
    if sim.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    world = sim.world
    # A newer getUpdates ends an older one with 409, as Telegram does.
    sim.poll_generation += 1
    generation = sim.poll_generation
    world.notify_updates()
    world.notify()
    if "allowed_updates" in p:
        world.allowed_updates = list(p["allowed_updates"]) or None
    if p.get("offset") is not None:
        world.confirm(int(p["offset"]))
    limit = min(max(int(p.get("limit") or 100), 1), 100)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(float(p.get("timeout") or 0), 0.0)
    while True:
        changed = world.updates_event()
        batch = world.pending(limit)
        left = deadline - loop.time()
        if generation != sim.poll_generation:
            raise ApiError(409, _CONFLICT)
        if batch or sim.stopping or left <= 0:
            return batch
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), left)


@method("setWebhook")
def set_webhook(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """Switch to webhook delivery."""
    url = p["url"]
    if not url:
        sim.set_webhook(None)
        return True
    _check_webhook_url(url, local=sim.local)
    if "allowed_updates" in p:
        sim.world.allowed_updates = list(p["allowed_updates"]) or None
    if p.get("drop_pending_updates"):
        sim.world.updates.clear()
    sim.set_webhook(url, p.get("secret_token"), p.get("max_connections", 40))
    return True


def _check_webhook_url(url: str, *, local: bool) -> None:
    """Telegram takes HTTPS on ports 80, 88, 443 and 8443; a local Bot API server (`--local`)
    also plain HTTP on any port."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", *(("http",) if local else ())) or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    try:
        port = parts.port
    except ValueError:
        raise bad_request("bad webhook: Wrong port number specified in the URL") from None
    if not local and port not in (None, 80, 88, 443, 8443):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


@method("deleteWebhook")
def delete_webhook(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """Back to getUpdates."""
    if p.get("drop_pending_updates"):
        sim.world.updates.clear()
    sim.set_webhook(None)
    return True


@method("getWebhookInfo")
def get_webhook_info(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """WebhookInfo."""
    hook = sim.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(sim.world.updates),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if sim.world.allowed_updates:
            info["allowed_updates"] = sim.world.allowed_updates
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    return info


# -- commands -------------------------------------------------------------------------------


# Scopes naming one chat; Telegram resolves the chat (400 "chat not found" when the bot cannot
# see it: a person who never pressed Start, a group without the bot).
_CHAT_SCOPES = ("chat", "chat_administrators", "chat_member")


def _scope_chat(sim: BotApiSimulator, chat_id: int | str) -> SimChat:
    world = sim.world
    if isinstance(chat_id, str):
        digits = chat_id.removeprefix("-").isdigit()
        found = int(chat_id) if digits else world.find_username(chat_id)
    else:
        found = chat_id
    chat = world.chats.get(found) if found is not None else None
    if chat is not None and chat.migrated_to is not None:
        raise ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": chat.migrated_to},
        )
    if chat is None or (chat.type == "private" and not (chat.user and chat.user.started)):
        raise bad_request("chat not found")
    if chat.type != "private" and chat.status_of(world.bot.id) not in PRESENT_STATUSES:
        raise bad_request("chat not found")
    return chat


def _scope(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """The command scope of a call, its chat resolved to the numeric id Telegram keys it by."""
    scope = dict(p.get("scope") or {"type": "default"})
    if scope["type"] not in _CHAT_SCOPES:
        return scope
    chat = _scope_chat(sim, scope["chat_id"])
    if scope["type"] != "chat" and chat.type == "private":
        raise bad_request("can't use this scope in private chats")
    if scope["type"] == "chat_member" and chat.status_of(scope["user_id"]) not in PRESENT_STATUSES:
        raise bad_request("user not found")
    scope["chat_id"] = chat.id
    return scope


def _commands_key(scope: dict[str, Any], language_code: str | None) -> tuple[str, str]:
    return json.dumps(scope, sort_keys=True), language_code or ""


@method("setMyCommands")
def set_my_commands(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """Store the command list for a scope and language."""
    for cmd in p["commands"]:
        if not _COMMAND_RE.fullmatch(cmd["command"]):
            raise bad_request("BOT_COMMAND_INVALID", violation=True)
        if not 1 <= len(cmd["description"]) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID", violation=True)
    sim.commands[_commands_key(_scope(sim, p), p.get("language_code"))] = list(p["commands"])
    return True


@method("getMyCommands")
def get_my_commands(sim: BotApiSimulator, p: dict[str, Any]) -> list[dict[str, Any]]:
    """The command list for a scope and language."""
    return sim.commands.get(_commands_key(_scope(sim, p), p.get("language_code")), [])


@method("deleteMyCommands")
def delete_my_commands(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """Forget the command list for a scope and language (users then see the wider scope's)."""
    sim.commands.pop(_commands_key(_scope(sim, p), p.get("language_code")), None)
    return True


def menu_of(
    sim: BotApiSimulator, chat_id: int, user_id: int, language_code: str | None = None
) -> list[str]:
    """The commands a user's client shows in a chat: the first list set, in Telegram's order
    (https://core.telegram.org/bots/api#determining-list-of-commands)."""
    chat = sim.world.chats[chat_id]
    if chat.type == "private":
        scopes: list[dict[str, Any]] = [{"type": "chat", "chat_id": chat_id}]
        scopes.append({"type": "all_private_chats"})
    else:
        admin = chat.status_of(user_id) in ("creator", "administrator")
        member_scope = {"type": "chat_member", "chat_id": chat_id, "user_id": user_id}
        scopes = [member_scope]
        scopes += [{"type": "chat_administrators", "chat_id": chat_id}] if admin else []
        scopes.append({"type": "chat", "chat_id": chat_id})
        scopes += [{"type": "all_chat_administrators"}] if admin else []
        scopes.append({"type": "all_group_chats"})
    scopes.append({"type": "default"})
    for scope in scopes:
        for language in (language_code, None) if language_code else (None,):
            found = sim.commands.get(_commands_key(scope, language))
            if found is not None:
                return [c["command"] for c in found]
    return []


# -- sending --------------------------------------------------------------------------------


@method("sendMessage")
def send_message(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """A text message."""
    text, entities = formatted(p, "text", "entities", TEXT_LIMIT)
    return deliver(sim, "sendMessage", p, text=text, entities=entities)


@method("sendPhoto")
def send_photo(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """A photo, uploaded or by file_id/URL."""
    caption, entities = formatted(p, "caption", "caption_entities", CAPTION_LIMIT)
    check_markup(p.get("reply_markup"))
    resolve_chat(sim, p["chat_id"])
    record = _file_from(sim, p["photo"], "photos", "image/jpeg")
    photo = sim.world.photo_sizes(record)
    return deliver(sim, "sendPhoto", p, photo=photo, caption=caption, caption_entities=entities)


@method("sendDocument")
def send_document(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """A document, uploaded or by file_id/URL."""
    caption, entities = formatted(p, "caption", "caption_entities", CAPTION_LIMIT)
    check_markup(p.get("reply_markup"))
    resolve_chat(sim, p["chat_id"])
    value = p["document"]
    record = _file_from(sim, value, "documents", "application/octet-stream")
    name = record.file_name or record.file_path.rsplit("/", 1)[-1]
    document = {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_name": name,
        "mime_type": record.mime_type,
        "file_size": len(record.content),
    }
    return deliver(
        sim, "sendDocument", p, document=document, caption=caption, caption_entities=entities
    )


def _location(p: dict[str, Any]) -> dict[str, Any]:
    lat, lon = float(p["latitude"]), float(p["longitude"])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request("wrong coordinates")
    location: dict[str, Any] = {"latitude": lat, "longitude": lon}
    if p.get("horizontal_accuracy") is not None:
        location["horizontal_accuracy"] = float(p["horizontal_accuracy"])
    return location


@method("sendLocation")
def send_location(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """A point on the map."""
    return deliver(sim, "sendLocation", p, location=_location(p))


@method("sendVenue")
def send_venue(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """A venue (also carries its location)."""
    location = _location(p)
    venue: dict[str, Any] = {"location": location, "title": p["title"], "address": p["address"]}
    for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
        if key in p:
            venue[key] = p[key]
    return deliver(sim, "sendVenue", p, location=location, venue=venue)


# -- editing and deleting -------------------------------------------------------------------


def _edit_target(sim: BotApiSimulator, p: dict[str, Any]) -> SimMessage:
    if "inline_message_id" in p:
        raise bad_request("inline messages are not supported by the simulator", violation=True)
    if "chat_id" not in p or "message_id" not in p:
        raise bad_request("message identifier is not specified", violation=True)
    chat = resolve_chat(sim, p["chat_id"])
    msg = sim.world.message(chat.id, p["message_id"])
    if msg is None:
        raise bad_request("message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if msg.service:
        raise bad_request("message can't be edited")
    return msg


def _apply_edit(sim: BotApiSimulator, msg: SimMessage, **changes: Any) -> dict[str, Any]:
    before = msg.snapshot()
    if {**before, **changes} == before:
        raise bad_request(NOT_MODIFIED)
    msg.edit_history.append(before)
    for key, value in changes.items():
        setattr(msg, key, value)
    msg.edit_date = now()
    sim.world.notify()
    return sim.world.message_to_api(msg)


@method("editMessageText")
def edit_message_text(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """Replace a bot message's text (and its inline keyboard)."""
    text, entities = formatted(p, "text", "entities", TEXT_LIMIT)
    check_markup(p.get("reply_markup"))
    msg = _edit_target(sim, p)
    if msg.text is None:
        raise bad_request("there is no text in the message to edit")
    return _apply_edit(sim, msg, text=text, entities=entities, reply_markup=p.get("reply_markup"))


@method("editMessageCaption")
def edit_message_caption(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """Replace a media message's caption (and its inline keyboard)."""
    caption, entities = formatted(p, "caption", "caption_entities", CAPTION_LIMIT)
    check_markup(p.get("reply_markup"))
    msg = _edit_target(sim, p)
    if msg.text is not None:
        raise bad_request("there is no caption in the message to edit")
    return _apply_edit(
        sim, msg, caption=caption, caption_entities=entities, reply_markup=p.get("reply_markup")
    )


@method("editMessageReplyMarkup")
def edit_message_reply_markup(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """Replace (or remove) a bot message's inline keyboard."""
    check_markup(p.get("reply_markup"))
    msg = _edit_target(sim, p)
    return _apply_edit(sim, msg, reply_markup=p.get("reply_markup"))


@method("deleteMessage")
def delete_message(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """Mark a message deleted."""
    chat = resolve_chat(sim, p["chat_id"])
    msg = sim.world.message(chat.id, p["message_id"])
    if msg is None:
        raise bad_request("message to delete not found")
    msg.deleted = True
    sim.world.notify()
    return True


@method("answerCallbackQuery")
def answer_callback_query(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """Mark a callback query answered."""
    record = sim.callbacks.get(p["callback_query_id"])
    if record is None or record.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    if len(p.get("text") or "") > 200:
        raise bad_request("MESSAGE_TOO_LONG", violation=True)
    record.answered = True
    record.answer = dict(p)
    sim.world.notify()
    return True


# -- chats and members ----------------------------------------------------------------------


@method("getChat")
def get_chat(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """ChatFullInfo."""
    chat = resolve_chat(sim, p["chat_id"])
    data = chat.to_api()
    data.update(
        accent_color_id=0,
        max_reaction_count=11,
        accepted_gift_types={
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    )
    return data


@method("getChatMember")
def get_chat_member(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """ChatMember of one user."""
    chat = resolve_chat(sim, p["chat_id"])
    user = sim.world.users.get(p["user_id"])
    if user is None:
        raise bad_request("user not found")
    if chat.type == "private":
        status = "member" if user is sim.world.bot or user is chat.user else "left"
    else:
        status = chat.status_of(user.id)
    return sim.world.member_to_api(user, status)


@method("getChatAdministrators")
def get_chat_administrators(sim: BotApiSimulator, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Owner and administrators."""
    chat = resolve_chat(sim, p["chat_id"])
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    world = sim.world
    return [
        world.member_to_api(world.users[uid], status)
        for uid, status in chat.members.items()
        if status in ("creator", "administrator")
    ]


@method("getChatMemberCount")
def get_chat_member_count(sim: BotApiSimulator, p: dict[str, Any]) -> int:
    """Number of present members."""
    chat = resolve_chat(sim, p["chat_id"])
    if chat.type == "private":
        return 2
    return sum(1 for s in chat.members.values() if s in PRESENT_STATUSES)


@method("leaveChat")
def leave_chat(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """The bot leaves a group."""
    chat = resolve_chat(sim, p["chat_id"])
    if chat.type == "private":
        raise bad_request("chat member status can't be changed in private chats")
    world = sim.world
    world.set_status(chat, world.bot, "left", world.bot)
    return True


@method("getFile")
def get_file(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """File with a download path under base_file_url."""
    record = sim.world.files.get(p["file_id"])
    if record is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": len(record.content),
        "file_path": record.file_path,
    }


@method("sendChatAction")
def send_chat_action(sim: BotApiSimulator, p: dict[str, Any]) -> bool:
    """ "typing…" and friends: only the chat access is checked."""
    resolve_chat(sim, p["chat_id"])
    return True


# -- copies, forwards and albums ------------------------------------------------------------

_CONTENT = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "location",
    "venue",
)


def _source(sim: BotApiSimulator, p: dict[str, Any], verb: str, past: str) -> SimMessage:
    chat = resolve_chat(sim, p["from_chat_id"])
    msg = sim.world.message(chat.id, p["message_id"])
    if msg is None:
        raise bad_request(f"message to {verb} not found")
    if msg.service:
        raise bad_request(f"message can't be {past}")
    return msg


@method("copyMessage")
def copy_message(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """A copy without a link to the original; returns MessageId."""
    msg = _source(sim, p, "copy", "copied")
    content = {key: getattr(msg, key) for key in _CONTENT}
    if "caption" in p and msg.text is None:
        content["caption"], content["caption_entities"] = formatted(
            p, "caption", "caption_entities", CAPTION_LIMIT
        )
    extra = {k: v for k, v in msg.extra.items() if k not in ("forward_origin", "media_group_id")}
    copied = deliver(sim, "copyMessage", p, extra=extra, **content)
    return {"message_id": copied["message_id"]}


@method("forwardMessage")
def forward_message(sim: BotApiSimulator, p: dict[str, Any]) -> dict[str, Any]:
    """A forward that names the original sender."""
    msg = _source(sim, p, "forward", "forwarded")
    content = {key: getattr(msg, key) for key in _CONTENT}
    origin: dict[str, Any] = {"type": "hidden_user", "date": msg.date, "sender_user_name": "?"}
    if msg.from_user is not None:
        origin = {"type": "user", "date": msg.date, "sender_user": msg.from_user.to_api()}
    extra = {**msg.extra, "forward_origin": origin}
    extra.pop("media_group_id", None)
    return deliver(sim, "forwardMessage", {"chat_id": p["chat_id"]}, extra=extra, **content)


def _album_item(
    sim: BotApiSimulator, item: dict[str, Any], attachments: dict[str, Upload]
) -> dict[str, Any]:
    value: Upload | str = item["media"]
    if isinstance(value, str) and value.startswith("attach://"):
        name = value[len("attach://") :]
        if name not in attachments:
            raise bad_request(f'file "{name}" must be uploaded with the request', violation=True)
        value = attachments[name]
    caption, entities = formatted(item, "caption", "caption_entities", CAPTION_LIMIT)
    content: dict[str, Any] = {"caption": caption, "caption_entities": entities}
    kind = item["type"]
    folder = {"photo": "photos", "video": "videos", "audio": "music"}.get(kind, "documents")
    record = _file_from(sim, value, folder, "application/octet-stream")
    base = {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": len(record.content),
    }
    if kind == "photo":
        content["photo"] = sim.world.photo_sizes(record)
    elif kind == "video":
        content["extra"] = {"video": {**base, "width": 640, "height": 480, "duration": 1}}
    elif kind == "audio":
        content["extra"] = {"audio": {**base, "duration": 1}}
    elif kind == "document":
        name = record.file_name or record.file_path.rsplit("/", 1)[-1]
        content["document"] = {**base, "file_name": name, "mime_type": record.mime_type}
    else:
        raise bad_request(f"media type {kind} not supported by simulator", violation=True)
    return content


@method("sendMediaGroup")
def send_media_group(sim: BotApiSimulator, p: dict[str, Any]) -> list[dict[str, Any]]:
    """An album of 2-10 photos/videos, documents or audios."""
    media = p["media"]
    if not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media in the album: must be 2-10", violation=True)
    kinds = {item["type"] for item in media}
    if len(kinds) > 1 and not kinds <= {"photo", "video"}:
        raise bad_request("documents and audios can't be mixed with other media", violation=True)
    resolve_chat(sim, p["chat_id"])
    attachments = p.get(ATTACHMENTS, {})
    contents = [_album_item(sim, item, attachments) for item in media]
    group_id = str(time.monotonic_ns())
    sent = []
    for content in contents:
        extra = {**content.pop("extra", {}), "media_group_id": group_id}
        sent.append(deliver(sim, "sendMediaGroup", p, extra=extra, **content))
    return sent
