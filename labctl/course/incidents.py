"""Incident drills for workshops: a hidden fault, a clock, a grade, and a timeline.

``start_drill`` picks one of the labs from a seed (the same seed gives the same incident, so
a room can run one drill together), sets up its world (load, a failing mail server when the
lab needs one) and switches its fault on in drill mode: the service hides its fault state
from metrics, and ``labctl fault list`` hides it too. Trainees work from the alerts and the
tools. ``hint_drill`` gives the next hint (the symptom, the tool, the area of the code), each
at a cost in points. ``answer_drill`` grades a named function with the capture that shows it
(:mod:`labctl.course.evidence_grading`) and records the time; ``reveal_drill`` ends the drill
and returns the timeline (fault on, every alert, hints, captures, answers, fault off) with the
evidence a trainee should have found, for the postmortem (:mod:`labctl.course.postmortem`).

``run/drill.json`` keeps the seed, the start time and the answers sealed with the operator's
token (``run/operator.token``, a Fernet token from the ``cryptography`` package): the seed
names the lab, so without that secret the file tells nothing but that a drill runs. The answer
key stays with the service until the reveal.

Usage::

    with Session.open(Path("run")) as session:
        drill = start_drill(session, seed=7)
        hint = hint_drill(session)           # "the page is ...", 10 points
        verdict, graded = answer_drill(session, "ReadyRanking.rebuild",
                                       Path("run/profiles/20261202-101500-cpu"))
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
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from labctl.contract import RunLayout
from labctl.course.catalogue import Lab, LabError, all_labs
from labctl.course.evidence_grading import grade_evidence
from labctl.course.grading import Verdict, check_answer
from labctl.course.lab_runs import Echo, current, read_signals, set_scene, stop_lab
from labctl.errors import LabctlError
from labctl.evidence.capture_files import capture_file, kind_of, read_capture
from labctl.evidence.session import Session
from labctl.stack.private_files import write_private
from labctl.stack.prometheus import QueryError, raw_samples

# The hints, in the order they come, and what each costs of the drill's 100 points.
HINTS = (("symptom", 10), ("tool", 20), ("area", 30))
WRONG_ANSWER_COST = 5


@dataclass
class Answer:
    at: float
    answer: str
    correct: bool  # the function and the evidence both right
    evidence: str | None = None
    evidence_message: str = ""


@dataclass
class Hint:
    at: float
    level: int  # an index of HINTS


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
    hints: list[Hint] = field(default_factory=list)

    @property
    def solved_at(self) -> float | None:
        return next((a.at for a in self.answers if a.correct), None)

    @property
    def score(self) -> int | None:
        """100, less each hint's cost and each wrong answer's before the right one; None until
        solved."""
        solved = self.solved_at
        if solved is None:
            return None
        wrong = sum(1 for a in self.answers if a.at < solved and not a.correct)
        cost = sum(HINTS[h.level][1] for h in self.hints if h.at <= solved)
        return max(0, 100 - cost - WRONG_ANSWER_COST * wrong)

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
            return cls(
                data["seed"],
                data["started_at"],
                [Answer(**a) for a in data["answers"]],
                [Hint(**h) for h in data.get("hints", [])],
            )
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
class Capture:
    """A capture made during the drill, under ``run/profiles``."""

    at: float
    kind: str
    path: str
    pictures: list[str]  # its flamegraphs


@dataclass(frozen=True)
class Reveal:
    lab: Lab
    culprit: str
    timeline: list[Event]
    evidence: list[tuple[str, float | None]]  # the lab's signals, read before the fault went off
    alerts: list[Event] = field(default_factory=list)  # each alert's first firing in the drill
    captures: list[Capture] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    score: int | None = None
    seconds_to_culprit: float | None = None

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
            "alerts": [asdict(e) for e in self.alerts],
            "captures": [asdict(c) for c in self.captures],
            "score": self.score,
            "seconds_to_culprit": self.seconds_to_culprit,
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


def _active_culprit(session: Session) -> str:
    board = session.patient.faults(reveal=True)
    active = [f for f in board.catalogue if f.id in board.active]
    if not active:
        raise LabError("the drill's fault is no longer on; labctl drill reveal ends it", 3)
    return active[0].culprit


def hint_drill(session: Session) -> tuple[str, str, int]:
    """The next hint: its name, its text and what it costs. The hints are the symptom (the
    page and its first signal), the tool (the lab's), the area (the culprit's module)."""
    drill = DrillRun.read(session.layout)
    level = len(drill.hints)
    if level >= len(HINTS):
        raise LabError("no hints are left: the next step is yours (or labctl drill reveal)", 2)
    lab = pick_lab(drill.seed)
    name, cost = HINTS[level]
    if name == "symptom":
        text = f"the page is {lab.alert}: {lab.signals[0].name}"
    elif name == "tool":
        text = f"reach for {' or '.join(lab.tools)}"
    else:
        module = _active_culprit(session).partition(":")[0]
        text = f"the code to read is in {module.replace('.', '/')}.py"
    drill.hints.append(Hint(time.time(), level))
    drill.write(session.layout)
    return name, text, cost


def answer_drill(
    session: Session, answer: str, evidence: Path | None = None
) -> tuple[Verdict, DrillRun]:
    """Grade ``answer`` and the capture ``evidence`` that shows it: the drill is solved when
    both are right. The drill as recorded with this answer comes back too (its score)."""
    drill = DrillRun.read(session.layout)
    culprit = _active_culprit(session)
    verdict = check_answer(answer, culprit)
    shown = None if evidence is None else grade_evidence(evidence, culprit, drill.started_at)
    if verdict.correct and shown is None:
        verdict = Verdict(
            False,
            "right function; now name the capture that shows it: --evidence run/profiles/<folder>",
        )
    elif verdict.correct and shown is not None:
        verdict = (
            Verdict(True, f"{verdict.message}; {shown.message}")
            if shown.shows
            else Verdict(False, f"right function, but {shown.message}")
        )
    drill.answers.append(
        Answer(
            time.time(),
            answer,
            verdict.correct,
            None if evidence is None else str(evidence),
            "" if shown is None else shown.message,
        )
    )
    drill.write(session.layout)
    return verdict, drill


def _alerts(url: str, since: float, step: float = 5.0) -> list[Event]:
    """Each alert's first firing after ``since``: the first stored sample of Prometheus'
    ALERTS series (one per rule evaluation), so the time is the evaluation's, not a graph's
    grid point up to a step later. One already firing when the drill began (an earlier
    incident's) is not the drill's."""
    seconds = max(time.time() - since, step)
    try:
        series = raw_samples(url, 'ALERTS{alertstate="firing"}', seconds + step)
    except QueryError:
        return []
    firsts: dict[str, float] = {}
    for s in series:
        if not s.points:
            continue
        at, name = min(t for t, _ in s.points), s.labels.get("alertname", "?")
        if at > since + step:
            firsts[name] = min(at, firsts.get(name, at))
    return sorted(
        (Event(at, f"alert fired: {name}") for name, at in firsts.items()), key=lambda e: e.at
    )


def _captures(layout: RunLayout, since: float) -> list[Capture]:
    """The captures made in ``run/profiles`` since the drill began, oldest first."""
    found = []
    for folder in sorted(layout.profiles.glob("*")) if layout.profiles.is_dir() else []:
        try:
            at = capture_file(folder).stat().st_mtime
            kind = kind_of(read_capture(folder))
        except (LabctlError, OSError):
            continue  # a diff, a window, or a capture that failed: not evidence
        if at >= since:
            pictures = sorted(str(p) for p in folder.glob("*flamegraph*"))
            found.append(Capture(at, kind, str(folder), pictures))
    return sorted(found, key=lambda c: c.at)


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
    alerts = _alerts(url, drill.started_at)
    captures = _captures(session.layout, drill.started_at)
    timeline = [Event(drill.started_at, f"fault switched on (hidden): {lab.fault}"), *alerts]
    timeline += [Event(h.at, f"hint: {HINTS[h.level][0]}") for h in drill.hints]
    timeline += [Event(c.at, f"capture: {c.kind}, {c.path}") for c in captures]
    timeline += [
        Event(a.at, f"answer {a.answer!r}: {'right' if a.correct else 'wrong'}")
        for a in drill.answers
    ]
    timeline.append(Event(time.time(), "revealed; fault off"))
    session.layout.drill_state.unlink(missing_ok=True)
    solved = drill.solved_at
    return Reveal(
        lab,
        culprit,
        sorted(timeline, key=lambda e: e.at),
        evidence,
        alerts,
        captures,
        drill.answers,
        drill.score,
        None if solved is None else round(solved - drill.started_at, 1),
    )
