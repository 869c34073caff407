"""Turns the reports of matrix cases into records, and writes them into the run directory.

Runs in the controlling process only (xdist workers send their reports there). A case's three
reports (setup, call, teardown) make one `Record`, written at once to the run's journal so a
run killed later keeps every finished case; the session's end writes the final, atomic copy
with the run's metadata and the logs of the servers behind failing cases.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from conformance import kinds
from conformance.decision import CaseInfo
from conformance.records import Record, kit_sha
from conformance.rundir import RunWriter
from drivers.core.secrets import redact
from emulators.endpoint import Endpoint

PROGRESS_EVERY = 10.0  # seconds between progress lines
# Report properties: the case (a CaseInfo dict), a declared skip, an infra-error, a reference.
CASE, SKIP, INFRA, REFERENCE = "artconf", "artconf_skip", "artconf_infra", "artconf_reference"
SERVER = "artconf_server"  # the server key behind the case: its log and its version
# The server-log lines written while the case ran, and the line saying what they are
# (conformance.logwindow takes them where the case runs).
WINDOW, WINDOW_NOTE = "artconf_log_window", "artconf_log_window_note"
FAILING_OUTCOMES = ("fail", "xpass", "infra-error")
# Query and header values that carry credentials in any server's log.
LOG_REDACTIONS = (
    (r"(X-Amz-Credential=)[^&\s\"]+", r"\1<redacted>"),
    (r"(X-Amz-Signature=)[^&\s\"]+", r"\1<redacted>"),
    (r"([?&]sig=)[^&\s\"]+", r"\1<redacted>"),
    (r"(Authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n]+", r"\1<redacted>"),
)


def sdk_versions() -> dict[str, str]:
    """Python's version and that of every registered kind's SDK."""
    versions = {"python": sys.version.split()[0]}
    for kind in kinds.all_kinds().values():
        for name in kind.sdk_packages:
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                versions[name] = importlib.metadata.version(name)
    return versions


def redact_log(text: str, secrets: list[str]) -> str:
    for pattern, replacement in LOG_REDACTIONS:
        text = re.sub(pattern, replacement, text)
    return redact(text, secrets)


class Recorder:
    """Records of one run. `endpoint_of(server_key)` finds the server behind a case."""

    def __init__(
        self,
        *,
        run_id: str,
        target: str,
        run_dir: Path | None,
        endpoint_of: Callable[[str], Endpoint | None],
        secrets: Callable[[], Iterable[str]],
    ):
        self.run_id = run_id
        self.target = target
        self.writer = RunWriter(run_dir) if run_dir is not None else None
        self.endpoint_of = endpoint_of
        self._secret_source = secrets
        self.versions = sdk_versions()
        self.records: list[Record] = []
        self.total = 0
        self.finished = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last_progress = self.started
        self._reports: dict[str, list[pytest.TestReport]] = defaultdict(list)
        self._kit_sha: str | None = None
        self._secrets: list[str] = []
        self._logs: dict[str, str] = {}  # server key -> its log's path in the run directory

    # --- reports in, records out --------------------------------------------------------
    def add(self, report: pytest.TestReport) -> None:
        self._reports[report.nodeid].append(report)
        if report.when != "teardown":
            return
        record = self._finish(self._record(report.nodeid, self._reports.pop(report.nodeid)))
        self.records.append(record)
        self.finished += 1
        if self.writer is not None:
            self.writer.journal(record)
        if record.outcome in FAILING_OUTCOMES:
            self.failed += 1
        self.progress()

    def _record(self, nodeid: str, reports: list[pytest.TestReport]) -> Record:
        props: dict[str, Any] = {}
        for report in reports:
            props.update(dict(report.user_properties))
        info = CaseInfo.from_dict(props[CASE])
        outcome, reason = outcome_of({r.when: r for r in reports})
        skip = props.get(SKIP) or {}
        if INFRA in props:
            outcome, reason = "infra-error", props[INFRA]
        server = props.get(SERVER, "")
        endpoint = self.endpoint_of(server) if server else None
        failing = outcome in FAILING_OUTCOMES
        return Record(
            run_id=self.run_id,
            kit_sha="",
            target=self.target,
            driver=info.driver,
            backend=info.backend,
            mode=info.mode,
            capability=info.capability,
            case=info.case,
            case_id=nodeid,
            outcome=outcome,
            skip_by=skip.get("by", "") if outcome == "skip" else "",
            missing=skip.get("missing", "") if outcome == "skip" else "",
            duration=round(sum(r.duration for r in reports), 4),
            reason=reason,
            reference=props.get(REFERENCE, ""),
            log=server if failing else "",
            log_lines=str(props.get(WINDOW, "")) if failing else "",
            log_note=str(props.get(WINDOW_NOTE, "")) if failing else "",
            contract=info.contract,
            spec=info.spec,
            versions={**self.versions, "server": endpoint.version if endpoint else ""},
        )

    def _finish(self, record: Record) -> Record:
        """Redacted, stamped, its server's log copied so far: ready to be written at once."""
        if self._kit_sha is None:
            self._kit_sha, self._secrets = kit_sha(), list(self._secret_source())
        record.kit_sha = self._kit_sha
        record.reason = redact(record.reason, self._secrets)
        record.log_lines = redact_log(record.log_lines, self._secrets)  # as the copied log
        if record.log and self.writer is not None:
            key = record.log
            record.log = self._logs[key] if key in self._logs else self._copy_log(key)
            self._logs[key] = record.log
        return record

    def _copy_log(self, key: str) -> str:
        """Copy (redacted) the server log of `key` into the run; its path there, or ""."""
        endpoint = self.endpoint_of(key)
        if endpoint is None or not endpoint.log or not Path(endpoint.log).exists():
            return ""
        text = redact_log(Path(endpoint.log).read_text(errors="replace"), self._secrets)
        return self.writer.copy_log(key, text)

    # --- progress -------------------------------------------------------------------
    def progress(self, force: bool = False) -> None:
        if self.writer is None:
            return
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = now
        elapsed = now - self.started
        total = max(self.total, self.finished)
        eta = elapsed / self.finished * (total - self.finished) if self.finished else 0
        print(
            f"artconf: {self.finished}/{total} cases, {self.failed} failing, "
            f"{elapsed:.0f} s elapsed, ETA {eta:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    # --- the end ------------------------------------------------------------------------
    def finish(self, meta: dict[str, Any], *, shard: tuple[int, int] | None, **snapshots) -> None:
        """Write the final records and the run's metadata (no-op without a run directory)."""
        self.progress(force=True)
        if self.writer is None:
            return
        for key, copied in self._logs.items():
            if copied:
                self._copy_log(key)  # again: the whole log, up to the end of the run
        meta = {
            "kit_sha": self._kit_sha or kit_sha(),
            "duration_seconds": round(time.monotonic() - self.started, 1),
            "versions": self.versions,
            **meta,
        }
        self.writer.finish(self.records, meta, shard=shard, **snapshots)
        self.writer.close()


def outcome_of(by_phase: dict[str, pytest.TestReport]) -> tuple[str, str]:
    """A case's outcome and reason from its phase reports (set-up decides first)."""
    setup, call, teardown = (by_phase.get(p) for p in ("setup", "call", "teardown"))
    if setup is not None and setup.skipped:
        if hasattr(setup, "wasxfail"):
            return "xfail", setup.wasxfail
        return "skip", _skip_reason(setup)
    if setup is not None and setup.failed:
        return "fail", _failure(setup)
    if call is not None:
        if call.skipped:
            if hasattr(call, "wasxfail"):
                return "xfail", call.wasxfail
            return "skip", _skip_reason(call)
        if call.failed:
            text = _failure(call)
            return ("xpass", text) if "XPASS(strict)" in str(call.longrepr) else ("fail", text)
        if hasattr(call, "wasxfail"):
            return "xpass", call.wasxfail
    if teardown is not None and teardown.failed:
        return "fail", _failure(teardown)
    return "pass", ""


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


MAX_REASON = 2000  # characters of a failure's message kept in its record


def _failure(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return whole_lines(crash.message, MAX_REASON)
    return str(report.longrepr)[-MAX_REASON:]


def whole_lines(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a line's end, never inside a line of a
    diff; a last line saying how many lines were cut. A first line longer than `limit` is
    kept whole: the message's first line is its expected-vs-actual."""
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    kept, size = [], 0
    for line in lines:
        if kept and size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    cut = len(lines) - len(kept)
    return "\n".join(kept) + (f"\n({cut} more line{'s' * (cut != 1)} cut)" if cut else "")
