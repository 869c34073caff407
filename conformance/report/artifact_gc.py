"""The "Artifact GC" section: the GC cells (`gc_*`) per kind and backend, one grid per strategy.

The GC suite (`conformance/suites/test_gc.py`) runs each case once per strategy that deletes,
`OnWorkflowCompletion` and `OnWorkflowDeletion`, as a parameter whose id is the strategy's name;
the main grid shows the worst of both in one cell. Here each strategy has its own grid: a cell
is the worst of that strategy's cases in it, with the main grid's states and colours, and its
rows are the driver's GC capabilities the main grid shows (run.json's `applicable`).

`gc_section(run)` builds the data (pure, no HTML); `gc_html(run)` renders it through
`templates/gc.html.j2`, or returns "" for a run without a GC case (reports stay as they were).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.matrix import CELL_STATES
from conformance.records import Record
from conformance.report.analysis import cell_table
from conformance.report.html import cell_title, render, run_drivers
from conformance.report.versus import scenario_of
from conformance.rundir import Run
from drivers.controller.gc import COMPLETION, DELETION, STRATEGIES

GC_PREFIX = "gc_"
TITLES = {COMPLETION: "On workflow completion", DELETION: "On workflow deletion"}
WHEN = {
    COMPLETION: "GC runs once the Workflow is completed (label workflows.argoproj.io/completed) "
    "or being deleted (spec 7.2).",
    DELETION: "GC runs once the Workflow is being deleted (deletionTimestamp); until then every "
    "output stays (spec 7.2).",
}


@dataclass
class StrategyGrid:
    """One strategy's GC cells: per driver, a table of capabilities by backend and mode."""

    strategy: str
    tables: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # cell state -> cells, CELL_STATES order
    cases: int = 0

    @property
    def title(self) -> str:
        return TITLES[self.strategy]


def is_gc(record: Record) -> bool:
    return record.capability.startswith(GC_PREFIX)


def strategy_of(record: Record) -> str:
    """The strategy a GC case ran under: the parameter of its id that names one ("" if none).
    `[s3-minio-tls-trailing-slash-OnWorkflowDeletion]` -> "OnWorkflowDeletion"."""
    params = scenario_of(record).split("-")
    return next((s for s in STRATEGIES if s in params), "")


def _rows(run: Run, driver: str, records: list[Record]) -> list[str]:
    """The driver's GC capabilities: those run.json makes applicable (the main grid's rows),
    else every GC capability with a case."""
    if run.applicable is not None and driver in run.applicable:
        return [c for c in run.applicable[driver] if c.startswith(GC_PREFIX)]
    return sorted({r.capability for r in records if r.driver == driver})


def gc_section(run: Run) -> list[StrategyGrid] | None:
    """One grid per strategy, or None when no GC case is in the run."""
    records = [r for r in run.records if is_gc(r)]
    if not records:
        return None
    columns_of: dict[str, list[tuple[str, str, str]]] = {}
    for r in records:  # a driver's columns: wherever any GC case of it ran, either strategy
        column = f"{r.backend}-tls" if r.mode == "tls" else r.backend
        columns_of.setdefault(r.driver, [])
        if (r.backend, r.mode, column) not in columns_of[r.driver]:
            columns_of[r.driver].append((r.backend, r.mode, column))
    grids = []
    for strategy in STRATEGIES:
        mine = [r for r in records if strategy_of(r) == strategy]
        table = cell_table(mine)
        index = {(row.driver, row.capability, row.column): row for row in table.itertuples()}
        grid = StrategyGrid(strategy, cases=len(mine))
        states: list[str] = []
        for driver in [d for d in run_drivers(run) if d in columns_of]:
            columns = sorted(columns_of[driver])
            backends: dict[str, int] = {}
            for backend, _, _ in columns:
                backends[backend] = backends.get(backend, 0) + 1
            rows = []
            for capability in _rows(run, driver, records):
                cells = []
                for _, _, column in columns:
                    row = index.get((driver, capability, column))
                    state = row.state if row is not None else "not-run"
                    title = (
                        cell_title(row)
                        if row is not None
                        else f"not-run: no {strategy} case ran\n{driver} · {capability} · {column}"
                    )
                    cells.append({"state": state, "column": column, "title": title})
                    states.append(state)
                rows.append((capability, cells))
            grid.tables.append(
                {
                    "driver": driver,
                    "backends": list(backends.items()),
                    "modes": [mode for _, mode, _ in columns],
                    "rows": rows,
                }
            )
        grid.counts = {s: n for s in CELL_STATES if (n := states.count(s))}
        grids.append(grid)
    return grids


def gc_html(run: Run) -> str:
    """The section, or "" for a run without a GC case."""
    grids = gc_section(run)
    if grids is None:
        return ""
    return render(
        "gc.html.j2",
        strategies=[
            {
                "strategy": g.strategy,
                "title": g.title,
                "when": WHEN[g.strategy],
                "cases": g.cases,
                "counts": list(g.counts.items()),
                "tables": g.tables,
            }
            for g in grids
        ],
        partial=run.partial,
    )
