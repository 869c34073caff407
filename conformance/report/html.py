"""The report's HTML: one fragment per section, rendered from the Jinja2 templates beside it.

Each `*_html` function turns a run into the plain values its template shows
(`templates/<section>.html.j2`); the templates escape every value (autoescape), so nothing
here writes markup by hand. The page's CSS and JS are package files too (`static/`), inlined
by `style_html` and `script_html`: the exported page loads nothing from anywhere.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from conformance.causes import FailureGroup, group_failures
from conformance.matrix import CELL_STATES, SYMBOLS
from conformance.profiles import MODES, Profile
from conformance.records import OUTCOMES, Record, summary
from conformance.report.analysis import (
    FAIL_OUTCOMES,
    diff,
    setup_difference,
    state_counts,
    trend,
    verdict,
)
from conformance.rundir import Run

TAIL_LINES = 20
MAX_FAILURES = 100  # failure groups listed with a log tail (older runs); the rest without
MESSAGE_LINES = 40  # lines of a failure's message on its card; whole lines, the cut counted
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
ISSUES = "https://github.com/argoproj/argo-workflows/issues/"


def _colours(state: str) -> tuple[str, str]:
    return STATE_STYLE.get(state, ("#ffffff", "#1f2328"))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.report", "templates"),
        autoescape=True,  # every value is text from a run: escaped, whatever the file name
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the report, not the page
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(colours=_colours, symbols=SYMBOLS)
    return env


def render(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values).strip()


@functools.cache
def static_text(name: str) -> str:
    """A file of `static/` (report.css, report.js)."""
    return resources.files("conformance.report").joinpath("static", name).read_text()


def style_html() -> str:
    return render("assets.html.j2", kind="style", text=static_text("report.css"))


def script_html() -> str:
    """Legend filter and cell counts; marks the page `data-artconf-ready` once it ran."""
    return render("assets.html.j2", kind="script", text=static_text("report.js"))


# --- headline ---------------------------------------------------------------------------------
def headline_html(run: Run) -> str:
    meta = run.meta
    counts = summary(run.records)
    states = state_counts(run.cells)
    verdict_state, verdict_text = verdict(run)
    duration = meta.get("duration_seconds")
    return render(
        "headline.html.j2",
        run_id=run.run_id,
        verdict_state=verdict_state,
        verdict_text=verdict_text,
        warnings=run.warnings,
        skipped=run.skipped,
        outcomes=[(o, counts.get(o, 0)) for o in OUTCOMES],
        states=[(s, states[s]) for s in CELL_STATES if states[s]],
        meta_run_id=meta.get("run_id", run.run_id),
        target=meta.get("target", "?"),
        kit_sha=meta.get("kit_sha", "?"),
        duration=f"{float(duration):.1f} s" if duration not in (None, "") else "?",
        cases=len(run.records),
        cells=len(run.cells),
        servers=sorted((meta.get("servers") or {}).items()),
        libraries=sorted((meta.get("versions") or {}).items()),
        dirs=run.dirs,
    )


# --- the grid ---------------------------------------------------------------------------------
def cell_title(row: Any) -> str:
    """A cell's hover text: its state and reason, the case that decided it, then where it is and
    how many cases."""
    reason = (row.reason or STATE_MEANING[row.state]).removeprefix(f"{row.state}: ")
    cases = f"{row.cases} case{'s' * (row.cases != 1)}"
    case = getattr(row, "case", "") or ""
    decided = f"\nworst case: {case}" if case and row.state != "verified" else ""
    return (
        f"{row.state}: {reason}{decided}\n{row.driver} · {row.capability} · {row.column} ({cases})"
    )


def _capability_rows(run: Run, driver: str, block: pd.DataFrame) -> list[str]:
    """A driver's rows: its applicable capabilities when run.json names them, in vocabulary
    order (the cell table holds exactly those); otherwise every capability with a case."""
    if run.applicable is not None and driver in run.applicable:
        return list(run.applicable[driver])
    return sorted(block["capability"].unique())


def run_drivers(run: Run) -> list[str]:
    """The drivers (location kinds, and "resolution") the run covered, in run.json's order;
    an older run without `drivers`: those its records name, sorted."""
    drivers = run.meta.get("drivers")
    if isinstance(drivers, list) and all(isinstance(d, str) for d in drivers):
        return list(dict.fromkeys(drivers))
    return sorted({r.driver for r in run.records})


def grid_html(run: Run) -> str:
    tables = []
    blocks = dict(tuple(run.cells.groupby("driver", sort=True))) if len(run.cells) else {}
    for driver in run_drivers(run):
        if driver not in blocks:
            continue  # covered, but no case of it ran: the headline's counts say so
        block = blocks[driver]
        columns = list(
            block[["backend", "mode", "column"]]
            .drop_duplicates()
            .sort_values(["backend", "mode"])
            .itertuples(index=False)
        )
        backends: dict[str, int] = {}
        for column in columns:
            backends[column.backend] = backends.get(column.backend, 0) + 1
        index = {(r.capability, r.column): r for r in block.itertuples(index=False)}
        rows = []
        for capability in _capability_rows(run, str(driver), block):
            cells = []
            for column in columns:
                row = index.get((capability, column.column))
                cells.append(
                    None
                    if row is None
                    else {"state": row.state, "column": column.column, "title": cell_title(row)}
                )
            rows.append((capability, cells))
        tables.append(
            {"driver": driver, "backends": list(backends.items()), "columns": columns, "rows": rows}
        )
    legend = [(s, STATE_MEANING[s]) for s in CELL_STATES]
    return render("grid.html.j2", tables=tables, legend=legend)


# --- failures ---------------------------------------------------------------------------------
def log_tail(path: Path, lines: int = TAIL_LINES, width: int = 300) -> str:
    """The last `lines` lines of a (possibly large) log, each cut to `width` characters."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 256 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    tail = text.splitlines()[-lines:]
    return "\n".join(line if len(line) <= width else line[:width] + " …" for line in tail)


