"""The simulator in a process of its own, and a client of its /_sim/ control API.

    async with SimulatorProcess(["--paid"]) as process:
        remote = RemoteSimulator(process.control_url, process.token)
        user = await remote.create_user("Lan")
        ...

`RemoteDriver` plays people through that API with the calls `bench.officer.OfficerAtKeyboard`
makes of a `SimDriver`, so the same officer drives an in-process or a remote simulator.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from simulator.models import SentRecord, SimUser, first_match

REPO = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-token"


class SimulatorProcess:
    """`python -m simulator --port 0 ARGS` as a child process; its URLs once it listens."""

    def __init__(self, args: Sequence[str] = (), token: str = TOKEN) -> None:
        self.args = list(args)
        self.token = token
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""
        self.control_url = ""

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Launch it and wait for the line naming its base URL."""
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO)}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulator",
            "--port",
            "0",
            "--token",
            self.token,
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        words = line.decode().split()
        if len(words) != 2 or words[0] != "base_url":
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.base_url = words[1]
        self.control_url = self.base_url.removesuffix("/bot") + "/_sim"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def stop(self, timeout: float = 30.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM (which also writes a --profile), then wait; the exit status."""
        return await terminate(self.process, timeout)

    async def __aenter__(self) -> SimulatorProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class RemoteError(RuntimeError):
    """The control API refused a request (its 400 answer's error and field)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RemoteSimulator:
    """A client of a simulator's /_sim/ control API (one aiohttp session; close() it)."""

    def __init__(self, control_url: str, token: str = TOKEN) -> None:
        self.control_url = control_url.rstrip("/")
        self.token = token
        self.base_url = self.control_url.removesuffix("/_sim") + "/bot"
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self._session

    async def get(self, path: str, **params: Any) -> Any:
        """GET /_sim/<path>; the JSON answer."""
        query = {k: str(v) for k, v in params.items() if v is not None}
        async with self._http().get(f"{self.control_url}/{path}", params=query) as resp:
            return await _answer(resp)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST /_sim/<path> with a JSON body; the JSON answer."""
        async with self._http().post(f"{self.control_url}/{path}", json=body) as resp:
            return await _answer(resp)

    async def create_user(self, first_name: str, username: str | None = None) -> SimUser:
        data = await self.post("users", {"first_name": first_name, "username": username})
        return SimUser(data["id"], data["first_name"], username=data.get("username"))

    async def create_groups(self, groups: list[dict[str, Any]]) -> list[int]:
        """Many groups at once (the fields of /_sim/groups each); their ids."""
        ids: list[int] = (await self.post("groups/many", {"groups": groups}))["ids"]
        return ids

    async def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = await self.get("stats")
        return found

    async def sent(self, offset: int, text: bool = False) -> tuple[list[SentLine], int]:
        """Send-log records from `offset` on, and the offset to read on from."""
        data = await self.get("sent", offset=offset, text=1 if text else None)
        lines = [
            SentLine(
                SentRecord(r["time"], r["chat_id"], r["message_id"], r["method"]), r.get("text")
            )
            for r in data["records"]
        ]
        return lines, int(data["next"])


@dataclass(frozen=True)
class SentLine:
    """One record of a remote send log, with the message's text when asked for."""

    record: SentRecord
    text: str | None = None


async def _answer(resp: aiohttp.ClientResponse) -> Any:
    data = await resp.json(content_type=None)
    if resp.status != 200:
        field = data.get("field") if isinstance(data, dict) else None
        raise RemoteError(f"{resp.method} {resp.url.path}: {resp.status} {data}", field)
    return data


@dataclass(frozen=True)
class RemoteChat:
    """A chat of the remote world, by id."""

    id: int
    type: str = "private"
    title: str | None = None


@dataclass
class RemoteMessage:
    """A message as /_sim/messages shows it (the fields an officer at the keyboard reads)."""

    message_id: int
    chat_id: int
    from_bot: bool
    text: str | None
    caption: str | None
    buttons: list[list[str]] = field(default_factory=list)
    force_reply: bool = False
    deleted: bool = False

    @classmethod
    def of(cls, data: dict[str, Any]) -> RemoteMessage:
        return cls(
            data["message_id"],
            data["chat_id"],
            data["from_bot"],
            data["text"],
            data["caption"],
            data["buttons"],
            data["force_reply"],
            data["deleted"],
        )


POLL = 0.05  # seconds between two looks at a remote chat while waiting


class RemoteDriver:
    """Plays people through a remote simulator: the SimDriver calls an officer makes."""

    def __init__(self, remote: RemoteSimulator) -> None:
        self.remote = remote

    def private_chat(self, user: SimUser) -> RemoteChat:
        return RemoteChat(user.id)

    async def start_private(self, user: SimUser, payload: str | None = None) -> RemoteChat:
        await self.remote.post("start", {"user_id": user.id, "payload": payload})
        return RemoteChat(user.id)

    async def send_text(
        self,
        user: SimUser,
        chat: RemoteChat,
        text: str,
        reply_to: RemoteMessage | None = None,
    ) -> RemoteMessage:
        body = {"user_id": user.id, "chat_id": chat.id, "text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to.message_id
        return RemoteMessage.of(await self.remote.post("send", body))

    async def press_button(
        self,
        user: SimUser,
        chat: RemoteChat,
        label: str,
        message: RemoteMessage | None = None,
    ) -> str:
        """Press an inline button (not waiting for the bot's answer); the callback query id."""
        body: dict[str, Any] = {"user_id": user.id, "chat_id": chat.id, "label": label, "wait": 0}
        if message is not None:
            body["message_id"] = message.message_id
        answer = await self.remote.post("press", body)
        return str(answer["callback_query_id"])

    async def bot_messages(self, chat: RemoteChat) -> list[RemoteMessage]:
        """The bot's messages in a chat that are not deleted, oldest first."""
        try:
            found = await self.remote.get("messages", chat_id=chat.id)
        except RemoteError as exc:
            if exc.field == "chat_id" and chat.type == "private":
                return []  # a private chat exists once its user opens it
            raise
        return [m for m in map(RemoteMessage.of, found) if m.from_bot and not m.deleted]

    async def last_bot_message(self, chat: RemoteChat) -> RemoteMessage | None:
        found = await self.bot_messages(chat)
        return found[-1] if found else None

    async def wait_for_bot_message(
        self,
        chat: RemoteChat,
        contains: str | None = None,
        predicate: Callable[[RemoteMessage], bool] | None = None,
        after: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the SimDriver API
    ) -> RemoteMessage:
        """The oldest bot message in `chat` newer than `after` that matches."""
        deadline = time.monotonic() + timeout
        while True:
            messages = await self.bot_messages(chat)
            found = first_match(messages, after, contains, predicate)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                seen = [(m.message_id, m.text or m.caption) for m in messages]
                raise TimeoutError(
                    f"no bot message (contains={contains!r}, after={after}) within {timeout}s; "
                    f"bot messages in chat: {seen}"
                )
            await asyncio.sleep(POLL)


async def terminate(
    process: asyncio.subprocess.Process | None,
    timeout: float = 30.0,  # noqa: ASYNC109
) -> int | None:
    """SIGTERM, wait up to `timeout` for the exit (then kill); the exit status."""
    if process is None:
        return None
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode
