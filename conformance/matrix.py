"""From records to cells: driver x capability x backend/mode, each the worst of its cases.

The eight cell states, worst first, are the legend everywhere (terminal and report):
infra-error > failed > xpass > known-deviation > verified > unsupported-by-driver >
unsupported-by-backend > not-run. `verified` needs at least one passing case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from conformance.causes import FailureGroup, group_failures
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


def render_text(
    records: Iterable[Record], applicable: Mapping[str, Iterable[str]] | None = None
) -> str:
    """The matrix for a terminal: one symbol per cell, and the legend. `applicable` (run.json's,
    per driver): only those capability rows, as in the report (a row Argo's kind does not have,
    `auth_sas` under s3, is noise for a driver author), and any row with a failing case."""
    records = list(records)
    if applicable is not None:
        records = [
            r
            for r in records
            if r.capability in applicable.get(r.driver, ()) or r.outcome in FAILURE_LETTERS
        ]
    table = grid(records)
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


FAILURE_LETTERS = {"fail": "F", "xpass": "X", "infra-error": "E"}
FAILURE_GROUP_LIMIT = 20  # groups shown in the terminal: three lines each at most


def render_failures(
    records: Iterable[Record],
    limit: int = FAILURE_GROUP_LIMIT,
    records_path: str | Path | None = None,
) -> str:
    """The failing cases grouped by (capability, cause), largest group first, with the first
    case of each and the kit's hint; at most `limit` groups. "" when nothing failed."""
    records = list(records)
    groups = group_failures(records)
    if not groups:
        return ""
    count = sum(len(g.records) for g in groups)
    lines = [
        f"failures: {count} cases in {len(groups)} groups (by capability and cause); "
        "first case of each:"
    ]
    for group in groups[:limit]:
        lines.extend(_group_lines(group))
    if len(groups) > limit:
        where = f"{records_path} or the report" if records_path else "records.jsonl or the report"
        lines.append(f"... and {len(groups) - limit} more groups (see {where})")
    return "\n".join(lines)


def _group_lines(group: FailureGroup) -> list[str]:
    """A group's header, its first case, and its hint when the kit has one."""
    first = group.records[0]
    letter = FAILURE_LETTERS[group.state]
    lines = [f"{letter} {group.capability} x{len(group.records)}  {group.cause}"]
    case = f"    first: {first.case_id}"
    contract = _one_line(first.contract)
    if first.spec:  # the contract often ends citing its sections: say them once
        contract = _CITED_SECTIONS.sub("", contract)
    if contract:
        case += f": {contract}"
    if first.spec:
        case += f"  (spec {first.spec})"
    lines.append(case)
    if group.hint:
        lines.append(f"    hint: {group.hint}")
    return lines


_CITED_SECTIONS = re.compile(r"\s*\((?:spec\s+)?\d[^()]*\)\.?$")  # "(spec 1.3, 11 item 8)."


def _one_line(text: str) -> str:
    return " ".join(text.split())
