"""The fault catalogue as the service reports it; in a drill, what is on stays hidden."""

from labctl.records.fault_board import FaultBoard

SPEC = {"summary": "s", "culprit": "m:f", "intensities": ["1x", "10x"], "symptoms": ["RSS"],
        "tools": ["memray"], "cap": "512 MiB", "workload": "the intensity sets w"}  # fmt: skip


def board(drill: bool) -> FaultBoard:
    body = {
        "catalogue": [{"id": "unbounded_cache", **SPEC}, {"id": "cpu_hotloop", **SPEC}],
        "active": {"unbounded_cache": "10x"},
        "drill": drill,
    }
    return FaultBoard.from_json(body)


def test_what_is_on_is_read_from_the_services_answer() -> None:
    assert board(drill=False).active == {"unbounded_cache": "10x"}
    assert [f["active"] for f in board(drill=False).to_json()] == ["10x", None]


def test_a_drill_hides_every_faults_state_in_json() -> None:
    assert {f["active"] for f in board(drill=True).to_json()} == {"hidden"}
