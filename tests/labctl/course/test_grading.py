"""Grading: a named function against the culprit, and a fix against the lab's fix test, which
fails on the lab's code and passes with its solution patch."""

import shutil
import subprocess
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.course.catalogue import LABS_DIR, Lab, all_labs
from labctl.course.grading import check_answer, check_fix

ROOT = LABS_DIR.parent


@pytest.mark.parametrize(
    ("answer", "correct", "says"),
    [
        ("FinishedPages.page", True, "right"),
        ("leaky_app.links.preview:FinishedPages.page", True, "right"),
        ("leaky_app.links.preview.FinishedPages.page", True, "right"),
        ("  FinishedPages.page\n", True, "right"),
        ("page", False, "name its class too"),
        ("FinishedPages", False, "which of its methods"),
        ("ReadyRanking.rebuild", False, "look again"),
        ("", False, "look again"),
    ],
)
def test_check_answer_grades_and_nudges(answer: str, correct: bool, says: str) -> None:
    verdict = check_answer(answer, "leaky_app.links.preview:FinishedPages.page")
    assert verdict.correct is correct and says in verdict.message


FIX_LABS = [lab for lab in all_labs() if lab.fix is not None]


def test_every_lab_has_a_fix_exercise() -> None:
    assert [lab.number for lab in FIX_LABS] == [lab.number for lab in all_labs()]


@pytest.mark.parametrize("lab", FIX_LABS, ids=[lab.number for lab in FIX_LABS])
def test_a_fix_test_fails_on_the_lab_code_and_passes_with_the_solution_patch(
    lab: Lab, tmp_path: Path
) -> None:
    assert lab.fix_test is not None and lab.fix_patch is not None
    shutil.copytree(ROOT / "leaky_app", tmp_path / "leaky_app",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    before = check_fix(lab, root=tmp_path)
    assert not before.correct, before.message
    assert "FAILED" in before.message
    subprocess.run(["git", "apply", str(lab.fix_patch)], cwd=tmp_path, check=True)
    after = check_fix(lab, root=tmp_path)
    assert after.correct, after.message


def test_check_fix_from_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "check", "05", "--fix"]) == 1  # the checkout has the bug
    assert "not fixed yet" in capsys.readouterr().err
    assert main(["lab", "check", "03", "--fix"]) == 1
    assert "longer with 1000 referring pages" in capsys.readouterr().err  # the measured reason
    assert main(["lab", "check", "05"]) == 2  # --answer or --fix
