"""The delivery fast path's HTTP/1.1 client: framing, keep-alive, limits, failures, uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
import uvloop

from bot.delivery.http11 import Http11Pool, HttpError, Origin, _parse

Answer = Callable[[bytes], list[bytes]]  # request body -> the answer, in pieces written apart


class Server:
    """A local HTTP server answering each request with `answer(body)`; counts connections."""

    def __init__(self, answer: Answer, close_after: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/bot123:abc/"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                self.requests.append(head.split(b"\r\n")[0])
                for piece in self.answer(body):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.001)
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def ok(body: bytes) -> list[bytes]:
    """Echo the body, its answer split across writes."""
    answer = b'{"ok":true,"result":' + body + b"}"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    whole = head % len(answer) + answer
    return [whole[:10], whole[10:50], whole[50:]]


def chunked(body: bytes) -> list[bytes]:
    answer = b'{"ok":false,"error_code":403,"description":"Forbidden: ' + body + b'"}'
    half = len(answer) // 2
    return [
        b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"%x;ext=1\r\n%s\r\n" % (half, answer[:half]),
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(answer) - half, answer[half:]),
    ]


@pytest_asyncio.fixture
async def echo() -> AsyncIterator[tuple[Server, str]]:
    server = Server(ok)
    url = await server.start()
    yield server, url
    await server.stop()


async def test_posts_and_reuses_connections(echo: tuple[Server, str]) -> None:
    server, url = echo
    pool = Http11Pool(url, connections=3)
    try:
        answers = await asyncio.gather(
            *(pool.post_json("sendMessage", b'{"n":%d}' % i) for i in range(30))
        )
    finally:
        await pool.close()
    assert [a for a in answers] == [(200, b'{"ok":true,"result":{"n":%d}}' % i) for i in range(30)]
    assert server.requests[0] == b"POST /bot123:abc/sendMessage HTTP/1.1"
    assert server.connections <= 3 and server.most_open <= 3


async def test_chunked_answer() -> None:
    server = Server(chunked)
    url = await server.start()
    pool = Http11Pool(url)
    try:
        status, body = await pool.post_json("sendMessage", b"bot was kicked")
        again = await pool.post_json("sendMessage", b"again")
    finally:
        await pool.close()
        await server.stop()
    assert status == 403
    assert body == b'{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked"}'
    assert again[0] == 403 and server.connections == 1  # kept alive after a chunked answer


async def test_server_closing_each_connection() -> None:
    def closing(body: bytes) -> list[bytes]:
        return [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"]

    server = Server(closing, close_after=True)
    url = await server.start()
    pool = Http11Pool(url, connections=2)
    try:
        for _ in range(3):
            assert await pool.post_json("getMe", b"{}") == (200, b"{}")
    finally:
        await pool.close()
        await server.stop()
    assert server.connections == 3


async def test_connection_dropped_before_the_answer() -> None:
    server = Server(lambda body: [b"HTTP/1.1 200 OK\r\nContent-Le"], close_after=True)
    url = await server.start()
    pool = Http11Pool(url)
    try:
        with pytest.raises(HttpError):
            await pool.post_json("getMe", b"{}")
    finally:
        await pool.close()
        await server.stop()


async def test_no_answer_in_time() -> None:
    server = Server(lambda body: [])
    url = await server.start()
    pool = Http11Pool(url, read_timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await pool.post_json("getMe", b"{}")
    finally:
        await pool.close()
        await server.stop()


async def test_refused() -> None:
    pool = Http11Pool("http://127.0.0.1:9/bot1:x/", connect_timeout=2.0)
    with pytest.raises(OSError):
        await pool.post_json("getMe", b"{}")
    await pool.close()


def test_under_uvloop() -> None:
    """The bot runs on uvloop, whose transports differ from asyncio's."""

    async def main() -> list[tuple[int, bytes]]:
        server = Server(ok)
        url = await server.start()
        pool = Http11Pool(url, connections=2)
        try:
            return await asyncio.gather(*(pool.post_json("m", b"%d" % i) for i in range(5)))
        finally:
            await pool.close()
            await server.stop()

    answers = uvloop.run(main())
    assert answers == [(200, b'{"ok":true,"result":%d}' % i) for i in range(5)]


def test_parse_framing() -> None:
    whole = bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcdHTTP/1.1")
    assert _parse(whole, at_eof=False) == (200, b"abcd", True, len(whole) - 8)
    assert (
        _parse(bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"), at_eof=False) is None
    )
    until_close = bytearray(b"HTTP/1.0 502 Bad Gateway\r\n\r\n<html>")
    assert _parse(until_close, at_eof=False) is None
    assert _parse(until_close, at_eof=True) == (502, b"<html>", False, len(until_close))
    with pytest.raises(HttpError):
        _parse(bytearray(b"SSH-2.0-OpenSSH\r\n\r\n"), at_eof=False)


def test_origin() -> None:
    assert Origin.of("https://api.telegram.org/bot1:x/") == Origin(
        True, "api.telegram.org", 443, "/bot1:x/"
    )
    assert Origin.of("http://127.0.0.1:8081/bot1:x/").host_header == "127.0.0.1:8081"
    with pytest.raises(ValueError):
        Origin.of("ftp://example.org/")


async def test_closed_while_in_flight_then_used_again(echo: tuple[Server, str]) -> None:
    server, url = echo
    pool = Http11Pool(url, connections=1)
    in_flight = asyncio.ensure_future(pool.post_json("a", b"1"))
    await asyncio.sleep(0)  # the request is written
    await pool.close()
    assert await in_flight == (200, b'{"ok":true,"result":1}')  # answered, then closed
    for i in range(3):  # one new connection, the limit still 1
        assert (await pool.post_json("b", b"%d" % i))[0] == 200
    await pool.close()
    assert server.connections == 2 and server.most_open <= 2
