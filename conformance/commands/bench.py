"""`artconf bench`: measured speed and memory, recorded under reports/bench/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from conformance import bench
from conformance.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, progress


def cmd_bench_stream(args: argparse.Namespace) -> int:
    try:
        size = bench.parse_size(args.size)
    except ValueError as exc:
        progress(f"artconf: error: {exc}")
        return EXIT_USAGE
    result = bench.bench_stream(args.driver, size, progress)
    path = bench.write_result(result, Path(args.out))
    print(json.dumps(result, indent=2))
    progress(f"written to {path}")
    return EXIT_OK if result["met_targets"] else EXIT_FAILED


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="benchmarks (results recorded in reports/bench/)")
    bench_sub = parser.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    stream = bench_sub.add_parser(
        "stream",
        help="open_stream/save_stream throughput, RSS growth and temp-file bytes",
        description=bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stream.add_argument("--driver", required=True, choices=sorted(bench.SERVER_OF_DRIVER))
    stream.add_argument("--size", default="1GiB", help="bytes to stream each way (default 1GiB)")
    stream.add_argument("--out", default="reports/bench", help="directory for the JSON result")
    stream.set_defaults(func=cmd_bench_stream)
