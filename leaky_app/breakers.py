"""Circuit breakers (purgatory) whose state the service reports: one per dependency that can
fail under it (SMTP, the reputation service), each with its state on ``/readyz`` and in
``leaky_app_circuit_breaker_state`` (seed Q364).

Usage::

    guard = Breaker("smtp", threshold=5, ttl_seconds=5, metrics=metrics.notify)
    breaker = await guard.factory.get_breaker(guard.name)
    async with breaker:            # raises purgatory's OpenedState while open
        await send()
    guard.state                    # "closed", "open" or "half_open"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from prometheus_client import Counter
from purgatory import AsyncCircuitBreakerFactory


class BreakerMetrics(Protocol):
    """Where a breaker reports (``NotifyMetrics`` holds the service's breaker metrics)."""

    @property
    def breaker_transitions(self) -> Counter: ...

    def set_breaker_state(self, breaker: str, state: str) -> None: ...


class Breaker:
    def __init__(
        self,
        name: str,
        threshold: int,
        ttl_seconds: float,
        metrics: BreakerMetrics,
        exclude: Sequence[type[BaseException]] = (),
    ) -> None:
        self.name = name
        self.factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=ttl_seconds, exclude=list(exclude)
        )
        self.factory.add_listener(self._on_event)
        self.state = "closed"
        self.metrics = metrics
        metrics.set_breaker_state(name, "closed")

    def _on_event(self, name: str, event_type: str, event: Any) -> None:
        if event_type == "state_changed":
            self.state = str(event.state).replace("opened", "open").replace("-", "_")
            self.metrics.set_breaker_state(name, self.state)
            self.metrics.breaker_transitions.labels(breaker=name, state=self.state).inc()
