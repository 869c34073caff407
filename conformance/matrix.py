"""From records to cells: driver x capability x backend/mode, each the worst of its cases.

The eight cell states, worst first, are the legend everywhere (terminal and report):
infra-error > failed > xpass > known-deviation > verified > unsupported-by-driver >
unsupported-by-backend > not-run. `verified` needs at least one passing case.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from conformance.records import Record

CELL_STATES = (
    "infra-error",
    "failed",
    "xpass",
    "known-deviation",
    "verified",
    "unsupported-by-driver",
    "unsupported-by-backend",
    "not-run",
)
SEVERITY = {state: rank for rank, state in enumerate(CELL_STATES)}  # lower is worse
SYMBOLS = {
    "infra-error": "E",
    "failed": "F",
    "xpass": "X",
    "known-deviation": "x",
    "verified": "+",
    "unsupported-by-driver": "d",
    "unsupported-by-backend": "b",
    "not-run": ".",
}
FAILING_STATES = frozenset({"infra-error", "failed", "xpass"})


def case_state(record: Record) -> str:
    """What one case contributes to its cell."""
    if record.outcome == "pass":
        return "verified"
    if record.outcome == "fail":
        return "failed"
    if record.outcome == "xfail":
        return "known-deviation"
    if record.outcome in ("xpass", "infra-error"):
        return record.outcome
    return "unsupported-by-driver" if record.skip_by == "driver" else "unsupported-by-backend"


def frame(records: Iterable[Record]) -> pd.DataFrame:
    rows = [
        {
            "driver": r.driver,
            "capability": r.capability,
            "column": f"{r.backend}-tls" if r.mode == "tls" else r.backend,
            "state": case_state(r),
            "reason": r.reason,
            "case": r.case,
        }
        for r in records
    ]
    return pd.DataFrame(rows, columns=["driver", "capability", "column", "state", "reason", "case"])


def cells(records: Iterable[Record]) -> pd.DataFrame:
    """One row per (driver, capability, column): its state, and the reason and name of its worst
    case (the one a reader opens first)."""
    df = frame(records)
    if df.empty:
        return pd.DataFrame(columns=["driver", "capability", "column", "state", "reason", "case"])
    df["severity"] = df["state"].map(SEVERITY)
    worst = df.sort_values("severity", kind="stable").groupby(
        ["driver", "capability", "column"], as_index=False
    )
    result = worst.first()[["driver", "capability", "column", "state", "reason", "case"]]
    # Fill the grid: a column a driver was run against but a capability had no case there.
    columns_of = df.groupby("driver")["column"].unique().to_dict()
    capabilities_of = df.groupby("driver")["capability"].unique().to_dict()
    present = set(zip(result["driver"], result["capability"], result["column"], strict=True))
    missing = [
        {
            "driver": d,
            "capability": c,
            "column": col,
            "state": "not-run",
            "reason": "no case ran",
            "case": "",
        }
        for d in columns_of
        for c in capabilities_of[d]
        for col in columns_of[d]
        if (d, c, col) not in present
    ]
    if missing:
        result = pd.concat([result, pd.DataFrame(missing)], ignore_index=True)
    return result.sort_values(["driver", "capability", "column"], ignore_index=True)


def grid(records: Iterable[Record]) -> pd.DataFrame:
    """Rows driver x capability, columns backend/mode, values cell states."""
    table = cells(records)
    if table.empty:
        return pd.DataFrame()
    return table.pivot(index=["driver", "capability"], columns="column", values="state").fillna("")


def render_text(records: Iterable[Record]) -> str:
    """The matrix for a terminal: one symbol per cell, and the legend."""
    table = grid(list(records))
    if table.empty:
        return "(no cases ran)"
    lines = []
    for driver, block in table.groupby(level="driver"):
        block = block.loc[:, (block != "").any(axis=0)]
        columns = list(block.columns)
        width = max(len(c) for c in block.index.get_level_values("capability"))
        lines.append(f"{driver}: " + " ".join(f"{c}" for c in columns))
        for (_, capability), row in block.iterrows():
            marks = " ".join(
                SYMBOLS.get(row[c], " ").center(len(c)) if row[c] else " " * len(c) for c in columns
            )
            lines.append(f"  {capability:<{width}}  {marks}")
        lines.append("")
    legend = "  ".join(f"{SYMBOLS[s]} {s}" for s in CELL_STATES)
    lines.append("legend: " + legend)
    return "\n".join(lines)


def failing_cells(records: Iterable[Record]) -> pd.DataFrame:
    table = cells(records)
    return table[table["state"].isin(FAILING_STATES)]


def render_failures(records: Iterable[Record], limit: int = 50) -> str:
    """Each failing case with the contract it broke: two lines each, at most `limit` cases."""
    failing = [r for r in records if r.outcome in ("fail", "xpass", "infra-error")]
    lines = []
    for record in failing[:limit]:
        contract = f": {record.contract}" if record.contract else ""
        lines.append(f"{record.outcome.upper()} {record.case_id}{contract}")
        reason = record.reason.strip().splitlines()
        lines.append(f"    {reason[0][:300] if reason else '(no message)'}")
    if len(failing) > limit:
        lines.append(f"... and {len(failing) - limit} more (see records.jsonl)")
    return "\n".join(lines)
