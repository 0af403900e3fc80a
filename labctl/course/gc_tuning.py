"""The GC-tuning exercise of the p99 lab (seed Q379, Python's answer to GOGC): one run,
five settings, side by side.

With lab 05's fault and load on, each setting gets the same measuring window: the default
thresholds, raised thresholds, ``gc.freeze()`` after warm-up (the long-lived table leaves
every later collection), collections moved off the request path (``gc.disable()``, young
collections between requests, full ones only above a memory ceiling: the service's idle
collector, measured on a copy of the service, since the garbage it lets pile up stays in the
process), and the code with the reference cycle removed (the lab's solution patch, applied to
another copy of ``leaky_app``), each copy under the same load and fault. Each row
reports the latency an open-loop client saw (p50, p99, p99.9, max, counted from each
request's due time, so a pause shows in every request due during it), the server's own p99
(blind to time spent waiting in the socket), the old-generation pauses measured one by one,
collections, the share of the window in old-generation GC, and resident memory: the cost.

Usage::

    with Session.open(Path("run")) as session:
        trials = compare_gc_settings(session, seconds=15)   # lab 05 starts and stops itself
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from labctl.contract import SERVICE, Metric, RunLayout
from labctl.course.catalogue import LABS_DIR, Lab, LabError, load_lab
from labctl.course.lab_runs import Echo, start_lab, stop_lab
from labctl.evidence.patient import Patient
from labctl.evidence.probes.open_loop import open_loop
from labctl.evidence.session import Session
from labctl.records.client_latency import nearest_rank
from labctl.records.debug_views import GcReport, window_quantile
from labctl.records.gc_trials import GcTrial
from labctl.records.scrape import Scrape, bucket_quantile
from labctl.stack.polling import wait_until
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import stop
from labctl.stack.service import start_service
from labctl.stack.traffic import start_load, stop_load

LAB = "05"
RAISED = (7000, 20, 20)  # gen0 ten times the default: collections 10x rarer, each walks more
CLIENT_RATE = 40.0  # the open-loop client's requests a second, beside the lab's own load
LINKS = 20  # the client's redirects cycle through this many links
IDLE_HEADROOM_MB = 512  # the idle collector's ceiling: the resident memory now, plus this


@dataclass(frozen=True)
class Target:
    """A service under the lab's load, as the measurement sees it."""

    patient: Patient
    api_url: str
    paths: list[str]  # redirects for the open-loop client


def make_links(api_url: str, count: int = LINKS) -> list[str]:
    """Redirect paths on ``api_url``: links made for the client to follow."""
    with httpx.Client(base_url=api_url, timeout=10) as client:
        codes = [client.post("/api/v1/links", json={"url": f"https://shop.example/gc/{i}"})
                 .raise_for_status().json()["code"] for i in range(count)]  # fmt: skip
    return [f"/{code}" for code in codes]


def measure(target: Target, setting: str, seconds: float) -> GcTrial:
    """One window of ``seconds`` on a service under load, with the open-loop client on."""
    patient = target.patient
    at0, scrape0, gc0 = time.time(), Scrape.parse(patient.metrics_text()), patient.gc()
    client = open_loop(target.api_url, target.paths, CLIENT_RATE, seconds)
    at1, scrape1, gc1 = time.time(), Scrape.parse(patient.metrics_text()), patient.gc()
    row = trial(setting, scrape0, gc0, scrape1, gc1, window=(at0, at1))
    return replace(row, pid=patient.pid, client=client)


def trial(
    setting: str,
    s0: Scrape,
    g0: GcReport,
    s1: Scrape,
    g1: GcReport,
    window: tuple[float, float] | None = None,
) -> GcTrial:
    """A row from two readings; ``window`` (wall times) picks the pauses measured one by one,
    else the histogram's bucket bound stands for the pause p99."""
    wall = max(s1.at - s0.at, 1e-9)
    pairs = dict(zip([p.generation for p in g0.pauses], zip(g0.pauses, g1.pauses, strict=True),
                     strict=True))  # fmt: skip
    old = [pairs[g] for g in (1, 2) if g in pairs]
    count = {g: a.count - b.count for g, (b, a) in pairs.items()}
    if window is not None:
        exact = sorted(g1.pauses_between(*window))
        p99, longest, paused = nearest_rank(exact, 0.99), max(exact, default=None), len(exact)
    else:
        p99s = [window_quantile(b, a, 0.99)[1] for b, a in old]
        p99, longest = max((p for p in p99s if p is not None), default=None), None
        paused = count.get(1, 0) + count.get(2, 0)
    latency = Metric.LATENCY
    return GcTrial(
        setting=setting,
        seconds=wall,
        requests=int(s1.total(Metric.REQUESTS) - s0.total(Metric.REQUESTS)),
        request_p99_seconds=bucket_quantile(0.99, s0.buckets(latency), s1.buckets(latency)),
        old_gen_pause_p99_seconds=p99,
        full_collections=count.get(2, 0),
        young_collections=count.get(0, 0),
        pause_share=sum(a.total_seconds - b.total_seconds for b, a in old) / wall,
        rss_bytes=s1.value(Metric.RSS),
        frozen_objects=g1.frozen_objects,
        old_gen_pause_max_seconds=longest,
        old_gen_pauses=paused,
    )


