"""What the broadcast benchmarks share: the alert copies seen in the simulator's send log, a
process's CPU time and memory, rounding, and the PASS/FAIL verdicts."""

from __future__ import annotations

import math
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator import BotApiSimulator
from simulator.models import SentRecord

SENDS = ("sendMessage", "sendPhoto")
# (metric, ">=" or "<=", target)
Target = tuple[str, str, Any]


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


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def memory_mb(pid: int | None) -> tuple[float, float] | None:
    """(resident set now, its peak so far) of a process in MiB: VmRSS and VmHWM of Linux's
    /proc/<pid>/status; None elsewhere."""
    try:
        with open(f"/proc/{pid}/status") as f:
            found = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
        return int(found["VmRSS"].split()[0]) / 1024, int(found["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def per_message_ms(cpu_s: float | None, messages: int) -> float | None:
    """Milliseconds of CPU per message."""
    return None if cpu_s is None or messages <= 0 else 1000 * cpu_s / messages


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def figures(copies: Copies, t0: float, limits: tuple[int, int]) -> dict[str, Any]:
    """Throughput, latency and correctness of the copies."""
    per_second, per_group = limits
    groups = len(copies.targets)
    firsts = sorted(times[0] for times in copies.times.values())
    delivered = len(firsts)
    seconds = (firsts[-1] - firsts[0]) if delivered > 1 else None
    rate = groups / seconds if seconds else None
    half = firsts[math.ceil(groups / 2) - 1] - t0 if delivered >= math.ceil(groups / 2) else None
    return {
        "groups": groups,
        "seconds": rounded(seconds),
        "msgs_per_s": rounded(rate, 1),
        "limit_per_s": per_second,
        "limit_per_group_per_min": per_group,
        "ratio_to_limit": rounded(rate / per_second if rate else None, 3),
        "first_delivery_s": rounded(firsts[0] - t0 if firsts else None, 3),
        "t50_s": rounded(half),
        "t100_s": rounded(firsts[-1] - t0 if delivered == groups and firsts else None),
        "delivered": delivered,
        "lost": groups - delivered,
        "duplicates": sum(len(times) - 1 for times in copies.times.values()),
        "leaked": len(copies.leaked),
    }


def verdicts(metrics: dict[str, Any], targets: Sequence[Target]) -> list[tuple[str, bool, str]]:
    """PASS/FAIL per target: (key, passed, "value op target")."""
    found = []
    for key, op, target in targets:
        value = metrics.get(key)
        passed = value is not None and (value >= target if op == ">=" else value <= target)
        found.append((key, passed, f"{value} {op} {target}"))
    return found


def print_verdicts(name: str, metrics: dict[str, Any], targets: Sequence[Target]) -> None:
    """The PASS/FAIL lines on stderr."""
    lines = [
        f"  {'PASS' if ok else 'FAIL'}  {key}: {text}"
        for key, ok, text in verdicts(metrics, targets)
    ]
    print(f"{name} benchmark:\n" + "\n".join(lines), file=sys.stderr)
