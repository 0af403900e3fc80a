"""A breaker opens after its threshold of failures, lets a probe through after its TTL, and
reports each state it enters."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from purgatory.domain.model import OpenedState

from leaky_app.breakers import Breaker
from leaky_app.metrics import NotifyMetrics


class Down(Exception):
    pass


class NotOurs(Exception):
    pass


async def test_the_breaker_opens_reports_and_closes_after_a_good_probe() -> None:
    registry = CollectorRegistry()
    metrics = NotifyMetrics.create(registry)
    guard = Breaker("dep", threshold=2, ttl_seconds=0.2, metrics=metrics, exclude=[NotOurs])
    breaker = await guard.factory.get_breaker("dep")

    def state(name: str) -> float | None:
        return registry.get_sample_value(
            "leaky_app_circuit_breaker_state", {"breaker": "dep", "state": name}
        )

    assert (guard.state, state("closed")) == ("closed", 1.0)
    for exc in (NotOurs(), Down(), Down()):  # an excluded error does not count
        with pytest.raises(type(exc)):
            async with breaker:
                raise exc
    assert (guard.state, state("open"), state("closed")) == ("open", 1.0, 0.0)
    with pytest.raises(OpenedState):
        async with breaker:
            pass
    opened = registry.get_sample_value(
        "leaky_app_circuit_breaker_transitions_total", {"breaker": "dep", "state": "open"}
    )
    assert opened == 1.0

    async def probe() -> bool:
        try:
            async with breaker:
                return True
        except OpenedState:
            return False

    for _ in range(100):  # a 0.2 s TTL: the probe gets through well within 2 s
        if await probe():
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("no probe got through the open breaker")
    assert guard.state == "closed" and state("closed") == 1.0
