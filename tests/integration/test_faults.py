"""Each planted fault, switched on under load, moves its symptom; switched off, it recovers.

Thresholds are ratios against a baseline measured in the same run, on the same process.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from labctl.stack.ws_crowd import command as ws_crowd_command
from leaky_app.faults import BY_ID
from leaky_app.links.stream_backlog import EVENT_BYTES
from tests.integration.load import OwnedLinks, load, referrer_window_filled, scrape
from tests.live import FaultLab, launch
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration
Sample = dict[str, float]

WINDOW_S = 3.0
# py-spy installs its binary beside the interpreter; the venv's bin may not be on PATH.
PY_SPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
FORBIDDEN_WORDS = {"fault", "bug", "leak", "leaky", "burn", "chaos", "inject", "injection"}


def giveaways(names: set[str]) -> set[str]:
    """Function names with a word that names the bug (``DebugServer`` is fine: "debug")."""
    found = set()
    for name in names:
        words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)
        lowered = {w.lower() for w in words}
        if (lowered | {w.removesuffix("s") for w in lowered}) & FORBIDDEN_WORDS:
            found.add(name)
    return found


REQUESTS = "sum:leaky_app_http_requests_total"


def under_load(
    lab: FaultLab, seconds: float = WINDOW_S, min_requests: int = 0
) -> tuple[Sample, Sample]:
    """Metrics scraped at the start and end of a window of steady load (no failed request).
    The window lasts ``seconds``, and longer (up to ten times) until the service has answered
    ``min_requests``: a slow machine under a slow fault still gives a measurable count."""
    url = lab.service.metrics_url
    with load(lab.service.url, lab.codes) as driver:
        time.sleep(0.5)  # let the window start under steady load
        before = scrape(url)
        time.sleep(seconds)
        deadline = time.monotonic() + 9 * seconds
        after = scrape(url)
        while after[REQUESTS] - before[REQUESTS] < min_requests and time.monotonic() < deadline:
            time.sleep(0.25)
            after = scrape(url)
    assert driver.stats.errors == 0
    return before, after


def cpu_per_request(lab: FaultLab) -> float:
    before, after = under_load(lab, min_requests=30)
    requests = after[REQUESTS] - before[REQUESTS]
    assert requests > 20, "too little load to measure"
    return (after["process_cpu_seconds_total"] - before["process_cpu_seconds_total"]) / requests


def py_spy_function_names(pid: int) -> set[str]:
    out = subprocess.run(
        [PY_SPY, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    # Frame lines look like "    rebuild (leaky_app/links/referrers.py:96)".
    return set(re.findall(r"^\s+(\S+) \(", out.stdout, re.MULTILINE))


def referrer_panel(lab: FaultLab) -> dict[str, Any]:
    """The "where do clicks come from" panel, all of it, as a user reads it."""
    response = httpx.get(f"{lab.service.url}/api/v2/referrers", params={"limit": 100})
    assert response.status_code == 200, response.text
    panel: dict[str, Any] = response.json()
    return panel


def test_cpu_hotloop_raises_cpu_per_request_and_recovers(fault_lab: FaultLab) -> None:
    url = fault_lab.service.url
    with load(url, fault_lab.codes):  # the release's cost is a full window
        eventually_sync(lambda: referrer_window_filled(url), "the load fills the window", 60)
    baseline = cpu_per_request(fault_lab)
    healthy = referrer_panel(fault_lab)
    fault_lab.switch("cpu_hotloop", "10x")
    try:
        released = referrer_panel(fault_lab)
        hot = cpu_per_request(fault_lab)
        with load(fault_lab.service.url, fault_lab.codes):
            names = py_spy_function_names(fault_lab.service.record.pid)
        hot_panel = referrer_panel(fault_lab)
    finally:
        fault_lab.switch("cpu_hotloop", None)
    # The release shows the same panel as the healthy code, for the same clicks.
    assert released == healthy
    assert referrer_panel(fault_lab) == hot_panel
    assert hot_panel["clicks"] == hot_panel["window"]
    top = hot_panel["referrers"]
    assert top[0]["referrer"].startswith("https://news.example/item/"), top[0]
    assert all(a["clicks"] >= b["clicks"] for a, b in itertools.pairwise(top))
    recovered = cpu_per_request(fault_lab)
    assert hot > 3 * baseline, (baseline, hot)
    assert recovered < 2 * baseline, (baseline, recovered)
    assert not giveaways(names), giveaways(names)


def activity_clicks(lab: FaultLab, code: str) -> int:
    """The clicks of the link's activity sparkline, summed over its hour."""
    response = httpx.get(f"{lab.service.url}/api/v2/links/{code}/activity")
    assert response.status_code == 200, response.text
    return sum(minute["clicks"] for minute in response.json()["minutes"])


