"""Settings of the delivery engine and its rate limiter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeliveryConfig:
    """Telegram's limits (defaults as documented) and the engine's tuning."""

    global_per_second: int = 30
    group_per_minute: int = 20
    private_per_second: int = 1
    paid_broadcast: bool = False
    paid_global_per_second: int = 1000
    # Slots of the global window that bulk sends leave free for interactive replies.
    interactive_reserve: int = 1
    # Added to every window's span. Requests count from their answer once answered, which
    # bounds Telegram's own timestamp whatever the delays; this only absorbs clock granularity.
    window_margin: float = 0.01
    # Global grants are paced: at most limit * pace_seconds of them in any pace_seconds.
    pace_seconds: float = 0.03
    batch_size: int = 100
    # Rows being sent at once; most of them wait in the limiter, few are on the wire.
    max_in_flight: int = 200
    lease_seconds: float = 120.0
    # While at least write_batch rows are in flight, outcomes are recorded in one transaction
    # per write_batch of them, or after write_wait seconds (else after 20 ms); a crash resends
    # the copies of outcomes not yet recorded.
    write_batch: int = 100
    write_wait: float = 0.25
    # Transient failures (5xx, network, time-outs) retry with exponential backoff capped at
    # backoff_max: 20 attempts span 30 to 55 minutes, so a Telegram outage loses nothing.
    max_attempts: int = 20
    backoff_base: float = 0.5
    backoff_max: float = 300.0
    poll_interval: float = 0.5
    redis_url: str | None = None
    # Where the windows live: "auto" (Redis if redis_url, else the PostgreSQL table when the
    # database is PostgreSQL, else memory), or "local" for a single sender process.
    rate_store: str = "auto"
    redis_prefix: str = "canhgac:rl"
    # Shared stores (Redis, PostgreSQL) place up to rate_lease_batch waiting requests per round
    # trip, on slots of the next rate_lease_horizon seconds; a slot counts as used until
    # rate_lease_validity after its time unless reported answered earlier (bot/delivery/leases.py).
    rate_leases: bool = True  # False: one store round trip per request (windows.py)
    rate_lease_batch: int = 64
    rate_lease_horizon: float = 0.1
    rate_lease_validity: float = 0.5
    # Max times one request waits out a 429 inside the limiter before the error is raised.
    retry_after_attempts: int = 3
    # Alert copies and their edits posted through the lean client (bot/delivery/fastpath.py)
    # instead of PTB's request layer; False sends everything through PTB.
    fast_path: bool = True

    @property
    def bulk_global_per_second(self) -> int:
        """The global limit that applies to the engine's sends."""
        return self.paid_global_per_second if self.paid_broadcast else self.global_per_second
