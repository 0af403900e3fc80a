"""A flags-file edit changes the running service's behaviour; a bad edit changes nothing."""

import json
from pathlib import Path

import httpx
import pytest

from tests.live import launch
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def _limited(client: httpx.Client, n: int = 10) -> int:
    return sum(client.get("/api/v1/links/none").status_code == 429 for _ in range(n))


def test_rate_limit_edit_applies_and_bad_edit_keeps_it(tmp_path: Path) -> None:
    # Own instance: rate limiting the shared service would disturb other tests.
    service = launch(tmp_path)
    try:
        with service.client() as client:
            assert _limited(client) == 0
            service.flags_file.write_text(json.dumps({"rate_limit": {"rps": 0.2, "burst": 1}}))
            eventually_sync(lambda: _limited(client, 3) >= 2, "limit applied without restart")
            response = client.get("/api/v1/links/none")
            assert response.status_code == 429
            assert int(response.headers["retry-after"]) >= 1

            service.flags_file.write_text('{"rate_limit": {"rps": "lots"}}')
            eventually_sync(
                lambda: "config reload rejected" in service.log.read_text(), "rejection logged"
            )
            rejection = next(
                json.loads(line)
                for line in service.log.read_text().splitlines()
                if "config reload rejected" in line
            )
            assert rejection["level"] == "ERROR"
            assert "rate_limit.rps" in rejection["message"]
            assert _limited(client, 3) == 3  # the last good config is still in force
            assert client.get("/livez").status_code == 200
    finally:
        service.stop()
