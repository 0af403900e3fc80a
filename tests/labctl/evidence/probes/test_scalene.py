"""``labctl profile scalene`` with real Scalene against a target script."""

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from labctl.cli import main
from tests.labctl.cli_surface import check_json
from tests.labctl.targets import TARGETS, capture_neverending


@pytest.mark.integration
def test_scalene_names_the_cpu_line_and_the_allocating_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = str(TARGETS / "cachehog.py")
    args = ["profile", "scalene", "--run-dir", str(tmp_path), "--json", "--", sys.executable]
    assert main([*args, script, "3"]) == 0
    body = json.loads(capsys.readouterr().out)
    check_json("profile scalene", body)
    assert body["cpu"][0]["function"] == "checksum"
    assert body["cpu"][0]["python_pct"] > 0
    top_memory = body["memory"][0]
    assert top_memory["function"] == "render_thumbnail"
    assert "bytes(16 * 1024)" in top_memory["source"]
    assert top_memory["malloc_mb"] > 5  # 16 KiB per key, kept by functools.cache
    assert Path(body["artefacts"]["profile"]).is_file()


@pytest.mark.integration
def test_scalene_on_a_script_that_never_exits_keeps_its_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: list[str]) -> dict[str, Any]:
        assert main(args) == 0
        body: dict[str, Any] = json.loads(capsys.readouterr().out)
        check_json("profile scalene", body)
        return body

    body = capture_neverending(run, ["profile", "scalene"], tmp_path, 3)
    assert body["cpu"][0]["function"] == "hoard_forever", body["cpu"][:3]


@pytest.mark.parametrize(
    ("command", "says"),
    [(["ls", "-l"], "runs a Python script"), ([sys.executable, "nosuch.py"], "no such script")],
)
def test_scalene_refuses_what_it_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], says: str
) -> None:
    assert main(["profile", "scalene", "--run-dir", str(tmp_path), "--", *command]) == 2
    assert says in capsys.readouterr().err
