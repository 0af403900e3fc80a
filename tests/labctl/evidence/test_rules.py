"""``diagnose.findings`` on hand-built evidence: the memory rules that a live run reaches
only in some fault orders, and what the descriptor finding says with and without the code."""

from labctl.evidence.rules import findings
from labctl.evidence.window import Evidence, Sample
from labctl.records.call_stacks import FunctionShare
from labctl.records.captures import CpuProfile, GrowthSite, HeapReport
from labctl.records.debug_views import Owner
from labctl.records.location import Location, SourceHit
from labctl.records.open_files import FdGroup

MIB = 1 << 20


def _evidence(rss: list[int], allocator: dict[str, list[int]], alive: int) -> Evidence:
    samples = [Sample(at=float(i), cpu_seconds=0.1 * i, rss=r, fds=10) for i, r in enumerate(rss)]
    heap = HeapReport(
        target="pid 1",
        seconds=4,
        source="tracemalloc (debug surface)",
        growth=[GrowthSite(Location("page", "preview.py", 17), alive, 100)],
    )
    return Evidence(pid=1, seconds=4, samples=samples, heap=heap, allocator=allocator)


def test_a_leak_refilling_freed_memory_is_found_by_the_allocator_with_rss_flat() -> None:
    flat = [300 * MIB] * 9
    leaking = _evidence(flat, {"malloc_in_use_bytes": [10 * MIB, 40 * MIB, 70 * MIB]}, 8 * MIB)
    found = findings(leaking)
    assert [(f.kind, f.location.function) for f in found] == [("memory", "page")]
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


def _descriptors(fds: list[int]) -> list[Sample]:
    return [Sample(at=float(i), cpu_seconds=0.1 * i, rss=MIB, fds=n) for i, n in enumerate(fds)]


def test_growing_descriptors_name_the_code_that_builds_their_file_names() -> None:
    groups = [FdGroup("/srv/exports", "clicks-*.csv", 230), FdGroup("/srv", "links.db", 1)]
    code = SourceHit(Location("Segments.append", "/srv/app/exports.py", 25), 'f"clicks-{n}.csv"')
    evidence = Evidence(pid=1, seconds=4, samples=_descriptors([12, 120, 242]), fd_groups=groups)
    evidence.fd_code = code
    (found,) = findings(evidence)
    assert found.kind == "fds"
    assert found.location == Location("Segments.append", "/srv/app/exports.py", 25)
    assert "grew by 230 in 4 s; 230 open files are /srv/exports/clicks-*.csv" in found.evidence
    evidence.fd_code = None
    (unnamed,) = findings(evidence)
    assert unnamed.location == Location("?", "/srv/exports/clicks-*.csv", 0)


def test_the_class_that_keeps_the_files_names_the_finding_over_the_name_helper() -> None:
    groups = [FdGroup("/srv/exports", "clicks-*.csv", 230)]
    evidence = Evidence(pid=1, seconds=4, samples=_descriptors([12, 120, 242]), fd_groups=groups)
    evidence.fd_code = SourceHit(
        Location("Exports.path", "/srv/app/exports.py", 12), 'return f"clicks-{code}.csv"'
    )
    evidence.fd_owner = Owner("app.exports.HeldFiles", "._files", 50)
    evidence.fd_opener = SourceHit(
        Location("HeldFiles.write", "/srv/app/exports.py", 40), "out = path.open('a')"
    )
    (found,) = findings(evidence)
    assert found.location == Location("HeldFiles.write", "/srv/app/exports.py", 40)
    assert "50 file objects are kept by app.exports.HeldFiles._files" in found.evidence
    evidence.fd_opener = None  # the owner's class opens nothing itself: the name is the lead
    (named,) = findings(evidence)
    assert named.location == Location("Exports.path", "/srv/app/exports.py", 12)


def test_a_few_new_descriptors_are_no_finding() -> None:
    assert findings(Evidence(pid=1, seconds=4, samples=_descriptors([12, 20, 25]))) == []


def _busy(cores: float) -> Evidence:
    """One function has every sample of a process that used ``cores`` over 4 s."""
    hot = FunctionShare(Location("price", "/srv/app/shop.py", 3), 100.0, 100.0)
    samples = [Sample(at=float(i), cpu_seconds=cores * i, rss=MIB, fds=10) for i in range(5)]
    cpu = CpuProfile(target="pid 1", seconds=4, samples=40, top=[hot])
    return Evidence(pid=1, seconds=4, samples=samples, cpu=cpu)


def test_a_function_with_every_sample_of_an_idle_process_is_no_cpu_finding() -> None:
    assert findings(_busy(cores=0.05)) == []  # 5 % of a core: all of it in price, still idle
    found = findings(_busy(cores=0.9))
    assert [(f.kind, f.location.function) for f in found] == [("cpu", "price")]
    assert round(found[0].score, 2) == 0.9


def _mailing(sends: float, notices: float) -> Evidence:
    samples = [Sample(at=float(i), cpu_seconds=0.1 * i, rss=MIB, fds=10) for i in range(9)]
    return Evidence(pid=1, seconds=4, samples=samples, sends=(1000, 1000 + sends),
                    notices=(50, 50 + notices))  # fmt: skip


def test_sends_per_notice_past_the_floor_are_a_resend_finding_and_backoff_is_not() -> None:
    [storm] = findings(_mailing(sends=2000, notices=20))
    assert storm.kind == "resends" and "100 per notice finished" in storm.evidence
    assert storm.score == 1.0
    assert findings(_mailing(sends=8, notices=1)) == []  # backoff against a refusing server
    assert findings(_mailing(sends=60, notices=30)) == []  # 2 per notice: under the floor
    [spent] = findings(_mailing(sends=100, notices=20))  # the budget of five, spent at once
    assert spent.score == 1.0
    assert findings(_mailing(sends=40, notices=1)) == []  # too few sends to judge


def test_a_second_symptom_of_a_named_function_ranks_after_every_other_culprit() -> None:
    """price uses the CPU (0.9) and keeps memory (1.0); the resend loop (0.5) is another
    culprit, so it comes before price's second symptom."""
    busy = _busy(cores=0.9)
    growing = [100 * MIB + i * 10 * MIB for i in range(5)]
    busy.samples = [
        Sample(s.at, s.cpu_seconds, rss, s.fds)
        for s, rss in zip(busy.samples, growing, strict=True)
    ]
    busy.heap = HeapReport(
        target="pid 1",
        seconds=4,
        source="memray",
        growth=[GrowthSite(Location("price", "/srv/app/shop.py", 9), 8 * MIB, 9)],
    )
    busy.sends, busy.notices = (0, 60), (0, 20)  # 3 per notice: 0.5
    ranked = [(f.kind, f.location.function, round(f.score, 1)) for f in findings(busy)]
    assert ranked == [("memory", "price", 1.0), ("resends", "?", 0.5), ("cpu", "price", 0.9)]
