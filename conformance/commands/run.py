"""`artconf run` and `artconf merge`: the matrix, end to end.

`run` starts the servers (or uses `--endpoints`), runs the suites with pytest-xdist, shows
progress, writes `reports/<run-id>/` (records, JUnit XML, server logs, profile and deviation
snapshots), points `reports/latest` at it, prints the matrix, and exits non-zero when a cell
failed, passed unexpectedly (xpass) or hit an infra error; skips never fail a run. With
`--report` it then renders `reports/<run-id>/report.html`, also when cells failed.

Ctrl-C (SIGINT) or SIGTERM stops the whole run (pytest, its workers, every server) within
seconds, keeps the records of the cases that finished as a run marked partial in its run.json,
and exits 130 (SIGINT) or 143 (SIGTERM). A second signal stops everything at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, progress

# The kit's heavier modules (pandas, the SDKs, the fleet of servers) are imported inside the
# functions: a target that cannot run is refused before they load (issue 12: in under 2 s).

SUITES = "conformance.suites"
STOP_GRACE_SECONDS = 9.0  # after a signal, pytest gets this long to stop; then SIGKILL


def pytest_command(
    args: argparse.Namespace, run_dir: Path, run_id: str, basetemp: str
) -> list[str]:
    from conformance import rundir

    command = [
        sys.executable, "-m", "pytest", "--pyargs", SUITES,
        "-p", "no:cacheprovider", "--no-header", "-rN",
        f"--rootdir={Path(__file__).resolve().parents[2]}",
        f"--artconf-target={args.target}",
        f"--artconf-run-dir={run_dir}",
        f"--artconf-run-id={run_id}",
        f"--artconf-tls={args.tls}",
        f"--junitxml={run_dir / rundir.JUNIT}",
        f"--basetemp={basetemp}",
        "-o", "junit_family=xunit2",
    ]  # fmt: skip
    for option, value in (
        ("--artconf-backends", args.backends),
        ("--artconf-drivers", args.drivers),
        ("--artconf-endpoints", args.endpoints),
        ("--artconf-shard", args.shard),
        ("--artconf-launcher", getattr(args, "launcher", None)),
    ):
        if value:
            command.append(f"{option}={value}")
    if args.n and args.n != "0":
        command += ["-n", args.n]
    if args.k:
        command += ["-k", args.k]
    # pytest's share of the terminal: by default its progress dots only (the grouped failures
    # follow, one entry per cause); -v/-vv are pytest's, with short tracebacks unless --tb.
    verbose = getattr(args, "verbose", 0) or 0
    tb = getattr(args, "tb", None) or ("short" if verbose else "no")
    if verbose:
        command += ["-" + "v" * verbose, f"--tb={tb}"]
    else:  # nor the warnings summary: it is a section per warning, not per cause
        command += ["-q", f"--tb={tb}", "--disable-warnings"]
    return command


def preflight(args: argparse.Namespace) -> str | list[str]:
    """What makes the run impossible, found in-process before a run directory or a server exists
    (pytest would find it too, but only after claiming the directory and seconds of start-up):
    a target that does not import, a factory that makes no usable driver for the kinds the run
    covers (`conformance.preflight`), unknown backends. Prints what was inferred. Returns the
    problem, or the servers of the run's backends that serve the target's kinds."""
    from conformance.columns import chosen_columns
    from conformance.preflight import target_scope
    from conformance.profiles import ProfileError, load_profiles
    from conformance.targets import TargetError, parse_target
    from emulators.errors import UsageError
    from emulators.names import SERVER_NAMES

    try:
        target = parse_target(args.target)
        profiles = load_profiles()
        # Every mode: only the kinds served matter here, and a backend may serve TLS only.
        columns = chosen_columns(getattr(args, "backends", None), profiles, ["plain", "tls"])
        served = list(dict.fromkeys(profiles[c.backend].driver for c in columns))
        if getattr(args, "drivers", None):
            wanted = [d.strip() for d in args.drivers.split(",") if d.strip()]
            served = [d for d in served if d in wanted] or wanted
        scope = target_scope(target, served)
    except (TargetError, UsageError, ProfileError) as exc:
        return str(exc).replace("--artconf-backends", "--backends")
    finally:
        if "target" in locals():
            from conformance.plugin_targets import close_target

            close_target(target)  # a plugin the preflight started
    if scope.note:
        progress(f"artconf: {scope.note}")
    if not getattr(args, "backends", None):
        return []
    scoped = [profiles[c.backend] for c in columns if profiles[c.backend].driver in scope.kinds]
    return list(dict.fromkeys(p.server for p in scoped if p.server in SERVER_NAMES))


def cmd_run(args: argparse.Namespace) -> int:
    reports = Path(args.reports)
    if args.declaration:  # read by the plugin targets, here and in pytest's processes
        declaration = Path(args.declaration)
        if not declaration.is_file():
            progress(f"artconf: error: --declaration {declaration}: no such file")
            return EXIT_USAGE
        os.environ["ARTCONF_DECLARATION"] = str(declaration.resolve())
    servers = preflight(args)
    if isinstance(servers, str):
        progress(f"artconf: error: {servers}")
        return EXIT_USAGE
    from conformance import matrix, rundir
    from conformance.records import read_records, summary
    from conformance.rundir import claim_run, link_latest

    try:
        run_id, run_dir = claim_run(reports, args.run_id, args.shard)
    except FileExistsError as exc:
        progress(f"artconf: error: {exc.filename} already exists; pick another --run-id")
        return EXIT_USAGE
    progress(f"artconf: run {run_id} of target {args.target} -> {run_dir}")
    began = time.monotonic()
    # The chosen backends are required: one that cannot start is an infra error, never a skip.
    env = dict(os.environ)
    env.pop("ARTCONF_REQUIRE", None)
    if servers and not args.endpoints:
        env["ARTCONF_REQUIRE"] = ",".join(servers)
    # The cases' temp files (an xfail keeps its tmp_path) go with the run, whatever its end:
    # the evidence is in the records and the server logs, not in /tmp.
    with tempfile.TemporaryDirectory(prefix="artconf-run-") as basetemp:
        command = pytest_command(args, run_dir, run_id, basetemp)
        returncode, received = run_forwarding_signals(command, env)
    records_path = run_dir / rundir.RECORDS
    if received is not None:
        return interrupted(args, run_dir, run_id, received, killed=returncode == -signal.SIGKILL)
    interrupted_itself = returncode == 2 and records_path.exists()  # 2 without: collection
    if returncode < 0 or returncode == 3 or interrupted_itself:  # the records are partial
        how = {3: "crashed (internal error)", 2: "was interrupted"}.get(returncode, "")
        how = how or f"was killed by {signal.Signals(-returncode).name}"
        mark_partial(args, run_dir, run_id, f"pytest {how}")
        progress(f"artconf: error: pytest {how}; the run in {run_dir} is incomplete")
        return EXIT_FAILED
    if not records_path.exists():
        progress(f"artconf: error: the run wrote no records (pytest exit {returncode})")
        return EXIT_FAILED if returncode not in (2, 4) else EXIT_USAGE
    records = read_records(records_path)
    if not records:  # never green, and never the `latest` a report or diff reads
        progress(
            f"artconf: error: the selection ran no case (check --backends, --drivers and -k); "
            f"{run_dir} holds no records"
        )
        return render_report(run_dir, EXIT_FAILED) if args.report else EXIT_FAILED
    link_latest(reports, run_dir)
    try:
        meta = rundir.read_meta(run_dir)
    except rundir.RunDirError:
        meta = {}  # the grid then shows every row, and nothing is said to be not run
    applicable = meta.get("applicable")
    print(matrix.render_text(records, applicable if isinstance(applicable, dict) else None))
    for column, why in (meta.get("not_run") or {}).items():
        print(f"not run: {column}: {why}")
    failures = matrix.render_failures(records, records_path=records_path)
    if failures:
        print("\n" + failures)
    counts = summary(records)
    progress(
        f"artconf: {len(records)} cases in {time.monotonic() - began:.0f} s: "
        + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        + f"; records in {records_path}"
    )
    status = EXIT_FAILED if not matrix.failing_cells(records).empty else EXIT_OK
    if args.report:
        status = render_report(run_dir, status)
    return status


def run_forwarding_signals(command: list[str], env: dict[str, str]) -> tuple[int, int | None]:
    """Run pytest in its own process group; return (exit code, the signal received or None).

    A terminal's Ctrl-C then reaches only us, and we pass SIGINT to pytest's whole group
    (controller and workers), as a terminal would: pytest writes the records of the finished
    cases and stops its servers. SIGTERM is passed on as SIGINT too, since xdist workers die
    on SIGTERM without reporting. A second signal, or a pytest that has not stopped after
    STOP_GRACE_SECONDS, gets SIGKILL; the servers it owned are then reaped.
    """
    from emulators.sessions import reap_orphans_and_data

    received: list[tuple[int, float]] = []  # (signal, when)
    proc: subprocess.Popen | None = None

    def forward(signum: int, frame: object) -> None:
        received.append((signum, time.monotonic()))
        if proc is not None:
            _signal_group(proc.pid, signal.SIGINT if len(received) == 1 else signal.SIGKILL)

    # Handlers first: the child then starts with default dispositions even when we were
    # started with SIGINT ignored (as a background job of a script is).
    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        proc = subprocess.Popen(command, env=env, start_new_session=True)
        if received:  # a signal came before the child existed
            _signal_group(proc.pid, signal.SIGINT)
        while proc.poll() is None:
            if received and time.monotonic() - received[0][1] > STOP_GRACE_SECONDS:
                _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if proc is not None:
            if proc.poll() is None:  # unwinding from an unexpected error: leave nothing running
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
            _signal_group(proc.pid, signal.SIGKILL)  # a worker that outlived its controller
            reap_orphans_and_data()  # servers whose owner was killed, and their data
    return proc.returncode, (received[0][0] if received else None)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def interrupted(
    args: argparse.Namespace, run_dir: Path, run_id: str, signum: int, *, killed: bool
) -> int:
    """Mark the run partial, point `latest` at it if it holds records, and say so in one line.

    pytest normally writes run.json itself; if it had to be killed, we write a minimal one, and
    the records are those journaled as each case finished (a torn last line is left out).
    """
    from conformance import rundir
    from conformance.records import read_records
    from conformance.rundir import link_latest

    name = signal.Signals(signum).name
    records_path = run_dir / rundir.RECORDS
    warnings: list[str] = []
    try:
        count = len(read_records(records_path, warnings=warnings))
    except (OSError, ValueError):
        count = 0
    mark_partial(args, run_dir, run_id, name)
    if count:
        link_latest(Path(args.reports), run_dir)
        where = f"{count} finished cases recorded in {records_path} (run marked partial)"
    else:
        where = f"no case had finished; {run_dir} holds no records"
    if killed:  # no junit.xml then, and run.json is the minimal one written here
        where += f"; pytest had not stopped {STOP_GRACE_SECONDS:.0f} s later and was killed"
    progress(f"artconf: interrupted by {name}: {where}; every server of the run was stopped")
    return 128 + signum


def mark_partial(args: argparse.Namespace, run_dir: Path, run_id: str, cause: str) -> None:
    """Say in the run's meta file(s) that its records hold only the cases that finished."""
    from conformance import rundir

    defaults = {"run_id": run_id, "target": args.target, "shard": args.shard or ""}
    rundir.mark_partial(run_dir, cause, shard=args.shard, defaults=defaults)