def counted_by_activity(lab: FaultLab, code: str, clicks: int = 20) -> int:
    """Click ``code`` and return how many more clicks its sparkline shows once it settles."""
    before = activity_clicks(lab, code)
    with httpx.Client(base_url=lab.service.url) as client:
        for _ in range(clicks):
            assert client.get(f"/{code}").status_code in {301, 302, 307, 308}
    eventually_sync(lambda: activity_clicks(lab, code) >= before + clicks, "the clicks counted")
    time.sleep(1.5)  # one more batch of the consumer: nothing is counted twice
    return activity_clicks(lab, code) - before


def test_task_leak_grows_tasks_and_switching_off_releases_them(fault_lab: FaultLab) -> None:
    url = fault_lab.service.metrics_url
    created = httpx.post(
        f"{fault_lab.service.url}/api/v1/links", json={"url": "https://a.example/"}
    )
    assert created.status_code == 201, created.text
    mine = created.json()["code"]  # a link the load does not click
    healthy = counted_by_activity(fault_lab, mine)
    baseline = scrape(url)["leaky_app_asyncio_tasks"]
    fault_lab.switch("task_leak", "10x")
    try:
        with load(fault_lab.service.url, fault_lab.codes) as driver:
            eventually_sync(
                lambda: scrape(url)["leaky_app_asyncio_tasks"] > baseline + 500,
                "tasks pile up under load",
                deadline_s=60,
            )
            names = py_spy_function_names(fault_lab.service.record.pid)
            released = counted_by_activity(fault_lab, mine)
        assert driver.stats.errors == 0
        with fault_lab.service.debug_client() as debug:
            top = debug.get("/debug/tasks?group=site").json()["groups"][0]
        assert "AckTasks.send" in top["site"]
        assert top["count"] > 300
    finally:
        fault_lab.switch("task_leak", None)
    eventually_sync(
        lambda: scrape(url)["leaky_app_asyncio_tasks"] <= baseline + 20, "tasks released"
    )
    # The release counts the same clicks: the cost is the tasks, not the answer.
    assert healthy == released == 20
    assert counted_by_activity(fault_lab, mine) == 20
    assert not giveaways(names), giveaways(names)


def previews_seen(lab: FaultLab, code: str) -> list[str]:
    """``code``'s preview page as five visitors from five campaigns see it."""
    with httpx.Client(base_url=lab.service.url) as client:
        pages = [client.get(f"/{code}+?utm_campaign=c{n}&click_id=seen{n}") for n in range(5)]
    assert all(page.status_code == 200 for page in pages), [page.text for page in pages]
    return [page.text for page in pages]


def test_unbounded_cache_grows_rss_and_switching_off_releases_it(fault_lab: FaultLab) -> None:
    url = fault_lab.service.metrics_url
    rss = "process_resident_memory_bytes"
    entries = 'leaky_app_cache_entries{cache="preview_page"}'
    mine = fault_lab.codes[0]
    healthy = previews_seen(fault_lab, mine)
    before, after = under_load(fault_lab, 2 * WINDOW_S)
    baseline_growth = after[rss] - before[rss]
    fault_lab.switch("unbounded_cache", "10x")
    try:
        before, leaked = under_load(fault_lab, 2 * WINDOW_S)
        growth = leaked[rss] - before[rss]
        kept = leaked[entries] - before[entries]
        released = previews_seen(fault_lab, mine)
        page = len(released[0])
        assert kept > 200, kept
        assert growth > 4 * max(baseline_growth, 256 * 1024), (baseline_growth, growth)
        assert growth > 0.5 * kept * page, (growth, kept, page)  # a page of RSS per visit
        peak = scrape(url)[rss]
        # Then the debug surface's tracemalloc diff must rank the kept pages' site first.
        with fault_lab.service.debug_client() as debug:
            debug.post("/debug/heap/start?frames=8")
            try:
                debug.get("/debug/heap/diff")  # first snapshot
                with load(fault_lab.service.url, fault_lab.codes):
                    time.sleep(WINDOW_S)
                top = debug.get("/debug/heap/diff").json()["growth"][0]
            finally:
                debug.post("/debug/heap/stop")
        assert top["site"]["file"].endswith("leaky_app/links/preview.py"), top
        with load(fault_lab.service.url, fault_lab.codes):
            names = py_spy_function_names(fault_lab.service.record.pid)
    finally:
        fault_lab.switch("unbounded_cache", None)
    after = scrape(url)
    assert after[entries] <= 512  # the link cards alone
    assert peak - after[rss] > 0.5 * growth, (peak, after[rss], growth)
    assert healthy == released == previews_seen(fault_lab, mine)
    assert not giveaways(names), giveaways(names)


