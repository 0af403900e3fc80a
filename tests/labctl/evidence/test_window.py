"""The figures of one evidence window that several rules read: where tasks grew, the time
older collections took, the stalls that are new, memory growth that lasts."""

import json
from pathlib import Path

from labctl.evidence.window import TASK_GROWTH_FLOOR, Evidence, Sample
from labctl.records.captures import CpuProfile
from labctl.records.debug_views import (
    GcReport,
    GenerationPauses,
    LoopReport,
    Stall,
    TaskCensus,
    TaskGroup,
)
from labctl.records.location import Location

PUBLISH = Location("Publisher.publish", "/srv/app/events.py", 30)
FLUSH = Location("Buffer.run", "/srv/app/clicks.py", 12)


def census(count: int, groups: list[tuple[Location, int]]) -> TaskCensus:
    return TaskCensus(count, True, [TaskGroup(site, n, 1.0) for site, n in groups])


def gc(total: tuple[float, float, float]) -> GcReport:
    pauses = [GenerationPauses(g, 1, t, t, None, None, {}) for g, t in enumerate(total)]
    return GcReport(True, (700, 10, 10), 0, 0, pauses, [])


def test_the_site_where_tasks_grew_most_not_where_most_live() -> None:
    grown = Evidence(pid=1, seconds=4)
    grown.tasks = (
        census(500, [(FLUSH, 400), (PUBLISH, 100)]),
        census(800, [(FLUSH, 405), (PUBLISH, 395)]),
    )
    assert grown.task_growth == 300 and grown.task_growth_site == PUBLISH
    calm = Evidence(pid=1, seconds=4)
    calm.tasks = (census(500, []), census(500 + TASK_GROWTH_FLOOR - 1, []))
    assert calm.task_growth_site is None


def test_only_older_generations_count_as_paused_time() -> None:
    evidence = Evidence(pid=1, seconds=4, gc=(gc((1.0, 0.5, 2.0)), gc((9.0, 0.75, 3.0))))
    assert evidence.old_gen_paused_seconds == 1.25
    assert Evidence(pid=1, seconds=4).old_gen_paused_seconds == 0.0


def test_stalls_seen_before_the_window_are_not_its_own() -> None:
    old = Stall(0.3, 100.0, FLUSH, [])
    new = Stall(0.4, 105.0, PUBLISH, [])
    report = LoopReport(10, None, None, 0.4, 0.0, [old])
    later = LoopReport(20, None, None, 0.4, 0.0, [old, new])
    assert Evidence(pid=1, seconds=4, loop=(report, later)).new_stalls == [new]


def test_memory_that_grew_then_levelled_off_is_not_growing() -> None:
    def rss(values: list[int]) -> Evidence:
        samples = [Sample(float(i), 0.0, v, 10) for i, v in enumerate(values)]
        return Evidence(pid=1, seconds=4, samples=samples)

    warm_up = rss([100, 130, 131, 131, 131])
    assert warm_up.rss_growth > 0.3 and not warm_up.memory_growing
    assert rss([100, 110, 120, 130, 140]).memory_growing


def test_the_resend_site_is_the_loop_that_calls_the_client_not_the_programs_main(
    tmp_path: Path,
) -> None:
    """Most samples in an SMTP client are its protocol callbacks, run by the event loop with
    only the program's main above them; the few with the caller's coroutine name the loop."""
    cli = tmp_path / "app" / "cli.py"
    mailer = tmp_path / "app" / "mailer.py"
    cli.parent.mkdir()
    cli.write_text("def main():\n    server.run()\n")
    mailer.write_text(
        "class Mailer:\n    async def deliver(self):\n        while True:\n"
        "            await self._send()\n"
    )
    client = "/srv/venv/lib/python3.11/site-packages/aiosmtplib/protocol.py"
    frames = [
        {"name": "main", "file": str(cli), "line": 2},
        {"name": "data_received", "file": client, "line": 80},
        {"name": "Mailer.deliver", "file": str(mailer), "line": 4},
    ]
    doc = {
        "shared": {"frames": frames},
        "profiles": [{"type": "sampled", "samples": [[0, 1]] * 70 + [[0, 2, 1]] * 30,
                      "weights": [1] * 100}],
    }  # fmt: skip
    (tmp_path / "cpu.speedscope.json").write_text(json.dumps(doc))
    cpu = CpuProfile(target="pid 1", seconds=4, samples=100, top=[],
                     artefacts={"speedscope": str(tmp_path / "cpu.speedscope.json")})  # fmt: skip
    site = Evidence(pid=1, seconds=4, cpu=cpu).resend_site
    assert site is not None and (site.function, site.line) == ("Mailer.deliver", 4)
