"""Redirect throughput with the request telemetry (request id, RED metrics, access log) on,
against the same service with ``--no-instrumented``.

Run: ``make bench``. Writes ``bench/results/instrumentation_overhead.md``.
"""

from __future__ import annotations

import sys

from bench.abtest import Variant, parse_args, render, run, write

NO_DEBUG = ["--no-debug-enabled"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "instrumentation overhead")
    variants = [
        Variant("instrumented, default access-log sampling (errors + 1%)", NO_DEBUG),
        Variant(
            "instrumented, every request logged",
            NO_DEBUG,
            flags={"access_log": {"sample_rate": 1.0}},
        ),
        Variant("bare (--no-instrumented): baseline", [*NO_DEBUG, "--no-instrumented"]),
    ]
    run(variants, args)
    write(
        "instrumentation_overhead.md",
        render(
            "Redirect throughput: instrumentation on vs off",
            "the default instrumentation costs under 5% of bare throughput.",
            variants,
            args,
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
