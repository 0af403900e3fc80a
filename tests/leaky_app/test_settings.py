import json
from pathlib import Path

import pytest
from pydantic_settings import CliApp

from leaky_app.settings import ConfigError, RuntimeConfig, Settings, load_runtime_config


def test_missing_flags_file_means_defaults(tmp_path: Path) -> None:
    assert load_runtime_config(tmp_path / "absent.json") == RuntimeConfig()


def test_valid_flags_file(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    path.write_text(json.dumps({"log_level": "DEBUG", "rate_limit": {"rps": 5, "burst": 7}}))
    config = load_runtime_config(path)
    assert config.log_level == "DEBUG"
    assert (config.rate_limit.rps, config.rate_limit.burst) == (5, 7)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "invalid JSON at line 1"),
        ('{"log_level": "LOUD"}', "log_level"),
        ('{"rate_limit": {"rps": -1}}', "rate_limit.rps"),
        ('{"typo_field": 1}', "typo_field"),
        ("[]", "(root)"),
    ],
)
def test_invalid_flags_file_says_where(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "flags.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"flags.json: .*{__import__('re').escape(reason)}"):
        load_runtime_config(path)


def test_cli_flags_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKY_APP_PORT", "9001")
    monkeypatch.setenv("LEAKY_APP_DB", "/tmp/from-env.db")
    settings = CliApp.run(Settings, cli_args=["--port", "9002", "--metrics-port", "0"])
    assert settings.port == 9002
    assert settings.db == Path("/tmp/from-env.db")
    assert settings.metrics_port == 0


def test_dotenv_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LEAKY_APP_PORT=8123\nGRAFANA_PORT=3000\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().port == 8123


def test_base_url_defaults_to_host_and_port() -> None:
    assert Settings(_env_file=None, host="127.0.0.1", port=8001).base_url == "http://127.0.0.1:8001"


def test_a_reputation_service_needs_its_certificates_and_a_host_port() -> None:
    with pytest.raises(ValueError, match="needs reputation_pki"):
        Settings(_env_file=None, reputation_target="127.0.0.1:50051")
    with pytest.raises(ValueError, match="reputation_target"):
        Settings(
            _env_file=None, reputation_target="http://127.0.0.1:50051/", reputation_pki=Path("p")
        )
    ok = Settings(_env_file=None, reputation_target="127.0.0.1:50051", reputation_pki=Path("p"))
    assert ok.reputation_deadline_seconds > 0
