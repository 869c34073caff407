"""The `artconf` executable's first lines.

Loading the command line takes a moment (the heavy modules load later, inside each command);
a Ctrl-C or SIGTERM in that moment would print a traceback from deep inside an import. Until
`conformance.cli` is loaded, either signal ends the command with one line and its usual exit
code; nothing has started yet, so there is nothing to clean up. A signal that was ignored
when we started stays ignored.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _quit(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"artconf: interrupted while starting\n")
    os._exit(128 + signum)


def main() -> int:
    defaults = (signal.default_int_handler, signal.SIG_DFL)
    saved = {s: signal.signal(s, _quit) for s in _SIGNALS if signal.getsignal(s) in defaults}
    from conformance import cli

    for signum, handler in saved.items():
        signal.signal(signum, handler)
    return cli.main()
