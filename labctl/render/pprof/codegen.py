"""Regenerate the Python code of ``labctl/render/pprof/profile.proto``:
``python -m labctl.render.pprof.codegen``. The generated files are committed so an install
needs no compiler; ``tests/labctl/render/pprof/test_codegen.py`` fails while they are stale.

Usage::

    generate(Path("/tmp/out"))   # the same files, written under /tmp/out/labctl/render/pprof/
"""

from __future__ import annotations

from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).parents[3]
PROTO = Path("labctl/render/pprof/profile.proto")
GENERATED = ("profile_pb2.py", "profile_pb2.pyi")


def generate(out: Path) -> list[Path]:
    """Run protoc (messages and their typed stubs, no gRPC) over the proto into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc", f"-I{ROOT}", f"--python_out={out}", f"--pyi_out={out}",
            str(ROOT / PROTO)]  # fmt: skip
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed (its message is above)")
    return [out / PROTO.parent / name for name in GENERATED]


def main() -> None:
    print(f"+ python -m grpc_tools.protoc --python_out --pyi_out {PROTO}")
    for path in generate(ROOT):
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
