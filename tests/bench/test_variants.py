"""The benches' instrumentation variants mean the same thing as flags and as settings."""

import pytest
from pydantic_settings import CliApp

from bench.abtest import NO_LIMIT
from bench.variants import BARE, BARE_AGAIN, INSTRUMENTATION, WITH_NOISE_FLOOR, ServiceVariant
from leaky_app.settings import RuntimeConfig, Settings


@pytest.mark.parametrize("variant", WITH_NOISE_FLOOR, ids=lambda v: v.label)
def test_a_variants_flags_parse_to_its_settings(variant: ServiceVariant) -> None:
    parsed = CliApp.run(Settings, cli_args=variant.args())
    built = Settings(_env_file=None, **variant.settings)
    for name in variant.settings:
        assert getattr(parsed, name) == getattr(built, name) == variant.settings[name]
    RuntimeConfig.model_validate({**NO_LIMIT, **variant.flags})  # the service would accept it


def test_flags_are_spelled_as_the_cli_spells_them() -> None:
    traced = ServiceVariant("x", {"tracing_enabled": True, "trace_sample_ratio": 0.5})
    assert traced.args() == ["--tracing-enabled", "--trace-sample-ratio", "0.5"]
    assert BARE.args() == ["--no-instrumented", "--no-tracing-enabled"]
    assert BARE.name == "bare: baseline (--no-instrumented --no-tracing-enabled)"


def test_the_comparison_starts_with_its_baseline_and_names_each_variant_once() -> None:
    assert INSTRUMENTATION[0] is BARE and BARE_AGAIN.settings == BARE.settings
    names = [v.name for v in WITH_NOISE_FLOOR]
    assert len(set(names)) == len(names)
    assert WITH_NOISE_FLOOR[0] is BARE
    assert sorted(names) == sorted(v.name for v in (*INSTRUMENTATION, BARE_AGAIN))
