"""``diagnose.findings`` on hand-built evidence: the memory rules that a live run reaches
only in some fault orders."""

from labctl.diagnose import Evidence, Sample, findings
from labctl.probes.heap import GrowthSite, HeapReport

MIB = 1 << 20


def _evidence(rss: list[int], allocator: dict[str, list[int]], alive: int) -> Evidence:
    samples = [Sample(at=float(i), cpu_seconds=0.1 * i, rss=r, fds=10) for i, r in enumerate(rss)]
    heap = HeapReport(
        target="pid 1",
        seconds=4,
        source="tracemalloc (debug surface)",
        growth=[GrowthSite("render", "landing.py", 17, alive, 100)],
    )
    return Evidence(pid=1, seconds=4, samples=samples, heap=heap, allocator=allocator)


def test_a_leak_refilling_freed_memory_is_found_by_the_allocator_with_rss_flat() -> None:
    flat = [300 * MIB] * 9
    leaking = _evidence(flat, {"malloc_in_use_bytes": [10 * MIB, 40 * MIB, 70 * MIB]}, 8 * MIB)
    found = findings(leaking)
    assert [(f.kind, f.function) for f in found] == [("memory", "render")]
    assert "malloc in use bytes 600%" in found[0].evidence


def test_allocator_noise_alone_is_no_finding() -> None:
    steady = _evidence([300 * MIB] * 9, {"pymalloc_blocks": [1000, 1002, 999]}, 8 * MIB)
    assert findings(steady) == []


def test_growth_the_heap_window_does_not_find_alive_is_no_finding() -> None:
    growing = [100 * MIB + i * MIB for i in range(9)]
    warm_up = _evidence(growing, {"pymalloc_blocks": [1000, 1050, 1100]}, MIB // 10)
    assert findings(warm_up) == []
    confirmed = _evidence(growing, {"pymalloc_blocks": [1000, 1050, 1100]}, 4 * MIB)
    assert [f.kind for f in findings(confirmed)] == ["memory"]
