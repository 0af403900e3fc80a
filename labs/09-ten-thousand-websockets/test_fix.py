"""Lab 09, the fix exercise: an idle stream connection must cost memory in proportion to what
it holds, not a full backlog of the longest events from the moment it connects.

This test fails until the fix is made. Check your fix with::

    labctl lab check 09 --fix
"""

import gc
import json
import tracemalloc

from prometheus_client import CollectorRegistry

from leaky_app.links.click_stream import ClickStream
from leaky_app.metrics import WebsocketMetrics

CONNECTIONS = 500


def test_idle_connections_cost_little_each_with_packed_backlogs_on() -> None:
    stream = ClickStream(CONNECTIONS, 64, WebsocketMetrics.create(CollectorRegistry()),
                         max_per_client=CONNECTIONS)  # fmt: skip
    stream.max_packed_bytes = 1 << 30
    stream.use_backlog("packed")
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
        f"each idle connection took {per_connection / 1024:.0f} KiB: its backlog is "
        "allocated at its largest before a single event arrives"
    )
    # The fix keeps the stream's answer: every subscriber of a code gets its clicks, in order.
    for n in range(3):
        stream.publish("code1", f"https://example.org/{n}/\u00e9", float(n))
    got = [[json.loads(text)["url"] for text in sub.take()] for sub in subscribers[1::7]]
    assert got == [[f"https://example.org/{n}/\u00e9" for n in range(3)]] * len(got)
    assert subscribers[0].take() == []
