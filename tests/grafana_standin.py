"""A stand-in for Grafana's HTTP API, for ``labctl grafana`` tests.

Grafana cannot run on these machines (no engine for its image, no Debian package), so this
answers the few endpoints labctl uses, with the status codes and bodies Grafana's HTTP API
documents: 404 for a missing datasource or folder, 401 for a wrong token, and what a save
returns. It keeps what it was sent, so tests assert on what reached "Grafana".
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class GrafanaState:
    token: str
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def _handler(state: GrafanaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests read state.requests instead

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            return body

        def _route(self, method: str) -> None:
            state.requests.append(f"{method} {self.path}")
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, {"message": "invalid API key"})
                return
            path = self.path.split("?")[0]
            if m := re.fullmatch(r"/api/datasources/uid/([\w-]+)", path):
                uid = m.group(1)
                if method == "GET":
                    found = state.datasources.get(uid)
                    self._send(200, found) if found else self._send(
                        404, {"message": "Data source not found"}
                    )
                elif method == "PUT":
                    state.datasources[uid] = self._body()
                    self._send(200, {"message": "Datasource updated"})
            elif path == "/api/datasources" and method == "POST":
                body = self._body()
                state.datasources[body["uid"]] = body
                self._send(200, {"message": "Datasource added", "datasource": body})
            elif (m := re.fullmatch(r"/api/folders/([\w-]+)", path)) and method == "GET":
                found = state.folders.get(m.group(1))
                self._send(200, found) if found else self._send(
                    404, {"message": "folder not found"}
                )
            elif path == "/api/folders" and method == "POST":
                body = self._body()
                state.folders[body["uid"]] = body
                self._send(200, body)
            elif path == "/api/dashboards/db" and method == "POST":
                body = self._body()
                uid = body["dashboard"]["uid"]
                state.dashboards[uid] = body
                self._send(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x"})
            elif path == "/api/annotations" and method == "POST":
                state.annotations.append(self._body())
                self._send(200, {"message": "Annotation added", "id": len(state.annotations)})
            else:
                self._send(404, {"message": "Not found"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

    return Handler


@contextmanager
def grafana_standin() -> Iterator[tuple[str, GrafanaState]]:
    """(base URL on a free loopback port, what it received; ``state.token`` is the key)."""
    state = GrafanaState(secrets.token_urlsafe(16))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