def _state_of_outcome(outcome: str) -> str:
    return "failed" if outcome == "fail" else outcome  # infra-error and xpass are cell states


_GROUP_OUTCOME = {"fail": "fail", "xpass": "xpass", "infra-error": "infra-error"}
_GROUP_STATE = {"fail": "failed", "xpass": "xpass", "infra-error": "infra-error"}


def expected_vs_actual(reason: str) -> str:
    """The message's first line (pytest's assertion or the checks.* message: "expected X, got
    Y: ..."), without pytest.fail's "Failed: " prefix; whole, never cut."""
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "")
    return first.removeprefix("Failed: ") or "(no message)"


def message_lines(reason: str, limit: int = MESSAGE_LINES) -> tuple[str, int]:
    """The whole message, cut after `limit` whole lines (never inside one) with a last line
    saying how many were cut; and that number."""
    lines = reason.splitlines()
    cut = max(0, len(lines) - limit)
    note = [f"({cut} more line{'s' * (cut != 1)} cut)"] if cut else []
    return "\n".join(lines[:limit] + note), cut


def failures_html(run: Run, out_dir: str | Path) -> str:
    """One card per group of failing cases sharing (state, capability, cause)
    (`conformance.causes.group_failures`), largest first: the cause, the first case's contract,
    expected vs actual, the kit's hint, its server-log window, the other cases' ids."""
    out = Path(out_dir).resolve()
    groups = group_failures(run.records)
    tails: dict[Path, str] = {}  # one read per log, however many groups it is behind
    cards = []
    for number, group in enumerate(groups):
        first = group.records[0]
        log = run.log_path(first)
        tail = None
        if log is not None and not first.log_note and number < MAX_FAILURES:
            # An older run has no window: the end of the whole log is the best there is.
            if log not in tails:
                tails[log] = log_tail(log)
            tail = tails[log]
        cards.append(_card(group, log, tail, out))
    failing = [r for g in groups for r in g.records]
    counts = [f"{n} {o}" for o in FAIL_OUTCOMES if (n := sum(r.outcome == o for r in failing))]
    return render(
        "failures.html.j2",
        cards=cards,
        counts=counts,
        cases=len(failing),
        more_than_tails=len(groups) > MAX_FAILURES,
        max_tails=MAX_FAILURES,
        tail_lines=TAIL_LINES,
    )


