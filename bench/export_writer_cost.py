"""What a click's export row costs with each writer (issue 18's fd_leak feature).

In process, with no server: ``ClickExports.append`` over clicks spread on a set of links, once
per writer and round, rotating the writers so drift hits both alike. The healthy writer
(``appends``) opens, appends and closes the link's file; the release (``open``) writes to a
file it keeps open. The redirect's CPU per request (``bench/request_path_cost.py``) is the
figure to hold these against.

Run: ``python -m bench.export_writer_cost`` (``make bench``). Writes
``bench/results/export_writer_cost.md``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.abtest import write
from leaky_app.links.exports import WRITERS, ClickExports


def cpu_per_click(folder: Path, writer: str, links: int, clicks: int) -> float:
    """Seconds of this process's CPU per ``append``, the links' files made beforehand."""
    exports = ClickExports(folder, max_open=links)
    exports.use_writer(writer)
    codes = [f"link{n}" for n in range(links)]
    try:
        for code in codes:  # every file exists (and the release holds it) before timing
            exports.append(code, 0.0, "direct")
        started = time.process_time()
        for n in range(clicks):
            exports.append(codes[n % links], 1796300000.0 + n, "https://news.example/item/1")
        return (time.process_time() - started) / clicks
    finally:
        exports.use_writer("appends")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU per click of each click export writer")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--clicks", type=int, default=20_000)
    args = parser.parse_args(argv)
    seconds: dict[str, list[float]] = {writer: [] for writer in WRITERS}
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        for round_ in range(args.rounds):
            order = WRITERS if round_ % 2 == 0 else WRITERS[::-1]
            for writer in order:
                folder = Path(tmp) / f"{writer}-{round_}"
                seconds[writer].append(cpu_per_click(folder, writer, args.links, args.clicks))
            print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    rows = [
        "| writer | CPU µs per click (median) | rounds p25-p75 µs |",
        "|---|---:|---|",
    ]
    for writer, values in seconds.items():
        p25, _, p75 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        median = 1e6 * statistics.median(values)
        rows.append(f"| {writer} | {median:.1f} | {1e6 * p25:.1f} to {1e6 * p75:.1f} |")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    table = (
        f"# Click export: CPU per click by writer\n\nMeasured {stamp} on this machine, "
        f"`python -m bench.export_writer_cost --rounds {args.rounds} --links {args.links} "
        f"--clicks {args.clicks}`: `appends` is the healthy writer, `open` the fd_leak "
        "release.\n\n" + "\n".join(rows) + "\n"
    )
    write("export_writer_cost.md", table)
    print("next: compare with the redirect's CPU per request in request_path_cost.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
