"""The matrix report: run directories in, HTML fragments out, executed as a notebook.

`notebooks/matrix_report.ipynb` (built by `notebooks/build_matrix_report.py`) stays thin: each
of its cells calls one function here. `build_report` executes it headless with nbclient on the
`artconf-kit` kernel (installed into this environment on first use) and exports one
self-contained HTML file: every style and script is inline, nothing is loaded from a network.

Words used below:
- a *run* is one or more run directories read together (e.g. the shards of one run);
- a *cell* is (driver, capability, column), column being the backend plus `-tls` in TLS mode;
- the *previous run* is, by default, the newest run directory beside the first one whose run id
  sorts before the current run id (ids are timestamps; digits compare as numbers); an earlier
  run that is damaged or partial is skipped, for the diff and the trend, and noted on the page;
- a cell is *flaky* in the trend when one run differs from the runs on both sides (A B A).
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import html
import itertools
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from conformance.matrix import CELL_STATES, SYMBOLS, cells, frame
from conformance.records import OUTCOMES, Record, read_records, summary

KERNEL_NAME = "artconf-kit"
REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "matrix_report.ipynb"
KEY = ["driver", "capability", "column"]
TREND_RUNS = 10
TAIL_LINES = 20
MAX_FAILURES = 100  # listed with a log tail; the rest in a compact table
MAX_TREND_ROWS = 200

# Colour (background, text) and meaning of each cell state; the legend follows CELL_STATES.
STATE_STYLE = {
    "infra-error": ("#6f42c1", "#ffffff"),
    "failed": ("#cf222e", "#ffffff"),
    "xpass": ("#e16f24", "#ffffff"),
    "known-deviation": ("#f2cc60", "#3b2300"),
    "verified": ("#2da44e", "#ffffff"),
    "unsupported-by-driver": ("#a5c8e4", "#0b2f4f"),
    "unsupported-by-backend": ("#d0d7de", "#24292f"),
    "not-run": ("#f6f8fa", "#57606a"),
}
STATE_MEANING = {
    "infra-error": "a server or the harness broke; the driver was not judged",
    "failed": "a case failed",
    "xpass": "a declared deviation or known bug did not show: it passed unexpectedly",
    "known-deviation": "differs from Argo on purpose (see the deviation registry)",
    "verified": "every case that ran passed",
    "unsupported-by-driver": "the driver does not declare the capability",
    "unsupported-by-backend": "this server cannot prove the capability (see fidelity notes)",
    "not-run": "no case of the capability ran in this column",
}
FAIL_OUTCOMES = ("infra-error", "fail", "xpass")
BROKEN = frozenset({"failed", "infra-error"})


class ReportError(Exception):
    """An expected problem (bad run directory, kernel, notebook): one line for the user."""


# --- loading ----------------------------------------------------------------------------------
@dataclass
class Run:
    """One or more run directories read as one run."""

    dirs: list[Path]
    meta: dict[str, Any]
    records: list[Record]
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    deviations: list[dict[str, Any]] = field(default_factory=list)
    origin: dict[str, Path] = field(default_factory=dict)  # case id -> its run directory
    warnings: list[str] = field(default_factory=list)  # a partial run, a truncated records file
    skipped: list[str] = field(default_factory=list)  # earlier runs left out, and why
    _cells: pd.DataFrame | None = None

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id", self.dirs[0].name))

    @property
    def cells(self) -> pd.DataFrame:
        if self._cells is None:
            self._cells = cell_table(self.records)
        return self._cells

    @property
    def partial(self) -> bool:
        """The run was interrupted (`"partial": true` in run.json): some cases never ran."""
        return bool(self.meta.get("partial"))


def natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / "records.jsonl").is_file()


def looks_like_run_dir(path: Path) -> bool:
    """A run directory, or one that was meant to be (a run.json but no records.jsonl)."""
    return path.is_dir() and (is_run_dir(path) or any(path.glob("run*.json")))


def read_meta(run_dir: Path) -> dict[str, Any]:
    """run.json, or the run-<i>of<n>.json files of shards merged."""
    paths = sorted(run_dir.glob("run*.json"))
    meta: dict[str, Any] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ReportError(f"{path}: not a run.json: {exc}") from None
        if not isinstance(data, dict):
            raise ReportError(f"{path}: not a run.json: a JSON {type(data).__name__}")
        try:
            _merge_meta(meta, data)
        except (TypeError, ValueError) as exc:  # e.g. a duration that is not a number
            raise ReportError(f"{path}: not a run.json: {exc}") from None
    return meta


def partial_note(meta: dict[str, Any]) -> str:
    """The warning for an interrupted run, naming the signal when run.json records it."""
    by = meta.get("interrupted_by")
    how = f"interrupted by {by}" if by else "interrupted"
    return f"partial run ({how}): cases that did not run are missing from the matrix"


def _merge_meta(into: dict[str, Any], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key == "duration_seconds":
            into[key] = max(float(into.get(key, 0) or 0), float(value or 0))
        elif key == "backends":
            into[key] = sorted({*into.get(key, []), *value})
        elif isinstance(value, dict):
            into[key] = {**into.get(key, {}), **value}
        elif key not in into or not into[key]:
            into[key] = value
        elif into[key] != value and key in ("run_id", "kit_sha", "target", "shard"):
            known = str(into[key]).split(", ")
            if str(value) not in known:
                into[key] = ", ".join([*known, str(value)])


def load_run(*run_dirs: str | Path) -> Run:
    """Read run directories (symlinks such as `reports/latest` resolved) as one run."""
    if not run_dirs:
        raise ReportError("no run directory given")
    dirs = []
    for given in run_dirs:
        path = Path(given).resolve()
        if not is_run_dir(path):
            raise ReportError(f"{given}: not a run directory (no records.jsonl)")
        dirs.append(path)
    meta: dict[str, Any] = {}
    by_case: dict[str, Record] = {}
    origin: dict[str, Path] = {}
    profiles: dict[str, dict[str, Any]] = {}
    deviations: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for path in dirs:
        _merge_meta(meta, read_meta(path))
        try:
            for record in read_records(path / "records.jsonl", warnings=warnings):
                by_case[record.case_id] = record  # a later directory wins
                origin[record.case_id] = path
        except OSError as exc:
            raise ReportError(
                f"{path / 'records.jsonl'}: cannot read: {exc.strerror or exc}"
            ) from None
        except ValueError as exc:
            raise ReportError(str(exc)) from None
        for profile in sorted((path / "profiles").glob("*.yaml")):
            data = _yaml(profile)
            if isinstance(data, dict):
                profiles[str(data.get("server", profile.stem))] = data
        rows = _yaml(path / "deviations.yaml")
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and "id" in row:
                deviations[str(row["id"])] = row
    records = list(by_case.values())
    if not meta.get("run_id") and records:
        meta["run_id"] = records[0].run_id
    if meta.get("partial"):
        warnings.insert(0, partial_note(meta))
    return Run(dirs, meta, records, profiles, list(deviations.values()), origin, warnings)


def _yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, ValueError) as exc:
        message = " ".join(str(exc).split())  # PyYAML's message spans lines: keep one
        raise ReportError(f"{path}: not YAML: {message}") from None


def history(run: Run, reports: Path | None = None) -> list[Path]:
    """Run directories beside the run (or in `reports`) with an earlier run id, oldest first.

    A directory whose run.json cannot be read, or that has a run.json but no records, is left
    out and noted in `run.skipped`.
    """
    parent = reports or run.dirs[0].parent
    current = {d.resolve() for d in run.dirs}
    key = natural_key(run.run_id)
    earlier = []
    for path in parent.iterdir() if parent.is_dir() else []:
        if path.is_symlink() or path.resolve() in current or not looks_like_run_dir(path):
            continue
        if not is_run_dir(path):
            _skip(run, path, "no records.jsonl")
            continue
        try:
            run_id = str(read_meta(path).get("run_id", path.name))
        except ReportError as exc:
            _skip(run, path, str(exc))
            continue
        if natural_key(run_id) < key:
            earlier.append((natural_key(run_id), path))
    return [path for _, path in sorted(earlier)]


def _skip(run: Run, path: Path, why: str) -> None:
    note = f"skipped earlier run {path}: {why}"
    if note not in run.skipped:  # history is read once for the diff and once for the trend
        run.skipped.append(note)


def earlier_runs(run: Run, count: int) -> list[Run]:
    """The newest `count` usable runs before this one, oldest first.

    A damaged or partial run is skipped (and noted in `run.skipped`): the one before it is used
    instead, so the diff and the trend compare complete runs only.
    """
    loaded: list[Run] = []
    for path in reversed(history(run)):
        if len(loaded) >= count:
            break
        try:
            before = load_run(path)
        except ReportError as exc:
            _skip(run, path, str(exc))
            continue
        if before.warnings:
            _skip(run, path, before.warnings[0])
            continue
        loaded.append(before)
    return loaded[::-1]


def previous_run(run: Run, previous: str | Path | None = None) -> Run | None:
    """`previous` if given, else the newest usable earlier run beside this one, else None."""
    if previous:
        return load_run(previous)
    earlier = earlier_runs(run, 1)
    return earlier[-1] if earlier else None


def trend_runs(run: Run, count: int = TREND_RUNS) -> list[Run]:
    """The last `count` runs, oldest first, ending with this one."""
    return [*earlier_runs(run, count - 1), run] if count > 1 else [run]


def load_all(
    run_dirs: Sequence[str | Path], previous: str | Path | None = None, count: int = TREND_RUNS
) -> tuple[Run, Run | None, list[Run]]:
    """The run, the run it is compared with (or None) and the runs of the trend, oldest first.

    The default previous run is the newest earlier one, i.e. the one before last in the trend.
    A `previous` given is used even when partial or truncated, with a warning saying so.
    """
    run = load_run(*run_dirs)
    runs = trend_runs(run, max(2, count))
    if previous:
        before: Run | None = load_run(previous)
        run.warnings += [f"the run compared with, {previous}: {note}" for note in before.warnings]
    else:
        before = runs[-2] if len(runs) > 1 else None
    return run, before, runs[-count:] if count > 0 else [run]


# --- tables -----------------------------------------------------------------------------------
def cell_table(records: Sequence[Record]) -> pd.DataFrame:
    """matrix.cells plus backend, mode and the number of cases per cell."""
    table = cells(records)
    if table.empty:
        return pd.DataFrame(columns=[*KEY, "state", "reason", "backend", "mode", "cases"])
    counts = frame(records).groupby(KEY).size().rename("cases").reset_index()
    table = table.merge(counts, on=KEY, how="left")
    table["cases"] = table["cases"].fillna(0).astype(int)
    tls = table["column"].str.endswith("-tls")
    table["backend"] = table["column"].where(~tls, table["column"].str.removesuffix("-tls"))
    table["mode"] = tls.map({True: "tls", False: "plain"})
    return table


def state_counts(table: pd.DataFrame) -> dict[str, int]:
    counts = table["state"].value_counts().to_dict() if not table.empty else {}
    return {state: int(counts.get(state, 0)) for state in CELL_STATES}


def diff(current: Run, previous: Run | None) -> dict[str, pd.DataFrame] | None:
    """Cells that changed since `previous`: new failures, fixes, unexpected passes, others."""
    if previous is None:
        return None
    now = current.cells[[*KEY, "state", "reason"]]
    before = previous.cells[[*KEY, "state", "reason"]].rename(
        columns={"state": "previous", "reason": "previous_reason"}
    )
    both = now.merge(before, on=KEY, how="outer")
    both["state"] = both["state"].fillna("(absent)")
    both["previous"] = both["previous"].fillna("(absent)")
    both["reason"] = both["reason"].fillna("")
    was = "was: " + both["previous_reason"].fillna("")
    both["reason"] = both["reason"].where(both["reason"] != "", was.where(was != "was: ", ""))
    changed = both[both["state"] != both["previous"]].sort_values(KEY, ignore_index=True)
    new_failure = changed["state"].isin(BROKEN) & ~changed["previous"].isin(BROKEN)
    xpass = changed["state"].eq("xpass")
    fixed = changed["previous"].isin(BROKEN | {"xpass"}) & ~changed["state"].isin(
        BROKEN | {"xpass", "(absent)"}
    )
    return {
        "new failures": changed[new_failure],
        "fixes": changed[fixed],
        "unexpected passes": changed[xpass],
        "other changes": changed[~(new_failure | xpass | fixed)],
    }


def flaky(states: Iterable[str | None]) -> bool:
    """True when a state lasts one run between two runs that agree (A B A); gaps are ignored.

    A failure that stays for two runs and is then fixed (A B B A) is a change, not a flake.
    """
    seen = [s for s in states if isinstance(s, str)]
    return any(a == c != b for a, b, c in zip(seen, seen[1:], seen[2:]))


def trend(runs: Sequence[Run]) -> pd.DataFrame:
    """Rows: cells that changed state in `runs`; columns: run ids (oldest first), `flaky`."""
    if not runs:
        return pd.DataFrame()
    frames = []
    for run in runs:
        table = run.cells[[*KEY, "state"]].copy()
        table["run"] = run.run_id
        frames.append(table)
    long = pd.concat(frames, ignore_index=True)
    wide = long.pivot_table(index=KEY, columns="run", values="state", aggfunc="first")
    wide = wide.reindex(columns=[run.run_id for run in runs])
    varying = wide.apply(lambda row: row.dropna().nunique() > 1, axis=1)
    wide = wide[varying].copy()
    wide["flaky"] = wide.apply(lambda row: flaky(row.tolist()), axis=1).astype(bool)
    wide["flips"] = wide.drop(columns="flaky").apply(_flips, axis=1).astype(int)
    return wide.sort_values(["flaky", "flips"], ascending=False)


def _flips(row: pd.Series) -> int:
    states = row.dropna().tolist()
    return sum(1 for a, b in itertools.pairwise(states) if a != b)


def log_tail(path: Path, lines: int = TAIL_LINES, width: int = 300) -> str:
    """The last `lines` lines of a (possibly large) log, each cut to `width` characters."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 256 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    tail = text.splitlines()[-lines:]
    return "\n".join(line if len(line) <= width else line[:width] + " …" for line in tail)


