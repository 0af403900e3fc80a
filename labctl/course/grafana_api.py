"""Push the lab's dashboards to a Grafana you already run, and mark fault switches on it.

Compose provisions its own Grafana from files; this is for the other case, a team Grafana
(or a workshop's shared one) given by ``GRAFANA_URL`` and a service-account token in
``GRAFANA_TOKEN``. It talks to Grafana's HTTP API through grafana-client.

Usage::

    grafana = Grafana.from_env()                  # None when GRAFANA_URL is not set
    report = grafana.push(prometheus_url="http://prometheus:9090")
    grafana.annotate("fault cpu_hotloop on (10x)", tags=["fault", "cpu_hotloop"])
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException
from niquests.exceptions import RequestException

from labctl.course.dashboard_catalogue import DATASOURCE_UID, OUT_DIR
from labctl.errors import LabctlError

FOLDER_UID = "python-diagnostics-lab"
FOLDER_TITLE = "Python diagnostics lab"
DATASOURCE_NAME = "Prometheus (lab)"
ANNOTATION_TAG = "labctl"
TIMEOUT_SECONDS = 10.0


class GrafanaError(LabctlError):
    """Grafana refused or could not be reached; the message says which and why."""


@dataclass
class PushReport:
    url: str
    datasource: str  # "created" or "updated"
    dashboards: list[str] = field(default_factory=list)  # their URLs on that Grafana

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "datasource": self.datasource, "dashboards": self.dashboards}


def _missing(exc: GrafanaException) -> bool:
    return isinstance(exc, GrafanaClientError) and exc.status_code == 404


class Grafana:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self.api = GrafanaApi.from_url(self.url, credential=token, timeout=TIMEOUT_SECONDS)

    @classmethod
    def from_env(cls) -> Grafana | None:
        url = os.environ.get("GRAFANA_URL", "").strip()
        if not url:
            return None
        if not url.startswith(("http://", "https://")):
            raise GrafanaError(f"GRAFANA_URL must start with http:// or https://, got {url!r}", 2)
        return cls(url, os.environ.get("GRAFANA_TOKEN") or None)

    def _call(self, what: str, fn: Any, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        """Grafana's answer, or None for a 404 when ``missing_ok``; else a GrafanaError."""
        try:
            return fn(*args, **kwargs)
        except GrafanaException as exc:
            if missing_ok and _missing(exc):
                return None
            if isinstance(exc, GrafanaClientError) and exc.status_code in (401, 403):
                raise GrafanaError(
                    f"Grafana at {self.url} refused to {what} ({exc.status_code}): set "
                    "GRAFANA_TOKEN to a service-account token with the Editor role"
                ) from None
            raise GrafanaError(f"Grafana at {self.url} could not {what}: {exc}") from None
        except RequestException as exc:
            raise GrafanaError(f"Grafana at {self.url} does not answer: {exc}", 3) from None

    def _upsert_datasource(self, prometheus_url: str) -> str:
        body = {
            "name": DATASOURCE_NAME, "uid": DATASOURCE_UID, "type": "prometheus",
            "access": "proxy", "url": prometheus_url, "jsonData": {"timeInterval": "5s"},
        }  # fmt: skip
        found = self._call("read the datasource", self.api.datasource.get_datasource_by_uid,
                           DATASOURCE_UID, missing_ok=True)  # fmt: skip
        if found is None:
            self._call("create the datasource", self.api.datasource.create_datasource, body)
            return "created"
        self._call("update the datasource", self.api.datasource.update_datasource_by_uid,
                   DATASOURCE_UID, body)  # fmt: skip
        return "updated"

    def _ensure_folder(self) -> None:
        if self._call("read the folder", self.api.folder.get_folder, FOLDER_UID,
                      missing_ok=True) is None:  # fmt: skip
            self._call("create the folder", self.api.folder.create_folder, FOLDER_TITLE,
                       uid=FOLDER_UID)  # fmt: skip

    def push(self, prometheus_url: str, dashboards_dir: Path = OUT_DIR) -> PushReport:
        """Create or update the datasource (fixed uid), the folder and every dashboard."""
        report = PushReport(self.url, self._upsert_datasource(prometheus_url))
        self._ensure_folder()
        for path in sorted(dashboards_dir.glob("*.json")):
            dashboard = json.loads(path.read_text())
            dashboard.pop("id", None)  # Grafana keys an import by uid; a stale id would clash
            result = self._call(
                f"save dashboard {dashboard.get('uid')}",
                self.api.dashboard.update_dashboard,
                {"dashboard": dashboard, "folderUid": FOLDER_UID, "overwrite": True,
                 "message": "labctl grafana push"},
            )  # fmt: skip
            report.dashboards.append(f"{self.url}{result.get('url', '')}")
        return report

    def annotate(self, text: str, tags: list[str]) -> None:
        """An annotation at this moment on every dashboard (an organisation annotation)."""
        self._call("add an annotation", self.api.annotations.add_annotation,
                   time_from=int(time.time() * 1000), tags=[ANNOTATION_TAG, *tags],
                   text=text)  # fmt: skip
