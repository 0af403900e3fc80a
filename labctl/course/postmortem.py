"""A drill's postmortem in Markdown, as an on-call review asks for it: the timeline (fault on,
every alert, each hint, capture and answer, fault off), what the alerts showed, the evidence
with its pictures, the culprit, why it misbehaved and the fix (from the lab's solution).

Usage::

    reveal = reveal_drill(session)
    path = write_postmortem(session.layout, reveal)   # run/postmortems/<time>-drill-04.md
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from labctl.contract import RunLayout
from labctl.course.incidents import Reveal
from labctl.stack.private_files import write_private


def _clock(at: float) -> str:
    return f"{datetime.fromtimestamp(at):%H:%M:%S}"


def solution_paragraph(solution: str, label: str) -> str | None:
    """The paragraph of a lab's ``solution.md`` that starts with ``**Label.**``."""
    found = re.search(rf"^\*\*{label}\.\*\*\s*(.+?)(?:\n\s*\n|\Z)", solution, re.M | re.S)
    return " ".join(found[1].split()) if found else None


def postmortem_markdown(reveal: Reveal, solution: str, folder: Path) -> str:
    """The postmortem of ``reveal``; ``folder`` is where it will be written (pictures are
    linked relative to it)."""
    lab, start = reveal.lab, reveal.timeline[0].at
    end = reveal.timeline[-1].at
    found = (
        f"{reveal.seconds_to_culprit:.0f} s, score {reveal.score}/100"
        if reveal.seconds_to_culprit is not None
        else "not found before the reveal"
    )
    out = [
        f"# Postmortem: {lab.title} (drill, lab {lab.number})",
        "",
        f"- **When:** {datetime.fromtimestamp(start):%Y-%m-%d} {_clock(start)} to {_clock(end)}"
        f" ({end - start:.0f} s)",
        f"- **Fault:** `{lab.fault}` at {lab.intensity}; the culprit: `{reveal.culprit}`",
        f"- **Time to the culprit:** {found}",
        f"- **The page it should raise:** `{lab.alert}`",
        "",
        "## Timeline",
        "",
        "| at | +s | what |",
        "|---|---|---|",
        *(f"| {_clock(e.at)} | {e.at - start:.0f} | {e.what} |" for e in reveal.timeline),
        "",
        "## What the alerts showed",
        "",
    ]
    if reveal.alerts:
        out += [
            f"- {e.what.removeprefix('alert fired: ')} fired at {_clock(e.at)}, "
            f"{e.at - start:.0f} s after the fault went on"
            for e in reveal.alerts
        ]
    else:
        out.append(f"- No alert fired during the drill (`{lab.alert}` was expected).")
    out += ["", "## The evidence", "", "The lab's signals, read before the fault went off:", ""]
    out += [
        f"- {name}: {'no data' if value is None else f'{value:.4g}'}"
        for name, value in reveal.evidence
    ]
    out += ["", "Captures made during the drill:", ""]
    if not reveal.captures:
        out.append("- none")
    for capture in reveal.captures:
        out.append(f"- {_clock(capture.at)}: {capture.kind}, `{capture.path}`")
        for picture in capture.pictures:
            relative = os.path.relpath(picture, folder)
            image = picture.endswith((".svg", ".png"))
            out.append(f"  {'!' if image else ''}[{Path(picture).name}]({relative})")
    out += ["", "Answers:", ""]
    if not reveal.answers:
        out.append("- none")
    for answer in reveal.answers:
        evidence = (
            f"; evidence `{answer.evidence}`: {answer.evidence_message}"
            if answer.evidence
            else "; no evidence given"
        )
        out.append(
            f"- {_clock(answer.at)}: `{answer.answer}`, "
            f"{'right' if answer.correct else 'not accepted'}{evidence}"
        )
    out += ["", "## The culprit and the fix", "", f"`{reveal.culprit}`", ""]
    for label in ("Why", "Fix"):
        paragraph = solution_paragraph(solution, label)
        if paragraph:
            out += [f"**{label}.** {paragraph}", ""]
    out += [f"The whole solution: `{lab.solution}`. Tools: {', '.join(lab.tools)}.", ""]
    return "\n".join(out)


def write_postmortem(layout: RunLayout, reveal: Reveal) -> Path:
    """Write the postmortem under ``run/postmortems/`` (0600: it holds the answers)."""
    folder = layout.root / "postmortems"
    start = reveal.timeline[0].at
    path = folder / f"{datetime.fromtimestamp(start):%Y%m%d-%H%M%S}-drill-{reveal.lab.number}.md"
    solution = reveal.lab.solution.read_text() if reveal.lab.solution.is_file() else ""
    folder.mkdir(parents=True, exist_ok=True)
    write_private(path, postmortem_markdown(reveal, solution, folder).encode())
    return path
