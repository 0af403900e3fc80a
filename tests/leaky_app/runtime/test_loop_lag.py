import asyncio
import time

from prometheus_client import CollectorRegistry

from leaky_app.metrics import Metrics
from leaky_app.runtime.loop_lag import LoopLagMonitor
from tests.polling import eventually


async def test_lag_reflects_a_blocking_call() -> None:
    registry = CollectorRegistry()
    monitor = LoopLagMonitor(
        Metrics.create(registry, runtime_collectors=False).event_loop_lag, 0.05
    )
    task = asyncio.create_task(monitor.run())
    try:
        await asyncio.sleep(0.2)
        quiet = monitor.last_lag
        time.sleep(0.4)  # noqa: ASYNC251 - the blocking call under test
        before = registry.get_sample_value("leaky_app_event_loop_lag_seconds_count") or 0
        await eventually(
            lambda: (
                (registry.get_sample_value("leaky_app_event_loop_lag_seconds_count") or 0) > before
            ),
            "the late tick is observed",
        )
        # The tick that was due during the block fired late by most of the block.
        assert monitor.last_lag > quiet
        assert monitor.last_lag >= 0.2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
