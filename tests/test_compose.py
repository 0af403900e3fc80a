"""docker-compose.yml checked statically: structure, files it references, ports and versions
from .env, loopback-only ports, memory limits, healthchecks, the sidecar. tests/compose/ runs
the stack for real (``make test-compose``)."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[1]
VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")


def compose(name: str = "docker-compose.yml") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return data


PUBLISHED = "docker/compose.published-ports.yml"
HOST_NETWORK = "docker/compose.host-network.yml"


def dotenv() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_every_variable_is_defined_in_dotenv() -> None:
    used = set()
    for name in ("docker-compose.yml", PUBLISHED):
        used |= set(VAR.findall((ROOT / name).read_text()))
    assert used, "compose should take its ports and versions from .env"
    assert used <= set(dotenv()), used - set(dotenv())


def test_images_are_pinned_through_dotenv_or_built_here() -> None:
    env = dotenv()
    for name, service in compose()["services"].items():
        if "build" in service:
            assert (ROOT / service["build"]["dockerfile"]).is_file(), name
            continue
        image = service["image"]
        if image == "leaky-app:local":
            continue  # the image the app service builds
        match = VAR.fullmatch(image)
        assert match, f"{name}: image {image!r} should be a variable from .env"
        version = env[match.group(1)]
        assert ":" in version
        assert not version.endswith(":latest"), f"{name}: pin a version"


def test_ports_are_loopback_only_and_from_dotenv() -> None:
    published = compose(PUBLISHED)["services"]
    assert published and set(published) <= set(compose()["services"])
    for name, service in published.items():
        for mapping in service["ports"]:
            assert mapping.startswith("127.0.0.1:${"), f"{name}: {mapping}"
            assert VAR.search(mapping), f"{name}: {mapping}"
    # The ports live in their own file: host networking (which refuses them) leaves it out.
    assert all("ports" not in service for service in compose()["services"].values())
    assert dotenv()["COMPOSE_FILE"] == f"docker-compose.yml:{PUBLISHED}"


def test_the_host_network_variant_keeps_every_server_on_loopback() -> None:
    services = compose()["services"]
    host = compose(HOST_NETWORK)["services"]
    for name, service in services.items():
        if service.get("network_mode") == "service:app":
            continue  # the app's network, which is the host's in this variant
        assert host[name]["network_mode"] == "host", name
    # Each server listens on LISTEN_HOST: every interface of a container (published ports
    # forward there), 127.0.0.1 with host networking.
    assert dotenv()["LISTEN_HOST"] == "0.0.0.0"
    text = (ROOT / "docker-compose.yml").read_text()
    assert "0.0.0.0" not in text and "127.0.0.1:8000/readyz" in text
    for name in ("app", "smtp-sink", "reputation", "redis", "jupyter", "prometheus"):
        assert "${LISTEN_HOST}" in json.dumps(services[name]), name


def test_every_server_has_a_healthcheck_on_a_port_it_serves() -> None:
    for name, service in compose()["services"].items():
        if name == "pki" or service.get("profiles"):
            continue  # a one-shot job, and services started on demand
        probe = " ".join(service["healthcheck"]["test"])
        port = re.search(r"127\.0\.0\.1\D{1,5}(\d+)", probe)
        assert port, f"{name}: {probe}"
        # The port is one the service's own command (or the app's image) listens on.
        serves = json.dumps(service.get("command", [])) + json.dumps(service.get("environment", {}))
        served = {"app": "8000", "grafana": "3000", "jupyter": "8888", "redis": "6379"}
        assert port[1] in serves or served.get(name) == port[1], f"{name} probes {port[1]}"


def test_every_service_has_a_memory_limit() -> None:
    for name, service in compose()["services"].items():
        assert re.fullmatch(r"\d+[mg]", str(service.get("mem_limit", ""))), name


def test_bind_mounted_files_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source}"


def test_profiler_sidecar_joins_the_apps_pid_namespace_with_ptrace() -> None:
    profiler = compose()["services"]["profiler"]
    assert profiler["profiles"] == ["debug"]
    assert profiler["pid"] == "service:app"
    assert profiler["network_mode"] == "service:app"
    assert profiler["cap_add"] == ["SYS_PTRACE"]


def test_jupyter_sees_the_service_like_the_sidecar_and_is_published_on_loopback() -> None:
    services = compose()["services"]
    jupyter = services["jupyter"]
    assert jupyter["pid"] == "service:app" and jupyter["network_mode"] == "service:app"
    assert jupyter["cap_add"] == ["SYS_PTRACE"]
    command = jupyter["command"]
    # A published port forwards to the container's address: 127.0.0.1 inside is unreachable.
    assert command[command.index("--ip") + 1] == "${LISTEN_HOST}"
    port = command[command.index("--port") + 1]
    # In the app's network namespace, its port can only be published on the app service.
    assert f"127.0.0.1:${{JUPYTER_PORT}}:{port}" in compose(PUBLISHED)["services"]["app"]["ports"]
    assert "./notebooks:/lab/notebooks" in jupyter["volumes"]
    # The image runs `jupyter lab`: the extras with the server and the notebooks' libraries.
    install = re.search(r"pip install .*'\.\[([a-z,]+)\]'", (ROOT / "Dockerfile").read_text())
    assert install is not None and {"notebooks", "jupyter"} <= set(install.group(1).split(","))
    pyproject = (ROOT / "pyproject.toml").read_text()
    server = re.search(r"^jupyter = \[(.*?)\]", pyproject, re.MULTILINE | re.DOTALL)
    assert server is not None and "jupyterlab" in server.group(1)


def test_prometheus_scrapes_the_apps_metrics_port() -> None:
    config = yaml.safe_load((ROOT / "dashboards" / "prometheus" / "prometheus.yml").read_text())
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]]  # fmt: skip
    assert "app:9464" in targets
    assert "127.0.0.1:${METRICS_PORT}:9464" in compose(PUBLISHED)["services"]["app"]["ports"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE):
        for source in line.split()[:-1]:  # the last word is the destination
            assert (ROOT / source).exists(), source


def test_loadgen_runs_the_locustfile_labctl_runs_with_the_same_options() -> None:
    from labctl.contract import RunLayout
    from labctl.stack.traffic import LOCUSTFILE, LoadShape, load_command

    loadgen = compose()["services"]["loadgen"]
    command = loadgen["command"]
    path = command[command.index("-f") + 1]
    assert path.startswith("/lab/") and ROOT / path.removeprefix("/lab/") == LOCUSTFILE
    assert "COPY loadgen ./loadgen" in (ROOT / "Dockerfile").read_text()
    native = load_command("http://app:8000", LoadShape(), RunLayout(Path("run")))
    for option in ("--headless", "--users", "--rate"):
        assert option in command and option in native, option
