"""The matrix report: run directories in, one self-contained HTML page out.

    analysis.py   cells, state counts, the verdict, the diff, the trend, flakes (no HTML)
    runs.py       which runs a report reads: the run, the one it is compared with, the trend
    html.py       one HTML fragment per section, from templates/*.html.j2 and static/
    notebook.py   the notebook's kernel and parameters, its execution (interrupts), the export
    synthetic.py  synthetic run directories for `artconf bench report`
    versus.py     the "Reference vs Argo" section: agreements, declared and undeclared differences
    artifact_gc.py  the "Artifact GC" section: the GC cells per kind and backend, per strategy

Reading run directories is `conformance.rundir`'s; its reading names are exported here too,
since the notebook (notebooks/matrix_report.ipynb) calls everything as `report.<name>`.
"""

from conformance.matrix import CELL_STATES, SYMBOLS
from conformance.report.analysis import (
    BROKEN,
    DECLARED,
    DIFF_SECTIONS,
    FAIL_OUTCOMES,
    KEY,
    cell_table,
    diff,
    flaky,
    setup_difference,
    state_counts,
    trend,
    verdict,
)
from conformance.report.artifact_gc import gc_html
from conformance.report.html import (
    MAX_FAILURES,
    MAX_TREND_ROWS,
    MESSAGE_LINES,
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
    run_drivers,
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
from conformance.report.runs import TREND_RUNS, load_all, previous_of, trend_runs
from conformance.report.synthetic import write_synthetic_runs
from conformance.report.versus import versus_html
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
    "DECLARED",
    "DIFF_SECTIONS",
    "FAIL_OUTCOMES",
    "KERNEL_NAME",
    "KEY",
    "MAX_FAILURES",
    "MAX_TREND_ROWS",
    "MESSAGE_LINES",
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
    "gc_html",
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
    "previous_of",
    "previous_run",
    "read_meta",
    "run_drivers",
    "script_html",
    "setup_difference",
    "state_counts",
    "style_html",
    "trend",
    "trend_chart_svg",
    "trend_html",
    "trend_runs",
    "verdict",
    "versus_html",
    "write_synthetic_runs",
]
