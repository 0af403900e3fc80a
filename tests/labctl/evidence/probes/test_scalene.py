"""``labctl profile scalene`` with real Scalene against a target script."""

import json
import sys
from pathlib import Path

import pytest

from labctl.cli import main
from tests.labctl.cli_surface import check_json
from tests.labctl.targets import TARGETS


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


@pytest.mark.parametrize(
    ("command", "says"),
    [(["ls", "-l"], "runs a Python script"), ([sys.executable, "nosuch.py"], "no such script")],
)
def test_scalene_refuses_what_it_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], says: str
) -> None:
    assert main(["profile", "scalene", "--run-dir", str(tmp_path), "--", *command]) == 2
    assert says in capsys.readouterr().err
