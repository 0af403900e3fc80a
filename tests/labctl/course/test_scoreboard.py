"""The scoreboard as a real process: what it takes, what it refuses (a wrong token, a forged,
replayed or impossible result, a board asked for without the instructor's token), that a
refusal stores nothing, and that a restart loses nothing."""

from __future__ import annotations

import json
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import httpx

from labctl.course.scoreboard import signature
from tests.workshop import Scoreboard, scoreboard


def post(
    board: Scoreboard,
    trainee: str,
    key: str,
    seq: int,
    result: dict[str, Any],
    body: bytes | None = None,
) -> httpx.Response:
    raw = body if body is not None else json.dumps({"seq": seq, "result": result}).encode()
    return httpx.post(
        f"{board.url}/api/results",
        content=raw,
        timeout=10,
        headers={"X-Trainee": trainee, "X-Signature": signature(key, raw).decode()},
    )


def joined(board: Scoreboard, name: str) -> tuple[str, str]:
    response = httpx.post(
        f"{board.url}/api/join", json={"token": board.join_token, "name": name}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["trainee"], response.json()["key"]


def rows(folder: Path) -> int:
    with sqlite3.connect(folder / "scores.db") as db:
        return int(db.execute("SELECT count(*) FROM results").fetchone()[0])


def test_results_make_the_board_and_every_refusal_stores_nothing(tmp_path: Path) -> None:
    with scoreboard(tmp_path / "board") as board:
        alice, key = joined(board, "alice")
        start = time.time() - 120
        ok = [
            {"kind": "drill_started", "drill": start, "at": start},
            {"kind": "answer", "drill": start, "at": start + 30, "correct": False},
            {"kind": "answer", "drill": start, "at": start + 75, "correct": True, "score": 85},
            {
                "kind": "revealed",
                "drill": start,
                "at": start + 90,
                "lab": "03",
                "fault": "cpu_hotloop",
            },
            {"kind": "lab_checked", "at": start + 100, "lab": "05", "passed": True, "how": "fix"},
            {"kind": "hint", "drill": start, "at": start + 20, "level": 1},
        ]
        for seq, result in enumerate(ok, 1):
            assert post(board, alice, key, seq, result).status_code == 201
        before = rows(board.folder)
        _mallory, other_key = joined(board, "mallory")
        refusals = {
            "signed with another trainee's key": (post(board, alice, other_key, 9, ok[1]), 401),
            "a trainee who never joined": (post(board, "0000", key, 9, ok[1]), 401),
            "a replayed result": (post(board, alice, key, 3, ok[2]), 409),
            "an answer to no drill": (post(board, alice, key, 9, {**ok[1], "drill": 1.0}), 422),
            "a lab that does not exist": (post(board, alice, key, 9, {**ok[4], "lab": "42"}), 422),
            "another lab's fault": (post(board, alice, key, 9, {**ok[3], "fault": "fd_leak"}), 422),
            "a field the schema lacks": (post(board, alice, key, 9, {**ok[4], "extra": 1}), 422),
            "a result from the future": (post(board, alice, key, 9, {**ok[4], "at": 4e9}), 422),
            "not JSON": (post(board, alice, key, 9, {}, body=b"{seq"), 422),
            "a fourth hint level": (post(board, alice, key, 9, {**ok[5], "level": 4}), 422),
            "a score above 100": (post(board, alice, key, 9, {**ok[2], "score": 101}), 422),
        }
        for case, (response, status) in refusals.items():
            assert response.status_code == status, (case, response.text)
            assert response.json()["message"], case  # a sentence, never a traceback
        assert rows(board.folder) == before
        wrong = httpx.post(
            f"{board.url}/api/join", json={"token": "guess", "name": "eve"}, timeout=10
        )
        assert wrong.status_code == 401 and "join token" in wrong.json()["message"]
        again = httpx.post(
            f"{board.url}/api/join", json={"token": board.join_token, "name": "alice"}, timeout=10
        )
        assert again.status_code == 409  # nobody takes over another's name
        bad_name = httpx.post(
            f"{board.url}/api/join",
            json={"token": board.join_token, "name": "<script>"},
            timeout=10,
        )
        assert bad_name.status_code == 422
        assert httpx.get(f"{board.url}/api/board", timeout=10).status_code == 401
        assert (
            httpx.get(f"{board.url}/", params={"key": board.join_token}, timeout=10).status_code
            == 401
        )
        state = httpx.get(
            f"{board.url}/api/board", params={"key": board.board_token}, timeout=10
        ).json()
    people = {t["name"]: t for t in state["trainees"]}
    assert set(people) == {"alice", "mallory"} and people["mallory"]["drills"] == []
    [drill] = people["alice"]["drills"]
    assert drill["answers"] == 2 and drill["seconds_to_culprit"] == 75.0
    assert drill["hints"] == 1 and drill["score"] == 85
    assert drill["lab"] == "03" and drill["revealed"] is True
    assert people["alice"]["labs"] == {"05": True}
    assert state["faults"] == [
        {
            "fault": "cpu_hotloop",
            "drills": 1,
            "solved": 1,
            "median_seconds": 75.0,
            "best_seconds": 75.0,
        }
    ]
    # Written for the instructor only: the store holds every trainee's key.
    for name in ("scores.db", "tokens.json"):
        assert stat.S_IMODE((tmp_path / "board" / name).stat().st_mode) == 0o600, name
    with scoreboard(tmp_path / "board") as restarted:  # the same folder: nothing is lost
        after = httpx.get(
            f"{restarted.url}/api/board", params={"key": restarted.board_token}, timeout=10
        ).json()
        assert after["trainees"] == state["trainees"] and after["faults"] == state["faults"]
        assert post(restarted, alice, key, 6, ok[4]).status_code == 409  # still a replay
