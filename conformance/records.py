"""Result records: one JSON line per case, the same shape for every target and backend.

Records are written by the controlling process only (xdist workers send reports there), into
`reports/<run-id>/records.jsonl`. Shards of one run merge by concatenation.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OUTCOMES = ("pass", "fail", "skip", "xfail", "xpass", "infra-error")


@dataclass
class Record:
    run_id: str
    kit_sha: str
    target: str
    driver: str
    backend: str
    mode: str
    capability: str
    case: str
    case_id: str
    outcome: str
    skip_by: str = ""  # "driver" or "backend" for a declared gap
    missing: str = ""  # the capability that is missing, for a skip
    duration: float = 0.0
    reason: str = ""
    reference: str = ""
    log: str = ""  # relative path of the server log copied into the run directory
    log_lines: str = ""  # the server-log lines written while a failing case ran (redacted)
    log_note: str = ""  # what log_lines are ("" when no window was taken, e.g. older runs)
    contract: str = ""  # the case's one-line contract (its docstring's first line)
    spec: str = ""  # the spec section(s) the contract cites, e.g. "1.3, 7.3"
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def read_records(path: Path, *, warnings: list[str] | None = None) -> list[Record]:
    """The records of one records.jsonl; any damage is a ValueError naming `path:line`.

    With a `warnings` list, a truncated last line (no newline and not JSON: the writer was
    killed mid-line) is left out and described in `warnings` instead of being an error.
    """
    with open(path, "rb") as handle:  # bytes: a line that is not UTF-8 is named like any other
        lines = handle.readlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            if warnings is not None and number == len(lines) and not line.endswith(b"\n"):
                warnings.append(
                    f"{path}:{number}: the last line is cut short (the run was killed while "
                    f"writing it?): left out, {len(records)} records read"
                )
                break
            raise ValueError(f"{path}:{number}: not a record: {exc}") from None
        records.append(_record(data, f"{path}:{number}"))
    return records


def _record(data: Any, where: str) -> Record:
    """One decoded line as a Record, or a ValueError saying what is wrong at `where`."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: not a record: a JSON {type(data).__name__}, not an object")
    try:
        record = Record(**data)
    except TypeError as exc:
        raise ValueError(f"{where}: not a record: {exc}") from None
    if record.outcome not in OUTCOMES:
        raise ValueError(
            f"{where}: unknown outcome {str(record.outcome)[:40]!r}; "
            f"valid outcomes: {', '.join(OUTCOMES)}"
        )
    return record


def write_records(path: Path, records: Iterable[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as handle:
        for record in records:
            handle.write(record.to_json() + "\n")
    tmp.replace(path)  # never a half-written records file


def kit_sha() -> str:
    """The kit's git commit (with `-dirty` when the tree has changes), or `unknown`."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def merge_records(paths: Iterable[Path]) -> Iterator[Record]:
    """Records of several shards of one run; refuses mixed run ids and duplicate case ids."""
    run_ids: set[str] = set()
    seen: dict[str, Path] = {}
    for path in paths:
        for record in read_records(path):
            run_ids.add(record.run_id)
            if len(run_ids) > 1:
                raise ValueError(f"mixed run ids {sorted(run_ids)}: merge shards of one run only")
            if record.case_id in seen:
                raise ValueError(
                    f"duplicate case {record.case_id!r} in {path} and {seen[record.case_id]}"
                )
            seen[record.case_id] = path
            yield record


def summary(records: Iterable[Record]) -> dict[str, Any]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for record in records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    return counts