# --- HTML -------------------------------------------------------------------------------------
def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


CSS = """
.artconf { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  color: #1f2328; max-width: 1280px; }
.artconf h2 { font-size: 1.25em; margin: 1.6em 0 .5em; padding-bottom: .2em;
  border-bottom: 1px solid #d0d7de; }
.artconf h3 { font-size: 1.05em; margin: 1.1em 0 .4em; }
.artconf table { border-collapse: collapse; margin: .3em 0 1em; }
.artconf th, .artconf td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left;
  vertical-align: top; }
.artconf th { background: #f6f8fa; font-weight: 600; }
.artconf code, .artconf pre { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
.artconf pre { background: #f6f8fa; padding: 6px 8px; overflow-x: auto; margin: .3em 0;
  white-space: pre-wrap; word-break: break-all; }
.artconf .muted { color: #57606a; }
.artconf .kv th { width: 11em; }
.artconf .badges { display: flex; flex-wrap: wrap; gap: 6px; margin: .4em 0; }
.artconf .badge { display: inline-block; padding: 2px 9px; border-radius: 12px;
  border: 1px solid rgba(0,0,0,.15); font-weight: 600; font-size: 13px; }
.artconf .verdict { font-size: 1.1em; font-weight: 700; padding: 6px 12px; border-radius: 6px;
  display: inline-block; margin: .2em 0 .6em; }
.artconf .grid td.cell { text-align: center; min-width: 3.2em; font-weight: 700;
  cursor: help; }
.artconf .grid th.cap { font-weight: 500; font-family: ui-monospace, "DejaVu Sans Mono",
  monospace; font-size: 12.5px; }
.artconf .grid caption { text-align: left; font-weight: 700; font-size: 1.05em;
  padding: .3em 0; }
.artconf .grids { display: flex; flex-wrap: wrap; gap: 10px 28px; align-items: flex-start; }
.artconf .legend { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: .4em 0 .8em; }
.artconf .legend .item { display: flex; align-items: center; gap: 6px; cursor: pointer;
  user-select: none; }
.artconf .legend .item.active { outline: 2px solid #0969da; outline-offset: 2px; }
.artconf .legend .swatch { display: inline-block; width: 1.9em; text-align: center;
  border-radius: 3px; font-weight: 700; border: 1px solid rgba(0,0,0,.15); }
.artconf tr.dimmed { opacity: .25; }
.artconf .failure { border: 1px solid #d0d7de; border-left: 5px solid #cf222e;
  padding: 6px 10px; margin: .5em 0; border-radius: 4px; }
.artconf .failure.infra-error { border-left-color: #6f42c1; }
.artconf .failure.xpass { border-left-color: #e16f24; }
.artconf .failure .case { font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  font-weight: 600; word-break: break-all; }
.artconf .profile { border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 12px;
  margin: .5em 0; }
.artconf .profile ul { margin: .3em 0; padding-left: 1.4em; }
.artconf .flag { background: #fff1e5; color: #953800; border: 1px solid #e16f24;
  border-radius: 10px; padding: 0 7px; font-size: 12px; font-weight: 700; }
.artconf .dot { display: inline-block; width: 1.7em; text-align: center; border-radius: 3px;
  font-weight: 700; }
.artconf .none { color: #57606a; font-style: italic; }
.artconf .warnings { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px;
  padding: 6px 12px 6px 2em; margin: .2em 0 .8em; color: #3b2300; }
.artconf .warnings li { margin: .15em 0; word-break: break-word; }
"""