@contextmanager
def service_copy(lab: Lab, work: Path, echo: Echo, patched: bool) -> Iterator[tuple[Patient, str]]:
    """A copy of leaky_app running as its own service, with the lab's solution applied when
    ``patched``: (its patient, its API URL). A setting that leaves its mark on a process (the
    idle collector's garbage) is measured here, not on the lab's shared service."""
    if patched and lab.fix_patch is None:
        raise LabError(f"lab {lab.number} has no solution patch to compare with", 2)
    shutil.copytree(LABS_DIR.parent / "leaky_app", work / "leaky_app",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    if patched:
        echo(f"git apply {lab.fix_patch}  (in a copy: {work})")
        subprocess.run(["git", "apply", str(lab.fix_patch)], cwd=work, check=True,
                       capture_output=True)  # fmt: skip
    layout = RunLayout(work / "run")
    record = start_service(layout, ServicePorts.free(), cwd=work)
    echo(" ".join(record.cmd) + f"  (cwd {work})")
    try:
        with Patient.from_record(record, layout) as patient:
            yield patient, record.urls["api"]
    finally:
        stop(record)


def _on_a_copy(
    session: Session,
    lab: Lab,
    setting: str,
    seconds: float,
    warmup_seconds: float,
    echo: Echo,
    patched: bool,
    prepare: Callable[[Patient], str] | None = None,
) -> GcTrial:
    """One setting measured on a copy of the service under the lab's fault and load;
    ``prepare`` sets it up and returns the row's name."""
    with (
        tempfile.TemporaryDirectory(prefix="labctl-gc-") as tmp,
        service_copy(lab, Path(tmp), echo, patched) as (copy, url),
    ):
        copy.fault_on(lab.fault, lab.intensity)
        record = start_load(session.status, url, lab.load.shape())
        echo(" ".join(record.cmd))
        try:
            wait_until(lambda: Scrape.parse(copy.metrics_text()).total(Metric.REQUESTS) > 0,
                       60, "load on the copy")  # fmt: skip
            time.sleep(warmup_seconds)
            name = prepare(copy) if prepare is not None else setting
            return measure(Target(copy, url, make_links(url)), name, seconds)
        finally:
            stop_load(session.status)


def _idle_collector(echo: Echo) -> Callable[[Patient], str]:
    def start(patient: Patient) -> str:
        rss = Scrape.parse(patient.metrics_text()).value(Metric.RSS) or 0.0
        ceiling = int(rss / 2**20) + IDLE_HEADROOM_MB
        echo(f"PUT /debug/gc/idle?ceiling_mb={ceiling}")
        patient.gc_idle_start(ceiling)
        return f"collections between requests (full above {ceiling} MiB)"

    return start


def compare_gc_settings(
    session: Session,
    seconds: float = 15.0,
    warmup_seconds: float = 10.0,
    echo: Echo = lambda _line: None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[GcTrial]:
    """Run lab 05 and measure every setting in turn; the stack is put back at the end."""
    lab = load_lab(LAB)
    trials: list[GcTrial] = []
    patient = session.patient
    api_url = session.status.require(SERVICE, "the lab's service").urls["api"]
    here = Target(patient, api_url, make_links(api_url))
    # The service freezes its start-up heap (gc_freeze_at_startup); the freeze row's
    # unfreeze releases that too, so it is put back once the lab's table is gone.
    frozen_at_start = patient.gc().frozen_objects
    try:
        start_lab(session, lab, echo)
        progress(f"warming up {warmup_seconds:g} s (the geo table loads, audits age)")
        time.sleep(warmup_seconds)
        progress("default thresholds")
        trials.append(measure(here, f"default {patient.gc().threshold}", seconds))
        echo(f"PUT /debug/gc/threshold?gen0={RAISED[0]}&gen1={RAISED[1]}&gen2={RAISED[2]}")
        previous = patient.set_gc_threshold(*RAISED)
        try:
            progress("raised thresholds")
            trials.append(measure(here, f"raised {RAISED}", seconds))
        finally:
            patient.set_gc_threshold(*previous)
        echo("POST /debug/gc/freeze")
        patient.gc_freeze()
        try:
            progress("gc.freeze() after warm-up")
            trials.append(measure(here, "gc.freeze() after warm-up", seconds))
        finally:
            patient.gc_unfreeze()
        stop_load(session.status)
        progress("collections between requests (on a copy of the service)")
        trials.append(_on_a_copy(session, lab, "collections between requests", seconds,
                                 warmup_seconds, echo, patched=False,
                                 prepare=_idle_collector(echo)))  # fmt: skip
        progress("cycle removed (the solution patch, on a copy)")
        trials.append(_on_a_copy(session, lab, "cycle removed (solution.patch)", seconds,
                                 warmup_seconds, echo, patched=True))  # fmt: skip
    finally:
        stop_lab(session.status)  # the fault's table released and collected
        if frozen_at_start:
            echo("POST /debug/gc/freeze  (the service's start-up freeze, put back)")
            patient.gc_freeze()
    return trials
