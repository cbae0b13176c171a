"""What the broadcast benchmarks share: CPU of a process, copy figures, PASS/FAIL lines."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Protocol

Target = tuple[str, str, Any]  # (metric, ">=" or "<=", bound)


class CopyTimes(Protocol):
    """Send times of the alert's copies per target group, and sends to groups outside it."""

    @property
    def targets(self) -> set[int]: ...

    @property
    def times(self) -> dict[int, list[float]]: ...

    @property
    def leaked(self) -> Sequence[object]: ...


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
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


def figures(copies: CopyTimes, t0: float, limits: tuple[int, int]) -> dict[str, Any]:
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


def verdict_lines(title: str, metrics: dict[str, Any], targets: Sequence[Target]) -> str:
    """The PASS/FAIL block printed on stderr."""
    found = verdicts(metrics, targets)
    lines = [f"  {'PASS' if ok else 'FAIL'}  {key}: {text}" for key, ok, text in found]
    return f"{title}:\n" + "\n".join(lines)
