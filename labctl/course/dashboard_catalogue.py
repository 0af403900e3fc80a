"""Grafana dashboards as data: one catalogue, built with grafana-foundation-sdk.

Adding a panel means adding one :class:`PanelSpec`; ``labctl dashboards build`` writes the
JSON under ``dashboards/grafana/dashboards/`` and a test checks the committed JSON equals a
fresh build, that every panel has a unit and a description, and that every query returns
data from the real Prometheus scraping the real service.

The SDK flavour is pinned to the Grafana image in ``.env`` (``GRAFANA_VERSION``). Queries
use ``[1m]`` windows rather than ``$__rate_interval`` so the same text runs unchanged
against Prometheus' own API (the tests, the notebooks).

Usage::

    for path in write_all(Path("dashboards/grafana/dashboards")): print(path)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import AnnotationQuery, Dashboard
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from labctl.contract import Metric
from labctl.records.dashboard_specs import AnnotationSpec, DashboardSpec, PanelSpec, Query
from labctl.records.series import Series
from labctl.stack.prometheus import query_range

DATASOURCE_UID = "lab-prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
OUT_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "grafana" / "dashboards"

REQUESTS = Metric.REQUESTS
LATENCY = Metric.LATENCY.bucket
SENDS = Metric.SMTP_SENDS
SINK_MESSAGES = Metric.SINK_MESSAGES
BREAKER = Metric.BREAKER
DELIVERY = Metric.DELIVERY.bucket


def _quantile(q: float, metric: str, by: str) -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}[1m])))"


FAULT_ANNOTATIONS = (
    AnnotationSpec(
        "Fault switched", f"changes({Metric.FAULT_ACTIVE}[1m]) > 0", "fault {{fault}}", "red"
    ),
    AnnotationSpec("Alert firing", 'ALERTS{alertstate="firing"}', "{{alertname}} firing", "orange"),
)

# fmt: off
DASHBOARDS: tuple[DashboardSpec, ...] = (
    DashboardSpec(
        uid="lab-service-overview",
        title="Lab / Service overview",
        description="RED per route: is the service answering, how fast, and how often it fails.",
        annotations=FAULT_ANNOTATIONS,
        panels=(
            PanelSpec(
                "Requests per second by route",
                "How much traffic does each route take?",
                "reqps",
                (Query(f"sum by (route) (rate({REQUESTS}[1m]))", "{{route}}"),),
            ),
            PanelSpec(
                "5xx ratio by route",
                "Which route fails, and for what share of its requests?",
                "percentunit",
                (
                    Query(
                        f'(sum by (route) (rate({REQUESTS}{{status=~"5.."}}[1m])) or '
                        f"sum by (route) (rate({REQUESTS}[1m])) * 0) / "
                        f"sum by (route) (rate({REQUESTS}[1m]))",
                        "{{route}}",
                    ),
                ),
            ),
            PanelSpec(
                "Latency p50 and p99 by route",
                "How long do requests take, typically and at the tail?",
                "s",
                (
                    Query(_quantile(0.5, LATENCY, "route"), "p50 {{route}}"),
                    Query(_quantile(0.99, LATENCY, "route"), "p99 {{route}}"),
                ),
            ),
            PanelSpec(
                "Redirects by result",
                "Do short links resolve (found) or miss (missing, expired)?",
                "reqps",
                (Query(f"sum by (result) (rate({Metric.REDIRECTS}[1m]))", "{{result}}"),),
            ),
            PanelSpec(
                "Clicks per second by campaign",
                "Which campaigns (utm_campaign) bring clicks, summed over where links are placed?",
                "reqps",
                (Query(f"sum by (campaign) (rate({Metric.CAMPAIGN_CLICKS}[1m]))",
                       "{{campaign}}"),),
            ),
            PanelSpec(
                "Rate-limited requests",
                "Are clients being refused with 429 by the rate limiter?",
                "reqps",
                (Query(f"sum(rate({Metric.RATE_LIMITED}[1m])) or vector(0)",
                       "429 per second"),),
            ),
            PanelSpec(
                "Cache hit ratio",
                "Does each in-process cache still save work?",
                "percentunit",
                (
                    Query(
                        f'sum by (cache) (rate({Metric.CACHE_LOOKUPS}{{result="hit"}}'
                        f"[1m])) / sum by (cache) (rate({Metric.CACHE_LOOKUPS}[1m]))",
                        "{{cache}}",
                    ),
                ),
            ),
            PanelSpec(
                "Live click subscribers",
                "How many websocket clients follow clicks live, and are slow ones being dropped?",
                "short",
                (
                    Query(f"sum({Metric.WS_CLIENTS})", "connected"),
                    Query(f"sum(increase({Metric.WS_DROPPED}[5m])) or vector(0)",
                          "dropped as slow (5m)"),
                ),
            ),
            PanelSpec(
                "Memory per live subscriber",
                "What does one websocket connection cost (resident memory over connections)?",
                "bytes",
                (
                    Query(f'{Metric.RSS}{{job="leaky-app"}}'
                          f" / scalar(clamp_min(sum({Metric.WS_CLIENTS}), 1))",
                          "RSS / connections"),
                ),
            ),
            PanelSpec(
                "Scheduler leader",
                "Which instance runs the scheduled jobs (exactly one should), and do they work?",
                "short",
                (
                    Query(f"sum by (instance) ({Metric.SCHEDULER_LEADER})", "leader {{instance}}"),
                    Query(f'sum(rate({Metric.SCHEDULER_ITEMS}{{job="expire_links"}}[5m]))'
                          " or vector(0)", "links expired / s"),
                ),
            ),
        ),
    ),
    DashboardSpec(
        uid="lab-python-runtime",
        title="Lab / Python runtime",
        description="The interpreter's vital signs: memory, heap, GC, tasks, loop lag, fds.",
        annotations=FAULT_ANNOTATIONS,
        panels=(
            PanelSpec(
                "Resident memory",
                "Is the process' memory growing without levelling off?",
                "bytes",
                (Query(f'{Metric.RSS}{{job="leaky-app"}}', "RSS"),),
            ),
            PanelSpec(
                "Python heap blocks",
                "Do live Python objects keep accumulating (the heap, not the arenas)?",
                "short",
                (Query(Metric.ALLOCATED_BLOCKS, "allocated blocks"),),
            ),
            PanelSpec(
                "GC collections per second by generation",
                "How often does each generation's collector run?",
                "ops",
                (
                    Query(
                        "sum by (generation) (rate(python_gc_collections_total[1m]))",
                        "gen {{generation}}",
                    ),
                ),
            ),
            PanelSpec(
                "GC pause p99 by generation",
                "How long do collections stop the world, at the tail?",
                "s",
                (
                    Query(
                        _quantile(0.99, Metric.GC_PAUSE.bucket, "generation"),
                        "gen {{generation}}",
                    ),
                ),
            ),
            PanelSpec(
                "asyncio tasks",
                "Are tasks piling up on the event loop?",
                "short",
                (Query(Metric.TASKS, "live tasks"),),
            ),
            PanelSpec(
                "Event-loop lag p99",
                "Is something blocking the event loop?",
                "s",
                (
                    Query(
                        _quantile(0.99, Metric.LOOP_LAG.bucket, "job"), "p99 lag"
                    ),
                ),
            ),
            PanelSpec(
                "CPU",
                "How much of a core does the service burn?",
                "percentunit",
                # 30 s, not 1m: a lab's before/after shows within half a minute of the fix.
                (Query(f'rate({Metric.CPU}{{job="leaky-app"}}[30s])', "cores"),),
            ),
            PanelSpec(
                "Open file descriptors",
                "Are descriptors leaking towards the limit?",
                "short",
                (
                    Query(f'{Metric.OPEN_FDS}{{job="leaky-app"}}', "open"),
                    Query(f'{Metric.MAX_FDS}{{job="leaky-app"}}', "limit"),
                ),
            ),
            PanelSpec(
                "Cache entries",
                "Does any in-process cache grow without bound?",
                "short",
                (Query(Metric.CACHE_ENTRIES, "{{cache}}"),),
                width=24,
            ),
        ),
    ),
    DashboardSpec(
        uid="lab-faults-alerts",
        title="Lab / Faults and alerts",
        description="What is switched on, what fired, and what the scrape itself costs.",
        annotations=FAULT_ANNOTATIONS,
        panels=(
            PanelSpec(
                "Fault switches",
                "Which planted fault is on (hidden in drill mode)?",
                "short",
                (Query(Metric.FAULT_ACTIVE, "{{fault}}"),),
                width=24,
            ),
            PanelSpec(
                "Alerts firing",
                "How many alerts fire right now?",
                "short",
                (Query('count(ALERTS{alertstate="firing"}) or vector(0)', "firing"),),
                kind="stat",
            ),
            PanelSpec(
                "Samples per scrape",
                "Is the service's /metrics exploding in series (cardinality)?",
                "short",
                (Query('scrape_samples_scraped{job="leaky-app"}', "samples"),),
                kind="stat",
            ),
            PanelSpec(
                "Scrape duration",
                "Is scraping the service getting slow?",
                "s",
                (Query('scrape_duration_seconds{job="leaky-app"}', "scrape"),),
                width=24,
            ),
        ),
    ),
    DashboardSpec(
        uid="lab-notifier",
        title="Lab / Notifier",
        description="Owner emails: the outbox, the queue, SMTP sends, the breaker, dead letters.",
        annotations=FAULT_ANNOTATIONS,
        panels=(
            PanelSpec(
                "Notices finished by result",
                "Are notices being sent, or given up on as dead letters?",
                "ops",
                (Query(f"sum by (result) (rate({Metric.NOTIFICATIONS}[1m]))", "{{result}}"),),
            ),
            PanelSpec(
                "SMTP sends by outcome, and what the server saw",
                "How hard does the service hit the mail server, and what does it answer?",
                "ops",
                (
                    Query(f"sum by (outcome) (rate({SENDS}[1m]))", "sent: {{outcome}}"),
                    Query(f"sum by (result) (rate({SINK_MESSAGES}[1m]))", "server: {{result}}"),
                ),
            ),
            PanelSpec(
                "SMTP sends per finished notice",
                "Do retries multiply the mail traffic (a retry storm)?",
                "short",
                (
                    Query(
                        f"sum(rate({SENDS}[1m]))"
                        f" / sum(rate({Metric.NOTIFICATIONS}[1m]))",
                        "sends per notice",
                    ),
                ),
            ),
            PanelSpec(
                "Backlog: outbox and queue",
                "Is mail piling up, durably in the outbox or in the in-memory queue?",
                "short",
                (
                    Query(Metric.OUTBOX_PENDING, "outbox pending"),
                    Query(Metric.QUEUE_DEPTH, "queue depth"),
                ),
            ),
            PanelSpec(
                "SMTP circuit breaker",
                "Is the breaker holding mail back from a failing server (1 = in that state)?",
                "short",
                (Query(f'max by (state) ({BREAKER}{{breaker="smtp"}})', "{{state}}"),),
            ),
            PanelSpec(
                "Dead letters",
                "How many notices were given up on and wait for a retry?",
                "short",
                (Query(Metric.DEAD_LETTERS, "dead letters"),),
                kind="stat",
            ),
            PanelSpec(
                "Delivery time p50 and p99",
                "How long from staging a notice to the server accepting it?",
                "s",
                (
                    Query(_quantile(0.5, DELIVERY, "job"), "p50"),
                    Query(_quantile(0.99, DELIVERY, "job"), "p99"),
                ),
                width=24,
            ),
        ),
    ),
    DashboardSpec(
        uid="lab-dependencies",
        title="Lab / Dependencies",
        description="The internal reputation service, seen from the patient and from itself.",
        annotations=FAULT_ANNOTATIONS,
        panels=(
            PanelSpec(
                "Reputation checks by outcome",
                "Are links and redirects being checked, from the cache, or not at all?",
                "ops",
                (
                    Query(f"sum by (call, outcome) (rate({Metric.REPUTATION_CHECKS}[1m]))",
                          "{{call}}: {{outcome}}"),
                    Query(f"sum(rate({Metric.REPUTATION_FALLBACKS}[1m]))",
                          "redirects let through unchecked"),
                ),
            ),
            PanelSpec(
                "Reputation call time p50 and p99",
                "Is the dependency slowing the requests that wait for it?",
                "s",
                (
                    Query(_quantile(0.5, Metric.REPUTATION_LATENCY.bucket, "call"), "p50 {{call}}"),
                    Query(_quantile(0.99, Metric.REPUTATION_LATENCY.bucket, "call"),
                          "p99 {{call}}"),
                ),
            ),
            PanelSpec(
                "Reputation circuit breaker",
                "Has the patient stopped calling it, and so refuses new links (1 = in that state)?",
                "short",
                (Query(f'max by (state) ({BREAKER}{{breaker="reputation"}})', "{{state}}"),),
            ),
            PanelSpec(
                "Calls the reputation service answered, by status",
                "What does the service itself see: answers, refused tokens, bad input?",
                "ops",
                (Query(f"sum by (method, code) (rate({Metric.REPUTATION_SERVED}[1m]))",
                       "{{method}} {{code}}"),),
            ),
        ),
    ),
)
# fmt: on


def _panel(spec: PanelSpec) -> Timeseries | Stat:
    panel = Timeseries() if spec.kind == "timeseries" else Stat()
    panel.title(spec.title).description(spec.description).unit(spec.unit)
    panel.datasource(DATASOURCE).span(spec.width).height(8)
    for i, query in enumerate(spec.queries):
        panel.with_target(
            Dataquery().expr(query.expr).legend_format(query.legend).ref_id(chr(ord("A") + i))
        )
    return panel


def build(spec: DashboardSpec) -> dict[str, Any]:
    """The dashboard JSON Grafana imports (and provisioning reads)."""
    board = (
        Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(["python-diagnostics-lab"])
        .refresh("5s")
        .time("now-15m", "now")
        .timezone("browser")
    )
    for note in spec.annotations:
        board.annotation(
            AnnotationQuery()
            .name(note.name)
            .datasource(DATASOURCE)
            .expr(note.expr)
            .enable(True)
            .icon_color(note.color)
        )
    for panel in spec.panels:
        board.with_panel(_panel(panel))
    body: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(board.build()))
    # The SDK has no builder for Prometheus' annotation title format; Grafana reads it here.
    for query, note in zip(body.get("annotations", {}).get("list", []), spec.annotations,
                           strict=False):  # fmt: skip
        query["titleFormat"] = note.title
    return body


def render(spec: DashboardSpec) -> str:
    return json.dumps(build(spec), indent=2, sort_keys=True) + "\n"


def write_all(out_dir: Path = OUT_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in DASHBOARDS:
        path = out_dir / spec.filename
        path.write_text(render(spec))
        written.append(path)
    return written


def panel(title: str) -> PanelSpec:
    """A panel by its title, in any dashboard: notebooks plot with the dashboards' PromQL."""
    for d in DASHBOARDS:
        for p in d.panels:
            if p.title == title:
                return p
    raise KeyError(f"no panel titled {title!r}")


def all_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) for every panel query."""
    return [(d.uid, p.title, q.expr) for d in DASHBOARDS for p in d.panels for q in p.queries]


def _legend(template: str, labels: dict[str, str]) -> str:
    for key, value in labels.items():
        template = template.replace("{{" + key + "}}", value)
    return template


def panel_series(
    url: str, spec: PanelSpec, seconds: float, step: float = 5.0
) -> list[tuple[str, Series]]:
    """(legend, series) for every query of the panel, over the last ``seconds``, from the
    Prometheus at ``url``: what :func:`labctl.render.plots.plot_panel` draws."""
    return [
        (_legend(q.legend, s.labels), s)
        for q in spec.queries
        for s in query_range(url, q.expr, seconds, step)
    ]
