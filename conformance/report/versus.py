"""The "Reference vs Argo" section: where a target of Argo's own drivers agrees with the
reference drivers, where it differs as a deviation row declares, and where it differs undeclared.

A run compares with Argo when its target is `argo-go` (Argo Workflows' own Go drivers, served
as a plugin) or when any of its records comes from the differential lane (`test_differential`:
the same scenario through the target and through the reference). For such a run, per driver
kind:

- an *agreement* is a passed case: a differential scenario whose two outcomes are the same, or
  a suite case the target passes as the reference does;
- a *declared deviation* is an xfail the target declares through a registry row (its record's
  `reference` cites "<id>: <argo reference>"); an xfail from a server's known bug is counted
  apart, as it says nothing about the drivers;
- a row that *no longer holds* is an xpass: the target behaves like the reference where a row
  says it does not; the row (or the case's mark) should go;
- an *undeclared difference* is a fail: no row explains it, and it fails the run.

`versus(run)` builds the section's data (pure, no HTML); `versus_html(run)` renders it through
`templates/versus.html.j2`, or returns "" for a run that does not compare with Argo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conformance.records import Record
from conformance.report.html import render, run_drivers
from conformance.rundir import Run

ARGO_TARGET = "argo-go"
DIFFERENTIAL = "test_differential"
REFERENCE_SIDE = "reference"
OUTCOME_LINES = 8  # lines of an outcome shown in the table; the failures section has them all
OUTCOME_CHARS = 600
_DECLARED = re.compile(r"target declares deviation (\S+)")


@dataclass(frozen=True)
class Difference:
    """One undeclared difference (a failing case): where, which case, the two outcomes."""

    driver: str
    backend: str
    mode: str
    case: str  # "test_differential::test_load_agrees_with_the_reference"
    case_id: str
    scenario: str  # the parameters past the column ("marker-only/load"), "" when none
    differential: bool
    target_outcome: str  # the target's outcome, or the message's first line
    reference_outcome: str  # "" when the case was not run through the reference side by side
    contract: str = ""  # the case's contract: what the reference does, for a suite case


@dataclass(frozen=True)
class Stale:
    """A row that no longer holds: an xpass of a case that a deviation (or bug) declares."""

    driver: str
    backend: str
    mode: str
    case: str
    case_id: str
    scenario: str
    deviation: str  # the registry id, "" for a server's known bug
    reference: str


@dataclass
class KindCounts:
    """One driver kind's counts."""

    driver: str
    differential_agreements: int = 0
    suite_agreements: int = 0
    declared: dict[str, int] = field(default_factory=dict)  # deviation id -> xfail cases
    known_bugs: int = 0  # xfails a server's known bug declares
    stale: int = 0
    undeclared: int = 0
    not_compared: int = 0  # skipped or infra-error: neither agreement nor difference

    @property
    def agreements(self) -> int:
        return self.differential_agreements + self.suite_agreements

    @property
    def declared_total(self) -> int:
        return sum(self.declared.values())


@dataclass(frozen=True)
class DeclaredRow:
    """A deviation the run's xfails cite: its id, kind, how many cases, Argo's reference."""

    id: str
    kinds: tuple[str, ...]  # the driver kinds whose cases cite it
    cases: int
    argo_reference: str
    anchored: bool  # the deviation registry section has a row `#dev-<id>` for it


@dataclass
class Versus:
    target: str
    kinds: list[KindCounts]
    declared: list[DeclaredRow]
    stale: list[Stale]
    differences: list[Difference]
    anchored: frozenset[str] = frozenset()  # ids with a row `#dev-<id>` in the registry section
    partial: bool = False

    @property
    def undeclared(self) -> int:
        return len(self.differences)

    @property
    def agreements(self) -> int:
        return sum(k.agreements for k in self.kinds)

    @property
    def declared_total(self) -> int:
        return sum(k.declared_total for k in self.kinds)


def compares_with_argo(run: Run) -> bool:
    """The run's target is Argo's own drivers, or some case went through the differential lane."""
    target = run.meta.get("target") or next((r.target for r in run.records), "")
    return target == ARGO_TARGET or any(is_differential(r) for r in run.records)


def is_differential(record: Record) -> bool:
    return record.case.split("::", 1)[0] == DIFFERENTIAL


