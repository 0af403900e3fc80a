"""A trainee's results on their way to a real scoreboard: signed and numbered, kept while the
scoreboard is away and sent in order when it is back, a refused one dropped with the reason."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import httpx
import pytest

from labctl.contract import RunLayout
from labctl.course.catalogue import LabError
from labctl.course.enrolment import Enrolment, join, report
from tests.workshop import scoreboard


def test_without_a_workshop_nothing_is_sent(tmp_path: Path) -> None:
    assert report(RunLayout(tmp_path), {"kind": "drill_started"}) is None
    assert not RunLayout(tmp_path).workshop.exists()


def test_results_wait_while_the_scoreboard_is_away_and_arrive_in_order(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "run")
    start = time.time()
    started = {"kind": "drill_started", "drill": start, "at": start}
    with scoreboard(tmp_path / "board") as board:
        with pytest.raises(LabError, match="join token"):
            join(layout, board.url, "not-the-token", "bob")
        enrolment = join(layout, board.url, board.join_token, "bob")
        assert stat.S_IMODE(layout.workshop.stat().st_mode) == 0o600
        assert report(layout, started) is None
        url, token = board.url, board.board_token
    # The scoreboard is down: the answer waits, with a warning for the trainee.
    answer = {"kind": "answer", "drill": start, "at": start + 1, "correct": True}
    warning = report(layout, answer)
    assert warning is not None and "1 result(s) wait" in warning
    assert [e["seq"] for e in Enrolment.read(layout).outbox] == [2]  # type: ignore[union-attr]
    with scoreboard(tmp_path / "board") as board:
        layout.workshop.write_text(layout.workshop.read_text().replace(url, board.url))
        revealed = {"kind": "revealed", "drill": start, "at": start + 2, "lab": "04",
                    "fault": "task_leak"}  # fmt: skip
        assert report(layout, revealed) is None  # the waiting answer went first
        # A result the scoreboard refuses is dropped, with its reason.
        refused = report(layout, {"kind": "lab_checked", "at": start, "lab": "99",
                                  "passed": True, "how": "fix"})  # fmt: skip
        assert refused is not None and "there is no lab 99" in refused
        assert Enrolment.read(layout).outbox == []  # type: ignore[union-attr]
        state = httpx.get(f"{board.url}/api/board", params={"key": board.board_token},
                          timeout=10).json()  # fmt: skip
    assert token == board.board_token  # the same room after the restart
    [drill] = state["trainees"][0]["drills"]
    assert drill["answers"] == 1 and drill["seconds_to_culprit"] == 1.0 and drill["lab"] == "04"
    assert enrolment.trainee == Enrolment.read(layout).trainee  # type: ignore[union-attr]