SCRIPT = """
(function () {
  var root = document.currentScript && document.currentScript.closest('.artconf');
  root = root || document.querySelector('.artconf');
  var items = document.querySelectorAll('.artconf .legend .item');
  var rows = document.querySelectorAll('.artconf table.grid tbody tr');
  var active = null;
  function apply() {
    items.forEach(function (it) { it.classList.toggle('active', it.dataset.state === active); });
    rows.forEach(function (row) {
      var hit = !active || row.querySelector('td.cell[data-state="' + active + '"]');
      row.classList.toggle('dimmed', !hit);
    });
  }
  items.forEach(function (it) {
    it.addEventListener('click', function () {
      active = active === it.dataset.state ? null : it.dataset.state;
      apply();
    });
  });
  var counts = {};
  document.querySelectorAll('.artconf td.cell').forEach(function (td) {
    counts[td.dataset.state] = (counts[td.dataset.state] || 0) + 1;
  });
  items.forEach(function (it) {
    var n = it.querySelector('.n');
    if (n) { n.textContent = '(' + (counts[it.dataset.state] || 0) + ')'; }
  });
  document.documentElement.setAttribute('data-artconf-ready', 'yes');
})();
"""


def section(title: str, anchor: str, body: str) -> str:
    return f'<div class="artconf" id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</div>'


