"""The GC-tuning exercise of the p99 lab (seed Q379, Python's answer to GOGC): one run,
four settings, side by side.

With lab 05's fault and load on, each setting gets the same measuring window: the default
thresholds, raised thresholds, ``gc.freeze()`` after warm-up (the long-lived table leaves
every later collection), and the code with the reference cycle removed (the lab's solution
patch, applied to a copy of ``leaky_app`` that runs as a second service under the same load).
Each row reports request p99 (the server's histogram, which understates pauses: see the
lab's solution), old-generation pause p99, full collections, the share of the window spent
in old-generation collections, and resident memory: the trade-off.

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
from dataclasses import replace
from pathlib import Path

from labctl.contract import Metric, RunLayout
from labctl.course.catalogue import LABS_DIR, Lab, LabError, load_lab
from labctl.course.lab_runs import Echo, start_lab, stop_lab
from labctl.evidence.patient import Patient
from labctl.evidence.session import Session
from labctl.records.debug_views import GcReport, window_quantile
from labctl.records.gc_trials import GcTrial
from labctl.records.scrape import Scrape, bucket_quantile
from labctl.stack.polling import wait_until
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import stop
from labctl.stack.service import start_service
from labctl.stack.traffic import LoadShape, start_load, stop_load

LAB = "05"
RAISED = (7000, 20, 20)  # gen0 ten times the default: collections 10x rarer, each walks more


def measure(patient: Patient, setting: str, seconds: float) -> GcTrial:
    """One window of ``seconds`` on a service under load."""
    scrape0, gc0 = Scrape.parse(patient.metrics_text()), patient.gc()
    time.sleep(seconds)
    scrape1, gc1 = Scrape.parse(patient.metrics_text()), patient.gc()
    return replace(trial(setting, scrape0, gc0, scrape1, gc1), pid=patient.pid)


def trial(setting: str, s0: Scrape, g0: GcReport, s1: Scrape, g1: GcReport) -> GcTrial:
    wall = max(s1.at - s0.at, 1e-9)
    pairs = dict(zip([p.generation for p in g0.pauses], zip(g0.pauses, g1.pauses, strict=True),
                     strict=True))  # fmt: skip
    old = [pairs[g] for g in (1, 2) if g in pairs]
    p99s = [window_quantile(b, a, 0.99)[1] for b, a in old]
    count = {g: a.count - b.count for g, (b, a) in pairs.items()}
    latency = Metric.LATENCY
    return GcTrial(
        setting=setting,
        seconds=wall,
        requests=int(s1.total(Metric.REQUESTS) - s0.total(Metric.REQUESTS)),
        request_p99_seconds=bucket_quantile(0.99, s0.buckets(latency), s1.buckets(latency)),
        old_gen_pause_p99_seconds=max((p for p in p99s if p is not None), default=None),
        full_collections=count.get(2, 0),
        young_collections=count.get(0, 0),
        pause_share=sum(a.total_seconds - b.total_seconds for b, a in old) / wall,
        rss_bytes=s1.value(Metric.RSS),
        frozen_objects=g1.frozen_objects,
    )


@contextmanager
def patched_service(lab: Lab, work: Path, echo: Echo) -> Iterator[tuple[Patient, str]]:
    """The lab's solution applied to a copy of leaky_app, running as its own service:
    (its patient, its API URL)."""
    if lab.fix_patch is None:
        raise LabError(f"lab {lab.number} has no solution patch to compare with", 2)
    shutil.copytree(LABS_DIR.parent / "leaky_app", work / "leaky_app",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
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
    # The service freezes its start-up heap (gc_freeze_at_startup); the freeze row's
    # unfreeze releases that too, so it is put back once the lab's table is gone.
    frozen_at_start = patient.gc().frozen_objects
    try:
        start_lab(session, lab, echo)
        progress(f"warming up {warmup_seconds:g} s (the geo table loads, audits age)")
        time.sleep(warmup_seconds)
        progress("default thresholds")
        trials.append(measure(patient, f"default {patient.gc().threshold}", seconds))
        echo(f"PUT /debug/gc/threshold?gen0={RAISED[0]}&gen1={RAISED[1]}&gen2={RAISED[2]}")
        previous = patient.set_gc_threshold(*RAISED)
        try:
            progress("raised thresholds")
            trials.append(measure(patient, f"raised {RAISED}", seconds))
        finally:
            patient.set_gc_threshold(*previous)
        echo("POST /debug/gc/freeze")
        patient.gc_freeze()
        try:
            progress("gc.freeze() after warm-up")
            trials.append(measure(patient, "gc.freeze() after warm-up", seconds))
        finally:
            patient.gc_unfreeze()
        stop_load(session.status)
        with (
            tempfile.TemporaryDirectory(prefix="labctl-gc-") as tmp,
            patched_service(lab, Path(tmp), echo) as (fixed, url),
        ):
            fixed.fault_on(lab.fault, lab.intensity)
            shape = LoadShape(users=lab.load.users, rate=lab.load.rate)
            record = start_load(session.status, url, shape)
            echo(" ".join(record.cmd))
            try:
                wait_until(lambda: Scrape.parse(fixed.metrics_text()).total(Metric.REQUESTS) > 0,
                           60, "load on the fixed copy")  # fmt: skip
                progress("cycle removed (the solution patch)")
                time.sleep(warmup_seconds)
                trials.append(measure(fixed, "cycle removed (solution.patch)", seconds))
            finally:
                stop_load(session.status)
    finally:
        stop_lab(session.status)  # the fault's table released and collected
        if frozen_at_start:
            echo("POST /debug/gc/freeze  (the service's start-up freeze, put back)")
            patient.gc_freeze()
    return trials
