"""Redirect throughput with the request telemetry (request id, RED metrics, access log) and
tracing on, against the same service with ``--no-instrumented --no-tracing-enabled``.

Run: ``make bench``. Writes ``bench/results/instrumentation_overhead.md``.
"""

from __future__ import annotations

import sys

from bench.abtest import Variant, parse_args, render, run, write

NO_DEBUG = ["--no-debug-enabled"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "instrumentation overhead", rounds=6, seconds=4, instances=3)
    variants = [
        Variant("defaults: telemetry, access log errors + 1%, 1% of requests traced", NO_DEBUG),
        Variant("telemetry, tracing off", [*NO_DEBUG, "--no-tracing-enabled"]),
        Variant("telemetry, every request traced", [*NO_DEBUG, "--trace-sample-ratio", "1"]),
        Variant(
            "telemetry, every request logged, tracing off",
            [*NO_DEBUG, "--no-tracing-enabled"],
            flags={"access_log": {"sample_rate": 1.0}},
        ),
        Variant(
            "bare (--no-instrumented --no-tracing-enabled): baseline",
            [*NO_DEBUG, "--no-instrumented", "--no-tracing-enabled"],
        ),
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
