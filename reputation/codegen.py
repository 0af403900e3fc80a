"""Regenerate the Python code of ``reputation/v1/reputation.proto`` (messages, gRPC stubs and
their typed ``.pyi``): ``python -m reputation.codegen``. The generated files are committed so an
install needs no compiler; ``tests/reputation/test_codegen.py`` fails while they are stale.

Usage::

    generate(Path("/tmp/out"))   # the same files, written under /tmp/out/reputation/v1/
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).parents[1]
PROTO = Path("reputation/v1/reputation.proto")
GENERATED = (
    "reputation_pb2.py",
    "reputation_pb2.pyi",
    "reputation_pb2_grpc.py",
    "reputation_pb2_grpc.pyi",
)


def _plugin(name: str) -> str:
    """mypy-protobuf's protoc plugins, installed beside this interpreter."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(f"{name} is missing: pip install mypy-protobuf")
    return found


def generate(out: Path) -> list[Path]:
    """Run protoc over the proto into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{ROOT}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        str(ROOT / PROTO),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed (its message is above)")
    return [out / PROTO.parent / name for name in GENERATED]


def main() -> None:
    print("+ python -m grpc_tools.protoc ... " + str(PROTO))
    for path in generate(ROOT):
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
