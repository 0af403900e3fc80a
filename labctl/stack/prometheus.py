"""Run the real Prometheus natively, with the lab's config and rules, on a loopback port.

The committed ``dashboards/prometheus/prometheus.yml`` targets docker compose's service names;
natively we render a copy into the run directory pointing at the loopback ports, with the
same rule files (by absolute path), so alerts behave the same in both.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from labctl.contract import PROMETHEUS, RunLayout
from labctl.errors import LabctlError
from labctl.records.series import Series
from labctl.stack.ports import LOOPBACK
from labctl.stack.processes import ProcessRecord, ready_or_stopped, spawn

RULES_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"


class PrometheusMissing(LabctlError):
    """No prometheus binary on PATH."""


def binary() -> str | None:
    return shutil.which("prometheus")


def render_config(layout: RunLayout, targets: Mapping[str, Sequence[str]]) -> Path:
    """Write run/prometheus.yml: the committed config, with native targets (``{job name:
    ["host:port"]}``) and rule paths. Jobs without native targets are left out."""
    config = yaml.safe_load((RULES_DIR / "prometheus.yml").read_text())
    config["rule_files"] = [str(RULES_DIR / name) for name in config["rule_files"]]
    jobs = []
    for job in config["scrape_configs"]:
        if targets.get(job["job_name"]):
            job["static_configs"] = [{"targets": list(targets[job["job_name"]])}]
            jobs.append(job)
    config["scrape_configs"] = jobs
    path = layout.prometheus_config
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def command(layout: RunLayout, port: int, config: Path) -> list[str]:
    return [
        binary() or PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={layout.prometheus_data}",
        "--storage.tsdb.retention.time=1d",  # a lab run, not a history
        f"--web.listen-address={LOOPBACK}:{port}",
        "--web.enable-lifecycle",  # POST /-/reload after editing rules
        # Keep the trace ids the service attaches to latency observations (seed Q362).
        "--enable-feature=exemplar-storage",
    ]


def start_prometheus(
    layout: RunLayout,
    port: int,
    targets: Mapping[str, Sequence[str]],
    timeout: float = 60.0,
    echo: Callable[[str], None] = lambda _line: None,
) -> ProcessRecord:
    """Start Prometheus scraping ``targets`` (``{job: ["host:port"]}``, jobs of the committed
    config) and wait until it is ready."""
    config = render_config(layout, targets)
    cmd = command(layout, port, config)
    echo(" ".join(cmd))
    record = spawn(PROMETHEUS, cmd, layout.log(PROMETHEUS))
    base = f"http://{LOOPBACK}:{port}"
    record.urls = {"ui": base, "alerts": f"{base}/alerts"}
    return ready_or_stopped(record, f"{base}/-/ready", timeout)


class QueryError(LabctlError):
    """Prometheus did not answer a query, or refused it; the message says which."""


def query(base_url: str, promql: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """An instant query: the ``result`` list of Prometheus's HTTP API."""
    return _api(base_url, "query", {"query": promql}, timeout)


def query_range(
    base_url: str, promql: str, seconds: float, step: float = 5.0, timeout: float = 10.0
) -> list[Series]:
    """The last ``seconds`` of ``promql`` at ``step``, as a dashboard panel would draw it."""
    end = time.time()
    params = {"query": promql, "start": f"{end - seconds:.3f}", "end": f"{end:.3f}",
              "step": f"{step:g}"}  # fmt: skip
    return [
        Series(dict(r["metric"]), [(float(t), float(v)) for t, v in r["values"]])
        for r in _api(base_url, "query_range", params, timeout)
    ]


def raw_samples(
    base_url: str, selector: str, seconds: float, timeout: float = 10.0
) -> list[Series]:
    """Every stored sample of ``selector`` in the last ``seconds``, at its own timestamp (an
    instant query of a range vector). Unlike :func:`query_range`, which reads at grid points a
    step apart, this says exactly when a series first appeared."""
    params = {"query": f"{selector}[{max(1, round(seconds))}s]"}
    return [
        Series(dict(r["metric"]), [(float(t), float(v)) for t, v in r["values"]])
        for r in _api(base_url, "query", params, timeout)
    ]


def _api(
    base_url: str, endpoint: str, params: dict[str, str], timeout: float
) -> list[dict[str, Any]]:
    promql = params["query"]
    try:
        response = httpx.get(
            f"{base_url.rstrip('/')}/api/v1/{endpoint}", params=params, timeout=timeout
        )
    except httpx.TransportError as exc:
        raise QueryError(f"Prometheus at {base_url} does not answer: {exc}") from exc
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if response.status_code != 200 or body.get("status") != "success":
        raise QueryError(f"Prometheus refused {promql!r}: {body.get('error', response.text)}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
