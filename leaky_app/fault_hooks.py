"""How each fault's level reaches the component that carries the bug.

The components (``leaky_app.links``) have ordinary feature settings; a fault turns a feature
on at a buggy intensity, and off again releasing what it held. Caps come from settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource

from leaky_app.faults import Switchboard
from leaky_app.links.click_stream import ClickStream
from leaky_app.links.service import ClickFeatures
from leaky_app.notify.mailer import Mailer
from leaky_app.settings import Settings


def _release_memory() -> None:
    """Collect, then ask glibc to hand freed heap pages back so RSS visibly recovers."""
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)


def connect(
    switchboard: Switchboard,
    features: ClickFeatures,
    mailer: Mailer,
    settings: Settings,
    stream: ClickStream,
) -> set[str]:
    """Register every fault's hook; returns the fault ids connected (a test keeps them equal
    to the catalogue)."""
    features.events.max_tasks = settings.fault_max_tasks
    features.previews.max_bytes = settings.fault_max_memory_bytes
    features.audit.max_rows = settings.fault_max_heap_rows
    features.audit.max_objects = settings.fault_max_heap_rows
    features.reputation.max_block_ms = settings.fault_max_block_ms
    soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    features.exports.max_open = min(settings.fault_max_fds, max(10, soft_limit // 2))
    stream.max_packed_bytes = settings.fault_max_memory_bytes

    features.referrers.resize(settings.fault_cpu_max_items)

    def cpu_hotloop(level: float) -> None:
        # The release is the same at every intensity: its cost is the load's referrers.
        features.referrers.use_ranking("ready" if level else "tally")

    def task_leak(level: float) -> None:
        # The release is the same at every intensity: its tasks are the load's clicks.
        features.events.use_delivery("tasks" if level else "window")

    def unbounded_cache(level: float) -> None:
        # The release is the same at every intensity: its pages are the load's previews.
        features.previews.use_cache("pages" if level else "cards")
        if not level:
            _release_memory()

    def gc_churn(level: float) -> None:
        if level:
            features.audit.checks = min(int(30 * level), 3000)
            features.audit.load_geo_table(int(150_000 * level))
        else:
            features.audit.unload()
            _release_memory()

    def loop_blocking(level: float) -> None:
        # The click-time screening's rollout: 1x is one redirect in ten, 10x every one.
        features.reputation.share = min(1.0, level / 10)

    def cardinality_explosion(level: float) -> None:
        # The release is the same at every intensity: its series are the load's pages.
        features.campaigns.use_placement("page" if level else "site")

    def retry_storm(level: float) -> None:
        # The release is the same at every intensity: its sends are the notices the load
        # brings, times the budget, while the mail server refuses them.
        mailer.use_resends("prompt" if level else "backoff")

    def fd_leak(level: float) -> None:
        # The release is the same at every intensity: its files are the links the load clicks.
        features.exports.use_writer("open" if level else "appends")

    def ws_resume_rings(level: float) -> None:
        # The release is the same at every intensity: its memory is the load's connections.
        stream.use_backlog("packed" if level else "list")
        if not level:
            _release_memory()

    hooks = {
        "cpu_hotloop": cpu_hotloop,
        "task_leak": task_leak,
        "unbounded_cache": unbounded_cache,
        "gc_churn": gc_churn,
        "loop_blocking": loop_blocking,
        "cardinality_explosion": cardinality_explosion,
        "retry_storm": retry_storm,
        "fd_leak": fd_leak,
        "ws_resume_rings": ws_resume_rings,
    }
    for fault_id, hook in hooks.items():
        switchboard.on_change(fault_id, hook)
    return set(hooks)