def _card(group: FailureGroup, log: Path | None, tail: str | None, out: Path) -> dict[str, Any]:
    first = group.records[0]
    message, cut = message_lines(first.reason)
    return {
        "state": _GROUP_STATE[group.state],
        "outcome": _GROUP_OUTCOME[group.state],
        "capability": group.capability,
        "cause": group.cause,
        "count": len(group.records),
        "hint": group.hint,
        "first": _failure(first, log, out),
        "expected": expected_vs_actual(first.reason),
        "message": message,
        "message_cut": cut,
        "multiline": len(first.reason.strip().splitlines()) > 1,  # more than expected-vs-actual
        "window": first.log_lines if first.log_note else None,
        "window_note": first.log_note,
        "tail": tail,
        "open": group.state == "infra-error",  # its server log says why: shown at once
        "others": [_failure(r, None, out) for r in group.records[1:]],
    }


def _failure(record: Record, log: Path | None, out: Path) -> dict[str, Any]:
    return {
        "outcome": record.outcome,
        "case_id": record.case_id,
        "driver": record.driver,
        "column": record.backend + ("-tls" if record.mode == "tls" else ""),
        "log": record.log,
        "log_href": Path(os.path.relpath(log, out)).as_posix() if log is not None else "",
        "contract": record.contract,
        "spec": record.spec,
    }


# --- changes and trend ------------------------------------------------------------------------
def diff_html(run: Run, previous: Run | None) -> str:
    changes = diff(run, previous)
    if changes is None or previous is None:
        return render("diff.html.j2", changes=None)
    rows = {name: list(table.itertuples(index=False)) for name, table in changes.items()}
    return render(
        "diff.html.j2",
        changes=list(rows.items()),
        previous_id=previous.run_id,
        previous_dir=previous.dirs[0],
        previous_target=previous.meta.get("target", ""),
        difference=setup_difference(run, previous),
        summary=", ".join(f"{name}: {len(r)}" for name, r in rows.items()),
    )


def trend_chart(runs: Sequence[Run]) -> dict[str, Any]:
    """The geometry of the trend's stacked bars: cells per state, one bar per run."""
    bar, gap, height, top, bottom, left = 56, 56, 170, 14, 28, 44
    peak = max(max(1, len(run.cells)) for run in runs)
    base = top + height
    bars = []
    for i, run in enumerate(runs):
        x = left + i * (bar + gap)
        y = float(base)
        counts = state_counts(run.cells)
        segments = []
        for state in reversed(CELL_STATES):
            if not counts[state]:
                continue
            h = height * counts[state] / peak
            y -= h
            segments.append(
                {
                    "state": state,
                    "n": counts[state],
                    "y": y,
                    "height": h,
                    "fill": _colours(state)[0],
                }
            )
        label = run.run_id if len(run.run_id) <= 16 else "…" + run.run_id[-15:]
        bars.append({
            "x": x, "middle": x + bar / 2, "top": y, "run_id": run.run_id, "label": label,
            "segments": segments,
            "failing": counts["failed"] + counts["infra-error"] + counts["xpass"],
        })  # fmt: skip
    width = left + len(runs) * (bar + gap) + 10
    return {
        "width": width, "height": height + top + bottom, "top": top, "base": base, "left": left,
        "bar": bar, "peak": peak, "bars": bars,
    }  # fmt: skip


def trend_chart_svg(runs: Sequence[Run]) -> str:
    return render("trend_chart.svg.j2", chart=trend_chart(runs))


