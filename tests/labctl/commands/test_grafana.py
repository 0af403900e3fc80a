"""``labctl grafana push`` refusals in-process, and the annotation a fault switch adds (the
push itself, against a stand-in of Grafana's API, is tests/labctl/course/test_grafana_api.py)."""

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.commands.grafana import annotate_switch
from labctl.stack.ports import free_port

runner = CliRunner()


def test_push_without_a_grafana_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    result = runner.invoke(app, ["grafana", "push", "--json"])
    assert result.exit_code == 2 and "GRAFANA_URL is not set" in result.stderr
    assert result.stdout == ""  # no JSON for what did not happen
    monkeypatch.setenv("GRAFANA_URL", "grafana.example")
    result = runner.invoke(app, ["grafana", "push"])
    assert result.exit_code == 2 and "must start with http" in result.stderr


def test_an_annotation_is_a_warning_never_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    assert annotate_switch("fault x on", ["fault", "x"]) == []
    monkeypatch.setenv("GRAFANA_URL", f"http://127.0.0.1:{free_port()}")
    (warning,) = annotate_switch("fault x on", ["fault", "x"])
    assert "no Grafana annotation" in warning and "does not answer" in warning
