"""Incident drills for workshops: a hidden fault, a clock, a grade, and a timeline.

``start_drill`` picks one of the labs from a seed (the same seed gives the same incident, so
a room can run one drill together), sets up its world (load, a failing mail server when the
lab needs one) and switches its fault on in drill mode: the service hides its fault state
from metrics, and ``labctl fault list`` hides it too. Trainees work from the alerts and the
tools. ``answer_drill`` grades a named function and records the time; ``reveal_drill`` ends
the drill and returns the timeline (fault on, first alert, answers) with the evidence a
trainee should have found.

``run/drill.json`` keeps the seed, the start time and the answers sealed with the operator's
token (``run/operator.token``, a Fernet token from the ``cryptography`` package): the seed
names the lab, so without that secret the file tells nothing but that a drill runs. The answer
key stays with the service until the reveal.

Usage::

    with Session.open(Path("run")) as session:
        drill = start_drill(session, seed=7)
        verdict = answer_drill(session, "ReferrerLog.distinct_recent")
        reveal = reveal_drill(session)       # fault off, load stopped; reveal.timeline
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from labctl.contract import RunLayout
from labctl.course.catalogue import Lab, LabError, all_labs
from labctl.course.grading import Verdict, check_answer
from labctl.course.lab_runs import Echo, current, read_signals, set_scene, stop_lab
from labctl.evidence.session import Session
from labctl.stack.private_files import write_private
from labctl.stack.prometheus import QueryError, raw_samples


@dataclass
class Answer:
    at: float
    answer: str
    correct: bool


def _sealer(layout: RunLayout) -> Fernet:
    """The drill state's key, derived from the operator's token (the service keeps it)."""
    try:
        token = layout.operator_token.read_text().strip()
    except OSError as exc:
        raise LabError(
            f"cannot read the operator token {layout.operator_token} ({exc.strerror}): the"
            " drill's state is sealed with it; is the service running (labctl up)?",
            3,
        ) from None
    digest = hashlib.sha256(b"labctl drill state\0" + token.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


@dataclass
class DrillRun:
    seed: int
    started_at: float
    answers: list[Answer] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def read(cls, layout: RunLayout) -> DrillRun:
        try:
            sealed = json.loads(layout.drill_state.read_text())["sealed"]
        except (OSError, ValueError, KeyError, TypeError):
            raise LabError("no drill is running; start one: labctl drill start", 3) from None
        try:
            data = json.loads(_sealer(layout).decrypt(sealed.encode()))
            return cls(data["seed"], data["started_at"], [Answer(**a) for a in data["answers"]])
        except (InvalidToken, ValueError, KeyError, TypeError, AttributeError):
            raise LabError(
                f"{layout.drill_state} does not open with the operator token: it was sealed"
                " with another one, or edited; labctl drill reveal cannot grade it",
                3,
            ) from None

    def write(self, layout: RunLayout) -> None:
        """Sealed, and 0600: the seed names the drill's lab."""
        sealed = _sealer(layout).encrypt(json.dumps(self.to_json()).encode()).decode()
        body = {"started_at": self.started_at, "sealed": sealed}
        write_private(layout.drill_state, (json.dumps(body) + "\n").encode())


@dataclass(frozen=True)
class Event:
    at: float
    what: str


@dataclass(frozen=True)
class Reveal:
    lab: Lab
    culprit: str
    timeline: list[Event]
    evidence: list[tuple[str, float | None]]  # the lab's signals, read before the fault went off

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.lab.number,
            "title": self.lab.title,
            "fault": self.lab.fault,
            "culprit": self.culprit,
            "alert": self.lab.alert,
            "timeline": [asdict(e) for e in self.timeline],
            "evidence": [{"signal": name, "value": value} for name, value in self.evidence],
            "tools": self.lab.tools,
            "solution": str(self.lab.solution),
        }


def pick_lab(seed: int) -> Lab:
    """The drill's incident for ``seed``: the same on every machine with the same labs."""
    return random.Random(seed).choice(all_labs())  # noqa: S311 (a scenario, not a secret)


def start_drill(
    session: Session, seed: int | None = None, echo: Echo = lambda _l: None
) -> DrillRun:
    layout = session.layout
    if layout.drill_state.exists():
        raise LabError("a drill is already running; end it first: labctl drill reveal", 2)
    if current(layout) is not None:
        raise LabError("a lab is running; stop it first: labctl lab stop", 2)
    seed = secrets.randbelow(1_000_000) if seed is None else seed
    lab = pick_lab(seed)
    # The scene's commands would name the incident (a failing mail server is one already),
    # so the drill keeps them to itself.
    set_scene(session, lab, lambda _line: None)
    echo("PUT /admin/drill?fault=<hidden>")
    session.patient.drill_start(lab.fault, lab.intensity)
    drill = DrillRun(seed, time.time())
    drill.write(layout)
    return drill


def answer_drill(session: Session, answer: str) -> Verdict:
    drill = DrillRun.read(session.layout)
    board = session.patient.faults(reveal=True)
    active = [f for f in board.catalogue if f.id in board.active]
    if not active:
        raise LabError("the drill's fault is no longer on; labctl drill reveal ends it", 3)
    verdict = check_answer(answer, active[0].culprit)
    drill.answers.append(Answer(time.time(), answer, verdict.correct))
    drill.write(session.layout)
    return verdict


def _first_alert(url: str, since: float, step: float = 5.0) -> Event | None:
    """When the first alert started firing after ``since``: the first stored sample of
    Prometheus' ALERTS series (one per rule evaluation), so the time is the evaluation's, not
    a graph's grid point up to a step later. One already firing when the drill began (an
    earlier incident's) is not the drill's."""
    seconds = max(time.time() - since, step)
    try:
        series = raw_samples(url, 'ALERTS{alertstate="firing"}', seconds + step)
    except QueryError:
        return None
    starts = [(min(t for t, _ in s.points), s.labels.get("alertname", "?"))
              for s in series if s.points]  # fmt: skip
    firsts = [(at, name) for at, name in starts if at > since + step]
    if not firsts:
        return None
    at, name = min(firsts)
    return Event(at, f"first alert fired: {name}")


def reveal_drill(session: Session) -> Reveal:
    """End the drill (fault off, mail healed, load stopped) and say what happened."""
    drill = DrillRun.read(session.layout)
    lab = pick_lab(drill.seed)
    url = session.status.prometheus_url
    evidence = list(zip([s.name for s in lab.signals], read_signals(url, lab), strict=True))
    patient = session.patient
    culprit = next(f.culprit for f in patient.faults(reveal=True).catalogue if f.id == lab.fault)
    patient.drill_end()
    stop_lab(session.status)
    timeline = [Event(drill.started_at, f"fault switched on (hidden): {lab.fault}")]
    alert = _first_alert(url, drill.started_at)
    if alert is not None:
        timeline.append(alert)
    timeline += [
        Event(a.at, f"answer {a.answer!r}: {'right' if a.correct else 'wrong'}")
        for a in drill.answers
    ]
    timeline.append(Event(time.time(), "revealed; fault off"))
    session.layout.drill_state.unlink(missing_ok=True)
    return Reveal(lab, culprit, sorted(timeline, key=lambda e: e.at), evidence)
