"""Map a file and line to the function that contains it, and grep a source tree naming the
function around each hit.

tracemalloc records only ``file:line``; findings name functions. Reading the source with
:mod:`ast` gives the qualified name (``Class.method``) the same way ``co_qualname`` does.
``grep`` is the "grep the code for it" step of a diagnosis (a metric's name, a file-name
pattern seen in ``/proc/PID/fd``), answering with functions rather than lines.

Usage::

    function_at("/srv/app/links/preview.py", 153)  # "FinishedPages.page"
    in_loop("/srv/app/notify/mailer.py", 214)      # True: the call runs in a for body
    grep("clicks-", Path("leaky_app"))             # [SourceHit(Location("ClickExports.path"...)
    source_scope("/srv/app/links/preview.py")      # Path("/srv/app"): the tree to grep
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from labctl.records.location import MODULE_LEVEL, Location, SourceHit

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@functools.lru_cache(maxsize=256)
def _definitions(file: str) -> tuple[tuple[int, int, str], ...]:
    """(first line, last line, qualname) of every function, innermost last."""
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return ()
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _Def):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    found.append((first, child.end_lineno or child.lineno, name))
                    visit(child, f"{name}.<locals>.")
                else:
                    visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return tuple(found)


@functools.lru_cache(maxsize=256)
def _loop_spans(file: str) -> tuple[tuple[int, int], ...]:
    """(first line, last line) of every ``for``, ``async for`` and ``while`` body."""
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return ()
    loops = (ast.For, ast.AsyncFor, ast.While)
    return tuple(
        (node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno)
        for node in ast.walk(tree)
        if isinstance(node, loops)
    )


def in_loop(file: str, line: int) -> bool:
    """Whether ``line`` of ``file`` is in the body of a loop (of its function or any)."""
    return any(first <= line <= last for first, last in _loop_spans(file))


def function_at(file: str, line: int) -> str | None:
    """The innermost function around ``line`` of ``file``; ``None`` at module level."""
    best: tuple[int, int, str] | None = None
    for first, last, name in _definitions(file):
        if first <= line <= last and (best is None or first >= best[0]):
            best = (first, last, name)
    return best[2] if best else None


MAX_HITS = 200  # a pattern found everywhere is the wrong pattern; say so rather than flood


def grep(pattern: str, root: Path) -> list[SourceHit]:
    """Every line of the ``*.py`` files under ``root`` (or of ``root``, a file) containing
    ``pattern`` (a fixed string, as ``grep -F``), with the function around it. Comment-only
    lines are skipped: they mention things, they do not do them."""
    hits: list[SourceHit] = []
    for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            if pattern in line and not line.lstrip().startswith("#"):
                function = function_at(str(path), number) or MODULE_LEVEL
                hits.append(SourceHit(Location(function, str(path), number), line.strip()))
                if len(hits) >= MAX_HITS:
                    return hits
    return hits


def source_scope(file: str) -> Path:
    """What to grep for the code of the program that ran ``file``: its top-level package (the
    highest folder up from it that still has an ``__init__.py``), or the file alone when it is
    a script in no package, whose folder may be a home directory or ``/``."""
    path = Path(file)
    folder = path.parent
    if not (folder / "__init__.py").is_file():
        return path
    while (folder.parent / "__init__.py").is_file():
        folder = folder.parent
    return folder
