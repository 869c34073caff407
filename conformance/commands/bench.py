"""`artconf bench`: measured speed and memory, recorded under reports/bench/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from conformance.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    LazyChoices,
    module_doc,
    progress,
)


def cmd_bench_stream(args: argparse.Namespace) -> int:
    from conformance import bench

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


def cmd_bench_plugin(args: argparse.Namespace) -> int:
    from conformance import bench, bench_plugin

    try:
        max_size = bench.parse_size(args.max_size)
    except ValueError:
        progress(
            f"artconf: error: --max-size {args.max_size!r}: expected a number with KiB, MiB, "
            "GiB, KB, MB or GB"
        )
        return EXIT_USAGE
    try:
        bench_plugin.schedule(args.transfers, max_size)
    except ValueError as exc:
        progress(f"artconf: error: {exc}")
        return EXIT_USAGE
    result = bench_plugin.bench_plugin(args.transfers, max_size, progress)
    path = bench_plugin.write_result(result, Path(args.out))
    print(json.dumps(result, indent=2))
    progress(f"written to {path}")
    return EXIT_OK if result["met_targets"] else EXIT_FAILED


REPORT_TARGET_SECONDS = 15.0  # issue 7: the report of 10,000 records


def cmd_bench_report(args: argparse.Namespace) -> int:
    """Time `artconf report` on synthetic runs of --records records (three runs: diff, trend).

    Target: the report of 10,000 records in under 15 seconds, kernel start included.
    """
    import tempfile
    import time

    from conformance import report, rundir

    if args.records < 1:
        progress("artconf: error: --records must be 1 or more")
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="artconf-bench-report-") as tmp:
        runs = report.write_synthetic_runs(Path(tmp) / "reports", args.records)
        report.ensure_kernel()  # installing the kernel spec is not part of the measured time
        progress(f"artconf: report of {args.records} synthetic records ({len(runs)} runs)")
        try:
            built = report.build_report([runs[-1]], out=Path(tmp) / "report.html")
        except (rundir.RunDirError, report.ReportError) as exc:
            progress(f"artconf: error: {exc}")
            return EXIT_FAILED
    result = {
        "benchmark": "report",
        "records": args.records,
        "runs_in_history": len(runs),
        "seconds": built["seconds"],
        "execute_seconds": built["execute_seconds"],
        "html_bytes": built["html_bytes"],
        "target_seconds": REPORT_TARGET_SECONDS,
        "met_targets": built["seconds"] < REPORT_TARGET_SECONDS,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-report.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    progress(f"written to {path}")
    return EXIT_OK if result["met_targets"] else EXIT_FAILED


def _bench_kinds() -> list[str]:
    from conformance import bench

    return sorted(bench.bench_servers())


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="benchmarks (results recorded in reports/bench/)")
    bench_sub = parser.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    stream = bench_sub.add_parser(
        "stream",
        help="open_stream/save_stream throughput, RSS growth and temp-file bytes",
        description=module_doc("conformance.bench"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # A metavar of our own: without one argparse lists the choices while adding the option.
    stream.add_argument(
        "--driver",
        required=True,
        choices=LazyChoices(_bench_kinds),
        metavar="KIND",
        help="the location kind to benchmark: %(choices)s",
    )
    stream.add_argument("--size", default="1GiB", help="bytes to stream each way (default 1GiB)")
    stream.add_argument("--out", default="reports/bench", help="directory for the JSON result")
    stream.set_defaults(func=cmd_bench_stream)
    plugin = bench_sub.add_parser(
        "plugin",
        help="concurrent Load/Save/OpenStream/SaveStream through one `artconf plugin serve`",
        description=module_doc("conformance.bench_plugin"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plugin.add_argument(
        "--transfers",
        type=int,
        default=64,
        help="transfers started at once, at least 4; the server runs 64 at a time (default 64)",
    )
    plugin.add_argument(
        "--max-size", default="256MiB", help="the largest transfer's size (default 256MiB)"
    )
    plugin.add_argument("--out", default="reports/bench", help="directory for the JSON result")
    plugin.set_defaults(func=cmd_bench_plugin)
    report_bench = bench_sub.add_parser(
        "report",
        help="`artconf report` time and HTML size on synthetic records",
        description=cmd_bench_report.__doc__,
    )
    report_bench.add_argument(
        "--records", type=int, default=10000, help="records per run (default 10000)"
    )
    report_bench.add_argument(
        "--out", default="reports/bench", help="directory for the JSON result"
    )
    report_bench.set_defaults(func=cmd_bench_report)
