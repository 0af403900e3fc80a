"""The check every protoc output gets: the committed files are what the proto gives today."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path


def assert_current(
    generate: Callable[[Path], list[Path]],
    names: Sequence[str],
    committed: Path,
    out: Path,
    command: str,
) -> None:
    """Generate into ``out`` and compare each file with its committed twin in ``committed``."""
    written = generate(out)
    assert sorted(p.name for p in written) == sorted(names)
    stale = [p.name for p in written if p.read_bytes() != (committed / p.name).read_bytes()]
    assert stale == [], f"run: {command} (and commit what it writes)"
