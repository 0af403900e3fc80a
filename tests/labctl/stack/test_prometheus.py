"""Prometheus natively: the committed config pointed at loopback ports, and its HTTP API's
answers as records (the real server is the session's, tests/live.py)."""

from pathlib import Path

import pytest
import yaml

from labctl.contract import APP_JOB, SINK_JOB, RunLayout
from labctl.stack.ports import free_port
from labctl.stack.prometheus import RULES_DIR, QueryError, query, query_range, render_config
from tests.live import LivePrometheus


def test_the_native_config_scrapes_the_given_ports_with_the_committed_rules(tmp_path: Path) -> None:
    path = render_config(RunLayout(tmp_path), {APP_JOB: ["127.0.0.1:19464"], SINK_JOB: []})
    config = yaml.safe_load(path.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert list(jobs) == [APP_JOB]  # a job with no native target is left out
    assert jobs[APP_JOB]["static_configs"] == [{"targets": ["127.0.0.1:19464"]}]
    assert all(Path(rules).is_file() and Path(rules).parent == RULES_DIR
               for rules in config["rule_files"])  # fmt: skip


def test_a_prometheus_that_does_not_answer_is_a_sentence() -> None:
    with pytest.raises(QueryError, match="does not answer"):
        query(f"http://127.0.0.1:{free_port()}", "up")


@pytest.mark.integration
def test_queries_read_the_live_prometheus_and_a_bad_one_is_refused(
    live_prometheus: LivePrometheus,
) -> None:
    assert query(live_prometheus.url, "vector(1)")[0]["value"][1] == "1"
    series = query_range(live_prometheus.url, "vector(2)", seconds=30, step=10)
    assert len(series) == 1 and all(v == 2.0 for _, v in series[0].points)
    with pytest.raises(QueryError, match="refused"):
        query(live_prometheus.url, "sum(")
