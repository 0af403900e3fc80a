"""docker compose for real: the lab's docker-compose.yml built and started on a Docker engine of
the test's own, every healthcheck waited for, then used from the host as a trainee would.

Runs with ``make test-compose`` (after ``make test`` in CI): building the images takes minutes.
Skipped, with the reason printed, only where no engine can start (not root, no dockerd).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from labctl.cli import app as labctl
from tests.compose.engine import ComposeStack, DockerEngine, EngineUnavailable
from tests.integration.load import load, referrer_window_filled, scrape
from tests.polling import eventually_sync

# The first test also waits for the module's stack: images built from nothing take minutes.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

# Grafana is left out: its image cannot be built here (Debian has no package of it).
SERVICES = ["app", "smtp-sink", "reputation", "prometheus", "redis", "jupyter"]
APP = "http://127.0.0.1:8000"
METRICS = "http://127.0.0.1:9464/metrics"
PROMETHEUS = "http://127.0.0.1:9090"
JUPYTER = "http://127.0.0.1:8888"
# Each server's own port: with host networking they are the host's, and must be free.
PORTS = [8000, 8001, 9464, 6060, 2525, 9465, 50051, 9466, 9090, 6379, 8888]
REQUESTS = "sum:leaky_app_http_requests_total"


def _listening(port: int) -> bool:
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
               for c in psutil.net_connections(kind="tcp"))  # fmt: skip


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerEngine]:
    root = Path(os.environ.get("LAB_DOCKER_ROOT", "/var/tmp/lab-docker"))
    try:
        with DockerEngine(root) as started:
            pid = started.pid
            yield started
    except EngineUnavailable as exc:
        print(f"compose test skipped: {exc}")
        pytest.skip(str(exc))
    # The engine itself goes too: its process, and the mounts it made.
    assert not psutil.pid_exists(pid) and started.mounts() == []


@pytest.fixture(scope="module")
def stack(engine: DockerEngine) -> Iterator[ComposeStack]:
    taken = [port for port in PORTS if _listening(port)]
    assert not taken, f"host networking needs these ports free: {taken}"
    compose = ComposeStack(engine)
    compose.build()
    try:
        compose.up(SERVICES)
        eventually_sync(
            lambda: all(compose.health(s) == "healthy" for s in SERVICES),
            "every service's healthcheck passes",
            deadline_s=180,
        )
        yield compose
    finally:
        compose.down()


def test_every_healthcheck_passes_and_the_pki_job_completed(stack: ComposeStack) -> None:
    assert {s: stack.health(s) for s in SERVICES} == dict.fromkeys(SERVICES, "healthy")
    pki = stack.container("pki")["State"]
    assert pki["Status"] == "exited" and pki["ExitCode"] == 0


def test_the_app_answers_on_its_port_and_redirects(stack: ComposeStack) -> None:
    with httpx.Client(base_url=APP, timeout=10) as client:
        created = client.post("/api/v1/links", json={"url": "https://shop.example/compose"})
        assert created.status_code == 201, created.text
        redirect = client.get(f"/{created.json()['code']}")
        assert redirect.status_code in (301, 302, 307, 308)
        assert redirect.headers["location"] == "https://shop.example/compose"
        ready = client.get("/readyz").json()
        # The app in compose uses the stack's Redis and its mTLS reputation service.
        assert ready["status"] == "ready", ready


def test_prometheus_in_compose_scrapes_every_target(stack: ComposeStack) -> None:
    def health() -> dict[str, str]:
        body = httpx.get(f"{PROMETHEUS}/api/v1/targets", timeout=10).json()
        return {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}

    eventually_sync(lambda: set(health().values()) == {"up"}, "every target up", 60)
    assert set(health()) == {"leaky-app", "smtp-sink", "reputation"}
    up = httpx.get(f"{PROMETHEUS}/api/v1/query", params={"query": 'up{job="leaky-app"}'},
                   timeout=10).json()["data"]["result"]  # fmt: skip
    assert [sample["value"][1] for sample in up] == ["1"]


def test_the_profiler_sidecar_dumps_the_apps_threads(stack: ComposeStack) -> None:
    dump = stack.must(["--profile", "debug", "run", "--rm", "profiler", "py-spy", "dump",
                       "--pid", "1"], timeout=180)  # fmt: skip
    assert re.search(r"^Process 1: .*leaky-app", dump, re.MULTILINE), dump
    assert 'Thread 1 (idle): "MainThread"' in dump or '"MainThread"' in dump, dump
    assert "leaky_app/cli.py" in dump and "debug-loop-watchdog" in dump, dump


def test_labctl_in_the_image_finds_the_labs_it_ships(stack: ComposeStack) -> None:
    listing = json.loads(stack.must(["exec", "-T", "app", "labctl", "lab", "list", "--json"]))
    assert len(listing) == 9, listing
    code = "from labctl.course.catalogue import LABS_DIR; print(LABS_DIR)"
    where = stack.must(["exec", "-T", "app", "python", "-c", code])
    assert where.strip() == "/lab/labs"


def _cpu_per_request(codes: list[str]) -> float:
    with load(APP, codes) as driver:
        time.sleep(0.5)
        before = scrape(METRICS)
        deadline = time.monotonic() + 30
        after = before
        while after[REQUESTS] - before[REQUESTS] < 60 and time.monotonic() < deadline:
            time.sleep(0.5)
            after = scrape(METRICS)
    assert driver.stats.errors == 0
    requests = after[REQUESTS] - before[REQUESTS]
    assert requests >= 30, "too little load to measure"
    return (after["process_cpu_seconds_total"] - before["process_cpu_seconds_total"]) / requests


def test_labctl_on_the_host_attaches_and_switches_a_fault_in_the_container(
    stack: ComposeStack, tmp_path: Path
) -> None:
    tokens = {}
    for name in ("debug", "operator"):
        path = tmp_path / f"{name}.token"
        path.write_text(stack.must(["exec", "-T", "app", "cat", f"/data/{name}.token"]))
        path.chmod(0o600)
        tokens[name] = path
    pid = stack.container("app")["State"]["Pid"]
    run_dir = tmp_path / "run"
    runner = CliRunner()
    attached = runner.invoke(labctl, ["attach", "--token-file", str(tokens["debug"]),
                                      "--operator-token-file", str(tokens["operator"]),
                                      "--run-dir", str(run_dir)])  # fmt: skip
    assert attached.exit_code == 0, attached.stderr
    assert f"pid {pid}" in attached.stderr  # the app's own process, seen from the host
    with httpx.Client(base_url=APP, timeout=10) as client:
        codes = [client.post("/api/v1/links", json={"url": f"https://shop.example/c/{i}"})
                 .json()["code"] for i in range(20)]  # fmt: skip
    with load(APP, codes):  # cpu_hotloop's release costs a click the whole window
        eventually_sync(lambda: referrer_window_filled(APP), "the load fills the window", 60)
    clean = _cpu_per_request(codes)
    on = runner.invoke(labctl, ["fault", "on", "cpu_hotloop", "--intensity", "10x",
                                "--run-dir", str(run_dir)])  # fmt: skip
    assert on.exit_code == 0, on.stderr
    try:
        hot = _cpu_per_request(codes)
    finally:
        off = runner.invoke(labctl, ["fault", "off", "--all", "--run-dir", str(run_dir)])
    assert off.exit_code == 0, off.stderr
    assert hot > 3 * clean, (clean, hot)
    down = runner.invoke(labctl, ["down", "--run-dir", str(run_dir)])
    assert "attached, not started by labctl" in down.stderr and psutil.pid_exists(pid)


def test_jupyter_answers_from_the_host_with_the_token_it_logs(stack: ComposeStack) -> None:
    assert httpx.get(f"{JUPYTER}/api", timeout=10).status_code == 200
    logs = stack.must(["logs", "jupyter"])
    found = re.search(r"[?&]token=([0-9a-f]+)", logs)
    assert found, logs[-2000:]
    status = httpx.get(f"{JUPYTER}/api/status", params={"token": found[1]}, timeout=10)
    assert status.status_code == 200, status.text
    assert httpx.get(f"{JUPYTER}/api/status", timeout=10).status_code == 403
    contents = httpx.get(f"{JUPYTER}/api/contents", params={"token": found[1]}, timeout=10)
    assert "01-memory-creeps-up.py" in {item["name"] for item in contents.json()["content"]}


def test_down_leaves_nothing_running(stack: ComposeStack, engine: DockerEngine) -> None:
    pids = [stack.container(s)["State"]["Pid"] for s in SERVICES]
    stack.down()
    assert engine.running_containers() == []
    eventually_sync(lambda: not any(psutil.pid_exists(p) for p in pids), "containers' PIDs end")
    assert [port for port in PORTS if _listening(port)] == []