def test_two_faults_at_once_each_keep_their_symptom_and_their_cap(tmp_path: Path) -> None:
    pages_cap = 4 * 2**20
    service = launch(
        tmp_path, ["--fault-max-tasks", "300", "--fault-max-memory-bytes", str(pages_cap)]
    )
    try:
        lab = FaultLab.seeded(service, links=10)
        url = service.metrics_url
        tasks, kept = "leaky_app_asyncio_tasks", 'leaky_app_cache_entries{cache="preview_page"}'
        rss = "process_resident_memory_bytes"
        before = scrape(url)
        lab.switch("task_leak", "10x")
        lab.switch("unbounded_cache", "10x")
        page = len(previews_seen(lab, lab.codes[0])[0])
        with load(service.url, lab.codes) as driver:
            eventually_sync(
                lambda: scrape(url)[tasks] > before[tasks] + 250 and scrape(url)[kept] > 500,
                "tasks pile up and pages are kept, both at once",
                deadline_s=60,
            )
            time.sleep(2)  # more load past the caps
            both = scrape(url)
        assert driver.stats.errors == 0
        assert both[tasks] <= before[tasks] + 300 + 30, (before[tasks], both[tasks])
        # The cap counts the pages' own bytes; the load's queries differ in length by a few.
        assert both[kept] * page <= 1.02 * pages_cap, (both[kept], page)
        assert both[rss] - before[rss] > 0.5 * both[kept] * page, (before[rss], both[rss])
        lab.switch("task_leak", None)
        eventually_sync(lambda: scrape(url)[tasks] <= before[tasks] + 20, "tasks released")
        assert scrape(url)[kept] == both[kept]  # the other release keeps what it kept
        lab.switch("unbounded_cache", None)
        assert scrape(url)[kept] <= 512  # the link cards alone
    finally:
        service.stop()


def gen2_pause(lab: FaultLab) -> float:
    with lab.service.debug_client() as debug:
        seconds: float = debug.post("/debug/gc/collect?generation=2").json()["seconds"]
    return seconds


def slow_gen2_collections(sample: Sample) -> float:
    """Gen-2 collections that took over 10 ms, from the service's own pause histogram."""
    return (
        sample['leaky_app_gc_pause_seconds_count{generation="2"}']
        - sample['leaky_app_gc_pause_seconds_bucket{generation="2",le="0.01"}']
    )


def test_gc_churn_makes_gen2_pauses_long_and_recovers(fault_lab: FaultLab) -> None:
    before, after = under_load(fault_lab)
    baseline_slow = slow_gen2_collections(after) - slow_gen2_collections(before)
    baseline = min(gen2_pause(fault_lab) for _ in range(3))
    fault_lab.switch("gc_churn", "10x")
    try:
        before, after = under_load(fault_lab, 2 * WINDOW_S)  # natural collections, not forced
        slow_gen2 = slow_gen2_collections(after) - slow_gen2_collections(before)
        with load(fault_lab.service.url, fault_lab.codes):
            names = py_spy_function_names(fault_lab.service.record.pid)
        churned = min(gen2_pause(fault_lab) for _ in range(3))
    finally:
        fault_lab.switch("gc_churn", None)
    recovered = min(gen2_pause(fault_lab) for _ in range(3))
    assert slow_gen2 >= 2, (baseline_slow, slow_gen2)  # gen-2 pauses over 10 ms, unforced
    assert slow_gen2 > baseline_slow
    assert churned > 3 * baseline, (baseline, churned)
    assert recovered < 2 * baseline + 0.002, (baseline, recovered)
    assert not giveaways(names), giveaways(names)