def scenario_of(record: Record) -> str:
    """The case's parameters past its column: `[s3-minio-tls-marker-only/load]` ->
    "marker-only/load"; "" for a case with no other parameter."""
    match = re.search(r"\[(.*)\]$", record.case_id)
    if not match:
        return ""
    params = match.group(1)
    column = f"{record.driver}-{record.backend}" + ("-tls" if record.mode == "tls" else "")
    if params == column:
        return ""
    return params.removeprefix(column + "-") if params.startswith(column + "-") else params


def _first_line(reason: str) -> str:
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "")
    return first.removeprefix("Failed: ") or "(no message)"


def outcomes_of(reason: str, target: str) -> tuple[str, str]:
    """(the target's outcome, the reference's) from a differential failure's message:

        <target> and the reference differ:
          <target>: <outcome>
          reference: <outcome>

    An outcome runs to the next side's line (an error message may span lines). Without
    those lines: (the message's first line, "").
    """
    lines = reason.splitlines()
    start = next(
        (n for n, line in enumerate(lines) if line.rstrip().endswith("and the reference differ:")),
        None,
    )
    if start is not None:
        sides: dict[str, list[str]] = {}
        current = None
        for line in lines[start + 1 :]:
            stripped = line.strip()
            for side in (target, REFERENCE_SIDE):
                if side and stripped.startswith(f"{side}: ") and side not in sides:
                    current = side
                    sides[side] = [stripped.removeprefix(f"{side}: ")]
                    break
            else:
                if current is not None:
                    sides[current].append(stripped)
        if target in sides and REFERENCE_SIDE in sides:
            ours, theirs = ("\n".join(p for p in sides[s] if p) for s in (target, REFERENCE_SIDE))
            return ours, theirs
    return _first_line(reason), ""


def deviation_of(record: Record, known: set[str]) -> str:
    """The registry id an xfail or xpass cites ("" for a server's known bug): its
    `reference` ("<id>: <argo reference>"), else its reason ("target declares deviation <id>")."""
    cited = record.reference.split(":", 1)[0].strip() if record.reference else ""
    if cited and cited in known:
        return cited
    match = _DECLARED.search(record.reason)
    return match.group(1) if match else ""


def _place(record: Record) -> dict[str, str]:
    """Where a record's case ran, as `Difference` and `Stale` name it."""
    return {
        "driver": record.driver,
        "backend": record.backend,
        "mode": record.mode,
        "case": record.case,
        "case_id": record.case_id,
        "scenario": scenario_of(record),
    }


def versus(run: Run) -> Versus | None:
    """The section's data, or None when the run does not compare with Argo."""
    if not compares_with_argo(run):
        return None
    target = str(run.meta.get("target") or next((r.target for r in run.records), "?"))
    registry = {d.id: d for d in run.deviations}
    known = set(registry) | set(run.meta.get("declared_deviations") or [])
    shown = set(run_drivers(run))  # the registry section shows these drivers' rows and core's
    anchored = frozenset(d.id for d in run.deviations if not d.driver or d.driver in shown)
    kinds: dict[str, KindCounts] = {}
    declared_cases: dict[str, int] = {}
    declared_kinds: dict[str, list[str]] = {}
    cited: dict[str, str] = {}
    stale: list[Stale] = []
    differences: list[Difference] = []
    for record in run.records:
        counts = kinds.setdefault(record.driver, KindCounts(record.driver))
        outcome = record.outcome
        if outcome == "pass":
            if is_differential(record):
                counts.differential_agreements += 1
            else:
                counts.suite_agreements += 1
        elif outcome == "xfail":
            deviation = deviation_of(record, known)
            if not deviation:
                counts.known_bugs += 1
                continue
            counts.declared[deviation] = counts.declared.get(deviation, 0) + 1
            declared_cases[deviation] = declared_cases.get(deviation, 0) + 1
            if record.driver not in declared_kinds.setdefault(deviation, []):
                declared_kinds[deviation].append(record.driver)
            if record.reference:
                cited.setdefault(deviation, record.reference.split(":", 1)[-1].strip())
        elif outcome == "xpass":
            counts.stale += 1
            stale.append(
                Stale(
                    **_place(record),
                    deviation=deviation_of(record, known),
                    reference=record.reference,
                )
            )
        elif outcome == "fail":
            counts.undeclared += 1
            ours, reference = outcomes_of(record.reason, record.target or target)
            differences.append(
                Difference(
                    **_place(record),
                    differential=is_differential(record),
                    target_outcome=ours,
                    reference_outcome=reference,
                    contract=record.contract,
                )
            )
        else:  # skip, infra-error
            counts.not_compared += 1
    rank = {driver: n for n, driver in enumerate(run_drivers(run))}
    ordered = sorted(kinds.values(), key=lambda k: (rank.get(k.driver, len(rank)), k.driver))
    for k in ordered:
        k.declared = dict(sorted(k.declared.items()))
    declared = []
    for deviation in sorted(declared_cases, key=lambda d: (_first(declared_kinds[d], rank), d)):
        row = registry.get(deviation)
        declared.append(
            DeclaredRow(
                id=deviation,
                kinds=tuple(sorted(declared_kinds[deviation], key=lambda k: _first([k], rank))),
                cases=declared_cases[deviation],
                argo_reference=row.argo_reference if row else cited.get(deviation, ""),
                anchored=deviation in anchored,
            )
        )

    def place(item: Difference | Stale) -> tuple[int, str, bool, str, str, str, str]:
        # A kind's differential scenarios first, then its suite cases; a case's columns together.
        differential = item.case.split("::", 1)[0] == DIFFERENTIAL
        where = (item.case, item.scenario, item.backend, item.mode)
        return (_first([item.driver], rank), item.driver, not differential, *where)

    return Versus(
        target=target,
        kinds=ordered,
        declared=declared,
        stale=sorted(stale, key=place),
        differences=sorted(differences, key=place),
        anchored=anchored,
        partial=run.partial,
    )


