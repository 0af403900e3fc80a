"""The task tracker: creation sites through asyncio's helpers, the finished-task history with
outcomes, and records that leave with their tasks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Iterator

import pytest

from leaky_app.debug import tasks
from leaky_app.debug.tasks import TaskTracker
from tests.leaky_app.debug.conftest import DebugHandle
from tests.polling import eventually


def warnings_silenced() -> contextlib.AbstractContextManager[None]:
    """asyncio logs 'Task was destroyed but it is pending!' for each: that is the point."""
    return _quiet_asyncio_logger()


@contextlib.contextmanager
def _quiet_asyncio_logger() -> Iterator[None]:
    logger = logging.getLogger("asyncio")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _ok() -> int:
    return 1


async def _boom() -> None:
    raise ValueError("no")


async def _forever() -> None:
    await asyncio.get_running_loop().create_future()  # only this task can reach it


async def test_sites_name_the_caller_not_asyncio_and_history_keeps_outcomes() -> None:
    loop = asyncio.get_running_loop()
    tracker = TaskTracker(history=10)
    tracker.install(loop)
    try:
        direct = loop.create_task(_ok(), name="direct")
        via_helper = asyncio.create_task(_ok(), name="helper")
        site_line = test_sites_name_the_caller_not_asyncio_and_history_keeps_outcomes
        sites = [tracker.meta(t) for t in (direct, via_helper)]
        failing = asyncio.create_task(_boom(), name="failing")
        cancelled = asyncio.create_task(asyncio.sleep(10), name="cancelled")
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(direct, via_helper, failing, cancelled, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run one loop turn after the task ends
    finally:
        tracker.uninstall(loop)
    for meta in sites:
        assert meta is not None and meta.site is not None
        assert meta.site.function == site_line.__name__
    outcomes = {t.name: t.outcome for t in tracker.history}
    assert outcomes == {
        "direct": "result",
        "helper": "result",
        "failing": "exception: ValueError",
        "cancelled": "cancelled",
    }
    assert all(t.site.startswith(site_line.__name__) for t in tracker.history)
    assert tracker.meta(direct) is None  # a finished task's record moved to the history


async def test_records_of_tasks_destroyed_while_pending_are_swept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    tracker = TaskTracker()
    monkeypatch.setattr(tasks, "_SWEEP_AT", 50)
    tracker.install(loop)
    try:
        # Dropped while waiting on a future only they can reach: collected as garbage
        # pending, so their done callbacks never run and only the sweep removes them.
        dropped = [loop.create_task(_forever()) for _ in range(60)]
        await asyncio.sleep(0)
        del dropped
        with warnings_silenced():
            gc.collect()
        assert len(tracker._meta) == 60
        kept = [loop.create_task(_forever()) for _ in range(3)]  # the first one sweeps
        assert len(tracker._meta) == 3
        assert all(tracker.meta(t) is not None for t in kept)
        for task in kept:
            task.cancel()
        await asyncio.gather(*kept, return_exceptions=True)
    finally:
        tracker.uninstall(loop)


_parked: list[asyncio.Task[None]] = []


async def _wait_forever(future: asyncio.Future[None]) -> None:
    await future


def register_webhook_waiters(n: int, future: asyncio.Future[None]) -> None:
    """Creates tasks that await a future nobody resolves: a task leak in miniature."""
    for _ in range(n):
        _parked.append(asyncio.create_task(_wait_forever(future)))


async def test_tasks_group_by_site_ranks_the_leaking_site_first(debug: DebugHandle) -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    short_lived = [asyncio.create_task(asyncio.sleep(0.01)) for _ in range(3)]
    register_webhook_waiters(60, future)
    try:
        body = (await debug.client.get("/debug/tasks?group=site")).json()
        top = body["groups"][0]
        assert "register_webhook_waiters" in top["site"]
        assert top["count"] == 60
        assert body["creation_sites_recorded"] is True

        listing = (await debug.client.get("/debug/tasks?limit=1000")).json()["tasks"]
        leaked = [t for t in listing if "register_webhook_waiters" in t["site"]]
        assert len(leaked) == 60
        chain = leaked[0]["await_chain"]
        assert any("_wait_forever" in frame for frame in chain)
        assert chain[-1].startswith("awaiting Future")
        assert leaked[0]["age_seconds"] is not None

        victim = leaked[0]["id"]
        response = await debug.client.post(f"/debug/tasks/{victim}/cancel")
        assert response.status_code == 202
        await eventually(lambda: any(t.cancelled() for t in _parked), "the task is cancelled")
        history = (await debug.client.get("/debug/tasks/history")).json()["finished"]
        assert any(h["id"] == victim and h["outcome"] == "cancelled" for h in history)
        assert (await debug.client.post("/debug/tasks/999999999/cancel")).status_code == 404
    finally:
        future.cancel()
        await asyncio.gather(*_parked, *short_lived, return_exceptions=True)
        _parked.clear()


async def test_the_services_own_loops_cannot_be_cancelled_and_lists_are_bounded(
    debug: DebugHandle,
) -> None:
    async def config_watch() -> None:
        await asyncio.sleep(3600)

    own = asyncio.create_task(config_watch(), name="config-watch")
    tasks.mark_essential(own)
    try:
        await asyncio.sleep(0)
        listing = (await debug.client.get(f"/debug/tasks?limit={tasks.MAX_LISTED}")).json()
        victim = next(t["id"] for t in listing["tasks"] if t["name"] == "config-watch")
        refused = await debug.client.post(f"/debug/tasks/{victim}/cancel")
        assert refused.status_code == 409
        assert "one of the service's own loops" in refused.json()["message"]
        await asyncio.sleep(0.05)
        assert not own.cancelled() and not own.done()
        too_many = await debug.client.get(f"/debug/tasks?limit={tasks.MAX_LISTED + 1}")
        assert too_many.status_code == 400
        assert f"between 1 and {tasks.MAX_LISTED}" in too_many.json()["message"]
    finally:
        own.cancel()
        await asyncio.gather(own, return_exceptions=True)
