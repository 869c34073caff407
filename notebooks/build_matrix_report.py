"""Build `notebooks/matrix_report.ipynb`, the matrix report notebook, from this script.

This script is the source of truth: edit it, then rerun it and commit both files:

    .venv/bin/python notebooks/build_matrix_report.py

`tests/test_report.py` checks the committed notebook equals what this script builds. The
notebook stays thin: every cell calls one function of the package `conformance.report`.
`artconf report` executes it headless (kernel `artconf-kit`) with the parameters injected after
the cell tagged `parameters`, and exports self-contained HTML (code hidden, markdown left out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
OUT = HERE / "matrix_report.ipynb"

PARAMETERS = """\
# Parameters: `artconf report` injects its own values in a cell after this one.
run_dirs = ["../reports/latest"]  # one run (several directories: e.g. the shards of one run)
previous = ""  # the run to compare with; "" = the newest earlier run beside run_dirs[0]
out_dir = "../reports/latest"  # where the HTML goes: log links are relative to it
trend_runs = 10  # runs in the trend, this one included
kit_prefix = ""  # sys.prefix of the kit's environment; "" = do not check (interactive use)
"""

CHECK_KERNEL = """\
# The kernel must run in the kit's environment: checked before anything of the kit is imported.
import os
import sys

if kit_prefix and os.path.realpath(sys.prefix) != os.path.realpath(kit_prefix):
    raise RuntimeError(
        f"kernel 'artconf-kit' runs Python from {os.path.realpath(sys.prefix)}, not the kit's "
        f"environment {os.path.realpath(kit_prefix)}; reinstall it from the kit with "
        f"`{kit_prefix}/bin/python -m ipykernel install --prefix {kit_prefix} --name artconf-kit`"
    )
"""

LOAD = """\
from IPython.display import HTML, display

from conformance import report

run, previous_run, runs = report.load_all(run_dirs, previous or None, trend_runs)
display(HTML(report.style_html()))
"""

CELLS = [
    (
        "markdown",
        "title",
        "# Matrix report\n\nThe conformance matrix of one run of `artconf "
        "run`: headline, grid, the GC cells per strategy, failures, changes since the previous "
        "run, trend, backend fidelity, "
        "the deviation registry and, for a run against Argo's own drivers, reference vs Argo. "
        "Built by `notebooks/build_matrix_report.py`; run it with `artconf report`.",
    ),
    ("code", "parameters", PARAMETERS),
    ("code", "check-kernel", CHECK_KERNEL),
    ("code", "load", LOAD),
    ("markdown", "headline-md", "## Headline\n\nOutcomes per case, cell states, versions."),
    ("code", "headline", "display(HTML(report.headline_html(run)))\n"),
    (
        "markdown",
        "grid-md",
        "## The grid\n\nDriver x capability by backend and mode; hover a cell for its reason.",
    ),
    ("code", "grid", "display(HTML(report.grid_html(run)))\n"),
    ("code", "gc", "display(HTML(report.gc_html(run)))\n"),
    ("code", "failures", "display(HTML(report.failures_html(run, out_dir)))\n"),
    ("code", "diff", "display(HTML(report.diff_html(run, previous_run)))\n"),
    ("code", "trend", "display(HTML(report.trend_html(runs)))\n"),
    ("code", "fidelity", "display(HTML(report.fidelity_html(run)))\n"),
    ("code", "deviations", "display(HTML(report.deviations_html(run)))\n"),
    ("code", "versus", "display(HTML(report.versus_html(run)))\n"),
    ("code", "script", "display(HTML(report.script_html()))\n"),
]


def build() -> nbformat.NotebookNode:
    cells = []
    for kind, cell_id, source in CELLS:
        if kind == "markdown":
            cells.append(new_markdown_cell(source, id=cell_id))
        else:
            tags = ["parameters"] if cell_id == "parameters" else []
            cells.append(new_code_cell(source, id=cell_id, metadata={"tags": tags}))
    nb = new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"name": "artconf-kit", "display_name": "artconf kit", "language": "python"},
        "language_info": {"name": "python"},
        "title": "artconf matrix report",
    }
    return nb


def text() -> str:
    return nbformat.writes(build()) + "\n"


def main() -> int:
    OUT.write_text(text())
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
