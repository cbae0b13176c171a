r"""Run a standalone Bot API simulator.

    python -m simulator --host 127.0.0.1 --port 8081 --token 123456:TEST-token \
        [--limits] [--scale 10] [--local]

Point a bot at it with ``ApplicationBuilder().base_url("http://127.0.0.1:8081/bot")
.base_file_url("http://127.0.0.1:8081/file/bot")`` (both are printed at start).
``--limits`` turns on Telegram's flood limits; ``--scale N`` makes their windows N times shorter;
``--local`` accepts plain-HTTP webhooks on any port, as a local Bot API server does (without it,
setWebhook wants HTTPS on port 80, 88, 443 or 8443, as Telegram does).

Drive the world through the JSON control API (all bodies JSON, all answers JSON; a missing or
malformed field is answered 400 with {"error", "field"}):

    GET  /_sim/state                                   users, chats, violations, stats
    POST /_sim/users     {"first_name", "username"?, "language_code"?}
    POST /_sim/groups    {"title", "members": [user ids], "admins": [user ids], "supergroup"?}
    POST /_sim/start     {"user_id", "payload"?}       user opens the bot and sends /start
    POST /_sim/bot/add   {"chat_id", "by", "as_admin"?}
    POST /_sim/bot/remove {"chat_id", "by"}
    POST /_sim/send      {"user_id", "chat_id", "text", "reply_to"?}
    POST /_sim/photo     {"user_id", "chat_id", "caption"?, "reply_to"?}
    POST /_sim/location  {"user_id", "chat_id", "latitude", "longitude", "reply_to"?}
    POST /_sim/press     {"user_id", "chat_id", "label", "message_id"?, "wait"?}
                         waits (default 5 s) for the bot's answer: "answered", "text", "show_alert"
    GET  /_sim/messages?chat_id=ID[&last=N]            the chat's messages (the newest N)
    GET  /_sim/answers[?chat_id=ID]                    every button press and the bot's answer

Example: ``curl -s localhost:8081/_sim/users -d '{"first_name": "Alice"}'``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from simulator.control import ControlApi
from simulator.models import Limits
from simulator.server import BotApiSimulator


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--username", default="canhgac_test_bot")
    parser.add_argument("--first-name", default="Canh Gác")
    parser.add_argument("--limits", action="store_true", help="enforce Telegram's flood limits")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink limit windows N times")
    parser.add_argument(
        "--local", action="store_true", help="accept plain-HTTP webhooks (a local Bot API server)"
    )
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    sim = BotApiSimulator(args.token, args.username, args.first_name, local=args.local)
    sim.extra_routes.extend(ControlApi(sim).routes())
    if args.limits:
        sim.limits = Limits(time_scale=args.scale)
    await sim.start(args.host, args.port)
    print(f"base_url      {sim.base_url}", flush=True)
    print(f"base_file_url {sim.base_file_url}", flush=True)
    print(f"control API   http://{sim.host}:{sim.port}/_sim/state", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main() -> None:
    """Entry point of ``python -m simulator``."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parse_args()))


if __name__ == "__main__":
    main()
