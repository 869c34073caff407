"""The matrix report: run directories in, one self-contained HTML page out.

    analysis.py   cells, state counts, the verdict, the diff, the trend, flakes (no HTML)
    runs.py       which runs a report reads: the run, the one it is compared with, the trend
    html.py       one HTML fragment per section, from templates/*.html.j2 and static/
    notebook.py   the notebook's kernel and parameters, its execution (interrupts), the export
    synthetic.py  synthetic run directories for `artconf bench report`

Reading run directories is `conformance.rundir`'s; its reading names are exported here too,
since the notebook (notebooks/matrix_report.ipynb) calls everything as `report.<name>`.
"""

from conformance.matrix import CELL_STATES, SYMBOLS
from conformance.report.analysis import (
    BROKEN,
    FAIL_OUTCOMES,
    KEY,
    cell_table,
    diff,
    flaky,
    state_counts,
    trend,
    verdict,
)
from conformance.report.html import (
    MAX_FAILURES,
    MAX_TREND_ROWS,
    STATE_MEANING,
    STATE_STYLE,
    TAIL_LINES,
    cell_title,
    deviations_html,
    diff_html,
    failures_html,
    fidelity_html,
    grid_html,
    headline_html,
    log_tail,
    script_html,
    style_html,
    trend_chart_svg,
    trend_html,
)
from conformance.report.notebook import (
    KERNEL_NAME,
    NOTEBOOK,
    ReportError,
    build_report,
    ensure_kernel,
    execute_notebook,
    export_html,
    inject_parameters,
    notebook_parameters,
)
from conformance.report.runs import TREND_RUNS, load_all, trend_runs
from conformance.report.synthetic import write_synthetic_runs
from conformance.rundir import (
    NotARunDir,
    Run,
    RunDirError,
    earlier_runs,
    history,
    is_run_dir,
    load_run,
    looks_like_run_dir,
    natural_key,
    partial_note,
    previous_run,
    read_meta,
)

__all__ = [
    "BROKEN",
    "CELL_STATES",
    "FAIL_OUTCOMES",
    "KERNEL_NAME",
    "KEY",
    "MAX_FAILURES",
    "MAX_TREND_ROWS",
    "NOTEBOOK",
    "STATE_MEANING",
    "STATE_STYLE",
    "SYMBOLS",
    "TAIL_LINES",
    "TREND_RUNS",
    "NotARunDir",
    "ReportError",
    "Run",
    "RunDirError",
    "build_report",
    "cell_table",
    "cell_title",
    "deviations_html",
    "diff",
    "diff_html",
    "earlier_runs",
    "ensure_kernel",
    "execute_notebook",
    "export_html",
    "failures_html",
    "fidelity_html",
    "flaky",
    "grid_html",
    "headline_html",
    "history",
    "inject_parameters",
    "is_run_dir",
    "load_all",
    "load_run",
    "log_tail",
    "looks_like_run_dir",
    "natural_key",
    "notebook_parameters",
    "partial_note",
    "previous_run",
    "read_meta",
    "script_html",
    "state_counts",
    "style_html",
    "trend",
    "trend_chart_svg",
    "trend_html",
    "trend_runs",
    "verdict",
    "write_synthetic_runs",
]
