"""A Docker engine of the test's own, and the lab's compose stack on it.

``dockerd`` runs with its own socket, data and exec roots, no bridge and no iptables rules
(``--bridge=none --iptables=false``), so it touches nothing of the machine's; it is started and
stopped by PID. The stack runs with host networking (``docker/compose.host-network.yml``), on
base images built here from Debian's packages (``docker/build-images.sh``): no registry is
needed and no traffic leaves loopback. Debian's ``docker-compose`` (1.29) drives it: the compose
v2 plugin is not packaged.

Usage::

    with DockerEngine(Path("/var/tmp/lab-docker")) as engine:
        stack = ComposeStack(engine)
        stack.build()
        stack.up(["app", "prometheus"])
        print(stack.run(["ps"]).stdout)
        stack.down()
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).parents[2]
# The images build-images.sh makes, in place of the registry's (see .env).
LOCAL_IMAGES = {
    "PYTHON_IMAGE": "lab-debian:bookworm",
    "PROMETHEUS_IMAGE": "lab-prometheus:bookworm",
    "REDIS_IMAGE": "lab-redis:bookworm",
}
HOST_NETWORK = "docker-compose.yml:docker/compose.host-network.yml"


class EngineUnavailable(RuntimeError):
    """No Docker engine can start here; the message is the reason (for the skip and README)."""


class DockerEngine:
    """``dockerd`` on a socket of its own under ``root``; images persist there between runs."""

    def __init__(self, root: Path, start_within: float = 60.0) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.start_within = start_within
        self.process: psutil.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip

    def __enter__(self) -> DockerEngine:
        if os.geteuid() != 0:
            raise EngineUnavailable("dockerd needs root here (no rootless set-up)")
        if shutil.which("dockerd") is None:
            raise EngineUnavailable("dockerd is not installed (apt-get install docker.io)")
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "dockerd.log").open("ab") as log:  # the child keeps its own copy
            self.process = psutil.Popen(
                ["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false",
                 f"--data-root={self.root / 'data'}", f"--exec-root={self.root / 'exec'}",
                 f"--pidfile={self.root / 'dockerd.pid'}", f"--host=unix://{self.socket}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + self.start_within
        while self.docker("info", timeout=30).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.root / "dockerd.log").read_text(errors="replace")[-2000:]
                self.__exit__()
                raise EngineUnavailable(f"dockerd did not start: {tail.strip()}")
            time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except psutil.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        # dockerd leaves its default network namespace mounted under the exec root.
        for mount in self.mounts():
            subprocess.run(["umount", mount], check=False, capture_output=True)

    def mounts(self) -> list[str]:
        """Mount points under ``root`` (none once the engine has stopped and cleaned up)."""
        lines = Path("/proc/self/mounts").read_text().splitlines()
        return [line.split()[1] for line in lines
                if line.split()[1].startswith(f"{self.root}/")]  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None, "the engine is not running"
        return int(self.process.pid)

    def running_containers(self) -> list[str]:
        return self.docker("ps", "-q").stdout.split()


class ComposeStack:
    """The lab's docker-compose.yml on ``engine``, with host networking and local images."""

    def __init__(self, engine: DockerEngine) -> None:
        self.engine = engine
        self.env = {**engine.env, **LOCAL_IMAGES, "LISTEN_HOST": "127.0.0.1",
                    "COMPOSE_FILE": HOST_NETWORK}  # fmt: skip

    def run(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``docker-compose ARGS`` in the project folder; echoed, as labctl echoes its tools."""
        print("+ docker-compose", " ".join(args), flush=True)
        return subprocess.run(
            ["docker-compose", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def must(self, args: list[str], timeout: float = 300) -> str:
        done = self.run(args, timeout)
        if done.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)}: {done.stderr[-3000:]}")
        return done.stdout

    def build(self) -> None:
        """The base images (skipped when present), then the app image with the Dockerfile."""
        print("+ docker/build-images.sh", flush=True)
        done = subprocess.run([str(ROOT / "docker" / "build-images.sh")], env=self.env,
                              capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"build-images.sh: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        self.must(["build", "app"], timeout=1200)

    def up(self, services: list[str]) -> None:
        self.must(["up", "-d", *services])

    def down(self) -> None:
        self.must(["--profile", "debug", "--profile", "load", "down", "-v", "--remove-orphans"])

    def container(self, service: str) -> dict[str, Any]:
        """``docker inspect`` of the service's container."""
        ids = self.must(["ps", "-q", service]).split()
        assert ids, f"{service} has no container"
        found: list[dict[str, Any]] = json.loads(self.engine.docker("inspect", ids[0]).stdout)
        return found[0]

    def health(self, service: str) -> str:
        state = self.container(service)["State"]
        return str(state.get("Health", {}).get("Status", state["Status"]))