def style_html() -> str:
    return f"<style>{CSS}</style>"


def script_html() -> str:
    """Legend filter and cell counts; marks the page `data-artconf-ready` once it ran."""
    return f"<script>{SCRIPT}</script>"


def state_badge(state: str, text: str | None = None, cls: str = "badge") -> str:
    bg, fg = STATE_STYLE.get(state, ("#ffffff", "#1f2328"))
    label = esc(text if text is not None else state)
    return f'<span class="{cls}" style="background:{bg};color:{fg}">{label}</span>'


def _kv(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def verdict(run: Run) -> tuple[str, str]:
    """(cell state whose colour the verdict takes, its text): green only for a complete run."""
    states = state_counts(run.cells)
    failing = sum(states[s] for s in ("infra-error", "failed", "xpass"))
    if not run.records:
        return "not-run", "no case ran: the run has no records"
    if failing:
        text = f"{failing} failing cell{'s' * (failing != 1)}"
        return "failed", text + (" (partial run)" if run.partial else "")
    if run.partial:
        return (
            "not-run",
            "incomplete: the cells that ran pass or are declared, but the run was cut short",
        )
    return "verified", "all cells pass or are declared"


def warnings_html(run: Run) -> str:
    """The run's own warnings, then the earlier runs left out of the diff and the trend."""
    items = [f'<li data-warning="run">{esc(note)}</li>' for note in run.warnings]
    items += [f'<li data-warning="skipped">{esc(note)}</li>' for note in run.skipped]
    if not items:
        return ""
    return f'<ul class="warnings" id="warnings">{"".join(items)}</ul>'


def headline_html(run: Run) -> str:
    meta = run.meta
    counts = summary(run.records)
    states = state_counts(run.cells)
    verdict_state, verdict_text = verdict(run)
    outcome_badges = "".join(
        f'<span class="badge" data-outcome="{esc(o)}">{esc(o)}: {counts.get(o, 0)}</span>'
        for o in OUTCOMES
    )
    state_badges = "".join(
        state_badge(s, f"{SYMBOLS[s]} {s}: {states[s]}") for s in CELL_STATES if states[s]
    )
    servers = meta.get("servers") or {}
    versions = meta.get("versions") or {}
    duration = meta.get("duration_seconds")
    rows = [
        ("run", esc(meta.get("run_id", run.run_id))),
        ("target", f"<code>{esc(meta.get('target', '?'))}</code>"),
        ("kit SHA", f"<code>{esc(meta.get('kit_sha', '?'))}</code>"),
        ("duration", f"{float(duration):.1f} s" if duration not in (None, "") else "?"),
        ("cases", f"{len(run.records)} in {len(run.cells)} cells"),
        (
            "servers",
            ", ".join(f"{esc(k)} <code>{esc(v)}</code>" for k, v in sorted(servers.items()))
            or '<span class="none">none recorded</span>',
        ),
        (
            "libraries",
            ", ".join(f"{esc(k)} <code>{esc(v)}</code>" for k, v in sorted(versions.items()))
            or '<span class="none">none recorded</span>',
        ),
        ("directories", "<br>".join(f"<code>{esc(d)}</code>" for d in run.dirs)),
    ]
    body = (
        state_badge(verdict_state, verdict_text, cls="verdict")
        + warnings_html(run)
        + f'<div class="badges" id="outcomes">{outcome_badges}</div>'
        + f'<div class="badges" id="cell-states">{state_badges}</div>'
        + _kv(rows)
    )
    return section(f"Conformance matrix: run {run.run_id}", "headline", body)


def legend_html() -> str:
    items = "".join(
        f'<span class="item" data-state="{s}" title="{esc(STATE_MEANING[s])}">'
        f"{state_badge(s, SYMBOLS[s], cls='swatch')} {esc(s)} "
        f'<span class="n muted"></span></span>'
        for s in CELL_STATES
    )
    return f'<div class="legend" id="legend">{items}</div>'


def cell_title(row: Any) -> str:
    reason = row.reason or STATE_MEANING[row.state]
    cases = f"{row.cases} case{'s' * (row.cases != 1)}"
    return f"{row.state}: {reason}\n{row.driver} · {row.capability} · {row.column} ({cases})"


def grid_html(run: Run) -> str:
    table = run.cells
    if table.empty:
        return section("Matrix", "grid", '<p class="none">no cases ran</p>')
    parts = []
    for driver, block in table.groupby("driver", sort=True):
        columns = (
            block[["backend", "mode", "column"]]
            .drop_duplicates()
            .sort_values(["backend", "mode"])
            .itertuples(index=False)
        )
        columns = list(columns)
        backends: dict[str, int] = {}
        for col in columns:
            backends[col.backend] = backends.get(col.backend, 0) + 1
        head1 = '<th rowspan="2">capability</th>' + "".join(
            f'<th colspan="{n}">{esc(b)}</th>' for b, n in backends.items()
        )
        head2 = "".join(f"<th>{esc(col.mode)}</th>" for col in columns)
        index = {(r.capability, r.column): r for r in block.itertuples(index=False)}
        rows = []
        for capability in sorted(block["capability"].unique()):
            tds = []
            for col in columns:
                row = index.get((capability, col.column))
                if row is None:
                    tds.append('<td class="empty"></td>')
                    continue
                bg, fg = STATE_STYLE[row.state]
                tds.append(
                    f'<td class="cell" data-state="{row.state}" data-driver="{esc(driver)}" '
                    f'data-capability="{esc(capability)}" data-column="{esc(col.column)}" '
                    f'title="{esc(cell_title(row))}" style="background:{bg};color:{fg}">'
                    f"{esc(SYMBOLS[row.state])}</td>"
                )
            rows.append(f'<tr><th class="cap">{esc(capability)}</th>{"".join(tds)}</tr>')
        parts.append(
            f'<table class="grid" data-driver="{esc(driver)}"><caption>{esc(driver)}</caption>'
            f"<thead><tr>{head1}</tr><tr>{head2}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    hint = (
        '<p class="muted">Hover a cell for its reason; click a legend entry to highlight the '
        "rows with that state.</p>"
    )
    body = legend_html() + hint + f'<div class="grids">{"".join(parts)}</div>'
    return section("Matrix: driver x capability, by backend and mode", "grid", body)


def _link(reference: str) -> str:
    if re.match(r"https?://", reference):
        return f'<a href="{esc(reference)}">{esc(reference)}</a>'
    return esc(reference)


def fidelity_html(run: Run) -> str:
    ran = {b.removesuffix("-tls") for b in run.meta.get("backends") or []}
    ran |= {r.backend for r in run.records}
    names = sorted(run.profiles, key=lambda n: (n not in ran, n))
    if not names:
        return section(
            "Backend fidelity", "fidelity", '<p class="none">no profiles/ in the run directory</p>'
        )
    parts = []
    for name in names:
        profile = run.profiles[name]
        notes = "".join(f"<li>{esc(n)}</li>" for n in profile.get("fidelity") or [])
        gaps = [("all modes", cap, g) for cap, g in (profile.get("gaps") or {}).items()]
        for mode, spec in (profile.get("modes") or {}).items():
            gaps += [(mode, cap, g) for cap, g in ((spec or {}).get("gaps") or {}).items()]
        gap_rows = "".join(
            f"<tr><td><code>{esc(cap)}</code></td><td>{esc(mode)}</td>"
            f"<td>{esc((g or {}).get('reason', ''))}</td>"
            f"<td>{_link(str((g or {}).get('reference', '') or ''))}</td></tr>"
            for mode, cap, g in gaps
        )
        bugs = profile.get("known_bugs") or {}
        bug_rows = "".join(
            f"<li><code>{esc(k)}</code>: {esc(v.get('reason', v) if isinstance(v, dict) else v)}"
            "</li>"
            for k, v in bugs.items()
        )
        status = "" if name in ran else ' <span class="muted">(not in this run)</span>'
        parts.append(
            f'<div class="profile" data-backend="{esc(name)}"><h3>{esc(name)} '
            f'<span class="muted">({esc(profile.get("kind", "?"))}, driver '
            f"{esc(profile.get('driver', '?'))})</span>{status}</h3>"
            f"<p>{esc(profile.get('description', ''))}</p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + (
                "<table><thead><tr><th>cannot prove</th><th>mode</th><th>why</th>"
                f"<th>reference</th></tr></thead><tbody>{gap_rows}</tbody></table>"
                if gap_rows
                else '<p class="none">no declared gaps</p>'
            )
            + (f"<p>Known bugs:</p><ul>{bug_rows}</ul>" if bug_rows else "")
            + "</div>"
        )
    return section(
        "Backend fidelity: what a pass on each server proves", "fidelity", "".join(parts)
    )


