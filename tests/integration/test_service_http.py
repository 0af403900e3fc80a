"""The real service under uvicorn, used over real HTTP on loopback."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Route, expect, sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from tests.browser import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.live import LiveService, launch

pytestmark = pytest.mark.integration


def test_shortener_round_trip_over_http(live_service: LiveService) -> None:
    with live_service.client() as client:
        created = client.post("/api/v1/links", json={"url": "https://example.org/live"})
        assert created.status_code == 201
        code = created.json()["code"]
        assert created.json()["short_url"].endswith(f"/{code}")
        for _ in range(4):
            hop = client.get(f"/{code}")
            assert hop.status_code == 302
            assert hop.headers["location"] == "https://example.org/live"
        assert client.get(f"/api/v1/links/{code}").json()["clicks"] == 4
        assert client.get(f"/api/v2/links/{code}").json()["stats"]["clicks"] == 4
        bad = client.post("/api/v1/links", json={"url": "gopher://x"})
        assert bad.status_code == 422
        assert "http or https" in bad.json()["message"]
        assert client.get("/readyz").status_code == 200


def test_request_id_reaches_response_and_json_log(live_service: LiveService) -> None:
    with live_service.client() as client:
        response = client.get("/api/v1/links/zzz", headers={"X-Request-ID": "it-rid-7"})
    assert response.headers["x-request-id"] == "it-rid-7"
    lines = [ln for ln in live_service.log.read_text().splitlines() if "it-rid-7" in ln]
    assert lines, "no log line carries the request id"
    import json

    record = json.loads(lines[-1])
    assert record["request_id"] == "it-rid-7"
    assert record["route"] == "/api/v1/links/{code}"
    assert record["status"] == 404


def test_metrics_port_serves_red_per_route_template(live_service: LiveService) -> None:
    import httpx

    with live_service.client() as client:
        for i in range(5):
            code = client.post("/api/v1/links", json={"url": f"https://e.org/{i}"}).json()["code"]
            client.get(f"/{code}")
    text = httpx.get(live_service.metrics_url, timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    routes = {s.labels["route"] for s in families["leaky_app_http_requests"].samples}
    assert "/{code}" in routes
    assert all(r.startswith("/") or r == "unmatched" for r in routes)
    assert not any(len(r) == 7 and r.isalnum() for r in routes), "a code leaked into a label"
    for name in (
        "leaky_app_gc_pause_seconds",
        "leaky_app_event_loop_lag_seconds",
        "leaky_app_asyncio_tasks",
        "leaky_app_cache_entries",
        "process_resident_memory_bytes",
    ):
        assert name in families, name
    names = {s.name for f in families.values() for s in f.samples}
    assert not [n for n in names if n.endswith("_created")]


@pytest.mark.parametrize("trusted", [None, "127.0.0.1"])
def test_only_a_configured_proxy_chooses_the_address_the_rate_limit_keys_on(
    tmp_path: Path, trusted: str | None
) -> None:
    (tmp_path / "flags.json").write_text('{"rate_limit": {"rps": 0.01, "burst": 3}}')
    service = launch(tmp_path, ["--trusted-proxies", trusted] if trusted else [])
    try:
        with service.client() as client:
            answers = [
                client.get("/api/v1/links/nothere", headers={"X-Forwarded-For": f"203.0.113.{i}"})
                for i in range(6)
            ]
            same = [
                client.get("/api/v1/links/nothere", headers={"X-Forwarded-For": "203.0.113.99"})
                for _ in range(4)
            ]
    finally:
        service.stop()
    codes = [r.status_code for r in answers]
    if trusted is None:
        # A local client that forges the header is still 127.0.0.1: its bucket empties.
        assert codes[:3] == [404] * 3 and set(codes[3:]) == {429}, codes
        assert "from 127.0.0.1;" in answers[-1].json()["message"]
    else:
        # Behind a proxy it trusts, each forwarded client has its own bucket.
        assert set(codes) == {404}, codes
        assert [r.status_code for r in same][-1] == 429
        assert "from 203.0.113.99;" in same[-1].json()["message"]


def test_nobody_but_the_key_holder_deletes_a_link(live_service: LiveService) -> None:
    with live_service.client() as client:
        made = client.post("/api/v1/links", json={"url": "https://example.org/kept"}).json()
        code = made["code"]
        for headers in ({}, {"Authorization": "Bearer guessed"}, {"X-Forwarded-For": "1.2.3.4"}):
            for version in ("v1", "v2"):
                refused = client.delete(f"/api/{version}/links/{code}", headers=headers)
                assert refused.status_code in (401, 403), (headers, refused.text)
        assert client.get(f"/{code}").status_code == 302  # nothing was lost
        key = {"Authorization": f"Bearer {made['management_key']}"}
        assert client.delete(f"/api/v2/links/{code}", headers=key).status_code == 204
        assert client.get(f"/{code}").status_code == 404


def test_a_links_click_export_has_every_click_and_goes_with_the_link(
    live_service: LiveService,
) -> None:
    with live_service.client() as client:
        made = client.post("/api/v1/links", json={"url": "https://example.org/sheet"}).json()
        code = made["code"]
        key = {"Authorization": f"Bearer {made['management_key']}"}
        empty = client.get(f"/api/v2/links/{code}/clicks.csv", headers=key)
        assert (empty.status_code, empty.text) == (200, "clicked_at,referrer\r\n")
        referrers = ["https://news.example/a?utm=1", 'https://b.example/x,"y"', None]
        for referrer in referrers:
            headers = {"Referer": referrer} if referrer else {}
            assert client.get(f"/{code}?click_id=1", headers=headers).status_code == 302
        assert client.get(f"/{code}+").status_code == 200  # a preview is not a click
        # The referring pages are the owner's: no key, no export; a wrong one, none either.
        for headers, status in (({}, 401), ({"Authorization": "Bearer guessed"}, 403)):
            refused = client.get(f"/api/v2/links/{code}/clicks.csv", headers=headers)
            assert refused.status_code == status and refused.json()["message"], refused.text
        export = client.get(f"/api/v2/links/{code}/clicks.csv", headers=key)
        assert export.headers["content-type"].startswith("text/csv")
        assert f'filename="clicks-{code}.csv"' in export.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(export.text, newline="")))
        # The page as the referrer panel counts it: no query string, which carries visitors' ids.
        assert [page for _at, page in rows[1:]] == [
            "https://news.example/a",
            'https://b.example/x,"y"',
            "direct",
        ]
        assert all(float(at) > 0 for at, _page in rows[1:])
        (stored,) = live_service.run_dir.rglob(f"clicks-{code}.csv")
        for unknown in ("nope123", "x" * 300):
            refused = client.get(f"/api/v2/links/{unknown}/clicks.csv", headers=key)
            assert refused.status_code == 404 and refused.json()["message"], unknown
        assert client.delete(f"/api/v2/links/{code}", headers=key).status_code == 204
        gone = client.get(f"/api/v2/links/{code}/clicks.csv", headers=key)
        assert gone.status_code == 404 and code in gone.json()["message"]
        assert not stored.exists()


def test_the_preview_page_renders_in_chromium_and_loads_nothing_from_elsewhere(
    live_service: LiveService,
) -> None:
    with live_service.client() as client:
        made = client.post("/api/v1/links", json={"url": "https://shop.example/p?x=1"})
    code = made.json()["code"]
    elsewhere: list[str] = []

    def only_the_service(route: Route) -> None:
        if route.request.url.startswith(live_service.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_the_service)
            page.goto(f"{live_service.url}/{code}+?utm_campaign=spring")
            expect(page).to_have_title(f"{code} goes to shop.example")
            expect(page.get_by_role("heading")).to_have_text("This link goes to shop.example")
            go = page.get_by_role("link", name="Continue")
            assert go.get_attribute("href") == "https://shop.example/p?x=1&utm_campaign=spring"
            qr = page.locator(".qr svg").bounding_box()
            assert qr is not None and qr["width"] >= 100 and qr["height"] >= 100
            ARTEFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "preview.png"), full_page=True)
        finally:
            browser.close()
    assert elsewhere == []  # no script, font or pixel from anywhere but the service
