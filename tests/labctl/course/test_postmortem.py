"""A drill's postmortem from its reveal: every part an on-call review asks for, the pictures
linked from where the file lies, the fix from the lab's solution, written 0600."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from labctl.contract import RunLayout
from labctl.course.catalogue import load_lab
from labctl.course.incidents import Answer, Capture, Event, Reveal
from labctl.course.postmortem import solution_paragraph, write_postmortem

T0 = 1_796_000_000.0


def reveal(run_dir: Path) -> Reveal:
    lab = load_lab("04")
    capture = run_dir / "profiles" / "20261202-101530-cpu"
    return Reveal(
        lab=lab,
        culprit="leaky_app.links.events:AckTasks.send",
        timeline=[Event(T0, "fault switched on (hidden): task_leak"),
                  Event(T0 + 48, "alert fired: TasksGrowing"), Event(T0 + 60, "hint: symptom"),
                  Event(T0 + 90, f"capture: CPU, {capture}"),
                  Event(T0 + 130, "answer 'AckTasks.send': right"),
                  Event(T0 + 140, "revealed; fault off")],
        evidence=[("live asyncio tasks are 5 times what they were", 7.5)],
        alerts=[Event(T0 + 48, "alert fired: TasksGrowing")],
        captures=[Capture(T0 + 90, "CPU", str(capture), [str(capture / "flamegraph.svg")])],
        answers=[Answer(T0 + 130, "AckTasks.send", True, str(capture),
                        "the CPU capture of 10:15:30 shows it")],
        score=90,
        seconds_to_culprit=130.0,
    )  # fmt: skip


def test_the_postmortem_has_the_timeline_alerts_evidence_and_the_fix(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    path = write_postmortem(layout, reveal(tmp_path))
    assert path.parent == tmp_path / "postmortems" and path.name.endswith("-drill-04.md")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for part in (
        "# Postmortem: Tasks pile up (drill, lab 04)",
        "## Timeline",
        "## What the alerts showed",
        "## The evidence",
        "## The culprit and the fix",
    ):
        assert part in text, part  # fmt: skip
    assert re.search(r"^\| \d\d:\d\d:\d\d \| 48 \| alert fired: TasksGrowing \|$", text, re.M)
    assert "TasksGrowing fired at" in text and "48 s after the fault went on" in text
    assert "130 s, score 90/100" in text
    assert "![flamegraph.svg](../profiles/20261202-101530-cpu/flamegraph.svg)" in text
    assert "`AckTasks.send`, right; evidence" in text
    solution = load_lab("04").solution.read_text()
    fix = solution_paragraph(solution, "Fix")
    assert fix and fix.startswith("Honour the acknowledgement") and f"**Fix.** {fix}" in text
    assert "**Why.**" in text


def test_a_drill_nobody_solved_says_so(tmp_path: Path) -> None:
    unsolved = reveal(tmp_path)
    unsolved = Reveal(unsolved.lab, unsolved.culprit, unsolved.timeline, unsolved.evidence)
    text = write_postmortem(RunLayout(tmp_path), unsolved).read_text()
    assert "not found before the reveal" in text and "No alert fired during the drill" in text
    assert "Captures made during the drill:\n\n- none" in text