def lag_share_over_25ms(lab: FaultLab) -> float:
    count = "leaky_app_event_loop_lag_seconds_count"
    fast = 'leaky_app_event_loop_lag_seconds_bucket{le="0.025"}'
    before, after = under_load(lab)
    ticks = after[count] - before[count]
    assert ticks >= 3
    return 1 - (after[fast] - before[fast]) / ticks


def test_loop_blocking_lags_the_loop_and_debug_names_the_call(fault_lab: FaultLab) -> None:
    baseline = lag_share_over_25ms(fault_lab)
    # The watchdog keeps the last stalls of the shared service: an earlier test's (a fault
    # switched off collects on the loop) may still be the newest, so only this one's count.
    switched_at = time.time()
    fault_lab.switch("loop_blocking", "10x")
    try:
        blocked = lag_share_over_25ms(fault_lab)
        with fault_lab.service.client() as client:
            for code in fault_lab.codes[:3]:
                assert client.get(f"/{code}").status_code == 302  # screened, and let through
        names: set[str] = set()
        stalls: list[dict[str, Any]] = []
        # More clients at once: the redirects waiting their turn hold the loop for one stall.
        with (
            load(fault_lab.service.url, fault_lab.codes, threads=8),
            fault_lab.service.debug_client() as debug,
        ):
            for _ in range(20):  # the loop is blocked most of the time; catch it in the act
                time.sleep(0.3)
                names |= py_spy_function_names(fault_lab.service.record.pid)
                stalls = [
                    stall
                    for stall in debug.get("/debug/loop").json()["stalls"]
                    if stall["started_at"] >= switched_at
                ]
                if "ReputationClient.url_verdict" in names and stalls:
                    break
    finally:
        fault_lab.switch("loop_blocking", None)
    recovered = lag_share_over_25ms(fault_lab)
    assert blocked > 0.3, blocked
    assert blocked > 3 * baseline + 0.05, (baseline, blocked)
    assert recovered < 0.1 + baseline, (baseline, recovered)
    assert stalls
    assert stalls[0]["location"]["function"] == "ReputationClient.url_verdict"
    assert "ReputationClient.url_verdict" in names
    assert not giveaways(names), giveaways(names)


def metrics_bytes(lab: FaultLab) -> int:
    return len(httpx.get(lab.service.metrics_url, timeout=60).content)


def campaign_panel(lab: FaultLab) -> dict[str, Any]:
    """Clicks per campaign, as the marketing dashboard reads them."""
    response = httpx.get(f"{lab.service.url}/api/v2/campaigns")
    assert response.status_code == 200, response.text
    panel: dict[str, Any] = response.json()
    return panel


def campaign_series(lab: FaultLab) -> int:
    text = httpx.get(lab.service.metrics_url, timeout=60).text
    return sum(line.startswith("leaky_app_campaign_clicks_total{") for line in text.splitlines())


def test_cardinality_explosion_bloats_metrics_and_recovers(fault_lab: FaultLab) -> None:
    under_load(fault_lab, 1.0)
    baseline = metrics_bytes(fault_lab)
    healthy_series = campaign_series(fault_lab)
    healthy = campaign_panel(fault_lab)
    fault_lab.switch("cardinality_explosion", "10x")
    try:
        released = campaign_panel(fault_lab)
        under_load(fault_lab)
        exploded = metrics_bytes(fault_lab)
        series = campaign_series(fault_lab)
        with load(fault_lab.service.url, fault_lab.codes):
            names = py_spy_function_names(fault_lab.service.record.pid)
        hot_panel = campaign_panel(fault_lab)
    finally:
        fault_lab.switch("cardinality_explosion", None)
    recovered = metrics_bytes(fault_lab)
    # The release counts the same clicks per campaign; switching off folds, loses nothing.
    assert released == healthy
    assert campaign_panel(fault_lab) == hot_panel
    counted = {row["campaign"]: row["clicks"] for row in hot_panel["campaigns"]}
    assert {f"c{n}" for n in range(7)} <= set(counted), counted  # the load's campaigns
    assert healthy_series < 50, healthy_series  # campaigns times kinds of site
    assert series > 500
    assert exploded > 3 * baseline, (baseline, exploded)
    assert recovered < 1.2 * baseline, (baseline, recovered)
    assert campaign_series(fault_lab) <= healthy_series + 7
    assert not giveaways(names), giveaways(names)


