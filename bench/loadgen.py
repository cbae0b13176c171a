"""A lean load generator for the simulator: pre-encoded sendMessage bodies over N connections.

What PTB puts on the wire for an alert copy (form-encoded, nested values as JSON, the way
`telegram.request.RequestData` encodes them), without PTB's object layer on our side, so the
simulator, not the client, is what gets measured.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The shape of an alert copy as the bot sends it: HTML text, a receipt button, a tip link.
COPY_TEXT = (
    "<b>🔴 KHẨN CẤP · Lừa đảo</b>\n\n"
    "Cảnh giác cuộc gọi giả danh công an yêu cầu chuyển tiền. Không chuyển tiền, báo ngay cho "
    "công an xã.\n\n<i>Hiệu lực đến 08:15 02/12 · Tỉnh Phú Thọ · Số #1</i>"
)


def copy_body(chat_id: int, n: int, paid: bool = False) -> bytes:
    """The form body of one copy's sendMessage to `chat_id`."""
    markup = {
        "inline_keyboard": [
            [{"text": "✅ Đã nhận", "callback_data": f"ack:{n}:1"}],
            [{"text": "📨 Gửi tin báo", "url": "https://t.me/canhgac_test_bot?start=tip_25"}],
        ]
    }
    params = {
        "chat_id": str(chat_id),
        "text": COPY_TEXT,
        "parse_mode": "HTML",
        "link_preview_options": json.dumps({"is_disabled": True}),
        "reply_markup": json.dumps(markup),
    }
    if paid:
        params["allow_paid_broadcast"] = "true"
    return urlencode(params).encode()


@dataclass
class LoadResult:
    """Answers by status, wall and CPU seconds of the generator."""

    ok: int = 0
    failed: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0


async def blast(
    base_url: str, token: str, bodies: list[bytes], connections: int = 64
) -> LoadResult:
    """Post every body to sendMessage over `connections` keep-alive connections at once."""
    url = f"{base_url}{token}/sendMessage"
    result = LoadResult()
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)

    async def worker(session: aiohttp.ClientSession) -> None:
        for body in queue:
            async with session.post(url, data=body, headers=FORM) as resp:
                await resp.read()
                if resp.status == 200:
                    result.ok += 1
                else:
                    result.failed += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        began, began_cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        result.wall_s = time.monotonic() - began
        result.cpu_s = time.process_time() - began_cpu
    return result
