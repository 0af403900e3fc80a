"""The layout a maintainer finds their way through, kept by tests: every source module has a
test at the mirrored path, labctl's rooms import one way only, no two labctl modules have
look-alike names, and the debug surface imports nothing else of the patient."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("leaky_app", "labctl", "reputation")

# Modules with no mirror, each with the reason; the list only ever gets shorter.
NO_MIRROR = {
    # Data records with no behaviour of their own; the tests of their producers build them.
    "labctl/records/series.py": "a dataclass; tests/labctl/stack/test_prometheus.py reads it",
    "labctl/records/checks.py": "a dataclass; tests/labctl/stack/test_preflight.py reads it",
    # Run top to bottom by every lab notebook (tests/notebooks/test_notebooks.py).
    "labctl/course/walkthrough.py": "every notebook runs it against a live stack",
}


def generated(path: Path) -> bool:
    """protoc's output; the test_codegen.py beside each proto's mirror keeps it current."""
    return path.stem.endswith(("_pb2", "_pb2_grpc"))


def modules(package: str) -> list[Path]:
    return sorted(
        p.relative_to(ROOT)
        for p in (ROOT / package).rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and not generated(p)
    )


def mirror(module: Path) -> Path:
    return Path("tests") / module.parent / f"test_{module.name}"


def test_every_module_has_a_test_at_its_mirrored_path() -> None:
    missing = [
        str(m)
        for package in PACKAGES
        for m in modules(package)
        if not (ROOT / mirror(m)).is_file() and str(m) not in NO_MIRROR
    ]
    assert missing == [], "add tests at " + ", ".join(str(mirror(Path(m))) for m in missing)


def test_the_allow_list_names_only_modules_that_exist_and_still_lack_a_test() -> None:
    for name in NO_MIRROR:
        assert (ROOT / name).is_file(), f"{name} is gone: drop it from NO_MIRROR"
        assert not (ROOT / mirror(Path(name))).is_file(), f"{name} has a test now: drop it"


def test_no_test_file_is_named_for_a_module_that_does_not_exist() -> None:
    sources = {mirror(m) for package in PACKAGES for m in modules(package)}
    orphans = [
        str(t.relative_to(ROOT))
        for package in PACKAGES
        for t in (ROOT / "tests" / package).rglob("test_*.py")
        if t.relative_to(ROOT) not in sources
    ]
    assert orphans == []


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def room(module: str) -> str:
    """``labctl.stack.ports`` -> ``stack``; ``labctl.contract`` -> ``contract``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "labctl"


# Who may import whom: commands -> course -> evidence -> stack -> records, render over
# records only; errors and contract are leaves everyone may use.
LEAVES = {"errors", "contract"}
MAY_IMPORT = {
    "errors": set(),
    "contract": {"errors"},
    "records": {"records"} | LEAVES,
    "render": {"render", "records"} | LEAVES,
    "stack": {"stack", "records"} | LEAVES,
    "evidence": {"evidence", "stack", "records", "render"} | LEAVES,
    "course": {"course", "evidence", "stack", "records", "render"} | LEAVES,
    "commands": {"commands", "course", "evidence", "stack", "records", "render"} | LEAVES,
    "cli": {"commands"},
    "labctl": set(),
}
# The edges from evidence into render: a capture writes its artefacts, the flamegraph SVG of
# a CPU capture and the pprof files of both.
ARTEFACT_WRITERS = {
    ("labctl/evidence/probes/pyspy.py", "labctl.render.flamegraph"),
    ("labctl/evidence/probes/pyspy.py", "labctl.render.pprof.encoding"),
    ("labctl/evidence/probes/heap.py", "labctl.render.pprof.encoding"),
}


def test_labctl_rooms_import_one_way_and_never_the_patient() -> None:
    wrong = []
    for path in modules("labctl"):
        own = room(".".join(path.with_suffix("").parts))
        for imported in imports_of(ROOT / path):
            if imported.split(".")[0] == "leaky_app":
                wrong.append(f"{path} imports {imported}: labctl never imports the patient")
            if not imported.startswith("labctl.") or (str(path), imported) in ARTEFACT_WRITERS:
                continue
            if own == "evidence" and room(imported) == "render":
                wrong.append(f"{path} imports {imported}")
            elif room(imported) not in MAY_IMPORT[own]:
                wrong.append(f"{path} ({own}) imports {imported} ({room(imported)})")
    assert wrong == []


def test_the_rooms_have_no_cycle() -> None:
    edges = {(a, b) for a, allowed in MAY_IMPORT.items() for b in allowed if a != b}
    for a, b in edges:
        assert (b, a) not in edges, f"{a} and {b} import each other"
    rooms = set(MAY_IMPORT)
    for order in itertools.permutations(sorted(rooms), 3):
        x, y, z = order
        assert not ({(x, y), (y, z), (z, x)} <= edges), order


def _stem(path: Path) -> str:
    return path.stem.removesuffix("s")


def test_no_two_labctl_modules_have_look_alike_names() -> None:
    paths = modules("labctl")
    by_stem: dict[str, list[str]] = {}
    for path in paths:
        by_stem.setdefault(_stem(path), []).append(str(path))
    assert {s: p for s, p in by_stem.items() if len(p) > 1} == {}
    for a, b in itertools.permutations(paths, 2):
        # Within one room, no name is another's with a suffix (labs.py, lab_runs.py).
        if a.parent == b.parent:
            assert not b.stem.startswith(_stem(a) + "_"), (str(a), str(b))


def test_the_debug_surface_imports_nothing_else_of_the_patient() -> None:
    for path in (ROOT / "leaky_app" / "debug").rglob("*.py"):
        outside = {
            m for m in imports_of(path) if m.startswith("leaky_app") and not m.startswith(
                "leaky_app.debug")
        }  # fmt: skip
        assert outside == set(), path


def test_the_reputation_service_imports_neither_the_patient_nor_the_doctor() -> None:
    for path in (ROOT / "reputation").rglob("*.py"):
        outside = {m for m in imports_of(path) if m.split(".")[0] in ("leaky_app", "labctl")}
        assert outside == set(), path
