"""Two captures compared by share of their own samples (CPU) or bytes kept a second (heap)."""

import collections

from labctl.records.call_stacks import Stacks
from labctl.records.captures import GrowthSite, HeapReport
from labctl.records.comparisons import cpu_diff, heap_diff
from labctl.records.location import Location

APP = "/srv/app/jobs.py"
MAIN, PARSE, RENDER, SPIN = (Location(n, APP, i + 1) for i, n in
                             enumerate(("main", "parse", "render", "spin")))  # fmt: skip


def stacks(counts: dict[tuple[Location, ...], int]) -> Stacks:
    return Stacks(collections.Counter(counts))


def test_shares_compare_whatever_each_capture_s_sample_count() -> None:
    base = stacks({(MAIN, PARSE): 10, (MAIN, RENDER): 90})  # 100 samples
    new = stacks({(MAIN, PARSE): 500, (MAIN, RENDER): 500})  # 1000 samples, 10x longer
    diff = cpu_diff(base, new)
    rows = {c.location.function: c for c in diff.changes}
    assert (rows["parse"].self_delta_pct, rows["render"].self_delta_pct) == (40.0, -40.0)
    assert rows["main"].total_delta_pct == 0.0  # on every stack of both
    assert [c.location.function for c in diff.changes[:2]] == ["parse", "render"]
    assert (diff.base_samples, diff.new_samples) == (100, 1000)


def test_callers_of_a_shared_helper_rank_by_their_total_share() -> None:
    base = stacks({(MAIN, PARSE, SPIN): 80, (MAIN, RENDER, SPIN): 20})
    new = stacks({(MAIN, PARSE, SPIN): 20, (MAIN, RENDER, SPIN): 80})
    diff = cpu_diff(base, new)
    # spin is every sample's leaf in both: its self share did not move; its callers' did.
    assert [(c.location.function, c.total_delta_pct) for c in diff.changes[:2]] == [
        ("parse", -60.0), ("render", 60.0),
    ]  # fmt: skip
    assert {c.location.function: c.self_delta_pct for c in diff.changes}["spin"] == 0.0


def test_a_function_only_one_capture_has_compares_with_nothing() -> None:
    diff = cpu_diff(stacks({(MAIN, PARSE): 4}), stacks({(MAIN, RENDER): 4}))
    rows = {c.location.function: c for c in diff.changes}
    assert (rows["render"].base_self_pct, rows["render"].new_self_pct) == (0.0, 100.0)
    assert (rows["parse"].base_self_pct, rows["parse"].new_self_pct) == (100.0, 0.0)
    assert diff.to_json()["changes"][0]["self_delta_pct"] in (100.0, -100.0)


def report(seconds: float, source: str, *sites: tuple[Location, int]) -> HeapReport:
    return HeapReport("pid 1", seconds, source, [GrowthSite(at, size, 1) for at, size in sites])


def test_heap_sites_compare_by_bytes_kept_a_second_of_each_window() -> None:
    mib = 1 << 20
    base = report(10, "memray run", (PARSE, 10 * mib))  # 1 MiB/s for 10 s
    # 2 s: parse keeps the same 1 MiB/s; render is new at 2 MiB/s, on two of its lines.
    new = report(
        2, "memray run", (PARSE, 2 * mib), (RENDER, mib), (Location("render", APP, 9), mib)
    )
    diff = heap_diff(base, new)
    assert [c.location.function for c in diff.changes] == ["render", "parse"]
    render, parse = diff.changes
    assert (render.new_bytes, render.rate_delta) == (2 * mib, float(mib))
    assert parse.rate_delta == 0.0
    assert diff.notes == []


def test_heap_captures_from_different_tools_say_so() -> None:
    diff = heap_diff(report(5, "memray attach"), report(5, "tracemalloc (debug surface)"))
    assert diff.changes == [] and "different tools" in diff.notes[0]