def _relative(target: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(target, out_dir)).as_posix()


def _log_path(run: Run, record: Record) -> Path | None:
    if not record.log:
        return None
    candidate = run.origin.get(record.case_id, run.dirs[0]) / record.log
    return candidate if candidate.is_file() else None


def failures_html(run: Run, out_dir: str | Path) -> str:
    out = Path(out_dir).resolve()
    order = {o: i for i, o in enumerate(FAIL_OUTCOMES)}
    failures = sorted(
        (r for r in run.records if r.outcome in FAIL_OUTCOMES),
        key=lambda r: (order[r.outcome], r.driver, r.capability, r.backend, r.mode, r.case_id),
    )
    if not failures:
        return section(
            "Failures and infra errors",
            "failures",
            '<p class="none">no failures, infra errors or unexpected passes</p>',
        )
    tails: dict[Path, str] = {}
    parts = []
    for number, record in enumerate(failures):
        state = "infra-error" if record.outcome == "infra-error" else record.outcome
        state = "failed" if state == "fail" else state
        column = record.backend + ("-tls" if record.mode == "tls" else "")
        log = _log_path(run, record)
        if log is None:
            log_html = '<span class="none">no server log</span>' + (
                f" (<code>{esc(record.log)}</code> missing)" if record.log else ""
            )
            tail_html = ""
        else:
            log_html = f'<a class="log" href="{esc(_relative(log, out))}">{esc(record.log)}</a>'
            tail_html = ""
            if number < MAX_FAILURES:
                if log not in tails:
                    tails[log] = log_tail(log)
                opened = " open" if record.outcome == "infra-error" else ""
                tail_html = (
                    f"<details{opened}><summary>server log: last {TAIL_LINES} lines</summary>"
                    f'<pre class="tail">{esc(tails[log])}</pre></details>'
                )
        parts.append(
            f'<div class="failure {esc(state)}" data-case="{esc(record.case_id)}" '
            f'data-outcome="{esc(record.outcome)}">'
            f'{state_badge(state, record.outcome)} <span class="case">{esc(record.case_id)}</span>'
            f'<div class="muted">{esc(record.driver)} · {esc(record.capability)} · '
            f"{esc(column)} · full log: {log_html}</div>"
            f'<pre class="message">{esc(record.reason or "(no message)")}</pre>{tail_html}</div>'
        )
    counts = {o: sum(r.outcome == o for r in failures) for o in FAIL_OUTCOMES}
    intro = (
        "<p>"
        + ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        + (f"; log tails for the first {MAX_FAILURES}" if len(failures) > MAX_FAILURES else "")
        + "</p>"
    )
    return section("Failures and infra errors", "failures", intro + "".join(parts))


def _issue_links(text: str) -> str:
    def link(match: re.Match[str]) -> str:
        number = match.group(1)
        url = f"https://github.com/argoproj/argo-workflows/issues/{number}"
        return f'<a href="{url}">#{number}</a>'

    return re.sub(r"#(\d+)", link, esc(text))


