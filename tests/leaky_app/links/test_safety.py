"""The patient's checks against the real reputation service: unsafe URLs refused on every
route that makes a link, redirect targets checked once per host, and the designed failure when
the service is down: new links fail closed (503), redirects fail open, /readyz says degraded,
and calls resume once it is back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from labctl.contract import RunLayout
from labctl.stack.ports import free_ports
from labctl.stack.processes import ProcessRecord, stop
from labctl.stack.reputation_service import start_reputation
from reputation.client import Identity
from reputation.v1 import reputation_pb2 as pb
from reputation.v1 import reputation_pb2_grpc as pb_grpc
from tests.integration.load import load, scrape
from tests.live import LiveService, launch
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


@dataclass
class Guarded:
    service: LiveService
    reputation: ProcessRecord
    layout: RunLayout
    ports: tuple[int, int]

    def restart_reputation(self) -> None:
        self.reputation = start_reputation(self.layout, *self.ports)

    def checks(self, call: str, outcome: str) -> float:
        return scrape(self.service.metrics_url).get(
            f'leaky_app_reputation_checks_total{{call="{call}",outcome="{outcome}"}}', 0.0
        )


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    layout = RunLayout(tmp_path_factory.mktemp("guarded"))
    grpc_port, metrics_port = free_ports(2)
    ports = (grpc_port, metrics_port)
    reputation = start_reputation(layout, *ports)
    args = ["--reputation-target", reputation.urls["grpc"], "--reputation-pki", str(layout.pki),
            "--reputation-breaker-threshold", "2", "--reputation-breaker-ttl-seconds", "1",
            "--reputation-deadline-seconds", "0.3"]  # fmt: skip
    try:
        service = launch(layout.root, args)
    except Exception:
        stop(reputation)
        raise
    guarded = Guarded(service, reputation, layout, ports)
    try:
        yield guarded
    finally:
        service.stop()
        stop(guarded.reputation)


def create(
    client: httpx.Client, url: str, route: str = "/api/v1/links", alias: str | None = None
) -> httpx.Response:
    body: dict[str, object] = {"url": url}
    if alias is not None:
        body |= {"alias": alias, "owner_email": f"{alias}@example.org"}
    return client.post(route, json=body)


@pytest.mark.parametrize("route", ["/api/v1/links", "/api/v2/links", "/api/v1/aliases"])
def test_every_route_that_makes_a_link_refuses_an_unsafe_url_and_keeps_nothing(
    guarded: Guarded, route: str
) -> None:
    alias = "vetted" + route.split("/")[2] + route.split("/")[-1]
    with guarded.service.client() as client:
        refused = create(client, "https://paypa1.example/login", route, alias)
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert body["error"] == "unsafe_url"
        assert "spelled to pass for paypal.example (lookalike)" in body["message"]
        assert client.get(f"/api/v1/links/{alias}").status_code == 404  # nothing reserved
        ok = create(client, "https://docs.example.org/", route, alias)
        assert ok.status_code == 201, ok.text
        if route == "/api/v1/aliases":
            assert ok.json()["credits_left"] == 2  # of 3: the refusal took none


def test_a_redirect_checks_its_host_once_and_then_uses_the_cached_verdict(
    guarded: Guarded,
) -> None:
    with guarded.service.client() as client:
        code = create(client, "https://cached.example.org/page").json()["code"]
        calls = guarded.checks("host", "safe")
        cached = guarded.checks("host", "cached")
        for _ in range(20):
            assert client.get(f"/{code}").status_code == 302
    assert guarded.checks("host", "safe") == calls + 1  # one call for the host
    assert guarded.checks("host", "cached") == cached + 19  # then none


def test_when_the_service_is_down_new_links_fail_closed_and_redirects_fail_open(
    guarded: Guarded,
) -> None:
    with guarded.service.client() as client:
        known = create(client, "https://known.example.org/").json()["code"]
        assert client.get(f"/{known}").status_code == 302  # its host is cached now
        unseen = create(client, "https://unseen.example.org/").json()["code"]
        # Redirects keep coming the whole time: killed, down, and back.
        with load(guarded.service.url, [known], threads=2) as clicks:
            stop(guarded.reputation)
            try:
                down = create(client, "https://new.example.org/")
                assert down.status_code == 503, down.text
                assert down.json()["error"] == "safety_check_unavailable"
                assert "try again shortly" in down.json()["message"]
                fallbacks = scrape(guarded.service.metrics_url).get(
                    'leaky_app_reputation_fallbacks_total{call="host"}', 0.0
                )
                assert client.get(f"/{unseen}").status_code == 302  # unchecked, let through
                after = scrape(guarded.service.metrics_url)
                assert after['leaky_app_reputation_fallbacks_total{call="host"}'] == fallbacks + 1
                create(client, "https://again.example.org/")  # the second failure opens it
                ready = client.get("/readyz")
                assert ready.status_code == 200, ready.text  # still ready: degraded only
                assert "circuit breaker open" in ready.json()["degraded"]["reputation"]
            finally:
                guarded.restart_reputation()

            def created() -> bool:
                return create(client, "https://back.example.org/").status_code == 201

            eventually_sync(created, "link creation after the service came back", 20)
            eventually_sync(
                lambda: "reputation" not in client.get("/readyz").json()["degraded"],
                "the breaker closed",
            )
        assert clicks.stats.requests > 20
        assert clicks.stats.errors == 0  # not one redirect failed through the outage


def test_a_host_blocked_after_its_link_was_made_is_refused_when_next_checked(
    guarded: Guarded,
) -> None:
    with guarded.service.client() as client:
        code = create(client, "https://later-blocked.example.org/x").json()["code"]
        identity = Identity.of(guarded.layout.pki, "labctl")
        with identity.channel(guarded.reputation.urls["grpc"]) as channel:
            pb_grpc.ReputationStub(channel).BlockHost(
                pb.BlockHostRequest(host="later-blocked.example.org"), timeout=5
            )
        refused = client.get(f"/{code}")  # not cached before: checked now, and refused
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "blocked_target"
        assert "on the blocklist" in refused.json()["message"]
