"""locust as a process of the stack: its shape is checked before it starts, its command is
headless and bounded, and its totals are read from the CSV it rewrites (its real run is
tests/labctl/commands/test_load.py)."""

from pathlib import Path

import pytest

from labctl.contract import RunLayout
from labctl.stack.supervisor import Stack
from labctl.stack.traffic import LoadError, LoadShape, load_command, read_stats, start_load

HEADER = "Type,Name,Request Count,Failure Count,Requests/s,50%,99%\n"


@pytest.mark.parametrize(
    ("shape", "says"),
    [
        (LoadShape(users=0), "users must be between 1 and"),
        (LoadShape(rate=0), "rate must be above 0"),
        (LoadShape(create_share=1.5), "create share must be between 0 and 1"),
        (LoadShape(seconds=0), "seconds must be above 0"),
        (LoadShape(referrers=0), "referrers must be between 1 and"),
        (LoadShape(preview_share=-0.1), "preview share must be between 0 and 1"),
    ],
)
def test_a_shape_out_of_range_is_refused_with_exit_2(shape: LoadShape, says: str) -> None:
    with pytest.raises(LoadError, match=says) as refused:
        shape.check()
    assert refused.value.exit_code == 2


def test_the_command_is_headless_and_stops_by_itself_when_asked(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    cmd = load_command("http://127.0.0.1:8000", LoadShape(users=4, rate=40, seconds=2.4), layout)
    assert "--headless" in cmd and cmd[cmd.index("--rate") + 1] == "40"
    assert cmd[cmd.index("--preview-share") + 1] == "0.4"  # the lab's default
    assert cmd[cmd.index("--run-time") + 1] == "2s"
    assert cmd[cmd.index("--csv") + 1] == str(layout.load / "stats")


def test_totals_come_from_the_aggregated_row_and_na_is_zero(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    assert read_stats(layout) is None
    layout.load.mkdir()
    (layout.load / "stats_stats.csv").write_text(
        HEADER + "GET,/{code},90,1,30.0,4,20\n,Aggregated,100,2,33.3,5,N/A\n"
    )
    stats = read_stats(layout)
    assert stats is not None
    assert (stats.requests, stats.failures, stats.p50_ms, stats.p99_ms) == (100, 2, 5.0, 0.0)


def test_load_needs_a_running_service(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no service is running") as refused:
        start_load(Stack(tmp_path).status(), None, LoadShape())
    assert refused.value.exit_code == 3
