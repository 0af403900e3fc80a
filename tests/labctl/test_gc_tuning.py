"""``labctl lab gc-tuning`` on the command line. The comparison itself (four settings side by
side under lab 05, the stack put back afterwards) runs live in notebooks/05-p99-spikes.py,
which asserts what it shows; the suite does not run it twice."""

from pathlib import Path

import pytest

from labctl.cli import main


def test_gc_tuning_without_a_stack_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "gc-tuning", "--seconds", "3", "--run-dir", str(tmp_path)]) == 3
    assert "labctl up" in capsys.readouterr().err


def test_gc_tuning_refuses_a_window_too_short_to_measure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "gc-tuning", "--seconds", "1", "--run-dir", str(tmp_path)]) == 2
    assert "--seconds" in capsys.readouterr().err
