import asyncio
import json
import logging
from pathlib import Path

import pytest

from leaky_app.hot_reload import ConfigWatcher
from leaky_app.settings import ConfigError, RuntimeConfig
from tests.polling import eventually


async def test_valid_edit_applies_and_invalid_edit_keeps_last_good(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "flags.json"
    seen: list[RuntimeConfig] = []
    results: list[str] = []
    watcher = ConfigWatcher(path, on_change=[seen.append], on_result=results.append)
    assert watcher.load_initial() == RuntimeConfig()
    task = asyncio.create_task(watcher.run())
    try:
        await watcher.ready.wait()
        await asyncio.sleep(0.2)  # let the OS watch settle before the first edit
        path.write_text(json.dumps({"log_level": "DEBUG", "rate_limit": {"rps": 3, "burst": 4}}))
        await eventually(lambda: watcher.current.log_level == "DEBUG", "valid edit applied")
        assert seen[-1].rate_limit.rps == 3

        with caplog.at_level(logging.ERROR, logger="leaky_app.hot_reload"):
            path.write_text('{"log_level": "DEBUG", "rate_limit": {"rps": "fast"}}')
            await eventually(lambda: "rejected" in results, "invalid edit rejected")
        assert watcher.current.rate_limit.rps == 3  # the last good config stays
        assert any(
            "config reload rejected" in r.getMessage() and "rate_limit.rps" in r.getMessage()
            for r in caplog.records
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_atomic_replace_by_an_editor_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    watcher = ConfigWatcher(path)
    watcher.load_initial()
    task = asyncio.create_task(watcher.run())
    try:
        await watcher.ready.wait()
        await asyncio.sleep(0.2)
        tmp = tmp_path / ".flags.json.swp"
        tmp.write_text('{"log_level": "WARNING"}')
        tmp.replace(path)
        await eventually(lambda: watcher.current.log_level == "WARNING", "replaced file applied")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_invalid_file_at_start_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    path.write_text("{")
    with pytest.raises(ConfigError):
        ConfigWatcher(path).load_initial()
