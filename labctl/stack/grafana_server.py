"""A native Grafana beside the native Prometheus, where one is installed: provisioned from the
same files docker compose mounts (``dashboards/grafana/provisioning``), with the datasource
pointed at the stack's Prometheus and the dashboards read from ``dashboards/grafana/dashboards``;
configured through the same ``GF_*`` variables compose sets (anonymous Viewer), on loopback.

Debian has no Grafana package (Grafana's own apt repository has one), so ``labctl up`` starts
the rest without it and prints :data:`INSTALL_HINT`.

Usage::

    if binary() is not None:
        record = start_grafana(layout, 3000, "http://127.0.0.1:9090")
        print(record.urls["ui"])
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from labctl.contract import GRAFANA, RunLayout
from labctl.stack.ports import LOOPBACK
from labctl.stack.processes import ProcessRecord, ready_or_stopped, spawn

GRAFANA_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"
PROVISIONING = GRAFANA_DIR / "provisioning"
DASHBOARDS = GRAFANA_DIR / "dashboards"
# Where Grafana's Debian and RPM packages put its assets (``conf/defaults.ini``, ``public/``).
HOMEPATHS = (Path("/usr/share/grafana"),)
INSTALL_HINT = (
    "grafana-server is not installed, so the stack runs without Grafana (Debian has no "
    "package): add Grafana's apt repository (https://apt.grafana.com/), apt-get install "
    "grafana, then labctl up again; or docker compose up grafana. The dashboards' JSON is in "
    "dashboards/grafana/dashboards"
)


def binary() -> list[str] | None:
    """The command that runs Grafana's server: ``grafana server`` (Grafana 10 and later) or the
    older ``grafana-server``."""
    if found := shutil.which("grafana"):
        return [found, "server"]
    if found := shutil.which("grafana-server"):
        return [found]
    return None


def homepath(command: list[str]) -> Path:
    """Grafana's install folder: ``GF_PATHS_HOME``, the packages' folder, or the one beside the
    binary (a tarball's ``bin/``)."""
    candidates = [Path(os.environ["GF_PATHS_HOME"])] if "GF_PATHS_HOME" in os.environ else []
    candidates += [*HOMEPATHS, Path(command[0]).resolve().parents[1]]
    for folder in candidates:
        if (folder / "conf" / "defaults.ini").is_file():
            return folder
    return candidates[-1]


def render_provisioning(layout: RunLayout, prometheus_url: str) -> Path:
    """Write the compose provisioning files under ``run/grafana/provisioning``, changed only
    where the native stack differs: the Prometheus URL and the dashboards' folder."""
    root = layout.grafana / "provisioning"
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    for source in datasources["datasources"]:
        if source["type"] == "prometheus":
            source["url"] = prometheus_url
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "lab.yml").read_text())
    for provider in providers["providers"]:
        provider["options"]["path"] = str(DASHBOARDS)
    for name, body in (("datasources/prometheus.yml", datasources),
                       ("dashboards/lab.yml", providers)):  # fmt: skip
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(body, sort_keys=False))
    return root


def environment(layout: RunLayout, port: int, provisioning: Path) -> dict[str, str]:
    """Grafana's settings as ``GF_<SECTION>_<KEY>``, those of compose's grafana service."""
    return {
        "GF_PATHS_PROVISIONING": str(provisioning),
        "GF_PATHS_DATA": str(layout.grafana / "data"),
        "GF_PATHS_LOGS": str(layout.grafana / "logs"),
        "GF_SERVER_HTTP_ADDR": LOOPBACK,
        "GF_SERVER_HTTP_PORT": str(port),
        "GF_AUTH_ANONYMOUS_ENABLED": "true",
        "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",  # trainees look; they do not edit
        "GF_USERS_DEFAULT_THEME": "light",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",  # no traffic off the machine
        "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    }


def start_grafana(
    layout: RunLayout,
    port: int,
    prometheus_url: str,
    timeout: float = 60.0,
    echo: Callable[[str], None] = lambda _line: None,
) -> ProcessRecord:
    """Start Grafana provisioned for this stack and wait until ``/api/health`` answers."""
    command = binary()
    if command is None:
        raise FileNotFoundError(INSTALL_HINT)
    provisioning = render_provisioning(layout, prometheus_url)
    env = environment(layout, port, provisioning)
    cmd = [*command, f"--homepath={homepath(command)}"]
    echo(" ".join([*(f"{k}={v}" for k, v in env.items() if k.startswith("GF_PATHS")), *cmd]))
    record = spawn(GRAFANA, cmd, layout.log(GRAFANA), env=env)
    base = f"http://{LOOPBACK}:{port}"
    record.urls = {"ui": base, "dashboards": f"{base}/dashboards"}
    return ready_or_stopped(record, f"{base}/api/health", timeout)
