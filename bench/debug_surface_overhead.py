"""Redirect throughput with the debug surface mounted and idle, and with its task-creation
hook on, against the surface absent (issue: idle under 1%, task hook under 3%).

uvicorn creates one task per request, so the hook runs on every request here.
Run: ``make bench``. Writes ``bench/results/debug_surface_overhead.md``.
"""

from __future__ import annotations

import sys

from bench.abtest import Variant, parse_args, render, run, write


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "debug surface overhead", rounds=6, seconds=4, instances=3)
    variants = [
        Variant("debug surface idle, task hook on (the default)", []),
        Variant("debug surface idle, task hook off", ["--no-debug-record-task-sites"]),
        Variant("no debug surface: baseline", ["--no-debug-enabled"]),
    ]
    run(variants, args)
    write(
        "debug_surface_overhead.md",
        render(
            "Redirect throughput: debug surface mounted vs absent",
            "surface idle costs under 1%, with the task hook under 3%.",
            variants,
            args,
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
