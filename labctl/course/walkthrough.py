"""The arc every lab notebook follows, as one object: a healthy baseline under the lab's
load, the page (the lab starts, its fault unnamed, and the notebook waits until Prometheus
shows the lab's signals), the evidence (the notebook's own), the answer, and the recovery
with a before/after chart.

Collecting only: it returns numbers, verdicts and figures; the notebook shows them.

Usage (in a notebook)::

    walk = Walkthrough.begin(RUN_DIR, "03")       # scene set, baseline read
    walk.page()                                   # lab started; its signals crossed
    display(walk.plot("CPU"))                     # the dashboard panel, "paged" marked
    ...                                           # evidence: profiles, tables
    print(walk.grade("LinkHealth.score").message)
    walk.recover()                                # fault off under load; signals back
    display(walk.plot("CPU"))                     # before, during, after
    walk.end()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from labctl.course.catalogue import Lab, load_lab
from labctl.course.dashboard_catalogue import panel, panel_series
from labctl.course.grading import Verdict, check_answer
from labctl.course.lab_runs import Scene, read_signals, set_scene, start_lab, stop_lab
from labctl.evidence.patient import Patient
from labctl.evidence.session import Session
from labctl.render.plots import plot_panel
from labctl.stack.polling import TimedOut, wait_until
from labctl.stack.supervisor import Stack


def _print(command: str) -> None:
    print("$", command)


@dataclass
class Walkthrough:
    session: Session
    lab: Lab
    prometheus: str
    baseline: list[float | None]
    scene: Scene  # the load (and crowd) the baseline was read under
    echo: Callable[[str], None] = _print
    marks: dict[str, float] = field(default_factory=dict)  # event -> unix time, for charts

    @classmethod
    def begin(
        cls,
        run_dir: Path,
        key: str,
        settle_seconds: float = 10.0,
        echo: Callable[[str], None] = _print,
    ) -> Walkthrough:
        """Find or start the stack, run the lab's load with nothing wrong, read the baseline
        of every signal once Prometheus has ``settle_seconds`` of it, and never before the
        signals' longest range holds only this load (``Lab.settle_seconds``): whatever ran
        before (another lab) must be out of the baseline's windows."""
        status = Stack(run_dir).up()
        lab = load_lab(key)
        prometheus = status.prometheus_url
        session = Session.of(status)
        scene = set_scene(session, lab, echo)
        scene_set = time.monotonic()
        first = lab.signals[0]
        wait_until(lambda: read_signals(prometheus, lab)[0] is not None, 90,
                   f"Prometheus data for {first.promql}")  # fmt: skip
        since_scene = time.monotonic() - scene_set
        time.sleep(max(settle_seconds, lab.settle_seconds - since_scene))
        baseline = read_signals(prometheus, lab)
        return cls(session, lab, prometheus, baseline, scene, echo)

    @property
    def run_dir(self) -> Path:
        return self.session.run_dir

    @property
    def patient(self) -> Patient:
        return self.session.patient

    def signals(self) -> list[float | None]:
        return read_signals(self.prometheus, self.lab)

    def page(self, timeout: float = 150.0) -> list[float | None]:
        """Start the lab (its fault on, unnamed) and wait until every signal has crossed."""
        run = start_lab(self.session, self.lab, self.echo, self.scene)  # the baseline's load
        self.marks["paged"] = run.started_at

        def crossed(values: list[float | None]) -> bool:
            return all(s.met(b, v) for s, b, v in
                       zip(self.lab.signals, self.baseline, values, strict=True))  # fmt: skip

        self._wait_for_signals(crossed, timeout, f"the lab's signals: {self.describe()}")
        return self.signals()

    def _wait_for_signals(
        self, condition: Callable[[list[float | None]], bool], timeout: float, what: str
    ) -> None:
        """Poll the signals until ``condition`` holds; on a timeout, say what they last were
        against the baseline, so a failed run shows how far off it was."""
        last: list[float | None] = []

        def holds() -> bool:
            last[:] = self.signals()
            return condition(last)

        try:
            wait_until(holds, timeout, what, every=2)
        except TimedOut as exc:
            pairs = zip(self.lab.signals, self.baseline, last, strict=False)
            readings = "; ".join(f"{s.name}: {v!r} (baseline {b!r})" for s, b, v in pairs)
            raise TimedOut(f"{exc}; last read {readings}") from None

    def describe(self) -> str:
        return "; ".join(s.name for s in self.lab.signals)

    def plot(self, panel_title: str, seconds: float = 240.0) -> Figure:
        """A dashboard panel from the lab's Prometheus, with the page and the fix marked."""
        spec = panel(panel_title)
        series = panel_series(self.prometheus, spec, seconds)
        return plot_panel(spec, series, seconds, dict(self.marks))

    def grade(self, function: str) -> Verdict:
        """The check ``labctl lab check NN --answer FUNCTION`` makes."""
        culprit = next(f.culprit for f in self.patient.faults().catalogue if f.id == self.lab.fault)
        return check_answer(function, culprit)

    def recover(self, timeout: float = 150.0, hold_seconds: float = 0.0) -> list[float | None]:
        """Switch the fault off with the load still on (in real life: ship the fix) and wait
        until the first signal is at least halfway back to its baseline, then ``hold_seconds``
        more, so a panel averaging over a window shows the "after" too."""
        self.echo("DELETE /admin/faults")
        self.patient.fault_off(None)
        self.marks["fault off"] = time.time()
        first = self.lab.signals[0]
        self._wait_for_signals(lambda values: first.recovered(self.baseline[0], values[0]),
                               timeout, f"recovery: '{first.name}' halfway back")  # fmt: skip
        time.sleep(hold_seconds)
        return self.signals()

    def end(self) -> None:
        """Load stopped, every fault off: the stack as the notebook found it."""
        stop_lab(self.session.status)
        self.session.close()
