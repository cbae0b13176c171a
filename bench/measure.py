"""For the benchmarks that read an in-process simulator's send log: the alert copies seen there
and a process's memory (the rest is shared through bench/report.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from simulator import BotApiSimulator
from simulator.models import SentRecord

SENDS = ("sendMessage", "sendPhoto")


@dataclass
class Copies:
    """Copies of an alert (messages containing `text`) seen in the simulator's send log, read
    incrementally; sends to `others` are leaks whatever they contain."""

    sim: BotApiSimulator
    targets: set[int]
    others: set[int]
    text: str
    since: float = 0.0
    seen: int = 0
    times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    leaked: list[SentRecord] = field(default_factory=list)

    def scan(self) -> int:
        """Read new send records; how many target groups have a copy."""
        records = self.sim.stats.sent
        for record in records[self.seen :]:
            if record.method not in SENDS or record.time < self.since:
                continue
            if record.chat_id in self.others:
                self.leaked.append(record)
            elif record.chat_id in self.targets and self._is_alert(record):
                self.times[record.chat_id].append(record.time)
        self.seen = len(records)
        return len(self.times)

    def _is_alert(self, record: SentRecord) -> bool:
        chat = self.sim.world.chats.get(record.chat_id)
        message = chat.messages.get(record.message_id) if chat else None
        body = (message.text or message.caption or "") if message else ""
        return self.text in body


def memory_mb(pid: int | None) -> tuple[float, float] | None:
    """(resident set now, its peak so far) of a process in MiB: VmRSS and VmHWM of Linux's
    /proc/<pid>/status; None elsewhere."""
    try:
        with open(f"/proc/{pid}/status") as f:
            found = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
        return int(found["VmRSS"].split()[0]) / 1024, int(found["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None
