"""The committed generated code is what the proto gives today."""

from __future__ import annotations

from pathlib import Path

from reputation.codegen import GENERATED, PROTO, ROOT, generate


def test_the_committed_code_is_what_the_proto_generates(tmp_path: Path) -> None:
    written = generate(tmp_path)
    assert sorted(p.name for p in written) == sorted(GENERATED)
    stale = [
        p.name for p in written if p.read_bytes() != (ROOT / PROTO.parent / p.name).read_bytes()
    ]
    assert stale == [], "run: python -m reputation.codegen (and commit what it writes)"
