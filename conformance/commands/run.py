"""`artconf run` and `artconf merge`: the matrix, end to end.

`run` starts the servers (or uses `--endpoints`), runs the suites with pytest-xdist, shows
progress, writes `reports/<run-id>/` (records, JUnit XML, server logs, profile and deviation
snapshots), points `reports/latest` at it, prints the matrix, and exits non-zero when a cell
failed, passed unexpectedly (xpass) or hit an infra error; skips never fail a run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from conformance import matrix
from conformance.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, progress
from conformance.records import merge_records, read_records, summary, write_records
from emulators.fleet import SERVERS

SUITES = "conformance.suites"


def run_dir_for(reports: Path, run_id: str, shard: str | None) -> Path:
    suffix = "-shard" + shard.replace("/", "of") if shard else ""
    return reports / f"{run_id}{suffix}"


def link_latest(reports: Path, run_dir: Path) -> None:
    latest = reports / "latest"
    tmp = reports / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    tmp.replace(latest)  # atomic: readers never see a missing `latest`


def pytest_command(args: argparse.Namespace, run_dir: Path, run_id: str) -> list[str]:
    command = [
        sys.executable, "-m", "pytest", "--pyargs", SUITES,
        "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
        f"--rootdir={Path(__file__).resolve().parents[2]}",
        f"--artconf-target={args.target}",
        f"--artconf-run-dir={run_dir}",
        f"--artconf-run-id={run_id}",
        f"--artconf-tls={args.tls}",
        f"--junitxml={run_dir / 'junit.xml'}",
        "-o", "junit_family=xunit2",
    ]  # fmt: skip
    for option, value in (
        ("--artconf-backends", args.backends),
        ("--artconf-drivers", args.drivers),
        ("--artconf-endpoints", args.endpoints),
        ("--artconf-shard", args.shard),
    ):
        if value:
            command.append(f"{option}={value}")
    if args.n and args.n != "0":
        command += ["-n", args.n]
    if args.k:
        command += ["-k", args.k]
    return command


def cmd_run(args: argparse.Namespace) -> int:
    run_id = args.run_id or time.strftime("%Y%m%dT%H%M%S")
    reports = Path(args.reports)
    run_dir = run_dir_for(reports, run_id, args.shard)
    if run_dir.exists() and any(run_dir.iterdir()):
        progress(f"artconf: error: {run_dir} already exists; pick another --run-id")
        return EXIT_USAGE
    run_dir.mkdir(parents=True, exist_ok=True)
    progress(f"artconf: run {run_id} of target {args.target} -> {run_dir}")
    began = time.monotonic()
    # The chosen backends are required: one that cannot start is an infra error, never a skip.
    env = dict(os.environ)
    env.pop("ARTCONF_REQUIRE", None)
    servers = [b for b in (args.backends or "").split(",") if b.strip() in SERVERS]
    if servers and not args.endpoints:
        env["ARTCONF_REQUIRE"] = ",".join(servers)
    result = subprocess.run(pytest_command(args, run_dir, run_id), check=False, env=env)
    records_path = run_dir / "records.jsonl"
    if not records_path.exists():
        progress(f"artconf: error: the run wrote no records (pytest exit {result.returncode})")
        return EXIT_FAILED if result.returncode not in (2, 4) else EXIT_USAGE
    link_latest(reports, run_dir)
    records = read_records(records_path)
    print(matrix.render_text(records))
    counts = summary(records)
    progress(
        f"artconf: {len(records)} cases in {time.monotonic() - began:.0f} s: "
        + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        + f"; records in {records_path}"
    )
    return EXIT_FAILED if not matrix.failing_cells(records).empty else EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    paths = [Path(d) / "records.jsonl" for d in args.run_dirs]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        progress(f"artconf: error: no records in {', '.join(missing)}")
        return EXIT_USAGE
    try:
        records = list(merge_records(paths))
    except ValueError as exc:
        progress(f"artconf: error: {exc}")
        return EXIT_FAILED
    out = Path(args.out) if args.out else Path(args.run_dirs[0]).parent / records[0].run_id
    write_records(out / "records.jsonl", records)
    for source in args.run_dirs:
        for item in Path(source).iterdir():
            if item.name in ("logs", "profiles") and item.is_dir():
                for log in item.iterdir():
                    (out / item.name).mkdir(exist_ok=True)
                    target = out / item.name / log.name
                    if not target.exists():
                        target.write_bytes(log.read_bytes())
            elif item.suffix in (".json", ".yaml", ".xml") and not (out / item.name).exists():
                (out / item.name).write_bytes(item.read_bytes())
    print(matrix.render_text(records))
    progress(f"artconf: merged {len(records)} records into {out}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="run the conformance matrix and write records",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--target", default="reference", help="reference (default) or python:package.module:factory"
    )
    run.add_argument("--backends", help="servers, comma-separated (default: all)")
    run.add_argument("--drivers", help="location types, comma-separated (default: all)")
    run.add_argument(
        "--tls", default="both", choices=("off", "on", "both"), help="server modes (default: both)"
    )
    run.add_argument(
        "--endpoints", metavar="FILE", help="use running servers from `artconf emulators up --json`"
    )
    run.add_argument("-n", default="auto", help="xdist workers (default: auto; 0 to disable)")
    run.add_argument("-k", help="only cases matching this pytest -k expression")
    run.add_argument("--shard", metavar="I/N", help="run shard I of N (merge with `merge`)")
    run.add_argument("--run-id", help="run id (default: a timestamp); shards share one")
    run.add_argument("--reports", default="reports", help="where run directories go")
    run.set_defaults(func=cmd_run)

    merge = sub.add_parser("merge", help="merge the shard directories of one run")
    merge.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    merge.add_argument("--out", help="merged run directory (default: reports/<run-id>)")
    merge.set_defaults(func=cmd_merge)
