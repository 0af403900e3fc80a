"""``labctl dashboards build --check``: the committed JSON is the catalogue's build."""

from typer.testing import CliRunner

from labctl.cli import app
from labctl.course.dashboard_catalogue import DASHBOARDS


def test_the_committed_dashboards_match_the_catalogue() -> None:
    result = CliRunner().invoke(app, ["dashboards", "build", "--check"])
    assert result.exit_code == 0, result.stderr
    assert f"{len(DASHBOARDS)} dashboards match the catalogue" in result.stderr
