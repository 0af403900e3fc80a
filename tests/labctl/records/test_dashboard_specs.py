"""Dashboard specs keep their PromQL as plain text, even when a bare metric name is given
as a :class:`labctl.contract.Metric`."""

import json

from labctl.contract import Metric
from labctl.records.dashboard_specs import DashboardSpec, PanelSpec, Query


def test_a_query_of_a_bare_metric_is_plain_text() -> None:
    query = Query(Metric.TASKS, "live tasks")
    assert type(query.expr) is str and query.expr == "leaky_app_asyncio_tasks"
    assert json.dumps(query.expr) == '"leaky_app_asyncio_tasks"'


def test_a_dashboard_is_written_to_a_file_named_for_its_uid() -> None:
    panel = PanelSpec("Tasks", "Do tasks pile up?", "short", (Query(Metric.TASKS, "live"),))
    assert DashboardSpec("lab-python-runtime", "Runtime", "d", (panel,)).filename == (
        "lab-python-runtime.json"
    )
