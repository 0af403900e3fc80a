"""Running a lab against the live stack: set the scene, grade the answer, verify the signals.

``start_lab`` gives the service one fault (switched through its debug port, never named to
the trainee), the lab's load and the world around it (a failing mail provider), and notes the
time in ``run/lab.json``. ``check_answer`` grades the function a trainee names against the
service's own catalogue. ``verify_lab`` is the trainer's rehearsal: it measures every signal
of ``lab.toml`` before and with the fault, on this machine, and puts everything back::

    lab = load_lab("03")
    readings = verify_lab(Path("run"), lab, echo=print)
    assert all(r.met for r in readings)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labctl.labs import LABS_DIR, Lab, LabError, Reading, sample_value
from labctl.load import LOAD, LoadShape, start_load, stop_load
from labctl.patient import Patient, PatientError
from labctl.polling import TimedOut, wait_until
from labctl.prometheus import PROMETHEUS, query
from labctl.smtp_sink import Mailbox
from labctl.stack import Stack, sink_dir
from labctl.top import Scrape
from labctl.ws_crowd import CROWD, start_crowd, stop_crowd

Echo = Callable[[str], None]
WS_CLIENTS = "leaky_app_ws_clients"
STATE = "lab.json"
DRILL_STATE = "drill.json"  # labctl.drills' record: a lab and a drill never run together


@dataclass(frozen=True)
class LabRun:
    number: str
    title: str
    started_at: float  # epoch seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def current(run_dir: Path) -> LabRun | None:
    try:
        return LabRun(**json.loads((run_dir / STATE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def start_lab(
    run_dir: Path, lab: Lab, echo: Echo = lambda _line: None, scene: Scene | None = None
) -> LabRun:
    """One lab at a time: every other fault off, the lab's world, load, then its fault.

    ``scene``: what :func:`set_scene` returned for this lab earlier (a walkthrough's baseline
    ran under it). While its load and crowd still run, they are kept rather than restarted,
    so the page comes under the very load the baseline was read under."""
    if (run_dir / DRILL_STATE).exists():
        raise LabError("a drill is running; end it first: labctl drill reveal", 2)
    with Patient.from_run_dir(run_dir) as patient:
        if scene is not None and scene == running_scene(run_dir, lab):  # the same lab too
            echo("DELETE /admin/faults")
            patient.fault_off(None)
        else:
            set_scene(run_dir, lab, patient, echo)
        echo(f"PUT /admin/faults/<the lab's fault>?intensity={lab.intensity}")
        patient.fault_on(lab.fault, lab.intensity)
    run = LabRun(lab.number, lab.title, time.time())
    (run_dir / STATE).write_text(json.dumps(run.to_json()) + "\n")
    return run


@dataclass(frozen=True)
class Scene:
    """The processes :func:`set_scene` started for a lab: its load, and its crowd if any."""

    lab: str
    load_pid: int | None
    crowd_pid: int | None


def running_scene(run_dir: Path, lab: Lab) -> Scene:
    running = Stack(run_dir).status().running
    load, crowd = running.get(LOAD), running.get(CROWD)
    return Scene(lab.number, load.pid if load else None, crowd.pid if crowd else None)


def set_scene(run_dir: Path, lab: Lab, patient: Patient, echo: Echo) -> Scene:
    """The lab's world without its fault: faults off, the mail server's failure rate, load
    (clicks, and websocket subscribers when the lab has them)."""
    echo("DELETE /admin/faults")
    patient.fault_off(None)
    Mailbox(sink_dir(run_dir)).set_fail_rate(lab.setup.smtp_fail_rate)
    if lab.setup.smtp_fail_rate:
        echo(f"labctl smtp fail --rate {lab.setup.smtp_fail_rate:g}")
    stop_load(run_dir)
    shape = LoadShape(users=lab.load.users, rate=lab.load.rate,
                      create_share=lab.load.create_share)  # fmt: skip
    record = start_load(run_dir, None, shape)
    echo(" ".join(record.cmd))
    stop_crowd(run_dir)
    if lab.load.ws_clients:
        crowd = start_crowd(run_dir, lab.load.ws_clients, lab.load.ws_reconnect_seconds)
        echo(" ".join(crowd.cmd))
    return running_scene(run_dir, lab)


def stop_lab(run_dir: Path) -> LabRun | None:
    """Faults off, mail healed, load stopped; the service keeps running."""
    run = current(run_dir)
    with suppress(PatientError), Patient.from_run_dir(run_dir) as patient:
        patient.fault_off(None)
    Mailbox(sink_dir(run_dir)).set_fail_rate(0.0)
    stop_load(run_dir)
    if stop_crowd(run_dir) is not None:
        _collect_after_crowd(run_dir)
    (run_dir / STATE).unlink(missing_ok=True)
    return run


def _collect_after_crowd(run_dir: Path) -> None:
    """A thousand connections gone leave their cycles in the oldest generation; the next
    full collection walks them (over 100 ms here). Collect now, once the service has seen
    them leave, so that pause is not in the next lab's baseline."""
    with suppress(PatientError, TimedOut), Patient.from_run_dir(run_dir) as patient:
        wait_until(lambda: not Scrape.parse(patient.metrics_text()).value(WS_CLIENTS), 15,
                   "the websocket subscribers gone")  # fmt: skip
        patient.gc_collect(2)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    message: str


