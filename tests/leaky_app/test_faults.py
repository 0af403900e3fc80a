"""The catalogue is data; these tests keep it honest and in step with the code."""

import importlib
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from leaky_app.faults import CATALOGUE, FaultStateCollector, Switchboard, check_faults


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.id)
def test_culprit_is_a_real_function(spec: object) -> None:
    from leaky_app.faults import FaultSpec

    assert isinstance(spec, FaultSpec)
    module_name, qualname = spec.culprit.split(":")
    target: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    assert callable(target)
    assert spec.summary
    assert spec.symptoms
    assert spec.tools
    assert spec.cap
    assert spec.intensities
    # What the intensity changes is said in words: the load the release meets, or why not.
    assert "intensity" in spec.workload


def test_check_faults_refuses_unknown_ids_and_intensities() -> None:
    check_faults({"cpu_hotloop": "10x"})
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        check_faults({"nope": "1x"})
    with pytest.raises(ValueError, match="unknown intensity '7x'"):
        check_faults({"gc_churn": "7x"})


def test_switchboard_levels_hooks_and_drill_mode() -> None:
    registry = CollectorRegistry()
    board = Switchboard()
    FaultStateCollector(board, registry)
    seen: list[float] = []
    board.on_change("task_leak", seen.append)
    board.apply({"task_leak": "10x"})
    assert board.level("task_leak") == 10.0
    assert board.level("cpu_hotloop") == 0.0
    assert registry.get_sample_value("leaky_app_fault_active", {"fault": "task_leak"}) == 1.0
    assert registry.get_sample_value("leaky_app_fault_active", {"fault": "gc_churn"}) == 0.0
    board.apply({"task_leak": "10x"}, drill=True)
    assert registry.get_sample_value("leaky_app_fault_active", {"fault": "task_leak"}) is None
    board.apply({})
    assert seen == [10.0, 0.0]  # an unchanged level does not call the hook again


def test_readme_lists_every_fault() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for spec in CATALOGUE:
        assert f"`{spec.id}`" in readme, spec.id
