"""Incident drills against a whole stack: the fault is hidden (metrics, ``fault list``, the
observer's debug views, the logs, every text file under ``run/``), the symptom is real (its
alert fires), answers are graded and timed, and the reveal ends it."""

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labctl.cli import main
from labctl.contract import RunLayout
from labctl.course.catalogue import LabError, load_lab
from labctl.course.incidents import Answer, DrillRun, Hint, pick_lab, start_drill
from labctl.course.lab_runs import start_lab
from labctl.evidence.patient import Patient
from labctl.evidence.session import Session
from labctl.stack.polling import wait_until
from labctl.stack.prometheus import query
from labctl.stack.supervisor import Stack
from tests.labctl.cli_surface import check_json
from tests.workshop import Scoreboard, scoreboard

LAB = "04"  # tasks pile up: TasksGrowing pages within a minute or so (CPUSaturated took 2.5)


def seed_for(lab_number: str) -> int:
    return next(s for s in range(10_000) if pick_lab(s).number == lab_number)


def test_a_seed_always_gives_the_same_incident() -> None:
    assert [pick_lab(7).number for _ in range(3)] == [pick_lab(7).number] * 3
    assert len({pick_lab(s).number for s in range(200)}) > 4  # seeds spread over the labs


def test_answer_and_reveal_without_a_drill_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drill", "answer", "X.y", "--run-dir", str(tmp_path)]) == 3
    assert "no drill is running" in capsys.readouterr().err
    assert main(["drill", "reveal", "--run-dir", str(tmp_path)]) == 3


def readable_text(run_dir: Path) -> dict[str, str]:
    """Every file under ``run/`` a trainee can read as text: the JSON, YAML and tokens at the
    top, the logs; not Prometheus' storage, the database or the profiles (binary, or made by
    the trainee)."""
    files = [*run_dir.glob("*.json"), *run_dir.glob("*.yml"), *run_dir.glob("logs/*.log")]
    return {str(f.relative_to(run_dir)): f.read_text(errors="replace") for f in files}


