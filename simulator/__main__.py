r"""Run a standalone Bot API simulator.

    python -m simulator --host 127.0.0.1 --port 8081 --token 123456:TEST-token \
        [--limits] [--scale 10] [--paid] [--global-per-second N] [--group-per-minute N] \
        [--private-per-second N] [--paid-per-second N] [--local] [--no-uvloop] [--profile FILE]

Point a bot at it with ``ApplicationBuilder().base_url("http://127.0.0.1:8081/bot")
.base_file_url("http://127.0.0.1:8081/file/bot")`` (both are printed at start).
``--limits`` turns on Telegram's flood limits (30 msg/s overall, 20 msg/min per group, 1 msg/s
per private chat, 1,000 msg/s overall for sends with ``allow_paid_broadcast``); ``--scale N``
makes their windows N times shorter; ``--paid`` is ``--limits`` as a paid-broadcast benchmark
wants them (Telegram's limits, paid sends at 1,000 msg/s). Each ``--*-per-*`` flag sets one
limit (and turns the limits on). ``--local`` accepts plain-HTTP webhooks on any port, as a local
Bot API server does (without it, setWebhook wants HTTPS on port 80, 88, 443 or 8443, as Telegram
does). The event loop is uvloop when installed (``--no-uvloop``: asyncio's own). ``--profile
FILE`` runs the process under cProfile and writes its stats to FILE at exit (SIGTERM or Ctrl-C).

Drive the world through the JSON control API (all bodies JSON, all answers JSON; a missing or
malformed field is answered 400 with {"error", "field"}):

    GET  /_sim/state                                   users, chats, violations, stats
    GET  /_sim/stats                                   counters only: calls, errors, 429s, sends
    GET  /_sim/sent?offset=N[&limit=M][&text=1]        the send log from record N on
    POST /_sim/users     {"first_name", "username"?, "language_code"?}
    POST /_sim/groups    {"title", "members": [user ids], "admins": [user ids], "supergroup"?,
                          "with_bot"?}
    POST /_sim/groups/many {"groups": [{the fields of /_sim/groups}, ...]}  -> {"ids": [...]}
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
import cProfile
import signal
from collections.abc import Coroutine
from typing import Any

from simulator.control import ControlApi
from simulator.models import Limits
from simulator.server import BotApiSimulator

# Limit flags: argparse destination -> the Limits field it sets.
LIMIT_FLAGS = {
    "global_per_second": "global_per_second",
    "group_per_minute": "group_per_minute",
    "private_per_second": "private_per_second",
    "paid_per_second": "paid_global_per_second",
}


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--username", default="canhgac_test_bot")
    parser.add_argument("--first-name", default="Canh Gác")
    parser.add_argument("--limits", action="store_true", help="enforce Telegram's flood limits")
    parser.add_argument(
        "--paid", action="store_true", help="limits on, paid broadcast at 1,000 msg/s overall"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="shrink limit windows N times")
    for flag in LIMIT_FLAGS:
        parser.add_argument(f"--{flag.replace('_', '-')}", type=_positive, default=None)
    parser.add_argument(
        "--local", action="store_true", help="accept plain-HTTP webhooks (a local Bot API server)"
    )
    parser.add_argument("--no-uvloop", action="store_true", help="asyncio's own event loop")
    parser.add_argument("--profile", default=None, help="write cProfile stats to this file")
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def limits_of(args: argparse.Namespace) -> Limits | None:
    """The flood limits the flags ask for, None when they are off."""
    chosen = {field: getattr(args, flag) for flag, field in LIMIT_FLAGS.items()}
    chosen = {k: v for k, v in chosen.items() if v is not None}
    if not (args.limits or args.paid or chosen):
        return None
    return Limits(time_scale=args.scale, **chosen)


async def _serve(args: argparse.Namespace) -> None:
    sim = BotApiSimulator(args.token, args.username, args.first_name, local=args.local)
    sim.extra_routes.extend(ControlApi(sim).routes())
    sim.limits = limits_of(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await sim.start(args.host, args.port)
    print(f"base_url      {sim.base_url}", flush=True)
    print(f"base_file_url {sim.base_file_url}", flush=True)
    print(f"control API   http://{sim.host}:{sim.port}/_sim/state", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def _run(main: Coroutine[Any, Any, None], use_uvloop: bool) -> None:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m simulator``."""
    args = _parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            _run(_serve(args), not args.no_uvloop)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
