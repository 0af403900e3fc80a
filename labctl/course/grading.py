"""Grading: a function named against the culprit of the service's catalogue, and a fix
against the lab's fix test.

Usage::

    check_answer("LinkHealth.score", "leaky_app.links.health:LinkHealth.score").correct
    check_fix(load_lab("05")).message
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labctl.course.catalogue import LABS_DIR, Lab, LabError

Echo = Callable[[str], None]


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
