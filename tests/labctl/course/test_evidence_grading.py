"""A drill's evidence graded: the capture must come from the drill and put the culprit among
what it ranks first, in each kind of capture; otherwise the verdict says what it shows."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from labctl.course.evidence_grading import grade_evidence, is_culprit
from labctl.errors import LabctlError
from labctl.evidence.capture_files import save_view
from labctl.records.captures import GrowthSite, HeapReport
from labctl.records.debug_views import LoopReport, Stall, TaskCensus, TaskGroup
from labctl.records.location import Location

CULPRIT = "leaky_app.links.events:AckTasks.send"
PUBLISH = Location("AckTasks.send", "/srv/leaky_app/links/events.py", 88)
OTHER = Location("LinkStore.get", "/srv/leaky_app/links/store.py", 10)


def speedscope(folder: Path, frames: list[Location]) -> Path:
    """A py-spy-like capture whose samples are mostly in ``frames[0]``, some in the rest."""
    doc = {"shared": {"frames": [{"name": f.function.rsplit(".", 1)[-1], "file": f.file,
                                  "line": f.line} for f in frames]},
           "profiles": [{"type": "sampled", "samples": [[0]] * 8 + [[i] for i in
                         range(1, len(frames))], "weights": [1] * (7 + len(frames))}]}  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "profile.speedscope.json").write_text(json.dumps(doc))
    return folder


def heap(folder: Path, sites: list[Location]) -> Path:
    report = HeapReport("pid 1", 5, "memray attach",
                        [GrowthSite(s, 1000 - i, 1) for i, s in enumerate(sites)])  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "growth.json").write_text(json.dumps(report.to_json()))
    return folder


def test_the_culprit_matches_by_file_and_name_whatever_the_qualification() -> None:
    assert is_culprit(PUBLISH, CULPRIT)
    assert is_culprit(Location("send", "leaky_app/links/events.py", 0), CULPRIT)
    assert not is_culprit(Location("send", "leaky_app/links/other.py", 0), CULPRIT)
    assert not is_culprit(Location("AckTasks.close", PUBLISH.file, 0), CULPRIT)


@pytest.mark.parametrize("kind", ["CPU", "heap", "task census", "loop"])
def test_each_kind_of_capture_shows_the_culprit_or_says_what_it_shows(
    tmp_path: Path, kind: str
) -> None:
    def made(folder: Path, first: Location, second: Location) -> Path:
        if kind == "CPU":
            return speedscope(folder, [first, second])
        if kind == "heap":
            return heap(folder, [first, second])
        if kind == "task census":
            groups = [TaskGroup(first, 500, 9.0), TaskGroup(second, 3, 1.0)]
            return save_view(folder, TaskCensus(503, True, groups))
        stall = Stall(0.4, time.time(), first, [str(first), str(second)])
        return save_view(folder, LoopReport(10, 0.001, 0.3, 0.4, 0.0, [stall]))

    since = time.time() - 1
    shows = grade_evidence(made(tmp_path / "a", PUBLISH, OTHER), CULPRIT, since)
    assert shows.shows and shows.kind == kind and "shows it" in shows.message
    lacks = grade_evidence(made(tmp_path / "b", OTHER, OTHER), CULPRIT, since)
    assert not lacks.shows and "get" in lacks.message and "puts first" in lacks.message


def test_a_capture_made_before_the_drill_is_not_its_evidence(tmp_path: Path) -> None:
    folder = heap(tmp_path / "old", [PUBLISH])
    old = time.time() - 3600
    os.utime(folder / "growth.json", (old, old))
    verdict = grade_evidence(folder, CULPRIT, since=time.time() - 60)
    assert not verdict.shows and "before the drill started" in verdict.message


def test_what_is_not_a_capture_is_refused_with_the_readers_sentence(tmp_path: Path) -> None:
    with pytest.raises(LabctlError, match="no such capture") as refused:
        grade_evidence(tmp_path / "nothing", CULPRIT, 0.0)
    assert refused.value.exit_code == 2
