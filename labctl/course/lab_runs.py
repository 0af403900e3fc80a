"""Running a lab against the live stack: set the scene, start it, stop it, verify its signals.

``start_lab`` gives the service one fault (switched through its debug port, never named to
the trainee), the lab's load and the world around it (a failing mail provider), and notes the
time in ``run/lab.json``. ``verify_lab`` is the trainer's rehearsal: it measures every signal
of ``lab.toml`` before and with the fault, on this machine, and puts everything back::

    with Session.open(Path("run")) as session:
        readings = verify_lab(session, load_lab("03"), echo=print)
    assert all(r.met for r in readings)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from typing import Any

from labctl.contract import CROWD, LOAD, Metric, RunLayout
from labctl.course.catalogue import Lab, LabError, Reading, sample_value
from labctl.evidence.patient import Patient, PatientError
from labctl.evidence.session import Session
from labctl.records.scrape import Scrape
from labctl.stack.mail_sink import Mailbox
from labctl.stack.polling import TimedOut, wait_until
from labctl.stack.prometheus import query
from labctl.stack.supervisor import StackStatus
from labctl.stack.traffic import start_load, stop_load
from labctl.stack.ws_crowd import start_crowd, stop_crowd

Echo = Callable[[str], None]


@dataclass(frozen=True)
class LabRun:
    number: str
    title: str
    started_at: float  # epoch seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def current(layout: RunLayout) -> LabRun | None:
    """The lab that runs, from ``run/lab.json``."""
    try:
        return LabRun(**json.loads(layout.lab_state.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def start_lab(
    session: Session, lab: Lab, echo: Echo = lambda _line: None, scene: Scene | None = None
) -> LabRun:
    """One lab at a time: every other fault off, the lab's world, load, then its fault.

    ``scene``: what :func:`set_scene` returned for this lab earlier (a walkthrough's baseline
    ran under it). While its load and crowd still run, they are kept rather than restarted,
    so the page comes under the very load the baseline was read under."""
    if session.layout.drill_state.exists():
        raise LabError("a drill is running; end it first: labctl drill reveal", 2)
    if scene is not None and scene == running_scene(session.status, lab):  # the same lab too
        echo("DELETE /admin/faults")
        session.patient.fault_off(None)
    else:
        set_scene(session, lab, echo)
    echo(f"PUT /admin/faults/<the lab's fault>?intensity={lab.intensity}")
    session.patient.fault_on(lab.fault, lab.intensity)
    run = LabRun(lab.number, lab.title, time.time())
    session.layout.lab_state.write_text(json.dumps(run.to_json()) + "\n")
    return run


@dataclass(frozen=True)
class Scene:
    """The processes :func:`set_scene` started for a lab: its load, and its crowd if any."""

    lab: str
    load_pid: int | None
    crowd_pid: int | None


def running_scene(status: StackStatus, lab: Lab) -> Scene:
    """The load and crowd that run now, as a :class:`Scene` of ``lab``."""
    load, crowd = status.running.get(LOAD), status.running.get(CROWD)
    return Scene(lab.number, load.pid if load else None, crowd.pid if crowd else None)


def set_scene(session: Session, lab: Lab, echo: Echo) -> Scene:
    """The lab's world without its fault: faults off, the mail server's failure rate, load
    (clicks, and websocket subscribers when the lab has them)."""
    echo("DELETE /admin/faults")
    session.patient.fault_off(None)
    Mailbox(session.layout.smtp).set_fail_rate(lab.setup.smtp_fail_rate)
    if lab.setup.smtp_fail_rate:
        echo(f"labctl smtp fail --rate {lab.setup.smtp_fail_rate:g}")
    stop_load(session.status)
    record = start_load(session.status, None, lab.load.shape())
    echo(" ".join(record.cmd))
    stop_crowd(session.status)
    if lab.load.ws_clients:
        crowd = start_crowd(session.status, lab.load.ws_clients, lab.load.ws_reconnect_seconds)
        echo(" ".join(crowd.cmd))
    return running_scene(session.status, lab)


def stop_lab(status: StackStatus) -> LabRun | None:
    """Faults off, mail healed, load stopped; the service keeps running. Works with whatever
    still runs: it is how a failed lab is cleaned up."""
    run = current(status.layout)
    with suppress(PatientError), Patient.of(status) as patient:
        patient.fault_off(None)
    Mailbox(status.layout.smtp).set_fail_rate(0.0)
    stop_load(status)
    if stop_crowd(status) is not None:
        _collect_after_crowd(status)
    status.layout.lab_state.unlink(missing_ok=True)
    return run


def _collect_after_crowd(status: StackStatus) -> None:
    """A thousand connections gone leave their cycles in the oldest generation; the next
    full collection walks them (over 100 ms here). Collect now, once the service has seen
    them leave, so that pause is not in the next lab's baseline."""
    with suppress(PatientError, TimedOut), Patient.of(status) as patient:
        wait_until(lambda: not Scrape.parse(patient.metrics_text()).value(Metric.WS_CLIENTS), 15,
                   "the websocket subscribers gone")  # fmt: skip
        patient.gc_collect(2)


def read_signals(url: str, lab: Lab) -> list[float | None]:
    return [sample_value(query(url, s.promql)) for s in lab.signals]


def verify_lab(
    session: Session,
    lab: Lab,
    echo: Echo = lambda _line: None,
    settle: float = 90.0,
    timeout: float = 120.0,
) -> list[Reading]:
    """Measure each signal with the lab's load and no fault (the baseline), then with the
    fault, until every one is met or ``timeout`` passes; leave the service as it was."""
    url = session.status.prometheus_url
    try:
        set_scene(session, lab, echo)
        echo(f"baseline: waiting for Prometheus to see the load (up to {settle:g} s)")
        _wait_for_load(url, settle)
        # Part of the method, not a guess: the baseline's windows must hold only this load.
        echo(f"baseline: {lab.settle_seconds:g} s of steady load (the signals' longest range)")
        time.sleep(lab.settle_seconds)
        baseline = read_signals(url, lab)
        echo(f"PUT /admin/faults/{lab.fault}?intensity={lab.intensity}")
        session.patient.fault_on(lab.fault, lab.intensity)
        echo(f"with the fault: waiting for every signal to cross (up to {timeout:g} s)")

        def all_met(values: list[float | None]) -> bool:
            return all(s.met(b, v) for s, b, v in zip(lab.signals, baseline, values, strict=True))

        values = _poll(url, lab, timeout, all_met)
    finally:
        stop_lab(session.status)
    return [Reading(s, b, v) for s, b, v in zip(lab.signals, baseline, values, strict=True)]


# The service's request rate as Prometheus sees it: once positive, the load is in the data.
LOAD_SEEN = f'sum(rate({Metric.REQUESTS}{{job="leaky-app"}}[30s]))'


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