def _first(drivers: list[str], rank: dict[str, int]) -> int:
    """The place of the first of `drivers` in the run's order of drivers (unknown ones last)."""
    return min(rank.get(d, len(rank)) for d in drivers)


def _where(item: Difference | Stale) -> str:
    """The grid's name of the item's column: the backend, plus `-tls` in TLS mode."""
    return item.backend + ("-tls" if item.mode == "tls" else "")


def shown_outcome(text: str) -> str:
    """An outcome as the table shows it: at most OUTCOME_LINES whole lines and about
    OUTCOME_CHARS characters, with a last line saying what was cut."""
    lines = text.splitlines()
    kept, size = [], 0
    for line in lines[:OUTCOME_LINES]:
        if kept and size + len(line) > OUTCOME_CHARS:
            break
        kept.append(line if len(line) <= OUTCOME_CHARS else line[:OUTCOME_CHARS] + " …")
        size += len(line)
    cut = len(lines) - len(kept)
    note = f"\n({cut} more line{'s' * (cut != 1)}: see the failures section)" if cut else ""
    return "\n".join(kept) + note


def _outcomes(item: Difference | Stale) -> tuple[str, ...]:
    if isinstance(item, Difference):
        return (item.target_outcome, item.reference_outcome)
    return (item.deviation, item.reference)


def grouped(items: list[Difference] | list[Stale]) -> list[dict[str, Any]]:
    """One table row per (kind, case, scenario): the columns (backend, `-tls` in TLS mode) it
    shows in, the first one's outcomes, and whether the others' messages differ from them."""
    groups: dict[tuple[str, str, str], list[Difference | Stale]] = {}
    for item in items:
        groups.setdefault((item.driver, item.case, item.scenario), []).append(item)
    return [
        {
            "item": members[0],
            "shown": [shown_outcome(o) for o in _outcomes(members[0])],
            "wheres": [_where(m) for m in members],
            "case_ids": [m.case_id for m in members],
            "vary": len({_outcomes(m) for m in members}) > 1,
        }
        for members in groups.values()
    ]


def versus_html(run: Run) -> str:
    """The section, or "" for a run that does not compare with Argo (reports stay as they were)."""
    data = versus(run)
    if data is None:
        return ""
    title = "Reference vs Argo" if data.target == ARGO_TARGET else f"Reference vs {data.target}"
    return render(
        "versus.html.j2",
        title=title,
        target=data.target,
        partial=data.partial,
        undeclared=data.undeclared,
        stale_total=len(data.stale),
        agreements=data.agreements,
        declared_total=data.declared_total,
        kinds=[
            {
                "driver": k.driver,
                "differential": k.differential_agreements,
                "suite": k.suite_agreements,
                "agreements": k.agreements,
                "declared": [(d, n, d in data.anchored) for d, n in k.declared.items()],
                "declared_total": k.declared_total,
                "known_bugs": k.known_bugs,
                "stale": k.stale,
                "undeclared": k.undeclared,
                "not_compared": k.not_compared,
            }
            for k in data.kinds
        ],
        declared=data.declared,
        anchors=data.anchored,
        stale=grouped(data.stale),
        differences=grouped(data.differences),
    )