def deviations_html(run: Run) -> str:
    if not run.deviations:
        return section(
            "Deviation registry",
            "deviations",
            '<p class="none">no deviations.yaml in the run directory</p>',
        )
    cited: dict[str, int] = {}
    for record in run.records:
        if record.reference:
            dev = record.reference.split(":", 1)[0].strip()
            cited[dev] = cited.get(dev, 0) + 1
    rows = "".join(
        f'<tr id="dev-{esc(d.get("id", ""))}" data-deviation="{esc(d.get("id", ""))}">'
        f"<td><code>{esc(d.get('id', ''))}</code></td><td>{esc(d.get('section', ''))}</td>"
        f"<td>{esc(d.get('argo_behaviour', ''))}</td><td>{esc(d.get('ours', ''))}</td>"
        f"<td>{_issue_links(str(d.get('argo_reference', '')))}</td>"
        f"<td>{cited.get(str(d.get('id')), 0)}</td></tr>"
        for d in run.deviations
    )
    body = (
        "<p>Where the reference drivers deliberately differ from Argo Workflows. Sections are "
        "those of the artifact spec; references are Argo source files and issues.</p>"
        "<table><thead><tr><th>id</th><th>spec section</th><th>Argo does</th><th>we do</th>"
        f"<th>Argo reference</th><th>cases citing it</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return section("Deviation registry", "deviations", body)


def _change_table(name: str, table: pd.DataFrame) -> str:
    if table.empty:
        return f'<p class="none" data-diff="{esc(name)}">none</p>'
    rows = "".join(
        f'<tr data-cell="{esc(r.driver)}/{esc(r.capability)}/{esc(r.column)}">'
        f"<td>{esc(r.driver)}</td><td><code>{esc(r.capability)}</code></td>"
        f"<td>{esc(r.column)}</td><td>{_state_or_absent(r.previous)}</td>"
        f"<td>{_state_or_absent(r.state)}</td><td>{esc(r.reason)}</td></tr>"
        for r in table.itertuples(index=False)
    )
    return (
        f'<table data-diff="{esc(name)}"><thead><tr><th>driver</th><th>capability</th>'
        "<th>column</th><th>before</th><th>now</th><th>reason</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _state_or_absent(state: str) -> str:
    if state in STATE_STYLE:
        return state_badge(state, f"{SYMBOLS[state]} {state}", cls="badge")
    return f'<span class="none">{esc(state)}</span>'


def diff_html(run: Run, previous: Run | None) -> str:
    changes = diff(run, previous)
    if changes is None or previous is None:
        return section(
            "Changes since the previous run", "diff", '<p class="none">no previous run</p>'
        )
    summary_line = ", ".join(f"{name}: {len(t)}" for name, t in changes.items())
    body = (
        f"<p>Against run <strong>{esc(previous.run_id)}</strong> "
        f"(<code>{esc(previous.dirs[0])}</code>): {esc(summary_line)}.</p>"
    )
    for name, table in changes.items():
        if name == "other changes":
            body += (
                f"<details><summary>other changes ({len(table)})</summary>"
                f"{_change_table(name, table)}</details>"
            )
        else:
            body += f"<h3>{esc(name)} ({len(table)})</h3>{_change_table(name, table)}"
    return section("Changes since the previous run", "diff", body)


def trend_chart_svg(runs: Sequence[Run]) -> str:
    """Stacked bars: cells per state, one bar per run (oldest left)."""
    bar, gap, height, top, bottom, left = 56, 56, 170, 14, 28, 44
    totals = [max(1, len(run.cells)) for run in runs]
    peak = max(totals)
    width = left + len(runs) * (bar + gap) + 10
    parts = [
        f'<svg class="trend-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height + top + bottom}" role="img" aria-label="cell states per run">'
    ]
    parts.append(
        f'<text x="4" y="{top + 10}" font-size="11" fill="#57606a">{peak}</text>'
        f'<text x="4" y="{top + height}" font-size="11" fill="#57606a">0</text>'
        f'<line x1="{left - 4}" y1="{top + height}" x2="{width}" y2="{top + height}" '
        'stroke="#8c959f"/>'
    )
    for i, run in enumerate(runs):
        x = left + i * (bar + gap)
        y = top + height
        counts = state_counts(run.cells)
        for state in reversed(CELL_STATES):
            n = counts[state]
            if not n:
                continue
            h = height * n / peak
            y -= h
            bg, _ = STATE_STYLE[state]
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{bg}" '
                f'stroke="#ffffff" stroke-width="0.5"><title>{esc(run.run_id)}: {n} {state}'
                "</title></rect>"
            )
        failing = counts["failed"] + counts["infra-error"] + counts["xpass"]
        label_y = top + height + 16
        label = run.run_id if len(run.run_id) <= 16 else "…" + run.run_id[-15:]
        parts.append(
            f'<text x="{x + bar / 2}" y="{label_y}" font-size="10" text-anchor="middle" '
            f'fill="#1f2328"><title>{esc(run.run_id)}</title>{esc(label)}</text>'
            f'<text x="{x + bar / 2}" y="{y - 3:.1f}" font-size="10" text-anchor="middle" '
            f'fill="#cf222e">{failing or ""}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_html(runs: Sequence[Run]) -> str:
    if len(runs) < 2:
        return section(
            "Trend", "trend", '<p class="none">no previous run: the trend needs two or more</p>'
        )
    table = trend(runs)
    n_flaky = int(table["flaky"].sum()) if not table.empty else 0
    intro = (
        f"<p>Last {len(runs)} runs, oldest first. Bars: cells per state (red number: failing "
        f"cells). {len(table)} cell{'s' * (len(table) != 1)} changed state, "
        f"<strong>{n_flaky} flaky</strong> (one run differs from the runs on both sides).</p>"
    )
    if table.empty:
        return section("Trend", "trend", intro + trend_chart_svg(runs))
    run_ids = [run.run_id for run in runs]
    head = "".join(f'<th title="{esc(r)}">{esc(r)}</th>' for r in run_ids)
    rows = []
    for key, row in list(table.iterrows())[:MAX_TREND_ROWS]:
        driver, capability, column = key
        dots = []
        for run_id in run_ids:
            state = row[run_id]
            if isinstance(state, str):
                bg, fg = STATE_STYLE[state]
                dots.append(
                    f'<td data-state="{state}" title="{esc(run_id)}: {esc(state)}">'
                    f'<span class="dot" style="background:{bg};color:{fg}">'
                    f"{esc(SYMBOLS[state])}</span></td>"
                )
            else:
                dots.append(
                    f'<td title="{esc(run_id)}: absent"><span class="none">&ndash;</span></td>'
                )
        flag = '<span class="flag">flaky</span>' if row["flaky"] else ""
        rows.append(
            f'<tr data-cell="{esc(driver)}/{esc(capability)}/{esc(column)}" '
            f'data-flaky="{"yes" if row["flaky"] else "no"}"><td>{esc(driver)}</td>'
            f"<td><code>{esc(capability)}</code></td><td>{esc(column)}</td>{''.join(dots)}"
            f"<td>{int(row['flips'])}</td><td>{flag}</td></tr>"
        )
    more = (
        f'<p class="muted">{len(table) - MAX_TREND_ROWS} more not shown.</p>'
        if len(table) > MAX_TREND_ROWS
        else ""
    )
    body = (
        intro
        + trend_chart_svg(runs)
        + '<h3>Cells that changed</h3><table class="trend"><thead><tr><th>driver</th>'
        f"<th>capability</th><th>column</th>{head}<th>flips</th><th></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )
    return section("Trend", "trend", body)


# --- the kernel -------------------------------------------------------------------------------
def ensure_kernel() -> Path:
    """Install the `artconf-kit` kernel spec into sys.prefix unless it is there already."""
    spec_dir = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec_file = spec_dir / "kernel.json"
    try:
        argv = json.loads(spec_file.read_text()).get("argv", [])
    except (OSError, ValueError):
        argv = []
    if argv[:1] != [sys.executable]:
        from ipykernel.kernelspec import write_kernel_spec
        from jupyter_client.kernelspec import KernelSpecManager

        # Written into a directory of our own and installed from there: ipykernel's `install`
        # leaves its empty scratch directory behind in the system temp directory.
        with tempfile.TemporaryDirectory(prefix="artconf-kernel-") as scratch:
            source = write_kernel_spec(
                Path(scratch) / KERNEL_NAME,
                overrides={"display_name": "artconf kit"},
                python_arguments=["-Xfrozen_modules=off"],  # as `install` does: no debugger noise
            )
            KernelSpecManager().install_kernel_spec(source, KERNEL_NAME, prefix=sys.prefix)
    return spec_dir


# --- executing and exporting ------------------------------------------------------------------
def notebook_parameters(
    run_dirs: Sequence[str | Path],
    previous: str | Path | None,
    out_dir: str | Path,
    trend: int = TREND_RUNS,
    kit_prefix: str | None = None,
) -> dict[str, Any]:
    return {
        "run_dirs": [str(Path(d).absolute()) for d in run_dirs],
        "previous": str(Path(previous).absolute()) if previous else "",
        "out_dir": str(Path(out_dir).absolute()),
        "trend_runs": int(trend),
        "kit_prefix": kit_prefix if kit_prefix is not None else sys.prefix,
    }


def inject_parameters(nb: Any, parameters: dict[str, Any]) -> Any:
    """A copy of `nb` with a cell assigning `parameters` after the `parameters` cell."""
    import nbformat

    nb = copy.deepcopy(nb)
    source = "# injected by artconf report\n" + "".join(
        f"{name} = {value!r}\n" for name, value in parameters.items()
    )
    cell = nbformat.v4.new_code_cell(
        source, id="injected-parameters", metadata={"tags": ["injected-parameters"]}
    )
    at = next(
        (i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])),
        0,
    )
    nb.cells.insert(at, cell)
    return nb


TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block notebook_css -%}
<style>
body { margin: 16px 24px; background: #ffffff; }
.jp-OutputArea-output { margin: 0; }
.jp-OutputArea-output pre { white-space: pre-wrap; }
</style>
{%- endblock notebook_css -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def export_html(nb: Any) -> str:
    """Self-contained HTML: the lab template without require.js, MathJax, mermaid or widgets."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"artconf.html.j2": TEMPLATE})],
        template_file="artconf.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def build_report(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    previous: str | Path | None = None,
    trend: int = TREND_RUNS,
    kit_prefix: str | None = None,
    timeout: int = 600,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Execute the notebook on `run_dirs`, write the HTML and the executed .ipynb beside it.

    `warn` is called, before the notebook runs, with each warning the page will show: the
    run's own (partial, a truncated records file), then each earlier run left out. Both files
    are written whole or not at all.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    began = time.monotonic()
    # Fail early, in one line, on a bad directory; find the warnings the page will show.
    run, _, _ = load_all(run_dirs, previous, trend)
    warnings = [*run.warnings, *run.skipped]
    for note in warnings if warn else []:
        warn(note)
    out_path = Path(out) if out else run.dirs[0] / "report.html"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not NOTEBOOK.is_file():
        raise ReportError(f"{NOTEBOOK} is missing: run notebooks/build_matrix_report.py")
    ensure_kernel()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    parameters = notebook_parameters(run_dirs, previous, out_path.parent, trend, kit_prefix)
    nb = inject_parameters(nb, parameters)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        resources={"metadata": {"path": str(out_path.parent)}},
    )
    executed_path = out_path.with_suffix(".ipynb")
    with tempfile.TemporaryFile("w+") as kernel_log:  # the kernel's own chatter, kept quiet
        try:
            execute_notebook(client, kernel_log)
        except CellExecutionError as exc:
            write_atomically(executed_path, nbformat.writes(nb))
            ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", str(exc))
            raise ReportError(f"the report notebook failed: {ename}: {evalue}") from None
        except (DeadKernelError, RuntimeError, OSError) as exc:
            kernel_log.seek(0)
            last = (kernel_log.read().strip().splitlines() or [""])[-1]
            raise ReportError(
                f"kernel {KERNEL_NAME!r} could not run the notebook: {exc} {last}".strip()
            ) from None
    executed = time.monotonic()
    text = export_html(nb)
    write_atomically(executed_path, nbformat.writes(nb))  # both at the end: a stop before leaves
    write_atomically(out_path, text)  # neither
    return {
        "html": str(out_path),
        "notebook": str(executed_path),
        "html_bytes": len(text.encode()),
        "records": len(run.records),
        "warnings": warnings,
        "execute_seconds": round(executed - began, 2),
        "seconds": round(time.monotonic() - began, 2),
    }


INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class _InterruptibleLoop(asyncio.SelectorEventLoop):
    """An event loop whose main task SIGINT and SIGTERM cancel, as `asyncio.run` does for SIGINT.

    nbclient adds loop signal handlers of its own that stop the kernel under the running cell
    and let the execution carry on (to fail, or to finish when the signal came late); its calls
    are ignored here. Cancelling instead lets nbclient's own `finally` clauses stop the kernel.
    The signal is noted at once, so one that comes as the execution ends is not lost either.
    """

    def __init__(self) -> None:
        super().__init__()
        self.received: int | None = None

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        pass  # nbclient's: see the class docstring

    def remove_signal_handler(self, sig: int) -> bool:
        return False

    def run_interruptible(self, coroutine: Any) -> Any:
        """Run `coroutine` to its end; SIGINT or SIGTERM cancel it (main thread only)."""
        main = self.create_task(coroutine)

        def interrupt(signum: int, frame: Any) -> None:
            self.received = self.received or signum
            if not main.done():
                main.cancel()
                self.call_soon_threadsafe(lambda: None)  # wake the loop up from its select()

        saved = {}
        if threading.current_thread() is threading.main_thread():  # an ignored signal stays so
            watched = [s for s in INTERRUPTS if signal.getsignal(s) is not signal.SIG_IGN]
            saved = {sig: signal.signal(sig, interrupt) for sig in watched}
        try:
            return self.run_until_complete(main)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def execute_notebook(client: Any, kernel_log: Any) -> None:
    """`client.execute()`, stopped with its kernel by SIGINT or SIGTERM, then the signal again.

    Delivered again once the process's own handlers are back, the signal ends where it would
    have: KeyboardInterrupt for SIGINT, the command line's handler or the default action (the
    process ends) for SIGTERM.
    """
    loop = _InterruptibleLoop()
    try:
        loop.run_interruptible(client.async_execute(stdout=kernel_log, stderr=kernel_log))
    except BaseException:  # after a signal: the cancellation, or a failure it caused
        if loop.received is None:
            raise
    finally:
        if loop.received is not None:
            loop.run_until_complete(_stop_kernel(client))
        _close_loop(loop)
    if loop.received is not None:
        signal.raise_signal(loop.received)


async def _stop_kernel(client: Any) -> None:
    """Stop what a cancelled execution may have left: the kernel, nbclient's exit hook."""
    # nbclient unregisters its exit-time cleanup only when the execution ends undisturbed.
    atexit.unregister(client._cleanup_kernel)
    manager = client.km
    if manager is None or not manager.has_kernel:
        return
    if client.kc is not None:
        client.kc.stop_channels()
    done = manager.shutdown_kernel(now=True)
    if asyncio.iscoroutine(done):
        await done


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on `loop` (after a signal: the kernel client's tasks), then close it."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def write_atomically(path: Path, text: str) -> None:
    """Write `path` through a temporary file beside it: readers see the old file or the new."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # usual permissions, unlike mkstemp
    try:
        tmp.write_text(text)
        tmp.replace(path)
    except BaseException:  # an interrupt too: never leave the temporary file behind
        tmp.unlink(missing_ok=True)
        raise


# --- synthetic runs for the benchmark ---------------------------------------------------------
def write_synthetic_runs(root: Path, records: int, runs: int = 3, seed: int = 7) -> list[Path]:
    """`runs` run directories of `records` records each under `root`, oldest first.

    Real drivers, columns and capabilities; a few percent of cases fail, some flip between runs.
    """
    import random

    from drivers.core.capabilities import Capability

    columns = {
        "s3": ["minio", "minio-tls", "moto", "moto-tls"],
        "gcs": ["fake-gcs", "fake-gcs-tls"],
        "azure": ["azurite", "azurite-tls"],
    }
    capabilities = [c.value for c in Capability]
    slots = [(d, c, cap) for d, cols in columns.items() for c in cols for cap in capabilities]
    rng = random.Random(seed)
    paths = []
    for n in range(runs):
        run_id = f"2026010{n + 1}T000000"
        run_dir = root / run_id
        (run_dir / "logs").mkdir(parents=True)
        out = []
        for i in range(records):
            driver, column, capability = slots[i % len(slots)]
            backend = column.removesuffix("-tls")
            roll = rng.random()
            outcome, reason, skip_by, log = "pass", "", "", ""
            if roll < 0.02:
                outcome, reason, log = "fail", f"AssertionError: case {i} differs", column
            elif roll < 0.022:
                outcome, reason, log = "infra-error", "infra-error: server went away", column
            elif roll < 0.03:
                outcome, reason = "xfail", "target declares deviation gcs-raw-prefix-siblings"
            elif roll < 0.2:
                outcome, skip_by = "skip", rng.choice(["driver", "backend"])
                reason = f"unsupported-by-{skip_by}: {capability} on {column}"
            mode = "tls" if column.endswith("-tls") else "plain"
            out.append(
                Record(
                    run_id=run_id,
                    kit_sha="bench",
                    target="reference",
                    driver=driver,
                    backend=backend,
                    mode=mode,
                    capability=capability,
                    case=f"test_bench::test_case_{i}",
                    case_id=f"bench.py::test_{i}[{column}]",
                    outcome=outcome,
                    skip_by=skip_by,
                    reason=reason,
                    log=f"logs/{log}.log" if log else "",
                    duration=0.01,
                )
            )
        with open(run_dir / "records.jsonl", "w") as handle:
            handle.writelines(r.to_json() + "\n" for r in out)
        for column in {c for cols in columns.values() for c in cols}:
            lines = (f"{run_id} {column} request {k}: GET /bucket/key 200" for k in range(2000))
            (run_dir / "logs" / f"{column}.log").write_text("\n".join(lines) + "\n")
        profiles = REPO / "emulators" / "profiles"
        if profiles.is_dir():
            (run_dir / "profiles").mkdir()
            for profile in profiles.glob("*.yaml"):
                (run_dir / "profiles" / profile.name).write_text(profile.read_text())
        deviations = REPO / "drivers" / "deviations.yaml"
        if deviations.is_file():
            (run_dir / "deviations.yaml").write_text(deviations.read_text())
        meta = {
            "run_id": run_id, "target": "reference", "kit_sha": "bench",
            "backends": sorted({c for cols in columns.values() for c in cols}),
            "duration_seconds": 1.0, "versions": {"python": sys.version.split()[0]},
            "servers": {},
        }  # fmt: skip
        (run_dir / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
        paths.append(run_dir)
    return paths
