"""Capture records: what ``--json`` prints of them, and the arithmetic they carry."""

import json
from pathlib import Path

from labctl.records.call_stacks import FunctionShare
from labctl.records.captures import (
    CpuProfile,
    GrowthSite,
    HeapReport,
    LineCost,
    ScaleneProfile,
)
from labctl.records.location import Location

AT = Location("render", "/srv/app/page.py", 17)


def test_a_place_is_written_flat_in_json_as_before_it_was_a_record() -> None:
    assert GrowthSite(AT, 2048, 3).to_json() == {
        "function": "render", "file": "/srv/app/page.py", "line": 17, "bytes": 2048, "count": 3,
    }  # fmt: skip
    assert list(FunctionShare(AT, 40.0, 90.0).to_json()) == [
        "function", "file", "line", "self_pct", "total_pct",
    ]  # fmt: skip
    cost = LineCost(AT, "x = [0] * n", 12.5, 10.0, 3.0, 3.5).to_json()
    assert cost["function"] == "render" and cost["source"] == "x = [0] * n"


def test_heap_growth_totals_its_sites() -> None:
    report = HeapReport(
        "pid 1", 5, "memray attach", [GrowthSite(AT, 100, 1), GrowthSite(AT, 50, 2)]
    )
    assert report.total_bytes == 150
    assert [g["bytes"] for g in report.to_json()["growth"]] == [100, 50]


def test_scalene_rows_below_the_floors_are_left_out_of_the_top() -> None:
    lines = [
        LineCost(Location("a", "j.py", 1), "", 50.0, 40.0, 0.0, 0.0),
        LineCost(Location("b", "j.py", 2), "", 0.1, 0.1, 9.0, 9.0),  # too little CPU to rank
        LineCost(Location("c", "j.py", 3), "", 20.0, 5.0, 0.05, 0.05),  # too little memory
    ]
    profile = ScaleneProfile(["scalene"], 1.0, 10.0, lines)
    assert [c.location.function for c in profile.top_cpu()] == ["a", "c"]
    assert [c.location.function for c in profile.top_memory()] == ["b"]


def test_a_cpu_profile_reads_its_stacks_back_from_its_speedscope_file(tmp_path: Path) -> None:
    doc = {
        "shared": {"frames": [{"name": "main", "file": "/srv/app/m.py", "line": 1},
                              {"name": "spin", "file": "/srv/app/m.py", "line": 9}]},
        "profiles": [{"type": "sampled", "samples": [[0, 1], [0, 1], [0]], "weights": [1, 1, 1]}],
    }  # fmt: skip
    path = tmp_path / "profile.speedscope.json"
    path.write_text(json.dumps(doc))
    profile = CpuProfile("pid 1", 1, 3, [], artefacts={"speedscope": str(path)})
    stacks = profile.stacks()
    assert stacks.samples == 3
    assert [c.location.function for c in stacks.callers("spin")] == ["main"]
