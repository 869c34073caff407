"""The report in a few lines of Markdown: the headline and the new failures since the previous run.

What `artconf report --summary-md FILE` writes, e.g. for a CI job summary ($GITHUB_STEP_SUMMARY
in the nightly workflow, .github/workflows/nightly.yml). The verdict, the cell counts and the
diff are the page's own (`analysis.verdict`, `analysis.state_counts`, `analysis.diff`).
"""

from __future__ import annotations

from conformance.matrix import CELL_STATES
from conformance.report.analysis import DIFF_SECTIONS, diff, state_counts, verdict
from conformance.rundir import Run

MAX_ROWS = 50  # new failures listed; the rest are counted (the page has them all)


def _cell(text: object) -> str:
    """One Markdown table cell: one line, pipes escaped, at most 200 characters."""
    line = " ".join(str(text).split()).replace("|", "\\|")
    return line if len(line) <= 200 else line[:199] + "…"


def summary_markdown(run: Run, previous: Run | None, html: str = "") -> str:
    """The headline (verdict, cases, cells per state) and the new failures since `previous`."""
    _, verdict_text = verdict(run)
    states = state_counts(run.cells)
    counted = ", ".join(f"{states[s]} {s}" for s in CELL_STATES if states[s])
    lines = [
        f"## Conformance run {run.run_id}: {verdict_text}",
        "",
        f"{len(run.records)} cases, {len(run.cells)} cells" + (f": {counted}" if counted else ""),
        "",
    ]
    lines += [f"- warning: {_cell(note)}" for note in [*run.warnings, *run.skipped]]
    changes = diff(run, previous)
    if changes is None or previous is None:
        lines += ["", "No previous run to compare with: every failure is listed on the page."]
    else:
        new = changes["new failures"]
        counts = ", ".join(f"{len(changes[name])} {name}" for name in DIFF_SECTIONS)
        lines += ["", f"Compared with {previous.run_id}: {counts}.", ""]
        if new.empty:
            lines.append("### No new failures")
        else:
            lines += [
                f"### New failures ({len(new)})",
                "",
                "| driver | capability | column | state | was | reason |",
                "|---|---|---|---|---|---|",
            ]
            for row in new.head(MAX_ROWS).itertuples():
                fields = (row.driver, row.capability, row.column, row.state, row.previous)
                lines.append("| " + " | ".join(map(_cell, (*fields, row.reason))) + " |")
            if len(new) > MAX_ROWS:
                lines += ["", f"... and {len(new) - MAX_ROWS} more: see the report."]
    if html:
        lines += ["", f"The full report: `{html}` (in the job's artifacts)."]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
