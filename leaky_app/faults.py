"""The fault catalogue (data) and the runtime switchboard.

Each :class:`FaultSpec` says what the planted bug is, where it lives (the culprit, ground
truth for graders; ``labctl diagnose`` never reads it), how loud it can be, what it shows and
what caps it. Faults are switched through the hot-reloaded flags file (``"faults": {"id":
"10x"}``) or the authenticated admin endpoint on the debug port, which writes the same file.

The hot path asks ``switchboard.level("cpu_hotloop")``: a dict lookup, 0.0 when off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

INTENSITIES: Mapping[str, float] = {"1x": 1.0, "10x": 10.0, "100x": 100.0}


@dataclass(frozen=True)
class FaultSpec:
    id: str
    summary: str
    culprit: str  # "module:qualname" of the function where the bug lives
    symptoms: tuple[str, ...]  # metric names that move
    tools: tuple[str, ...]  # what pinpoints it
    cap: str  # the safety cap, in words, and the setting that holds it
    workload: str  # what the intensity changes: the load the release meets, or why not
    intensities: Mapping[str, float] = field(default_factory=lambda: INTENSITIES)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "summary": self.summary,
            "culprit": self.culprit,
            "symptoms": list(self.symptoms),
            "tools": list(self.tools),
            "cap": self.cap,
            "workload": self.workload,
            "intensities": list(self.intensities),
        }


CATALOGUE: tuple[FaultSpec, ...] = (
    FaultSpec(
        id="cpu_hotloop",
        summary="referrer panel rebuilt from its whole window on every click",
        culprit="leaky_app.links.referrers:ReadyRanking.rebuild",
        symptoms=("process_cpu_seconds_total", "leaky_app_http_request_duration_seconds"),
        tools=("py-spy top/record", "scalene", "/debug/profile"),
        cap="the window, fault_cpu_max_items clicks, bounds the work of one click",
        workload="the same release at every intensity; its cost per click grows with the distinct"
        " referring pages the load brings (labctl load start --referrers): a service cannot"
        " choose its visitors",
    ),
    FaultSpec(
        id="task_leak",
        summary="click events kept until acknowledged by a task per event, awaiting its own"
        " acknowledgement from a consumer that acknowledges batches",
        culprit="leaky_app.links.events:AckTasks.send",
        symptoms=("leaky_app_asyncio_tasks", "process_resident_memory_bytes"),
        tools=("/debug/tasks?group=site", "objgraph growth", "memray"),
        cap="at most fault_max_tasks tasks wait (later events are not waited on); switching"
        " off cancels them, their events kept until acknowledged",
        workload="the same release at every intensity; its tasks are the clicks the load brings"
        " (labctl load start --rate), all but the last of each second's batch",
    ),
    FaultSpec(
        id="unbounded_cache",
        summary="link preview pages (/{code}+) kept whole by the address asked for, query"
        " string and all",
        culprit="leaky_app.links.preview:FinishedPages.page",
        symptoms=("process_resident_memory_bytes", "leaky_app_cache_entries"),
        tools=("memray heap growth", "/debug/heap/diff", "tracemalloc"),
        cap="kept pages bounded by fault_max_memory_bytes (later pages are made, not kept);"
        " switching off drops them",
        workload="the same release at every intensity; its pages are the previews the load"
        " opens (link scanners and careful visitors), each with its own campaign query",
    ),
    FaultSpec(
        id="gc_churn",
        summary="per-request audit records with parent/child cycles over a large geo table",
        culprit="leaky_app.links.audit:RedirectAudit.record",
        symptoms=("leaky_app_gc_pause_seconds", "leaky_app_http_request_duration_seconds"),
        tools=("/debug/gc", "gc.get_stats", "gc thresholds and gc.freeze"),
        cap="long-lived heap bounded by fault_max_heap_objects; switching off frees it",
        workload="the intensity sets the audit checks per click (30 per 1x) and the geo table's"
        " rows (150,000 per 1x) inside the release",
    ),
    FaultSpec(
        id="loop_blocking",
        summary="synchronous gRPC URL screening inside the async redirect handler",
        culprit="leaky_app.links.reputation:ReputationClient.url_verdict",
        symptoms=("leaky_app_event_loop_lag_seconds", "leaky_app_http_request_duration_seconds"),
        tools=("/debug/loop", "py-spy dump", "asyncio debug mode"),
        cap="each blocking call lasts at most fault_max_block_ms",
        workload="the intensity is the rollout: 1x screens one redirect in ten, 10x and above"
        " every one",
    ),
    FaultSpec(
        id="cardinality_explosion",
        summary="campaign clicks labelled by the referring page instead of the kind of site",
        culprit="leaky_app.links.campaigns:CampaignClicks.count_click",
        symptoms=("scrape_samples_scraped", "scrape_duration_seconds"),
        tools=("Prometheus scrape stats", "/metrics size", "topk by metric name"),
        cap="at most fault_max_series series (later clicks count as placement other);"
        " switching off folds each page's clicks into its site's",
        workload="the same release at every intensity; its series are the campaigns times the"
        " distinct referring pages the load brings (labctl load start --referrers)",
    ),
    FaultSpec(
        id="retry_storm",
        summary="refused notices resent at once, bypassing backoff, jitter and breaker",
        culprit="leaky_app.notify.mailer:Mailer.deliver_promptly",
        symptoms=(
            "leaky_app_smtp_sends_total",
            "leaky_app_notification_dead_letters",
            "lab_smtp_sink_messages_total",
        ),
        tools=("SMTP send rate vs notices", "breaker metrics", "py-spy top"),
        cap="no more attempts per notice than the backoff's budget (notify_max_attempts"
        " refusals); off restores backoff and the breaker from the next notice",
        workload="the release is the same at every intensity: its sends are the notices the"
        " load brings (labctl load start --create-share) times the budget, while the server"
        " refuses",
    ),
    FaultSpec(
        id="fd_leak",
        summary="each link's click export file kept open for the next click's row",
        culprit="leaky_app.links.exports:OpenFiles.write",
        symptoms=("process_open_fds",),
        tools=("/proc/PID/fd", "process_open_fds", "lsof"),
        cap="at most fault_max_fds descriptors (half the soft limit at most); off closes them",
        workload="the release is the same at every intensity: it holds a descriptor per link"
        " the load clicks, so new links (the load's create share) make it climb",
    ),
    FaultSpec(
        id="ws_resume_rings",
        summary="each stream subscriber's backlog packed into a buffer sized for a full backlog"
        " of the longest events, from the moment it connects",
        culprit="leaky_app.links.stream_backlog:PackedEvents.__init__",
        symptoms=("process_resident_memory_bytes", "leaky_app_ws_clients"),
        tools=("memory per connection", "tracemalloc", "labctl profile heap"),
        cap="packed buffers hold at most fault_max_memory_bytes in all (later subscribers keep"
        " a list); switching off moves every backlog into a list, its events kept",
        workload="the same release at every intensity; its memory is the connections the load"
        " brings (a lab's [load] ws_clients) times the backlog each may hold"
        " (ws_queue_size)",
    ),
)

BY_ID: Mapping[str, FaultSpec] = {spec.id: spec for spec in CATALOGUE}


class UnknownFault(ValueError):
    pass


def check_faults(faults: Mapping[str, str]) -> Mapping[str, str]:
    """Validate ``{"fault_id": "intensity"}``; raise ValueError naming the bad entry."""
    for fault_id, intensity in faults.items():
        spec = BY_ID.get(fault_id)
        if spec is None:
            raise UnknownFault(f"unknown fault {fault_id!r}; known: {', '.join(BY_ID)}")
        if intensity not in spec.intensities:
            raise ValueError(
                f"fault {fault_id}: unknown intensity {intensity!r}; "
                f"choose one of {', '.join(spec.intensities)}"
            )
    return faults


Hook = Callable[[float], None]


class Switchboard:
    """Which faults are on, at what level; calls each fault's hook on every change."""

    def __init__(self) -> None:
        self._levels: dict[str, float] = {}
        self._active: dict[str, str] = {}
        self._hooks: dict[str, list[Hook]] = {}
        self.drill = False

    def level(self, fault_id: str) -> float:
        return self._levels.get(fault_id, 0.0)

    @property
    def active(self) -> Mapping[str, str]:
        return dict(self._active)

    def on_change(self, fault_id: str, hook: Hook) -> None:
        """``hook(level)`` runs whenever the fault's level changes (0.0 = switched off)."""
        self._hooks.setdefault(fault_id, []).append(hook)

    def apply(self, desired: Mapping[str, str], drill: bool = False) -> None:
        check_faults(desired)
        self.drill = drill
        for spec in CATALOGUE:
            intensity = desired.get(spec.id)
            level = spec.intensities[intensity] if intensity else 0.0
            if level == self._levels.get(spec.id, 0.0):
                continue
            for hook in self._hooks.get(spec.id, ()):
                hook(level)
            # Only now, with every hook done (a table loaded, rings dropped): readers on other
            # threads (the admin endpoint waiting for "applied") see the switch once it holds.
            if level:
                self._levels[spec.id] = level
                self._active[spec.id] = intensity or ""
            else:
                self._levels.pop(spec.id, None)
                self._active.pop(spec.id, None)


class FaultStateCollector(Collector):
    """``leaky_app_fault_active{fault}``: 1 when on. Silent in drill mode, so the answer is
    not one scrape away."""

    def __init__(self, switchboard: Switchboard, registry: CollectorRegistry) -> None:
        self._switchboard = switchboard
        registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "leaky_app_fault_active", "Planted fault switched on (1) or off (0).", labels=["fault"]
        )
        if not self._switchboard.drill:
            for spec in CATALOGUE:
                family.add_metric([spec.id], 1.0 if self._switchboard.level(spec.id) else 0.0)
        yield family
