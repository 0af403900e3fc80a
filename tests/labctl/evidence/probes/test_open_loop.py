"""The open-loop load counts latency from each request's due time: a 300 ms stall of the
server shows in every request due during it, where a closed loop records one slow request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labctl.evidence.probes.open_loop import open_loop

STALL_S = 0.3


class Stalling(BaseHTTPRequestHandler):
    """Answers at once, but the server stops for STALL_S once, 0.5 s in, as a full GC would
    stop a Python process: every request waits on one lock."""

    lock = threading.Lock()
    started = 0.0
    stalled = False

    def do_GET(self) -> None:
        with Stalling.lock:
            if not Stalling.stalled and time.monotonic() - Stalling.started > 0.5:
                Stalling.stalled = True
                time.sleep(STALL_S)
        self.send_response(302 if self.path != "/missing" else 404)
        self.send_header("Location", "https://shop.example/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    Stalling.started, Stalling.stalled = time.monotonic(), False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_a_stall_shows_in_every_request_due_during_it(server: str) -> None:
    Stalling.started = time.monotonic()
    latency = open_loop(server, ["/a", "/b", "/missing"], rate=100, seconds=1.5)
    assert latency.sent == 150 and latency.errors == 50  # every /missing answered 404
    assert latency.max_seconds is not None and latency.max_seconds >= 0.8 * STALL_S
    assert latency.p50_seconds is not None and latency.p50_seconds < STALL_S / 3
    # About 30 requests were due in the 300 ms stall: at 100 answers, p99 carries it.
    assert latency.p99_seconds is not None and latency.p99_seconds >= STALL_S / 3
