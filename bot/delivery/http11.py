"""A minimal pooled HTTP/1.1 client for posting JSON to one Bot API server.

General clients (httpx, aiohttp) build request and response objects, header multidicts,
timers and streams per call; at hundreds of sends a second that is most of the bot's CPU. This
one keeps a few keep-alive connections (TLS when the URL is https) to the one server, writes
each request as one buffer and parses only the status line, the framing headers and the body
(Content-Length, chunked, or until close). Anything unexpected closes the connection and
raises, never guesses.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

MAX_HEADER = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class HttpError(OSError):
    """The connection failed, closed early, or the answer was not HTTP/1.1 as expected."""


@dataclass(frozen=True)
class Origin:
    """Where requests go: scheme, host, port and the path prefix of every request."""

    secure: bool
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        return cls(secure, parts.hostname, port, parts.path or "/")

    @property
    def host_header(self) -> str:
        default = 443 if self.secure else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.generation = 0  # the pool's generation when it was opened
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # uvloop's transports are not asyncio.Transport subclasses
            self.transport = cast(asyncio.Transport, transport)
            self.open = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        answer = self._answer
        if answer is not None and not answer.done():
            done = _parse(self._buffer, at_eof=True)
            if done is not None:
                answer.set_result((done[0], done[1], False))
            else:
                answer.set_exception(HttpError(f"connection closed before the answer: {exc}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        answer = self._answer
        if answer is None or answer.done():
            self.close()  # nothing was asked: the stream is out of step
            return
        try:
            done = _parse(self._buffer, at_eof=False)
        except HttpError as exc:
            answer.set_exception(exc)
            self.close()
            return
        if done is not None:
            status, body, keep_alive, used = done
            del self._buffer[:used]
            answer.set_result((status, body, keep_alive and not self._buffer))

    async def ask(self, request: bytes, timeout: float) -> tuple[int, bytes, bool]:  # noqa: ASYNC109
        """Write one request; (status, body, whether to keep the connection)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        answer = self._answer = loop.create_future()
        self._buffer.clear()
        timer = loop.call_later(timeout, self._timed_out, answer)
        try:
            self.transport.write(request)
            return await answer
        finally:
            timer.cancel()
            self._answer = None

    def _timed_out(self, answer: asyncio.Future[tuple[int, bytes, bool]]) -> None:
        if not answer.done():
            answer.set_exception(TimeoutError("no answer in time"))
        self.close()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.abort()


def _parse(buffer: bytearray, *, at_eof: bool) -> tuple[int, bytes, bool, int] | None:
    """(status, body, keep-alive, bytes used) once the buffer holds a whole answer, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEADER:
            raise HttpError("answer headers too long")
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    version, _, rest = head[0].partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise HttpError(f"not an HTTP/1.x answer: {head[0][:80]!r}")
    status = int(rest[:3])
    length, chunked, close = None, False, version == "HTTP/1.0"
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            token = value.strip().lower()
            close = token == "close" or (close and token != "keep-alive")
    start = end + 4
    if chunked:
        return _chunked(buffer, start, status, not close)
    if length is not None:
        if length > MAX_BODY:
            raise HttpError("answer body too large")
        if len(buffer) - start < length:
            return None
        return status, bytes(buffer[start : start + length]), not close, start + length
    if status in (204, 304) or 100 <= status < 200:
        return status, b"", not close, start
    if not at_eof:  # the body runs to the end of the connection
        return None
    return status, bytes(buffer[start:]), False, len(buffer)


def _chunked(
    buffer: bytearray, at: int, status: int, keep_alive: bool
) -> tuple[int, bytes, bool, int] | None:
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = bytes(buffer[at:line_end]).split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise HttpError("bad chunk size") from exc
        at = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", at)
            while trailer_end >= 0 and trailer_end != at:  # skip trailer fields
                at = trailer_end + 2
                trailer_end = buffer.find(b"\r\n", at)
            if trailer_end < 0:
                return None
            return status, bytes(body), keep_alive, trailer_end + 2
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at : at + size]
        if len(body) > MAX_BODY:
            raise HttpError("answer body too large")
        at += size + 2


def _ca_file() -> str | None:
    """certifi's bundle when installed (as httpx uses), else the system's store."""
    try:
        import certifi
    except ImportError:
        return None
    return str(certifi.where())


class Http11Pool:
    """Up to `connections` keep-alive connections to one origin; requests beyond wait."""

    def __init__(
        self,
        url: str,
        *,
        connections: int = 8,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
    ) -> None:
        self.origin = Origin.of(url)
        self._limit = max(1, connections)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: collections.deque[_Connection] = collections.deque()
        self._count = 0  # connections open or opening
        self._generation = 0  # closing the pool starts a new one: older connections are closed
        self._waiting: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()
        self._ssl: ssl.SSLContext | None = None
        self._prefix = (
            f"Host: {self.origin.host_header}\r\nUser-Agent: canhgac\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode("ascii")

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST `body` (JSON) to the origin's path + `path`; (status, answer body)."""
        request = b"POST %s%s HTTP/1.1\r\n%s%d\r\n\r\n%s" % (
            self.origin.path.encode("ascii"),
            path.encode("ascii"),
            self._prefix,
            len(body),
            body,
        )
        connection = await self._acquire()
        keep = False
        try:
            status, payload, keep = await connection.ask(request, self._read_timeout)
            return status, payload
        finally:
            self._release(connection, keep)

    async def _acquire(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()  # the most recently used: least likely timed out
            if connection.open:
                return connection
            self._count -= 1
        if self._count < self._limit:
            self._count += 1
            try:
                return await self._connect()
            except BaseException:
                self._count -= 1
                self._wake_one()
                raise
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            handed = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                late = waiter.result()
                if late is not None:
                    self._release(late, True)  # handed over as we were cancelled
                else:
                    self._wake_one()  # pass the room for a connection on
            raise
        return handed if handed is not None else await self._acquire()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        generation = self._generation
        secure = self.origin.secure
        if secure and self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=_ca_file())
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(
                _Connection,
                self.origin.host,
                self.origin.port,
                ssl=self._ssl if secure else None,
                server_hostname=self.origin.host if secure else None,
            ),
            self._connect_timeout,
        )
        if protocol.transport is None:  # uvloop may report the connection made only later
            protocol.connection_made(transport)
        protocol.generation = generation
        return protocol

    def _release(self, connection: _Connection, keep: bool) -> None:
        if connection.generation != self._generation:  # in flight when the pool was closed
            connection.close()
            return
        if not (keep and connection.open):
            connection.close()
            self._count -= 1
            self._wake_one()  # room for a new connection
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # go and open a connection
                return

    async def close(self) -> None:
        """Close every connection (those in flight once answered); waiting requests fail. The
        pool can be used again afterwards."""
        self._generation += 1
        while self._idle:
            self._idle.pop().close()
        self._count = 0
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(HttpError("client closed"))