def check_answer(answer: str, culprit: str) -> Verdict:
    """Grade a named function against ``culprit`` (``module:qualname``). Accepted: the
    qualname (``Class.method``), or with its module (``pkg.mod:Class.method`` or
    ``pkg.mod.Class.method``)."""
    module, _, qualname = culprit.partition(":")
    given = answer.strip()
    if given in {qualname, culprit, f"{module}.{qualname}"}:
        return Verdict(True, f"right: {culprit}")
    parts = qualname.split(".")
    if len(parts) > 1 and given == parts[-1]:
        return Verdict(False, f"close: several things are called {given}; name its class too")
    if len(parts) > 1 and given == ".".join(parts[:-1]):
        return Verdict(False, f"close: {given} is the right place; which of its methods?")
    return Verdict(False, f"not {given or 'that'}: look again at the evidence")


def check_fix(lab: Lab, root: Path | None = None, echo: Echo = lambda _line: None) -> Verdict:
    """Run the lab's fix test against the code in ``root`` (the checkout the trainee edits).
    The test fails until the fix is made."""
    test = lab.fix_test
    if test is None:
        raise LabError(f"lab {lab.number} has no fix exercise; answer with --answer", 2)
    root = root or LABS_DIR.parent
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)]
    echo(" ".join(cmd))
    # Run from ``root`` so that its leaky_app, the one being fixed, is the one imported.
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode == 0:
        return Verdict(True, f"fixed: {lines[-1] if lines else 'the test passes'}")
    failures = [line for line in lines if line.startswith(("E ", "FAILED"))][:6]
    return Verdict(False, "not fixed yet:\n" + "\n".join(failures or lines[-5:]))


def prometheus_url(run_dir: Path) -> str:
    record = Stack(run_dir).status().running.get(PROMETHEUS)
    if record is None:
        raise LabError(f"Prometheus is not running in {run_dir}; start the stack: labctl up", 3)
    return record.urls["ui"]


def read_signals(url: str, lab: Lab) -> list[float | None]:
    return [sample_value(query(url, s.promql)) for s in lab.signals]


def verify_lab(
    run_dir: Path,
    lab: Lab,
    echo: Echo = lambda _line: None,
    settle: float = 90.0,
    timeout: float = 120.0,
) -> list[Reading]:
    """Measure each signal with the lab's load and no fault (the baseline), then with the
    fault, until every one is met or ``timeout`` passes; leave the service as it was."""
    url = prometheus_url(run_dir)
    try:
        with Patient.from_run_dir(run_dir) as patient:
            set_scene(run_dir, lab, patient, echo)
            echo(f"baseline: waiting for Prometheus to see the load (up to {settle:g} s)")
            _wait_for_load(url, settle)
            # Part of the method, not a guess: the baseline's windows must hold only this load.
            echo(f"baseline: {lab.settle_seconds:g} s of steady load (the signals' longest range)")
            time.sleep(lab.settle_seconds)
            baseline = read_signals(url, lab)
            echo(f"PUT /admin/faults/{lab.fault}?intensity={lab.intensity}")
            patient.fault_on(lab.fault, lab.intensity)
            echo(f"with the fault: waiting for every signal to cross (up to {timeout:g} s)")

            def all_met(values: list[float | None]) -> bool:
                return all(
                    s.met(b, v) for s, b, v in zip(lab.signals, baseline, values, strict=True)
                )

            values = _poll(url, lab, timeout, all_met)
    finally:
        stop_lab(run_dir)
    return [Reading(s, b, v) for s, b, v in zip(lab.signals, baseline, values, strict=True)]


# The service's request rate as Prometheus sees it: once positive, the load is in the data.
LOAD_SEEN = 'sum(rate(leaky_app_http_requests_total{job="leaky-app"}[30s]))'


def _wait_for_load(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (sample_value(query(url, LOAD_SEEN)) or 0.0) <= 0:
        if time.monotonic() > deadline:
            raise LabError(f"Prometheus at {url} saw no requests within {timeout:g} s; "
                           "is it scraping the service? labctl status")  # fmt: skip
        time.sleep(1.0)


def _poll(
    url: str, lab: Lab, timeout: float, done: Callable[[list[float | None]], bool]
) -> list[float | None]:
    deadline = time.monotonic() + timeout
    values = read_signals(url, lab)
    while not done(values) and time.monotonic() < deadline:
        time.sleep(1.0)
        values = read_signals(url, lab)
    return values
