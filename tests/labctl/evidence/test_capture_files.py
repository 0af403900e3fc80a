"""Saved captures read back from a run/profiles folder or the file in it; anything else is
refused with a sentence and exit 2, whatever the file holds."""

import json
from pathlib import Path

import pytest

from labctl.errors import LabctlError
from labctl.evidence.capture_files import kind_of, read_capture, save_view
from labctl.records.call_stacks import Stacks
from labctl.records.captures import HeapReport
from labctl.records.debug_views import LoopReport, Stall, TaskCensus, TaskGroup
from labctl.records.location import Location

SPEEDSCOPE = {
    "shared": {"frames": [{"name": "main", "file": "/srv/a.py", "line": 3}]},
    "profiles": [{"type": "sampled", "samples": [[0], [0]], "weights": [1, 1]}],
}
GROWTH = {"target": "pid 7", "seconds": 5, "source": "memray attach",
          "growth": [{"function": "keep", "file": "/srv/a.py", "line": 9, "bytes": 64,
                      "count": 2}]}  # fmt: skip


def saved(folder: Path, name: str, body: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(body))
    return folder


def test_a_cpu_folder_and_its_speedscope_file_read_the_same(tmp_path: Path) -> None:
    folder = saved(tmp_path / "20261201-101500-cpu", "profile.speedscope.json", SPEEDSCOPE)
    for path in (folder, folder / "profile.speedscope.json"):
        capture = read_capture(path)
        assert isinstance(capture, Stacks) and capture.samples == 2


def test_a_heap_folder_reads_its_growth_report(tmp_path: Path) -> None:
    capture = read_capture(saved(tmp_path / "x-heap", "growth.json", GROWTH))
    assert isinstance(capture, HeapReport)
    assert (capture.seconds, capture.growth[0].location.function, capture.total_bytes) == (
        5.0, "keep", 64,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such capture"),
        ("folder", "holds no capture"),
        ("not json {", "not JSON"),
        ('{"rows": []}', "not a capture labctl reads"),
        ('[1, 2]', "not a capture labctl reads"),
        ('{"creation_sites_recorded": true}', "damaged"),
        ('{"shared": {"frames": []}, "profiles": [{"type": "sampled", "samples": [[3]]}]}',
         "damaged"),
        ('{"growth": [{"function": "f"}]}', "damaged"),
        (b"\xff\xfe", "not JSON"),
    ],
)  # fmt: skip
def test_what_is_not_a_capture_is_refused_with_a_sentence(
    tmp_path: Path, content: str | bytes | None, says: str
) -> None:
    path = tmp_path / "capture"
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(LabctlError) as refused:
        read_capture(path)
    assert refused.value.exit_code == 2
    assert says in str(refused.value) and "Traceback" not in str(refused.value)


CENSUS = TaskCensus(12, True, [TaskGroup(Location("Fanout.deliver", "app/fan.py", 40), 11, 3.5)])
LOOP = LoopReport(80, 0.001, 0.2, 0.31, 0.0, [Stall(0.31, 1.7e9, Location("Vendor.check",
                  "app/vendor.py", 12), ["Vendor.check (app/vendor.py:12)"])])  # fmt: skip


@pytest.mark.parametrize(("view", "kind"), [(CENSUS, "task census"), (LOOP, "loop")])
def test_a_saved_debug_view_reads_back_as_it_was(
    tmp_path: Path, view: TaskCensus | LoopReport, kind: str
) -> None:
    path = save_view(tmp_path / "x", view)
    for where in (path.parent, path):
        capture = read_capture(where)
        assert capture == view and kind_of(capture) == kind
