"""A drill's faults sealed with the operator token: only that token opens them, and the text
names no fault."""

import pytest

from leaky_app.admin.drill_seal import DrillSeal
from leaky_app.settings import ConfigError, RuntimeConfig


def test_sealed_faults_open_with_the_same_token_only() -> None:
    sealed = DrillSeal("operator").seal({"gc_churn": "10x"})
    assert "gc_churn" not in sealed and "10x" not in sealed
    config = RuntimeConfig(drill=True, sealed_faults=sealed)
    opened = DrillSeal("operator").opened(config)
    assert opened.faults == {"gc_churn": "10x"} and opened.sealed_faults is None
    with pytest.raises(ConfigError, match="operator token"):
        DrillSeal("someone else").opened(config)


@pytest.mark.parametrize(
    ("faults", "says"), [(["gc_churn"], "no fault map"), ({"not_a_fault": "1x"}, "sealed_faults")]
)
def test_a_seal_of_something_else_is_refused(faults: object, says: str) -> None:
    seal = DrillSeal("operator")
    sealed = seal._fernet.encrypt(repr(faults).replace("'", '"').encode()).decode()
    with pytest.raises(ConfigError, match=says):
        seal.opened(RuntimeConfig(sealed_faults=sealed))


def test_an_edited_seal_is_refused_and_a_plain_config_passes_through() -> None:
    seal = DrillSeal("operator")
    sealed = seal.seal({"task_leak": "1x"})
    edited = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(ConfigError, match="edited"):
        seal.opened(RuntimeConfig(sealed_faults=edited))
    plain = RuntimeConfig(faults={"task_leak": "1x"})
    assert seal.opened(plain) is plain
