"""Lab 09, the fix exercise: an idle stream connection must cost memory in proportion to what
it holds, not a resume ring's full size from the moment it connects.

This test fails until the fix is made. Check your fix with::

    labctl lab check 09 --fix
"""

import gc
import tracemalloc

from prometheus_client import CollectorRegistry

from leaky_app.links.click_stream import ClickStream
from leaky_app.metrics import WebsocketMetrics

CONNECTIONS = 500


def test_idle_connections_cost_little_each_with_resume_rings_on() -> None:
    stream = ClickStream(CONNECTIONS, 16, WebsocketMetrics.create(CollectorRegistry()),
                         max_per_client=CONNECTIONS)  # fmt: skip
    stream.resume_kib = 64
    stream.max_resume_bytes = CONNECTIONS * 64 * 1024
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        subscribers = [stream.subscribe(f"code{i % 7}", client="10.0.0.9")
                       for i in range(CONNECTIONS)]  # fmt: skip
        per_connection = (tracemalloc.get_traced_memory()[0] - before) / CONNECTIONS
    finally:
        tracemalloc.stop()
    assert len(stream) == CONNECTIONS
    assert per_connection < 8 * 1024, (
        f"each idle connection took {per_connection / 1024:.0f} KiB: its resume ring is "
        "allocated at its largest before a single event arrives"
    )
    for sub in subscribers:
        stream.unsubscribe(sub)
    assert len(stream) == 0