def exported_clicks(lab: FaultLab, codes: list[str]) -> dict[str, tuple[int, list[list[str]]]]:
    """Each link's click count, and its click export's rows (header first)."""
    out = {}
    with lab.service.client() as client:
        for code in codes:
            clicks = client.get(f"/api/v2/links/{code}").json()["stats"]["clicks"]
            key = {"Authorization": f"Bearer {lab.keys[code]}"}
            export = client.get(f"/api/v2/links/{code}/clicks.csv", headers=key)
            assert export.status_code == 200 and export.headers["content-type"].startswith(
                "text/csv"
            )
            out[code] = (clicks, list(csv.reader(io.StringIO(export.text, newline=""))))
    return out


def assert_exports_hold_every_click(exports: dict[str, tuple[int, list[list[str]]]]) -> None:
    for clicks, rows in exports.values():
        assert rows[0] == ["clicked_at", "referrer"]
        assert clicks > 0 and len(rows) - 1 == clicks, (clicks, len(rows))
        assert all(page.startswith("https://news.example/item/") for _at, page in rows[1:])


def test_fd_leak_holds_a_descriptor_per_new_link_and_switching_off_closes_them(
    fault_lab: FaultLab,
) -> None:
    # The release's descriptors are the links the load clicks that it had not clicked before.
    healthy = replace(fault_lab, codes=fault_lab.new_links(150))
    before = scrape(fault_lab.service.metrics_url)  # before the load's first click
    _, after = under_load(healthy)
    baseline_growth = after["process_open_fds"] - before["process_open_fds"]
    assert_exports_hold_every_click(exported_clicks(healthy, healthy.codes[:3]))
    fault_lab.switch("fd_leak", "10x")
    try:
        leaking = replace(fault_lab, codes=fault_lab.new_links(150))
        before = scrape(fault_lab.service.metrics_url)
        _, leaked = under_load(leaking)
        growth = leaked["process_open_fds"] - before["process_open_fds"]
        proc_fds = len(list(Path(f"/proc/{fault_lab.service.record.pid}/fd").iterdir()))
        with load(fault_lab.service.url, leaking.codes + healthy.codes[:3]):
            names = py_spy_function_names(fault_lab.service.record.pid)
        # The same exports, the new links' and those begun before the switch alike.
        during = exported_clicks(fault_lab, leaking.codes[:3] + healthy.codes[:3])
    finally:
        fault_lab.switch("fd_leak", None)
    recovered = scrape(fault_lab.service.metrics_url)["process_open_fds"]
    assert_exports_hold_every_click(during)
    assert growth > 120, growth  # about one descriptor per new link
    assert growth > 10 * max(baseline_growth, 1), (baseline_growth, growth)
    assert proc_fds >= leaked["process_open_fds"] - 5  # /proc agrees with the metric
    assert recovered <= before["process_open_fds"] + 5, (before["process_open_fds"], recovered)
    assert_exports_hold_every_click(exported_clicks(fault_lab, leaking.codes[:3]))
    assert not giveaways(names), giveaways(names)


def test_livez_answers_under_every_fault_at_full_intensity(fault_lab: FaultLab) -> None:
    for fault_id in BY_ID:
        fault_lab.switch(fault_id, "100x")
        try:
            with load(fault_lab.service.url, fault_lab.codes, threads=2):
                time.sleep(1.5)
                with fault_lab.service.client() as client:
                    assert client.get("/livez").status_code == 200, fault_id
        finally:
            fault_lab.switch(fault_id, None)


def smtp_sends(lab: FaultLab) -> float:
    return scrape(lab.service.metrics_url)["sum:leaky_app_smtp_sends_total"]


def send_rate(lab: FaultLab, seconds: float = WINDOW_S) -> float:
    before = smtp_sends(lab)
    started = time.monotonic()
    time.sleep(seconds)
    return (smtp_sends(lab) - before) / (time.monotonic() - started)