def observer_views(run_dir: Path, debug_url: str) -> dict[str, str]:
    """Every GET view of the debug index that takes no parameter, read with the observer's
    token, and what the operator's endpoints tell that token."""
    token = RunLayout(run_dir).debug_token.read_text().strip()
    with httpx.Client(base_url=debug_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as debug:  # fmt: skip
        index = debug.get("/debug/", params={"format": "json"}).json()["endpoints"]
        paths = [
            e["path"]
            for e in index
            if "GET" in e["methods"] and "{" not in e["path"] and "seconds" not in e["params"]
        ]
        return {path: debug.get(path).text for path in paths}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def board(lab_stack: Path, tmp_path: Path) -> Iterator[Scoreboard]:
    """An instructor's scoreboard; the lab's run directory leaves the workshop after."""
    with scoreboard(tmp_path / "board") as running:
        try:
            yield running
        finally:
            RunLayout(lab_stack).workshop.unlink(missing_ok=True)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_drill_hides_the_fault_pages_grades_and_reveals_a_timeline(
    lab_stack: Path, board: Scoreboard, capsys: pytest.CaptureFixture[str]
) -> None:
    rd = ["--run-dir", str(lab_stack)]
    lab = pick_lab(seed_for(LAB))
    with Patient.from_run_dir(lab_stack) as patient:
        culprit = next(f.culprit for f in patient.faults().catalogue if f.id == lab.fault)
        metrics_url = patient.metrics_url
    assert metrics_url is not None
    # The trainee is in a workshop: the drill's results go to the instructor's scoreboard.
    code, _, err = run(["workshop", "join", board.url, board.join_token, "--name", "kim", *rd],
                       capsys)  # fmt: skip
    assert code == 0, err
    code, out, err = run(["drill", "start", "--seed", str(seed_for(LAB)), *rd], capsys)
    try:
        assert code == 0, err
        assert lab.fault not in out + err and lab.title not in out + err
        code, out, _ = run(["drill", "start", *rd], capsys)
        assert code == 2  # one drill at a time
        assert "leaky_app_fault_active{" not in httpx.get(metrics_url, timeout=10).text
        code, out, _ = run(["fault", "list", "--json", *rd], capsys)
        assert {f["active"] for f in json.loads(out)} == {"hidden"}
        assert culprit.partition(":")[2] not in out  # no answer key either
        check_json("fault list", json.loads(out))
        # Nothing a trainee reads casually names the fault or the lab.
        debug_url = (
            Stack(lab_stack).status().running["service"].urls["debug"].removesuffix("/debug/")
        )
        views = observer_views(lab_stack, debug_url)
        assert "/admin/faults" in views and '"operator_only"' in views["/admin/faults"]
        casual = {"/metrics": httpx.get(metrics_url, timeout=10).text,
                  **views, **readable_text(lab_stack)}  # fmt: skip
        for where, text in casual.items():
            assert lab.fault not in text and lab.title not in text, where
        drill_state = json.loads(RunLayout(lab_stack).drill_state.read_text())
        assert set(drill_state) == {"started_at", "sealed"}  # the seed is sealed
        prometheus = Stack(lab_stack).status().prometheus_url
        firing = f'ALERTS{{alertname="{lab.alert}",alertstate="firing"}}'
        wait_until(lambda: bool(query(prometheus, firing)), 180, f"{lab.alert} firing", every=2)
        # Hints: the symptom, the tool, the area of the code; then none is left.
        hints = []
        for _ in range(3):
            code, _, err = run(["drill", "hint", *rd], capsys)
            assert code == 0, err
            hints.append(err)
        assert lab.alert in hints[0] and "-10 points" in hints[0]
        assert "labctl profile tasks" in hints[1] and "leaky_app/links/events.py" in hints[2]
        code, _, err = run(["drill", "hint", *rd], capsys)
        assert code == 2 and "no hints are left" in err
        code, _, err = run(["drill", "answer", "LinkStore.get", *rd], capsys)
        assert code == 1 and "not" in err
        function = culprit.partition(":")[2]
        code, _, err = run(["drill", "answer", function, *rd], capsys)
        assert code == 1 and "now name the capture that shows it" in err  # evidence first
        code, _, err = run(["profile", "tasks", *rd], capsys)
        assert code == 0, err
        [census] = sorted(RunLayout(lab_stack).profiles.glob("*-tasks"))[-1:]
        code, out, err = run(["drill", "answer", "--json", function, "--evidence", str(census),
                              *rd], capsys)  # fmt: skip
        assert code == 0 and json.loads(out)["correct"] is True, err
        assert "task census" in json.loads(out)["message"]
        check_json("drill answer", json.loads(out))
        code, out, err = run(["drill", "reveal", "--json", *rd], capsys)
        assert code == 0, err
    finally:
        main(["drill", "reveal", *rd])  # ends a drill a failed assertion left running
    reveal = json.loads(out)
    check_json("drill reveal", reveal)
    assert reveal["lab"] == LAB and reveal["culprit"] == culprit
    # 100, less 10 + 20 + 30 for the hints and 5 for each answer not accepted before
    assert reveal["score"] == 100 - 60 - 2 * 5
    events = [e["what"] for e in reveal["timeline"]]
    assert events[0].startswith("fault switched on")
    page = f"alert fired: {lab.alert}"
    assert page in events, events
    right = next(i for i, e in enumerate(events) if e.endswith(": right"))
    assert 0 < events.index(page) < right, events
    assert "answer 'LinkStore.get': wrong" in events
    assert {"hint: symptom", "hint: tool", "hint: area"} <= set(events)
    assert any(e == f"capture: task census, {census}" for e in events), events
    postmortem = Path(reveal["postmortem"])
    assert stat.S_IMODE(postmortem.stat().st_mode) == 0o600
    written = postmortem.read_text()
    assert f"{lab.alert} fired at" in written and f"`{culprit}`" in written
    assert "hint: area" in written and "**Fix.**" in written and str(census) in written
    assert all(v is not None for v in [e["value"] for e in reveal["evidence"]])
    with Patient.from_run_dir(lab_stack) as patient:
        faults = patient.faults()
    assert faults.active == {} and faults.drill is False
    assert "leaky_app_fault_active{" in httpx.get(metrics_url, timeout=10).text
    # The scoreboard has the drill: two answers, the time to the culprit, the lab revealed.
    state = httpx.get(f"{board.url}/api/board", params={"key": board.board_token}, timeout=10)
    [kim] = state.json()["trainees"]
    [drill] = kim["drills"]
    right_at = next(e["at"] for e in reveal["timeline"] if e["what"].endswith(": right"))
    assert drill["answers"] == 3 and drill["lab"] == LAB and drill["fault"] == lab.fault
    assert drill["hints"] == 3 and drill["score"] == reveal["score"]
    assert drill["seconds_to_culprit"] == pytest.approx(
        right_at - reveal["timeline"][0]["at"], abs=1
    )


def test_a_lab_and_a_drill_never_run_together(tmp_path: Path) -> None:
    RunLayout(tmp_path).drill_state.write_text('{"seed": 1, "started_at": 0, "answers": []}\n')
    # The refusal comes before the service is asked anything: its client is never called.
    with Session(Stack(tmp_path).status(), Patient("http://127.0.0.1:9", "unused")) as session:
        with pytest.raises(LabError, match="a drill is running"):
            start_lab(session, load_lab("01"))
        with pytest.raises(LabError, match="a drill is already running"):
            start_drill(session, seed=1)


def test_the_drills_state_is_sealed_and_written_for_its_owner_only(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    layout.operator_token.write_text("the-operators-secret\n")
    DrillRun(seed=777_123, started_at=0.0, answers=[]).write(layout)
    assert stat.S_IMODE(layout.drill_state.stat().st_mode) == 0o600
    assert "777123" not in layout.drill_state.read_text()  # the seed names the lab
    assert DrillRun.read(layout).seed == 777_123
    layout.operator_token.write_text("another\n")
    with pytest.raises(LabError, match="does not open with the operator token"):
        DrillRun.read(layout)
    layout.operator_token.unlink()
    with pytest.raises(LabError, match="cannot read the operator token"):
        DrillRun.read(layout)


def test_the_score_counts_hints_and_answers_before_the_right_one(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    layout.operator_token.write_text("the-operators-secret\n")
    drill = DrillRun(seed=5, started_at=100.0)
    assert drill.score is None and drill.solved_at is None
    drill.hints = [Hint(110.0, 0), Hint(300.0, 1)]  # the second came after the solve
    drill.answers = [Answer(120.0, "X.y", False), Answer(150.0, "A.b", True, "run/p", "ok"),
                     Answer(200.0, "Z.z", False)]  # fmt: skip
    assert drill.solved_at == 150.0 and drill.score == 100 - 10 - 5
    drill.write(layout)
    again = DrillRun.read(layout)  # sealed, with its hints and evidence
    assert again.hints == drill.hints and again.answers == drill.answers