def trend_html(runs: Sequence[Run]) -> str:
    if len(runs) < 2:
        return render("trend.html.j2", chart=None)
    table = trend(runs)
    run_ids = [run.run_id for run in runs]
    rows = []
    for key, row in list(table.iterrows())[:MAX_TREND_ROWS]:
        driver, capability, column = key
        states = [(r, row[r] if isinstance(row[r], str) else None) for r in run_ids]
        rows.append({
            "driver": driver, "capability": capability, "column": column, "states": states,
            "flips": int(row["flips"]), "flaky": bool(row["flaky"]),
        })  # fmt: skip
    return render(
        "trend.html.j2",
        chart=trend_chart(runs),
        run_ids=run_ids,
        changed=len(table),
        n_flaky=int(table["flaky"].sum()) if not table.empty else 0,
        rows=rows,
        hidden=max(0, len(table) - MAX_TREND_ROWS),
    )


# --- profiles and deviations ------------------------------------------------------------------
def fidelity_html(run: Run) -> str:
    ran = {b.removesuffix("-tls") for b in run.meta.get("backends") or []}
    ran |= {r.backend for r in run.records}
    profiles = []
    for name in sorted(run.profiles, key=lambda n: (n not in ran, n)):
        profile = run.profiles[name]
        profiles.append(
            {
                "backend": name,
                "server": profile.server if profile.server != name else "",
                "kind": profile.kind,
                "driver": profile.driver,
                "description": profile.description,
                "fidelity": profile.fidelity,
                "in_run": name in ran,
                "gaps": _gap_rows(profile),
                "bugs": [(case, bug.reason) for case, bug in profile.known_bugs.items()],
            }
        )
    return render("fidelity.html.j2", profiles=profiles)


def _gap_rows(profile: Profile) -> list[dict[str, Any]]:
    """A profile's gaps: those every mode has alike once, as "all modes", then per mode.

    The parser gives each mode its whole set of gaps, the common ones included; the page shows
    them as the profile declares them.
    """
    per_mode = [profile.gaps.get(mode, {}) for mode in MODES]
    common = {c: g for c, g in per_mode[0].items() if all(m.get(c) == g for m in per_mode)}
    gaps = [("all modes", g) for g in common.values()]
    for mode, mode_gaps in zip(MODES, per_mode):
        gaps += [(mode, g) for c, g in mode_gaps.items() if c not in common]
    return [
        {
            "capability": gap.capability.value,
            "mode": mode,
            "reason": gap.reason,
            "reference": gap.reference,
            "is_url": bool(re.match(r"https?://", gap.reference)),
        }
        for mode, gap in gaps
    ]


def _issue_links(text: str) -> list[tuple[str, str]]:
    """`text` in pieces (text, link or ""): each `#123` links to that Argo issue."""
    pieces = []
    for n, part in enumerate(re.split(r"(#\d+)", text)):
        if part:
            pieces.append((part, ISSUES + part[1:] if n % 2 else ""))
    return pieces


def deviations_html(run: Run) -> str:
    """The registry rows of the run's drivers and the core's, the target's declared ones
    marked; for a target other than the reference drivers, a note saying whose rows they are."""
    cited: dict[str, int] = {}
    for record in run.records:
        if record.reference:
            deviation = record.reference.split(":", 1)[0].strip()
            cited[deviation] = cited.get(deviation, 0) + 1
    drivers = set(run_drivers(run))
    declared = set(run.meta.get("declared_deviations") or [])
    rows = [
        {
            "id": d.id, "driver": d.driver or "core", "section": d.section,
            "argo_behaviour": d.argo_behaviour, "ours": d.ours,
            "reference": _issue_links(d.argo_reference), "cited": cited.get(d.id, 0),
            "declared": d.id in declared,
        }
        for d in run.deviations
        if not d.driver or d.driver in drivers
    ]  # fmt: skip
    hidden = len(run.deviations) - len(rows)
    # An older run has no `reference` key: its target's name is the best evidence there is.
    reference = run.meta.get("reference", run.meta.get("target", "reference") == "reference")
    return render(
        "deviations.html.j2",
        rows=rows,
        hidden=hidden,
        reference=bool(reference),
        target=run.meta.get("target", "?"),
        declared=sorted(declared),
        known_declared="declared_deviations" in run.meta,
    )
