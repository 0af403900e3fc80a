"""The scheduler runs due jobs only while it leads, and survives a job that raises."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from leaky_app.leader import FileLease, Leadership
from leaky_app.metrics import SchedulerMetrics
from leaky_app.scheduler import Job, Scheduler


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_jobs_run_on_schedule_only_on_the_leader(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = SchedulerMetrics.create(registry)
    clock = Clock()
    runs: list[str] = []

    async def expire() -> int:
        runs.append("expire")
        return 3

    async def broken() -> int:
        raise RuntimeError("disk full")

    lock = tmp_path / "lock"
    jobs = [Job("expire", 1.0, expire), Job("broken", 1.0, broken)]
    leader = Scheduler(Leadership(FileLease(lock), 3.0, clock=clock), jobs, metrics, clock)
    other_jobs = [Job("expire", 1.0, expire)]
    follower = Scheduler(Leadership(FileLease(lock), 3.0, clock=clock), other_jobs, metrics, clock)
    assert leader.tick == 1.0  # min(ttl / 3, every job's period)

    await leader.run_once()
    await follower.run_once()
    assert runs == ["expire"]  # the follower ran nothing
    clock.now = 0.5
    await leader.run_once()
    assert runs == ["expire"]  # not due yet
    clock.now = 1.0
    await leader.run_once()
    assert runs == ["expire", "expire"]  # due again, and the broken job did not stop it

    def sample(job: str, result: str) -> float | None:
        labels = {"job": job, "result": result}
        return registry.get_sample_value("leaky_app_scheduler_job_runs_total", labels)

    assert sample("expire", "ok") == 2
    assert sample("broken", "error") == 2
    assert registry.get_sample_value("leaky_app_scheduler_job_items_total", {"job": "expire"}) == 6
    await leader.leadership.resign()
    await follower.run_once()
    assert follower.leadership.is_leader
    await follower.leadership.resign()
