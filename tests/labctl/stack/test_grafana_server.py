"""A native Grafana for ``labctl up``: the provisioning it renders from compose's files, the
sentence without a binary, and the start and stop of a process by PID.

Grafana cannot run here (Debian has no package, no registry for its image), so the start is
tested with a stand-in ``grafana-server`` on PATH that reads the provisioning as Grafana does
(the ``GF_PATHS_PROVISIONING`` folder's YAML, the provider's dashboards folder) and answers
``/api/health`` and ``/api/datasources`` from it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml

from labctl.contract import RunLayout
from labctl.stack import grafana_server
from labctl.stack.ports import free_port
from labctl.stack.processes import stop

PROMETHEUS = "http://127.0.0.1:19090"

STANDIN = textwrap.dedent("""\
    import json, os, sys, pathlib, yaml
    from http.server import BaseHTTPRequestHandler, HTTPServer
    root = pathlib.Path(os.environ["GF_PATHS_PROVISIONING"])
    sources = yaml.safe_load((root / "datasources" / "prometheus.yml").read_text())["datasources"]
    providers = yaml.safe_load((root / "dashboards" / "lab.yml").read_text())["providers"]
    boards = [p.name for p in pathlib.Path(providers[0]["options"]["path"]).glob("*.json")]
    print("argv", sys.argv[1:], "dashboards", len(boards), flush=True)
    class Api(BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"/api/health": {"database": "ok"}, "/api/datasources": sources,
                    "/api/search": [{"title": b} for b in boards]}.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())
    address = (os.environ["GF_SERVER_HTTP_ADDR"], int(os.environ["GF_SERVER_HTTP_PORT"]))
    HTTPServer(address, Api).serve_forever()
""")


def test_the_provisioning_is_composes_with_the_native_prometheus_and_dashboards(
    tmp_path: Path,
) -> None:
    root = grafana_server.render_provisioning(RunLayout(tmp_path), PROMETHEUS)
    compose = grafana_server.PROVISIONING
    for name, changed in (("datasources/prometheus.yml", ("datasources", "url", PROMETHEUS)),
                          ("dashboards/lab.yml", ("providers", "options", None))):  # fmt: skip
        native, original = (yaml.safe_load((r / name).read_text()) for r in (root, compose))
        key, field, value = changed
        for mine, theirs in zip(native[key], original[key], strict=True):
            if value is not None:
                assert mine.pop(field) == value and theirs.pop(field) != value
            else:
                folder = Path(mine.pop(field)["path"])
                assert folder == grafana_server.DASHBOARDS and any(folder.glob("*.json"))
                theirs.pop(field)
            assert mine == theirs  # uid, type, folder, ... as compose provisions them


def test_without_a_binary_the_sentence_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert grafana_server.binary() is None
    assert "https://apt.grafana.com/" in grafana_server.INSTALL_HINT
    with pytest.raises(FileNotFoundError, match="apt-get install grafana"):
        grafana_server.start_grafana(RunLayout(tmp_path), free_port(), PROMETHEUS)


def test_a_grafana_on_path_starts_provisioned_for_the_stack_and_stops_by_pid(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "grafana-server"
    script.write_text(f"#!{sys.executable}\n{STANDIN}")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}")
    layout = RunLayout(tmp_path / "run")
    lines: list[str] = []
    record = grafana_server.start_grafana(layout, free_port(), PROMETHEUS, echo=lines.append)
    try:
        assert record.alive() and lines and "--homepath=" in lines[0]
        sources = httpx.get(f"{record.urls['ui']}/api/datasources", timeout=5).json()
        assert [s["url"] for s in sources] == [PROMETHEUS]
        boards = httpx.get(f"{record.urls['ui']}/api/search", timeout=5).json()
        assert len(boards) == len(list(grafana_server.DASHBOARDS.glob("*.json")))
    finally:
        assert stop(record)
    assert not record.alive()
