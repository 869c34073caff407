"""The `artconf` command line.

Every expected failure ends as one line on stderr and a non-zero exit code, never a traceback.
Progress goes to stderr, results to stdout (so `--json` output can be piped).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from conformance.commands import artifact, bench, clean, report, resolve, run, servers
from conformance.commands.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE
from emulators import detached, tools
from emulators.fleet import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artconf",
        description="Conformance kit for Argo Workflows artifact drivers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    servers.register(sub)
    artifact.register(sub)
    bench.register(sub)
    run.register(sub)
    resolve.register(sub)
    report.register(sub)
    clean.register(sub)
    return parser


EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    tools.ToolError,
    detached.AlreadyRunning,
    detached.StartFailed,
)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except UsageError as exc:
        print(f"artconf: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EXPECTED_ERRORS as exc:
        print(f"artconf: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(
            "artconf: interrupted; every server this command started was stopped", file=sys.stderr
        )
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
