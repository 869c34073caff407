"""The server-log lines written while a case ran: its window of the server's log.

A failing card used to show the start of the whole copied server log (the server's banner).
This plugin notes the size of the case's server log when the case's set-up starts and reads
what was appended by the time its teardown ends. It runs where the case runs (an xdist worker,
under `-n`), so the window travels to the controlling process in the teardown report's
`user_properties` (WINDOW, WINDOW_NOTE), and the recorder keeps it in the record
(`Record.log_lines`, `Record.log_note`) of a failing case.

The window is redacted like a copied log (`recorder.redact_log`) and capped (MAX_LINES lines,
MAX_BYTES bytes; the note says how many lines were cut). A server shared by parallel workers
writes other cases' lines into the same window: the note says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.recorder import WINDOW, WINDOW_NOTE, redact_log
from conformance.redaction import secret_values
from emulators.endpoint import Endpoint

MAX_LINES = 60
MAX_BYTES = 8 * 1024
CHUNK = 64 * 1024
NOTHING = "(the server logged nothing while the case ran)"
_START = pytest.StashKey[tuple[str, int]]()  # the log's path and its size at the case's start
_BROKEN = pytest.StashKey[bool]()  # a phase failed, or a declared failure did not show


def log_size(path: str) -> int | None:
    """The size of the log file at `path`, or None when there is none (yet)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def read_window(path: str, start: int, end: int | None = None) -> tuple[str, int]:
    """The last lines written to `path` between byte offsets `start` and `end` (default: its
    size now), capped at MAX_LINES lines and MAX_BYTES bytes, and how many lines were cut.

    A log that shrank meanwhile (rotated or truncated) is read from its start. Memory stays
    bounded however large the window: only its last CHUNK bytes are kept, the lines before
    them counted.
    """
    size = log_size(path)
    if size is None:
        return "", 0
    end = size if end is None else min(end, size)
    if end < start:
        start = 0
    cut = 0
    with open(path, "rb") as handle:
        tail_from = max(start, end - CHUNK)
        handle.seek(start)
        position = start
        while position < tail_from:  # count the lines before the kept tail, without keeping them
            block = handle.read(min(CHUNK, tail_from - position))
            if not block:
                break
            cut += block.count(b"\n")
            position += len(block)
        at_line_start = True
        if tail_from > start:
            handle.seek(tail_from - 1)
            at_line_start = handle.read(1) == b"\n"
        handle.seek(tail_from)
        data = handle.read(end - tail_from)
    lines = data.decode("utf-8", errors="replace").splitlines()
    if not at_line_start and lines:
        lines = lines[1:]  # it began before the kept tail: the rest of a line counted as cut
        cut += 1
    kept: list[str] = []
    total = 0
    for line in reversed(lines):
        size_of = len(line.encode()) + 1
        if len(kept) >= MAX_LINES or total + size_of > MAX_BYTES:
            break
        kept.append(line)
        total += size_of
    cut += len(lines) - len(kept)
    return "\n".join(reversed(kept)), cut


def window_note(*, cut: int, parallel: bool, empty: bool) -> str:
    """One line above the window saying what it is."""
    if empty:
        return NOTHING
    note = "lines written while the case ran"
    if parallel:
        note += " (other cases may interleave)"
    if cut:
        note += f"; {cut} earlier line{'s' * (cut != 1)} cut, the whole log is linked"
    return note


class LogWindow:
    """Hooks that take each matrix case's window of its server's log."""

    def __init__(self, endpoint_of: Callable[[pytest.Item], Endpoint | None]):
        self.endpoint_of = endpoint_of

    def _log_of(self, item: pytest.Item) -> str | None:
        endpoint = self.endpoint_of(item)
        return endpoint.log if endpoint is not None and endpoint.log else None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        path = self._log_of(item)
        if path is not None:
            item.stash[_START] = (path, log_size(path) or 0)  # no file yet: it starts empty
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[Any]
    ) -> Iterator[None]:
        report: pytest.TestReport = yield
        start = item.stash.get(_START, None)
        if start is None:
            return report
        # Only a case the recorder will show as failing carries its window to the controller.
        if report.failed or (report.passed and hasattr(report, "wasxfail")):
            item.stash[_BROKEN] = True
        if report.when == "teardown" and item.stash.get(_BROKEN, False):
            report.user_properties.extend(self.window(item, *start))
        return report

    def window(self, item: pytest.Item, path: str, start: int) -> list[tuple[str, str]]:
        """The (WINDOW, WINDOW_NOTE) properties of the case's window, redacted."""
        text, cut = read_window(path, start)
        text = redact_log(text, list(secret_values(item.config)))
        parallel = hasattr(item.config, "workerinput")  # a worker: others share the server
        note = window_note(cut=cut, parallel=parallel, empty=not text.strip())
        return [(WINDOW, text), (WINDOW_NOTE, note)]
