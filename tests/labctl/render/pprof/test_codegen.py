"""The committed generated code is what the pprof schema gives today."""

from __future__ import annotations

from pathlib import Path

from labctl.render.pprof.codegen import GENERATED, PROTO, ROOT, generate
from tests.generated_code import assert_current


def test_the_committed_code_is_what_the_proto_generates(tmp_path: Path) -> None:
    assert_current(generate, GENERATED, ROOT / PROTO.parent, tmp_path,
                   "python -m labctl.render.pprof.codegen")  # fmt: skip