def render_report(run_dir: Path, status: int) -> int:
    """`--report`: the run's report.html, written whatever the run's verdict."""
    from conformance.commands.report import cmd_report

    report_args = argparse.Namespace(
        run_dirs=[str(run_dir)], previous=None, out=None, trend=10, summary_md=None
    )
    reported = cmd_report(report_args)  # first: `status or ...` would skip it for a failed run
    return status or reported  # the report says itself what went wrong


def cmd_merge(args: argparse.Namespace) -> int:
    from conformance import matrix, rundir

    try:
        out, records = rundir.merge_runs(args.run_dirs, args.out)
    except rundir.NotARunDir as exc:
        progress(f"artconf: error: {exc}")
        return EXIT_USAGE
    except rundir.RunDirError as exc:
        progress(f"artconf: error: {exc}")
        return EXIT_FAILED
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
        "--target",
        default="reference",
        help="reference (default), python:package.module:factory, plugin:SOCKET, "
        "plugin-exec:COMMAND or argo-go (docs/plugins.md)",
    )
    run.add_argument(
        "--declaration",
        metavar="FILE",
        help="what a plugin target supports (kinds, capabilities, deviations): YAML as in "
        "docs/plugins.md; default: artconf-plugin.yaml beside the plugin, else Argo's set",
    )
    run.add_argument("--backends", help="servers, comma-separated (default: all)")
    run.add_argument("--drivers", help="location types, comma-separated (default: all)")
    run.add_argument(
        "--tls", default="both", choices=("off", "on", "both"), help="server modes (default: both)"
    )
    run.add_argument(
        "--endpoints", metavar="FILE", help="use running servers from `artconf emulators up --json`"
    )
    run.add_argument(
        "--launcher",
        "--artconf-launcher",
        choices=("native", "containers"),
        help="how the servers run: native processes (default; also ARTCONF_LAUNCHER) or "
        "containers on a Docker engine (DOCKER_HOST's, else the kit starts its own dockerd as "
        "root); both prove the same cells",
    )
    run.add_argument("-n", default="auto", help="xdist workers (default: auto; 0 to disable)")
    run.add_argument("-k", help="only cases matching this pytest -k expression")
    run.add_argument("--shard", metavar="I/N", help="run shard I of N (merge with `merge`)")
    run.add_argument(
        "--run-id",
        help="run id (default: a timestamp to the millisecond and a random suffix); shards "
        "share one",
    )
    run.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="passed to pytest: -v names each case as it finishes (instead of a dot) and shows "
        "the failures' tracebacks (--tb=short); -vv also shows full assertion diffs",
    )
    run.add_argument(
        "--tb",
        choices=("auto", "long", "short", "line", "native", "no"),
        help="passed to pytest: the traceback of each failure, with its captured output "
        "(auto/long: full, short: the failing lines, line: one line each, native: Python's, "
        "no: none); default: no, or short with -v. The grouped failures are shown either way",
    )
    run.add_argument("--reports", default="reports", help="where run directories go")
    run.add_argument(
        "--report",
        action="store_true",
        help="then render <run dir>/report.html (also when cells failed; exit status stays "
        "the run's)",
    )
    run.set_defaults(func=cmd_run)

    merge = sub.add_parser("merge", help="merge the shard directories of one run")
    merge.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    merge.add_argument("--out", help="merged run directory (default: reports/<run-id>)")
    merge.set_defaults(func=cmd_merge)