def test_retry_storm_multiplies_smtp_sends_against_a_failing_server(fault_lab: FaultLab) -> None:
    """With the SMTP server refusing everything, the healthy notifier backs off and its breaker
    opens; the fault resends at once, so the send rate jumps and notices die as dead letters."""
    service = fault_lab.service
    service.mailbox.set_fail_rate(1.0)
    try:
        with OwnedLinks(service.url, per_second=20):
            eventually_sync(
                lambda: (
                    scrape(service.metrics_url)[
                        'leaky_app_circuit_breaker_state{breaker="smtp",state="open"}'
                    ]
                    == 1
                ),
                "the breaker opens against the failing server",
            )
            calm = send_rate(fault_lab)
            dead_before = scrape(service.metrics_url)["leaky_app_notification_dead_letters"]
            fault_lab.switch("retry_storm", "10x")
            try:
                # Workers finish the notice they hold (backing off) before the storm shows.
                started = smtp_sends(fault_lab)
                eventually_sync(lambda: smtp_sends(fault_lab) > started + 300, "storm starts", 30)
                storm = send_rate(fault_lab)
                names = py_spy_function_names(service.record.pid)
                dead_after = scrape(service.metrics_url)["leaky_app_notification_dead_letters"]
            finally:
                fault_lab.switch("retry_storm", None)
    finally:
        service.mailbox.set_fail_rate(0.0)
    assert storm > 10 * max(calm, 1.0), (calm, storm)
    assert dead_after > dead_before
    assert not giveaways(names), giveaways(names)
    # Off and healed: the backlog drains through the breaker's probe.
    eventually_sync(
        lambda: scrape(service.metrics_url)["leaky_app_outbox_pending"] == 0,
        "the outbox drains once the server accepts mail again",
        deadline_s=60,
    )


def clicks_streamed(lab: FaultLab, code: str, clicks: int = 20) -> list[tuple[str, str]]:
    """What a live dashboard subscribed to ``code`` receives while the link is clicked."""
    ws_url = lab.service.url.replace("http://", "ws://") + f"/ws/clicks?code={code}"
    with ws_connect(ws_url, open_timeout=10) as ws:  # subscribed once the handshake is done
        for _ in range(clicks):
            assert httpx.get(f"{lab.service.url}/{code}").status_code in {301, 302, 307, 308}
        events = [json.loads(ws.recv(timeout=10)) for _ in range(clicks)]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    return [(e["code"], e["url"]) for e in events]


def test_ws_resume_rings_cost_memory_per_connection_and_switching_off_frees_it(
    fault_lab: FaultLab,
) -> None:
    url = fault_lab.service.metrics_url
    rss, clients = "process_resident_memory_bytes", "leaky_app_ws_clients"
    crowd_size = 300
    ws_url = fault_lab.service.url.replace("http://", "ws://") + "/ws/clicks"
    token = fault_lab.service.run_dir / "debug.token"
    crowd = subprocess.Popen([*ws_crowd_command(ws_url, crowd_size, 2.0, token_file=token),
                              "--until-stdin-closes"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert crowd.stdout is not None and crowd.stdout.readline().strip() == f"open {crowd_size}"
        eventually_sync(lambda: scrape(url)[clients] >= 0.9 * crowd_size, "the crowd is in")
        time.sleep(4)  # two renewals of the crowd: what a connection costs with no fault
        code = fault_lab.codes[0]
        healthy = clicks_streamed(fault_lab, code)
        base = scrape(url)
        fault_lab.switch("ws_resume_rings", "10x")
        ring = 64 * EVENT_BYTES  # a buffer for the default backlog (ws_queue_size) of events

        def per_connection_growth() -> float:
            now = scrape(url)
            return (now[rss] - base[rss]) / max(now[clients], 1.0)

        # Every connection renewed since the switch holds a ring: about 160 KiB more each.
        eventually_sync(lambda: per_connection_growth() > 0.75 * ring,
                        "memory per connection rises by most of a ring", deadline_s=60)  # fmt: skip
        peak = scrape(url)
        assert peak[clients] >= 0.8 * crowd_size  # the same crowd: a cost, not more clients
        # The release streams the same clicks: a cost, not a different answer.
        assert clicks_streamed(fault_lab, code) == healthy
        assert healthy == [(code, healthy[0][1])] * 20
        fault_lab.switch("ws_resume_rings", None)
        # Off, with the crowd still connected: the rings are released.
        growth = peak[rss] - base[rss]
        eventually_sync(lambda: peak[rss] - scrape(url)[rss] > 0.5 * growth,
                        "half the growth handed back", deadline_s=30)  # fmt: skip
        assert scrape(url)[clients] >= 0.8 * crowd_size
    finally:
        fault_lab.switch("ws_resume_rings", None)
        assert crowd.stdin is not None and crowd.stdout is not None
        crowd.stdin.close()
        crowd.wait(timeout=60)
        crowd.stdout.close()
