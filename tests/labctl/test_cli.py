"""The command line as a user's scripts see it: every command and flag as recorded in
``cli_surface.json`` (see :mod:`tests.labctl.cli_surface`)."""

from labctl.cli import app
from tests.labctl.cli_surface import RECORDING, record_surface, recorded_surface, surface


def test_every_command_and_flag_is_as_recorded() -> None:
    if RECORDING:
        record_surface(app)
    recorded, now = recorded_surface(), surface(app)
    assert sorted(now) == sorted(recorded), "commands added or gone"
    changed = [path for path in now if now[path] != recorded[path]]
    assert changed == [], {path: (recorded[path], now[path]) for path in changed}
