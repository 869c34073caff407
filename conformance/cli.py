"""The `artconf` command line.

Every expected failure ends as one line on stderr and a non-zero exit code, never a traceback.
Progress goes to stderr, results to stdout (so `--json` output can be piped). Interrupted, a
command exits 130 (SIGINT, Ctrl-C) or 143 (SIGTERM) unless it handles the signal itself.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

from conformance.commands import (
    artifact,
    bench,
    clean,
    gc,
    init_driver,
    plugin,
    report,
    resolve,
    run,
    servers,
)
from conformance.commands.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE
from emulators.errors import UsageError

# Every module imported here is light (argparse and the standard library at top level): the
# command modules import the SDKs, the servers, pytest and pandas inside the commands that
# need them, so that `artconf --help` and a refused option answer at once.


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artconf",
        description="Conformance kit for Argo Workflows artifact drivers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    servers.register(sub)
    artifact.register(sub)
    init_driver.register(sub)
    bench.register(sub)
    run.register(sub)
    plugin.register(sub)
    resolve.register(sub)
    gc.register(sub)
    report.register(sub)
    clean.register(sub)
    return parser


#: Expected failures besides UsageError, as (module, class): one line, exit 1. Looked up only
#: in modules already imported, since an exception whose class never loaded cannot have been
#: raised, and importing these modules up front would load the server fleet for every command.
EXPECTED_ERRORS: tuple[tuple[str, str], ...] = (
    ("emulators.tools", "ToolError"),
    ("emulators.detached", "AlreadyRunning"),
    ("emulators.detached", "StartFailed"),
)


def is_expected(exc: BaseException) -> bool:
    for module_name, class_name in EXPECTED_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a process SIGTERM ended


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup (servers, temp files) runs."""


@contextlib.contextmanager
def interrupts_noted() -> Iterator[list[int]]:
    """While the block runs, SIGINT raises KeyboardInterrupt and SIGTERM Terminated.

    Each signal is also noted in the list yielded: Python drops (and prints) an exception
    raised in a `__del__`, so an interrupt can go missing; it is noted, and not printed. A
    signal whose disposition is not the default one (ignored, or a handler of someone else) is
    left alone, and a command may install its own handler inside the block: either then takes
    precedence.
    """
    received: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    def unraisable(report: Any) -> None:
        if not (received and isinstance(report.exc_value, KeyboardInterrupt)):
            hook(report)

    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    replaced = {}
    if threading.current_thread() is threading.main_thread():
        replaced = {
            sig: signal.signal(sig, interrupt)
            for sig, default in defaults.items()
            if signal.getsignal(sig) is default
        }
    hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield received
    finally:
        sys.unraisablehook = hook
        for sig, handler in replaced.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        with interrupts_noted() as received:
            code = func(args)
        if received and code not in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            raise Terminated if received[0] == signal.SIGTERM else KeyboardInterrupt
        return code
    except UsageError as exc:
        print(f"artconf: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if not is_expected(exc):
            raise
        print(f"artconf: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"artconf: {how}; every server this command started was stopped", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
