"""The debug server: a private token file, and loopback unless allowed otherwise."""

import stat

import pytest

from labctl.stack.ports import free_port
from leaky_app.debug import DebugConfig, DebugServer
from tests.leaky_app.debug.conftest import DebugHandle


async def test_token_file_is_private_and_matches(debug: DebugHandle) -> None:
    mode = stat.S_IMODE(debug.token_file.stat().st_mode)
    assert mode == 0o600
    assert debug.token_file.read_text().strip() == debug.server.token


def test_non_loopback_bind_needs_explicit_setting(tmp_path: object) -> None:
    import asyncio
    from pathlib import Path

    loop = asyncio.new_event_loop()
    try:
        config = DebugConfig(token_file=Path(str(tmp_path)) / "t", host="0.0.0.0", port=free_port())
        with pytest.raises(ValueError, match="loopback-only"):
            DebugServer(config, loop=loop)
    finally:
        loop.close()
