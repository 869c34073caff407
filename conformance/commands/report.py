"""`artconf report`: the matrix report of one or more run directories, as self-contained HTML.

Executes notebooks/matrix_report.ipynb headless on the `artconf-kit` kernel (installed into
this environment on first use), then writes `<run dir>/report.html` (or --out) and the executed
notebook beside it (same name, .ipynb). The report compares the run with the newest earlier run
beside it (or --previous) and shows the trend of the last --trend runs.

Damage is reported in one line each on stderr:
- an earlier run that is damaged (unreadable run.json or records, an unknown outcome) or
  partial is left out of the comparison and the trend: a warning, and a note on the page;
- this run, when partial (interrupted) or when its records file ends in a truncated line (the
  line is left out): a warning, and a warning on the page;
- this run, damaged otherwise: an error naming the file and line; no page, exit status 1;
- this run without any record: the page is written (it says no case ran) but the exit status
  is 1, as nothing was verified.
Interrupted, the command exits 130 (SIGINT) or 143 (SIGTERM) and leaves no partial HTML.

--summary-md FILE also writes the headline and the new failures since the previous run as
Markdown (e.g. $GITHUB_STEP_SUMMARY, as the nightly workflow does), once the page is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, progress


def cmd_report(args: argparse.Namespace) -> int:
    from conformance import report, rundir

    run_dirs = args.run_dirs or [f"reports/{rundir.LATEST}"]
    missing = [d for d in [*run_dirs, args.previous or ""] if d and not rundir.is_run_dir(Path(d))]
    if missing:
        progress(f"artconf: error: {missing[0]}: not a run directory (no {rundir.RECORDS})")
        return EXIT_USAGE
    if args.trend < 1:
        progress("artconf: error: --trend must be 1 or more")
        return EXIT_USAGE
    try:
        result = report.build_report(
            run_dirs, out=args.out, previous=args.previous, trend=args.trend, warn=_warn
        )
    except (rundir.RunDirError, report.ReportError) as exc:
        progress(f"artconf: error: {exc}")
        return EXIT_FAILED
    print(result["html"])
    if args.summary_md:
        from conformance.report.summary import summary_markdown

        text = summary_markdown(result["run"], result["previous"], result["html"])
        with open(args.summary_md, "a", encoding="utf-8") as out:  # a job summary appends
            out.write(text)
    if not result["records"]:
        progress(f"artconf: error: the run has no records: no case ran; see {result['html']}")
        return EXIT_FAILED
    progress(
        f"artconf: report of {result['records']} records in {result['seconds']:.1f} s: "
        f"{result['html']} ({result['html_bytes']:,} bytes), notebook {result['notebook']}"
    )
    return EXIT_OK


def _warn(note: str) -> None:
    progress(f"artconf: warning: {' '.join(note.split())}")  # one line, whatever the note holds


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="the matrix report of run directories, as self-contained HTML",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "run_dirs",
        nargs="*",
        metavar="RUN_DIR",
        help="run directories read as one run (default: reports/latest)",
    )
    parser.add_argument(
        "--previous",
        metavar="RUN_DIR",
        help="the run to compare with (default: the newest earlier run beside the first RUN_DIR)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE.html",
        help="the HTML to write (default: <first RUN_DIR>/report.html)",
    )
    parser.add_argument(
        "--trend", type=int, default=10, help="runs in the trend, this one included (default 10)"
    )
    parser.add_argument(
        "--summary-md",
        metavar="FILE",
        help="also append the headline and the new failures, as Markdown, to FILE "
        "(e.g. $GITHUB_STEP_SUMMARY)",
    )
    parser.set_defaults(func=cmd_report)
