"""Talk to a running patient over HTTP: typed records in, no rendering here.

Usage::

    status = Stack(Path("run")).status()         # read once by the command
    with Patient.of(status) as patient:
        for fault in patient.faults().catalogue: print(fault.id, fault.summary)
        patient.fault_on("cpu_hotloop", "10x")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from labctl.contract import DEBUG_WINDOW_MAX_SECONDS, SERVICE, RunLayout
from labctl.errors import LabctlError
from labctl.evidence.probes.target import ProbeError
from labctl.evidence.sources import function_at
from labctl.records.captures import GrowthSite, HeapReport
from labctl.records.debug_views import (
    GcReport,
    LoopReport,
    ObjectCensus,
    Owner,
    TaskCensus,
    TypeCount,
)
from labctl.records.fault_board import FaultBoard
from labctl.records.location import MODULE_LEVEL, Location
from labctl.records.scrape import Scrape
from labctl.records.vitals import Vitals
from labctl.stack.processes import ProcessRecord
from labctl.stack.supervisor import NotRunning, Stack, StackStatus


class PatientError(LabctlError):
    """A request to the patient failed; ``exit_code`` says how a CLI should exit."""


class Patient:
    """The lab's service seen from outside: its debug port (tokens), metrics URL and PID.

    ``token`` is the observer's (every debug view); ``operator_token`` opens the fault
    switches and the drill too (without it, those calls are sent with ``token``)."""

    def __init__(
        self,
        debug_url: str,
        token: str,
        timeout: float = 30.0,
        metrics_url: str | None = None,
        pid: int | None = None,
        operator_token: str | None = None,
    ) -> None:
        self.metrics_url = metrics_url
        self.pid = pid
        self._client = httpx.Client(
            base_url=debug_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
        self._operator = {"Authorization": f"Bearer {operator_token or token}"}

    @classmethod
    def of(cls, status: StackStatus) -> Patient:
        """The stack's service, as ``status`` found it."""
        try:
            record = status.require(SERVICE, "the service")
        except NotRunning as exc:
            raise PatientError(str(exc), exc.exit_code) from None
        return cls.from_record(record, status.layout)

    @classmethod
    def from_run_dir(cls, run_dir: Path) -> Patient:
        """The service of the stack in ``run_dir`` (for notebooks and scripts)."""
        return cls.of(Stack(run_dir).status())

    @classmethod
    def from_record(cls, record: ProcessRecord, layout: RunLayout) -> Patient:
        """A service started with ``layout`` as its state folder (its tokens are there)."""
        debug = record.urls.get("debug", "").removesuffix("/debug/")
        token_file = layout.debug_token
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise PatientError(f"cannot read the debug token {token_file}: {exc.strerror}") from exc
        try:
            operator: str | None = layout.operator_token.read_text().strip()
        except FileNotFoundError:
            operator = None  # a service started without one: the one token does everything
        except OSError as exc:
            raise PatientError(
                f"cannot read the operator token {layout.operator_token}: {exc.strerror}"
            ) from exc
        return cls(debug, token, metrics_url=record.urls.get("metrics"), pid=record.pid,
                   operator_token=operator)  # fmt: skip

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Patient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise PatientError(f"the service's debug port does not answer: {exc}", 3) from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise PatientError(f"{method} {path}: {response.status_code}: {message}", 2)
        return response.json()

    def _admin(self, method: str, path: str, **kwargs: Any) -> FaultBoard:
        """A call to the operator's endpoints, with the operator's token."""
        return FaultBoard.from_json(self._call(method, path, headers=self._operator, **kwargs))

    def faults(self, reveal: bool = False) -> FaultBoard:
        """The catalogue and what is on; in a drill, what is on only with ``reveal`` (the
        drill's grading and its reveal ask; ``labctl fault list`` does not)."""
        return self._admin("GET", "/admin/faults", params={"reveal": "true"} if reveal else {})

    def fault_on(self, fault_id: str, intensity: str = "1x") -> FaultBoard:
        return self._admin("PUT", f"/admin/faults/{fault_id}", params={"intensity": intensity})

    def fault_off(self, fault_id: str | None) -> FaultBoard:
        path = "/admin/faults" if fault_id is None else f"/admin/faults/{fault_id}"
        return self._admin("DELETE", path)

    def drill_start(self, fault_id: str, intensity: str) -> FaultBoard:
        """Only this fault on, and its state hidden from metrics (drill mode)."""
        return self._admin(
            "PUT", "/admin/drill", params={"fault": fault_id, "intensity": intensity}
        )

    def drill_end(self) -> FaultBoard:
        return self._admin("DELETE", "/admin/drill")

    # Debug views: typed records, rendered by the CLI and notebooks.

    def tasks(self) -> TaskCensus:
        return TaskCensus.from_json(self._call("GET", "/debug/tasks", params={"group": "site"}))

    def gc(self) -> GcReport:
        return GcReport.from_json(self._call("GET", "/debug/gc"))

    def set_gc_threshold(self, gen0: int, gen1: int, gen2: int) -> tuple[int, int, int]:
        """Apply thresholds live; returns the previous ones."""
        body = self._call(
            "PUT", "/debug/gc/threshold", params={"gen0": gen0, "gen1": gen1, "gen2": gen2}
        )
        return (int(body["previous"][0]), int(body["previous"][1]), int(body["previous"][2]))

    def gc_freeze(self) -> int:
        return int(self._call("POST", "/debug/gc/freeze")["frozen_objects"])

    def gc_idle_start(self, ceiling_mb: int) -> dict[str, Any]:
        """The collector off; young collections between requests, full ones above
        ``ceiling_mb`` of resident memory (``PUT /debug/gc/idle``)."""
        body: dict[str, Any] = self._call(
            "PUT", "/debug/gc/idle", params={"ceiling_mb": ceiling_mb}
        )
        return body

    def gc_idle_stop(self) -> dict[str, Any]:
        """Automatic collection back on (``DELETE /debug/gc/idle``)."""
        body: dict[str, Any] = self._call("DELETE", "/debug/gc/idle")
        return body

    def gc_unfreeze(self) -> int:
        return int(self._call("POST", "/debug/gc/unfreeze")["frozen_objects"])

    def gc_collect(self, generation: int = 2) -> float:
        """Run a collection now; the seconds it took."""
        body = self._call("POST", "/debug/gc/collect", params={"generation": generation})
        return float(body["seconds"])

    def loop(self) -> LoopReport:
        return LoopReport.from_json(self._call("GET", "/debug/loop"))

    def objects(self, limit: int = 15) -> ObjectCensus:
        common = self._call("GET", "/debug/objects", params={"limit": limit})["most_common"]
        growth = self._call("GET", "/debug/objects/growth", params={"limit": limit})["growth"]
        return ObjectCensus(
            most_common=[TypeCount(r["type"], int(r["count"])) for r in common],
            growth=[TypeCount(r["type"], int(r["count"]), int(r["delta"])) for r in growth],
        )

    def owners(self, type_name: str) -> list[Owner]:
        """The objects that keep the newest objects of ``type_name``, most first (objgraph's
        back-reference chains, ``/debug/objects/owners``); empty when none is alive."""
        try:
            body = self._call("GET", "/debug/objects/owners", params={"type": type_name})
        except PatientError as exc:
            if "no live object" in str(exc):
                return []
            raise
        return [Owner(r["owner"], r["via"], int(r["count"])) for r in body["owners"]]

    def max_window_seconds(self) -> float:
        """The longest ``seconds=`` the service's debug surface takes (its
        ``debug_max_seconds``, from ``/debug/vars``)."""
        settings = self._call("GET", "/debug/vars").get("settings", {})
        return float(settings.get("debug_max_seconds", DEBUG_WINDOW_MAX_SECONDS))

    def check_heap_window(self, seconds: float, instead: str = "") -> None:
        """Refuse, before anything is measured, a heap window longer than the service's debug
        surface takes (a :class:`ProbeError`, exit 2); ``instead`` adds another way out."""
        limit = self.max_window_seconds()
        if seconds > limit:
            raise ProbeError(
                f"a {seconds:g} s heap window is longer than the lab's service takes "
                f"({limit:g} s, its debug_max_seconds); use {limit:g} s or less{instead}",
                2,
            )

    def heap_fallback(
        self, echo: Callable[[str], None], limit: int = 20
    ) -> Callable[[float], HeapReport]:
        """The service's tracemalloc window as ``record_heap``'s fallback, echoing its request."""

        def window(seconds: float) -> HeapReport:
            echo(f"GET /debug/heap?seconds={seconds:g}")
            return self.heap_window(seconds, limit)

        return window

    def heap_window(self, seconds: float, limit: int = 20) -> HeapReport:
        """tracemalloc growth over ``seconds`` (tracing runs only for the window)."""
        body = self._call(
            "GET", "/debug/heap", params={"seconds": seconds, "limit": limit},
            timeout=seconds + 60,
        )  # fmt: skip
        return HeapReport(
            target=f"pid {self.pid}",
            seconds=seconds,
            source="tracemalloc (debug surface)",
            growth=tracemalloc_growth(body["growth"]),
            command=[f"GET /debug/heap?seconds={seconds:g}&limit={limit}"],
        )

    def metrics_text(self) -> str:
        if not self.metrics_url:
            raise PatientError("the metrics URL of the service is unknown")
        try:
            response = httpx.get(self.metrics_url, timeout=30)
        except httpx.TransportError as exc:
            raise PatientError(f"the metrics port does not answer: {exc}", 3) from exc
        return response.text


def tracemalloc_growth(stats: list[dict[str, Any]]) -> list[GrowthSite]:
    """Growth rows from ``/debug/heap?seconds=N``: tracemalloc keeps file and line only,
    so the function is read from the source."""
    rows = []
    for stat in stats:
        site = stat.get("site")
        if not site or stat["size_diff_bytes"] <= 0:
            continue
        file, line = str(site["file"]), int(site["line"])
        function = function_at(file, line) or MODULE_LEVEL
        rows.append(
            GrowthSite(Location(function, file, line), stat["size_diff_bytes"], stat["count_diff"])
        )
    return rows


def watch(patient: Patient, interval: float, frames: int | None = None) -> Iterator[Vitals]:
    """Vitals every ``interval`` seconds, each over the interval just ended (``labctl top``)."""
    before = Scrape.parse(patient.metrics_text())
    shown = 0
    while frames is None or shown < frames:
        time.sleep(interval)
        after = Scrape.parse(patient.metrics_text())
        yield Vitals.between(before, after)
        before = after
        shown += 1
