"""Map a file and line to the function that contains it.

tracemalloc records only ``file:line``; findings name functions. Reading the source with
:mod:`ast` gives the qualified name (``Class.method``) the same way ``co_qualname`` does.

Usage::

    function_at("/srv/app/links/landing.py", 21)   # "LandingPageRenderer.render"
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

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


def function_at(file: str, line: int) -> str | None:
    """The innermost function around ``line`` of ``file``; ``None`` at module level."""
    best: tuple[int, int, str] | None = None
    for first, last, name in _definitions(file):
        if first <= line <= last and (best is None or first >= best[0]):
            best = (first, last, name)
    return best[2] if best else None
