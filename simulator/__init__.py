"""A local Telegram Bot API simulator for end-to-end tests and benchmarks."""

from simulator.driver import SimDriver
from simulator.models import (
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
