"""What the report computes from records: cells, state counts, the diff, the trend, flakes.

Pure functions over records, runs and DataFrames; no HTML and no files (runs are read by
`conformance.rundir`). Words:

- a *cell* is (driver, capability, column), column being the backend plus `-tls` in TLS mode,
  its state the worst of its cases (`conformance.matrix`);
- a cell is *flaky* in the trend when one run differs from the runs on both sides (A B A).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from conformance.matrix import CELL_STATES, cells, frame
from conformance.records import Record
from conformance.rundir import Run

KEY = ["driver", "capability", "column"]
FAIL_OUTCOMES = ("infra-error", "fail", "xpass")
BROKEN = frozenset({"failed", "infra-error"})
NOT_RUN_REASON = "no case ran"  # matrix.cells' reason for a cell without a case


def cell_table(
    records: Sequence[Record], applicable: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """matrix.cells plus backend, mode and the number of cases per cell.

    With `applicable` (run.json's {driver: [capability, ...]}), a driver named there has
    exactly those capabilities: cells of other capabilities are left out, and a capability
    without any case is a row of not-run cells in the driver's columns.
    """
    kept = list(records)
    if applicable is not None:
        kept = [
            r for r in kept if r.driver not in applicable or r.capability in applicable[r.driver]
        ]
    table = cells(kept)
    if applicable is not None:
        table = _with_applicable_rows(table, records, applicable)
    if table.empty:
        return pd.DataFrame(columns=[*KEY, "state", "reason", "backend", "mode", "cases"])
    counts = frame(kept).groupby(KEY).size().rename("cases").reset_index()
    table = table.merge(counts, on=KEY, how="left") if not counts.empty else table.assign(cases=0)
    table["cases"] = table["cases"].fillna(0).astype(int)
    tls = table["column"].str.endswith("-tls")
    table["backend"] = table["column"].where(~tls, table["column"].str.removesuffix("-tls"))
    table["mode"] = tls.map({True: "tls", False: "plain"})
    return table


def _with_applicable_rows(
    table: pd.DataFrame, records: Sequence[Record], applicable: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """`table` plus a not-run cell for each applicable capability and column it lacks.

    A driver's columns are those any of its records ran in, left-out capabilities included.
    """
    columns_of: dict[str, set[str]] = {}
    for r in records:
        columns_of.setdefault(r.driver, set()).add(
            f"{r.backend}-tls" if r.mode == "tls" else r.backend
        )
    present = (
        set(zip(table["driver"], table["capability"], table["column"])) if len(table) else set()
    )
    missing = [
        {"driver": d, "capability": c, "column": col, "state": "not-run", "reason": NOT_RUN_REASON}
        for d, names in applicable.items()
        for c in names
        for col in sorted(columns_of.get(d, ()))
        if (d, c, col) not in present
    ]
    if not missing:
        return table
    added = pd.DataFrame(missing)
    table = pd.concat([table, added], ignore_index=True) if len(table) else added
    return table.sort_values(KEY, ignore_index=True)


def state_counts(table: pd.DataFrame) -> dict[str, int]:
    counts = table["state"].value_counts().to_dict() if not table.empty else {}
    return {state: int(counts.get(state, 0)) for state in CELL_STATES}


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


# States a declaration decides (a gap of the driver or the server, a deviation or known bug):
# a cell entering or leaving one of them changed because of what is declared, not the driver.
DECLARED = frozenset({"unsupported-by-driver", "unsupported-by-backend", "known-deviation"})
DIFF_SECTIONS = (
    "new failures",
    "fixes",
    "declaration changes",
    "unexpected passes",
    "other changes",
)


def diff(current: Run, previous: Run | None) -> dict[str, pd.DataFrame] | None:
    """Cells that changed since `previous`, in DIFF_SECTIONS.

    Only broken -> verified is a fix. A broken cell that is now skipped (the target declares
    less, the server profile a new gap) or absorbed by a deviation or known bug is a
    *declaration change*, as is any other change into or out of a declared state that is
    neither a new failure nor an unexpected pass.
    """
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
    fixed = changed["previous"].isin(BROKEN | {"xpass"}) & changed["state"].eq("verified")
    declared = (changed["state"].isin(DECLARED) | changed["previous"].isin(DECLARED)) & ~(
        new_failure | xpass | fixed
    )
    sections = {
        "new failures": new_failure,
        "fixes": fixed,
        "declaration changes": declared,
        "unexpected passes": xpass,
        "other changes": ~(new_failure | xpass | fixed | declared),
    }
    return {name: changed[sections[name]] for name in DIFF_SECTIONS}


def setup_difference(current: Run, other: Run) -> str:
    """How `other` differs in target or backends from `current` ("" when they match), e.g.
    "another target, 'mine' (this run's: 'reference')" or "other backends (it lacks
    minio-tls)": a diff between them compares different drivers or servers."""
    differences = []
    target, theirs = current.meta.get("target", "?"), other.meta.get("target", "?")
    if target != theirs:
        differences.append(f"another target, {theirs!r} (this run's: {target!r})")
    backends = set(current.meta.get("backends") or [])
    their_backends = set(other.meta.get("backends") or [])
    if backends != their_backends:
        parts = []
        if backends - their_backends:
            parts.append("it lacks " + ", ".join(sorted(backends - their_backends)))
        if their_backends - backends:
            parts.append("it also ran " + ", ".join(sorted(their_backends - backends)))
        differences.append(f"other backends ({'; '.join(parts)})")
    return " and ".join(differences)


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
