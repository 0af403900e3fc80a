"""A secret or an answer is written 0600, in one piece, whatever was there before."""

from __future__ import annotations

import stat
from pathlib import Path

from labctl.stack.private_files import write_private


def test_the_file_is_0600_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old, and readable by anyone")
    path.chmod(0o644)
    write_private(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]  # no temporary file left
