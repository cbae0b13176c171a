"""A local Telegram Bot API simulator for end-to-end tests and benchmarks.

    sim = BotApiSimulator(token="123456:TEST-token", bot_username="canhgac_test_bot")
    await sim.start()                       # 127.0.0.1, a free port
    app = (ApplicationBuilder().token(sim.token)
           .base_url(sim.base_url).base_file_url(sim.base_file_url).build())
    d = SimDriver(sim)
    alice = d.create_user("Alice", username="alice")
    chat = await d.start_private(alice)     # queues the /start update
    reply = await d.wait_for_bot_message(chat, contains="Chào")
    assert sim.violations == [] and sim.unanswered_callbacks() == []
    await sim.stop()

Every call is validated against the bundled Bot API spec (``simulator/data/botapi.json``);
calls Telegram would reject are answered as Telegram would and recorded in ``sim.violations``.
Spec methods the simulator does not implement answer ``true`` when they return a Boolean (and
are listed in ``sim.unsupported``), otherwise 400 plus a violation.
"""

from simulator.driver import SimDriver
from simulator.models import (
    ApiCall,
    CallbackRecord,
    Faults,
    Limits,
    SentRecord,
    SimChat,
    SimMessage,
    SimUser,
    Stats,
    Violation,
)
from simulator.server import BotApiSimulator

__all__ = [
    "ApiCall",
    "BotApiSimulator",
    "CallbackRecord",
    "Faults",
    "Limits",
    "SentRecord",
    "SimChat",
    "SimDriver",
    "SimMessage",
    "SimUser",
    "Stats",
    "Violation",
]
