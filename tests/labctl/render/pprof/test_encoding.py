"""The pprof labctl writes, read by ``go tool pprof``: totals, names and sample types."""

from __future__ import annotations

import collections
from pathlib import Path

from labctl.records.call_stacks import Stacks
from labctl.records.location import Location
from labctl.render.pprof.encoding import HeapSites, cpu_profile, heap_profile
from tests.labctl.render.pprof.go_pprof import go_pprof, top

APP = "/srv/app/job.py"
MODULE = Location("<module>", APP, 40)
MAIN = Location("main", APP, 30)
HOT = Location("Parser.parse", APP, 12)
INNER = Location("make_handler.<locals>.handle", APP, 20)


def written(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_cpu_profile_keeps_the_samples_and_names_python_frames_readably(
    tmp_path: Path,
) -> None:
    stacks = Stacks(collections.Counter({(MODULE, MAIN, HOT): 30, (MODULE, MAIN, INNER): 10}))
    path = written(tmp_path, "cpu.pb.gz", cpu_profile(stacks, rate=100, seconds=1))
    samples = top(path, "samples")
    assert samples.total == 40
    assert samples.rows[:2] == [(30, "Parser.parse"), (10, "make_handler.[locals].handle")]
    # pprof drops what is between angle brackets; [module] survives (and means <module>).
    assert {name for _, name in samples.rows} >= {"main", "[module]"}, samples.raw
    raw = go_pprof("-raw", str(path))
    assert "samples/count cpu/nanoseconds[dflt]" in raw
    assert "Period: 10000000" in raw  # 100 samples a second: 10 ms of CPU each


def test_an_idle_capture_is_wall_time_not_cpu(tmp_path: Path) -> None:
    stacks = Stacks(collections.Counter({(MODULE, MAIN): 5}))
    path = written(tmp_path, "wall.pb.gz", cpu_profile(stacks, 50, 1, idle=True))
    assert "samples/count wall/nanoseconds[dflt]" in go_pprof("-raw", str(path))


def sites(*rows: tuple[tuple[Location, ...], int, int]) -> HeapSites:
    found = HeapSites()
    for stack, size, count in rows:
        found.add(stack, size, count)
    return found


def test_a_heap_profile_has_go_s_four_types_when_allocations_are_known(tmp_path: Path) -> None:
    allocated = sites(((HOT, MAIN), 9000, 9), ((INNER, MAIN), 5000, 50))
    in_use = sites(((HOT, MAIN), 6000, 6))
    path = written(tmp_path, "heap.pb.gz", heap_profile(in_use, 2, "memray run", allocated))
    assert (top(path, "inuse_space").total, top(path, "alloc_space").total) == (6000, 14000)
    assert top(path, "alloc_objects").rows[0] == (50, "make_handler.[locals].handle")
    assert top(path, "inuse_objects").rows[0] == (6, "Parser.parse")
    assert "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes[dflt]" in (
        go_pprof("-raw", str(path))
    )


def test_sites_without_allocations_give_in_use_only_and_no_stack_is_named(
    tmp_path: Path,
) -> None:
    in_use = sites(((HOT,), 700, 7), ((), 300, 1))
    path = written(tmp_path, "sites.pb.gz", heap_profile(in_use, 2, "tracemalloc"))
    raw = go_pprof("-raw", str(path))
    assert "inuse_objects/count inuse_space/bytes[dflt]" in raw and "alloc_space" not in raw
    assert top(path, "inuse_space").rows == [(700, "Parser.parse"), (300, "[no stack]")]


def test_the_same_capture_encodes_to_the_same_bytes() -> None:
    def encoded() -> bytes:
        stacks = Stacks(collections.Counter({(MODULE, MAIN, HOT): 3, (MODULE, MAIN): 1}))
        return cpu_profile(stacks, 100, 1, started_ns=1)

    assert encoded() == encoded()
