"""``labctl load``: real locust clicking the shared live service, stopped by PID."""

import json
import time
from pathlib import Path

import psutil
import pytest

from labctl.cli import main
from labctl.contract import LOAD, RunLayout
from labctl.stack.supervisor import Stack
from labctl.stack.traffic import read_stats, stop_load
from tests.integration.load import scrape
from tests.labctl.cli_surface import check_json
from tests.live import LiveService
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration
REQUESTS = "sum:leaky_app_http_requests_total"


def test_load_start_drives_the_service_at_its_rate_and_stop_ends_it(
    live_service: LiveService, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = str(live_service.run_dir)
    try:
        code = main(["load", "start", "--run-dir", run_dir, "--rate", "40", "--users", "4",
                     "--preview-share", "0.5"])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        echoed = capsys.readouterr().err
        assert "-m locust" in echoed and "--rate 40" in echoed
        assert "--preview-share 0.5" in echoed
        # Measure at the service: requests it answered while the load ran.
        eventually_sync(lambda: read_stats(RunLayout(live_service.run_dir)) is not None,
                        "locust's first totals", deadline_s=30)  # fmt: skip
        first, t0 = scrape(live_service.metrics_url)[REQUESTS], time.monotonic()
        eventually_sync(
            lambda: scrape(live_service.metrics_url)[REQUESTS] - first >= 200,
            "200 requests answered", deadline_s=60,
        )  # fmt: skip
        rate = (scrape(live_service.metrics_url)[REQUESTS] - first) / (time.monotonic() - t0)
        assert 20 <= rate <= 60, f"{rate:.1f} requests/s against a target of 40"
        by_route = scrape(live_service.metrics_url)
        visits = {
            route: sum(v for k, v in by_route.items()
                       if k.startswith("leaky_app_http_requests_total{")
                       and f'route="{route}"' in k)
            for route in ("/{code}", "/{code}+")
        }  # fmt: skip
        # Half the visits open the preview: neither kind is rare.
        assert min(visits.values()) > 0.25 * sum(visits.values()), visits

        assert main(["load", "start", "--run-dir", run_dir]) == 1  # one load at a time
        assert "already running" in capsys.readouterr().err

        assert main(["load", "status", "--run-dir", run_dir, "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        check_json("load status", status)
        assert status["running"] and status["stats"]["requests"] > 0
        assert status["stats"]["failures"] == 0
        pid = status["pid"]

        assert main(["load", "stop", "--run-dir", run_dir]) == 0
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        assert main(["load", "status", "--run-dir", run_dir, "--json"]) == 0
        stopped = json.loads(capsys.readouterr().out)
        check_json("load status", stopped)
        assert stopped["running"] is False
    finally:
        stop_load(Stack(live_service.run_dir).status())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "0"], "users must be between 1 and"),
        (["--rate", "-5"], "rate must be above 0"),
        (["--create-share", "2"], "create share must be between 0 and 1"),
        (["--preview-share", "1.5"], "preview share must be between 0 and 1"),
        (["--seconds", "0"], "seconds must be above 0"),
    ],
)
def test_bad_load_shapes_exit_2_with_a_sentence_and_start_nothing(
    live_service: LiveService, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["load", "start", "--run-dir", str(live_service.run_dir), *args]) == 2
    assert message in capsys.readouterr().err
    stack = json.loads((live_service.run_dir / "stack.json").read_text())
    assert LOAD not in stack


def test_load_without_a_service_says_to_start_the_lab(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["load", "start", "--run-dir", str(tmp_path)]) == 3
    assert "no service is running" in capsys.readouterr().err
    assert main(["load", "stop", "--run-dir", str(tmp_path)]) == 0
    assert "no load was running" in capsys.readouterr().err
