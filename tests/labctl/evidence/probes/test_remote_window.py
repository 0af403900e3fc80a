"""The window script on its own, run in this process's own event loop as a target's main
thread would run it: what it measures, and that it ends by itself and removes what it added."""

import asyncio
import gc
import json
import threading
import time
from pathlib import Path
from typing import Any

from labctl.evidence.probes import remote_window


async def parked() -> None:
    await asyncio.Event().wait()


def params(out: Path, seconds: float, stale_after: float | None = None) -> dict[str, Any]:
    stale = time.time() + 5 if stale_after is None else stale_after
    return {"out": str(out), "seconds": seconds, "stale_after": stale, "buffer": 0, "size": 0}


def test_a_window_counts_tasks_by_where_they_wait_and_ends_by_itself(tmp_path: Path) -> None:
    out = tmp_path / "window.json"
    callbacks = len(gc.callbacks)

    async def scenario() -> None:
        keep = [asyncio.create_task(parked()) for _ in range(10)]
        await asyncio.sleep(0)
        remote_window.open_window(params(out, 0.5))
        keep += [asyncio.create_task(parked()) for _ in range(30)]
        while not out.exists():
            gc.collect(2)  # one full collection the window must time
            time.sleep(0.2)  # noqa: ASYNC251 (the stall of the loop the window must see)
            await asyncio.sleep(0.05)
        for task in keep:
            task.cancel()

    asyncio.run(scenario())
    body = json.loads(out.read_text())
    before, after = body["tasks"]
    assert after["count"] - before["count"] == 30
    [waiting] = [g for g in after["groups"] if g["site"].startswith("parked (")]
    assert waiting["count"] == 40 and waiting["site"].endswith(
        f"{__file__}:{parked.__code__.co_firstlineno + 1})"
    )
    assert body["gc"][1]["pauses"]["2"]["count"] >= 1
    assert body["gc"][0]["pauses"]["2"]["count"] == 0
    stalls = body["loop"][1]["stalls"]
    assert stalls and stalls[0]["location"]["function"].endswith("scenario"), stalls
    # Its own threads are gone (by name: a thread an earlier test left may end meanwhile).
    assert len(gc.callbacks) == callbacks
    assert [t for t in threading.enumerate() if t.name == "labctl-window"] == []
    assert out.stat().st_mode & 0o777 == 0o600


def test_a_window_that_starts_too_late_does_nothing(tmp_path: Path) -> None:
    out = tmp_path / "window.json"
    remote_window.open_window(params(out, 0.1, stale_after=time.time() - 1))
    assert list(tmp_path.iterdir()) == []
