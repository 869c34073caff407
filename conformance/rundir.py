"""The run directory, `reports/<run-id>/`: the one module that knows its layout.

    records.jsonl        one JSON line per case (conformance.records.Record)
    junit.xml            pytest's JUnit XML (written by pytest itself, --junitxml)
    run.json             the run's meta; a shard writes run-<i>of<n>.json instead
    profiles/*.yaml      snapshot of the backend profiles the run used
    deviations.yaml      snapshot of the deviation registry
    logs/<key>.log       the (redacted) log of a server behind a failing case
    report.html          `artconf report`'s page, by default (and report.ipynb beside it)
and beside the run directories, `latest`, a symlink to the run that finished last.

The meta of an interrupted run says so: `"partial": true` and `"interrupted_by"` (a signal
name, or what happened to pytest). The meta may also hold `"applicable"`: per driver, the
capabilities that apply to it (the report shows only those rows).

Three parts:

- creating: `claim_run` / `claim_run_dir` make the directory exclusively (mkdir is the atomic
  check: two runs never share one, an explicit id that exists is refused), `link_latest`;
- writing: `RunWriter`, used by the pytest session:

      writer = RunWriter(run_dir)
      writer.journal(record)              # each case as it finishes: a killed run keeps it
      record.log = writer.copy_log(key, redacted_text)   # -> "logs/<key>.log"
      writer.finish(records, meta, shard=(1, 2), profiles=[profile.yaml, ...],
                    deviations_path=..., interrupted_by="SIGINT" or None)  # the final word
      writer.close()                      # also a context manager

  and `mark_partial` for `artconf run`, when pytest could not finish the run itself;
- reading: `load_run` (one or more directories read as one `Run`: meta, records, parsed
  profile and deviation snapshots, warnings), `history`, `earlier_runs`, `previous_run`;
  and `merge_runs` for the shards of one run.

Damage while reading: the run's own records that cannot be read, or a run.json that is not
JSON, are a `RunDirError` naming the file (and line); a truncated last record line, a partial
marker, a snapshot that does not parse, a malformed `applicable` and a failing case outside
it are warnings in `Run.warnings`. An earlier run with any of them is left out of
`earlier_runs`, noted in `Run.skipped`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml

from conformance.profiles import Profile, ProfileError, parse_profile
from conformance.records import Record, merge_records, read_records, write_records
from drivers.core.capabilities import Capability
from drivers.core.deviations import Deviation, parse_deviations
from drivers.core.errors import ArtifactError

if TYPE_CHECKING:
    import pandas as pd

RECORDS = "records.jsonl"
JUNIT = "junit.xml"
META = "run.json"
PROFILES = "profiles"
DEVIATIONS = "deviations.yaml"
LOGS = "logs"
REPORT = "report.html"
LATEST = "latest"
CLAIM_ATTEMPTS = 5

Shard = str | tuple[int, int] | None  # "1/2" (the command line's) or (1, 2) (the session's)


class RunDirError(Exception):
    """A run directory that cannot be read as one: one line for the user, naming the file."""


class NotARunDir(RunDirError):
    """The path is no run directory at all (no records.jsonl)."""


# --- creating ---------------------------------------------------------------------------------
def new_run_id() -> str:
    """A timestamp to the millisecond plus a random suffix: two runs never share one."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now))
    return f"{stamp}.{int(now % 1 * 1000):03d}-{secrets.token_hex(3)}"


def _shard_tag(shard: Shard) -> str:
    """`1of2` for shard 1 of 2, "" for a whole run."""
    if not shard:
        return ""
    index, count = shard.split("/") if isinstance(shard, str) else shard
    return f"{index}of{count}"


def run_dir_for(reports: Path, run_id: str, shard: Shard) -> Path:
    tag = _shard_tag(shard)
    return reports / (f"{run_id}-shard{tag}" if tag else run_id)


def meta_name(shard: Shard) -> str:
    """run.json, or run-<i>of<n>.json for a shard (the shards' metas merge when read)."""
    tag = _shard_tag(shard)
    return f"run-{tag}.json" if tag else META


def claim_run(reports: Path, run_id: str | None, shard: Shard) -> tuple[str, Path]:
    """The run's id and its freshly created directory. A given id that exists is refused
    (FileExistsError); a default id that another run took in the same instant is drawn anew."""
    if run_id:
        return run_id, claim_run_dir(reports, run_id, shard)
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        run_id = new_run_id()
        try:
            return run_id, claim_run_dir(reports, run_id, shard)
        except FileExistsError:
            if attempt == CLAIM_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def claim_run_dir(reports: Path, run_id: str, shard: Shard) -> Path:
    """Create the run directory; raises FileExistsError if any run (even a concurrent one,
    even an empty directory) already has it: creation is the atomic check."""
    reports.mkdir(parents=True, exist_ok=True)
    run_dir = run_dir_for(reports, run_id, shard)
    run_dir.mkdir()
    return run_dir


def link_latest(reports: Path, run_dir: Path) -> None:
    latest = reports / LATEST
    tmp = reports / f".{LATEST}-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    tmp.replace(latest)  # atomic: readers never see a missing `latest`


# --- writing ----------------------------------------------------------------------------------
def write_atomically(path: Path, text: str) -> None:
    """Write `path` through a temporary file beside it: readers see the old file or the new."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # usual permissions, unlike mkstemp
    try:
        tmp.write_text(text)
        tmp.replace(path)
    except BaseException:  # an interrupt too: never leave the temporary file behind
        tmp.unlink(missing_ok=True)
        raise


def _write_meta(path: Path, meta: Mapping[str, Any]) -> None:
    write_atomically(path, json.dumps(meta, indent=2) + "\n")


class RunWriter:
    """Writes one run directory: records as they come, server logs, then the final files.

    The directory is created on the first write if it does not exist (a plain pytest run with
    `--artconf-run-dir`); `artconf run` claims it beforehand with `claim_run`.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._journal: IO[str] | None = None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def journal(self, record: Record) -> None:
        """Append one record line and flush it, so a run killed later keeps every finished case.

        A kill mid-line leaves at most a torn last line, which reading tells apart (a warning).
        """
        if self._journal is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._journal = open(self.run_dir / RECORDS, "a")  # noqa: SIM115 (closed in close())
        self._journal.write(record.to_json() + "\n")
        self._journal.flush()

    def copy_log(self, key: str, text: str) -> str:
        """Write `text` (already redacted by the caller) as logs/<key>.log; its relative path.

        Called again for the same key later, it replaces the copy (e.g. with the whole log at
        the end of the run).
        """
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"a server key names one log file, not {key!r}")
        logs = self.run_dir / LOGS
        logs.mkdir(parents=True, exist_ok=True)
        write_atomically(logs / f"{key}.log", text)
        return f"{LOGS}/{key}.log"

    def finish(
        self,
        records: Iterable[Record],
        meta: Mapping[str, Any],
        *,
        shard: tuple[int, int] | None,
        profiles: Iterable[Path],
        deviations_path: Path,
        interrupted_by: str | None = None,
    ) -> Path:
        """The final word: records.jsonl rewritten whole (atomically), the snapshots of the
        profile files the run used and of the deviation registry, and run.json (run-<i>of<n>.json
        for a shard); returns the meta's path.

        Profiles come as files, since they may come from several directories
        (ARTCONF_PROFILE_DIRS); each keeps its file name. `interrupted_by` (e.g. "SIGINT")
        marks the run partial: its records hold only the cases that finished.
        """
        self.close()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_records(self.run_dir / RECORDS, records)
        snapshots = self.run_dir / PROFILES
        snapshots.mkdir(exist_ok=True)
        taken: set[str] = set()
        for source in map(Path, profiles):
            name = source.name
            for n in itertools.count(2):  # two directories may hold a minio.yaml each
                if name not in taken:
                    break
                name = f"{source.stem}.{n}{source.suffix}"
            taken.add(name)
            shutil.copyfile(source, snapshots / name)
        shutil.copyfile(deviations_path, self.run_dir / DEVIATIONS)
        meta = dict(meta)
        if interrupted_by:
            meta.update(partial_fields(interrupted_by))
        path = self.run_dir / meta_name(shard)
        _write_meta(path, meta)
        return path

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def partial_fields(cause: str) -> dict[str, Any]:
    """The meta fields of a run whose records hold only the cases that finished."""
    return {"partial": True, "interrupted_by": cause}


def mark_partial(
    run_dir: Path, cause: str, *, shard: Shard = None, defaults: Mapping[str, Any] | None = None
) -> list[Path]:
    """Say in the run's meta file(s) that its records hold only the cases that finished.

    When pytest wrote no meta (it was killed), one is written from `defaults` (e.g. run_id,
    target, shard); an unreadable meta is replaced the same way. Returns the files written.
    """
    paths = sorted(run_dir.glob("run*.json")) or [run_dir / meta_name(shard)]
    for path in paths:
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            meta = None
        if not isinstance(meta, dict):
            meta = dict(defaults or {})
        meta.update(partial_fields(cause))
        _write_meta(path, meta)
    return paths


# --- merging shards ---------------------------------------------------------------------------
def merge_runs(
    run_dirs: Sequence[str | Path], out: str | Path | None = None
) -> tuple[Path, list[Record]]:
    """Merge the shard directories of one run into `out` (default: reports/<run-id>).

    The records are concatenated (mixed run ids and a case in two shards are refused); logs and
    profile snapshots, the deviations snapshot, the JUnit XML and each shard's meta file are
    copied, the first shard's copy winning. Raises NotARunDir for a shard without records and
    RunDirError for shards that do not belong together.
    """
    dirs = [Path(d) for d in run_dirs]
    missing = [str(d / RECORDS) for d in dirs if not (d / RECORDS).exists()]
    if missing:
        raise NotARunDir(f"no records in {', '.join(missing)}")
    try:
        records = list(merge_records(d / RECORDS for d in dirs))
    except ValueError as exc:
        raise RunDirError(str(exc)) from None
    run_id = records[0].run_id if records else str(read_meta(dirs[0]).get("run_id") or "")
    if out is None and not run_id:
        raise RunDirError("the shards hold no record and no run id: give --out")
    target = Path(out) if out is not None else dirs[0].parent / run_id
    write_records(target / RECORDS, records)
    for source in dirs:
        for item in sorted(source.iterdir()):
            if item.is_dir() and item.name in (LOGS, PROFILES):
                for inner in sorted(item.iterdir()):
                    _copy_new(inner, target / item.name / inner.name)
            elif item.is_file() and (item.name in (DEVIATIONS, JUNIT) or _is_meta(item.name)):
                _copy_new(item, target / item.name)
    return target, records


def _is_meta(name: str) -> bool:
    return name == META or re.fullmatch(r"run-\d+of\d+\.json", name) is not None


def _copy_new(source: Path, target: Path) -> None:
    if not source.is_file() or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


# --- reading ----------------------------------------------------------------------------------
@dataclass
class Run:
    """One or more run directories read as one run (e.g. the shards of one run)."""

    dirs: list[Path]
    meta: dict[str, Any]
    records: list[Record]
    profiles: dict[str, Profile] = field(default_factory=dict)  # backend -> its snapshot
    deviations: list[Deviation] = field(default_factory=list)
    origin: dict[str, Path] = field(default_factory=dict)  # case id -> its run directory
    warnings: list[str] = field(default_factory=list)  # a partial run, a truncated file, ...
    skipped: list[str] = field(default_factory=list)  # earlier runs left out, and why
    # driver -> its applicable capabilities in vocabulary order; None: run.json has none
    applicable: dict[str, tuple[str, ...]] | None = None
    _cells: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id", self.dirs[0].name))

    @property
    def cells(self) -> pd.DataFrame:
        """The report's cell table (conformance.report.analysis.cell_table), computed once."""
        if self._cells is None:
            # Imported here: the report package reads runs through this module.
            from conformance.report.analysis import cell_table

            self._cells = cell_table(self.records, self.applicable)
        return self._cells

    @property
    def partial(self) -> bool:
        """The run was interrupted (`"partial": true` in run.json): some cases never ran."""
        return bool(self.meta.get("partial"))

    def log_path(self, record: Record) -> Path | None:
        """The server log a record names, in the directory it came from, if it is there."""
        if not record.log:
            return None
        candidate = self.origin.get(record.case_id, self.dirs[0]) / record.log
        return candidate if candidate.is_file() else None


def natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / RECORDS).is_file()


def looks_like_run_dir(path: Path) -> bool:
    """A run directory, or one that was meant to be (a run.json but no records.jsonl)."""
    return path.is_dir() and (is_run_dir(path) or any(path.glob("run*.json")))


def read_meta(run_dir: Path) -> dict[str, Any]:
    """run.json, or the run-<i>of<n>.json files of shards merged."""
    meta: dict[str, Any] = {}
    for path in sorted(run_dir.glob("run*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{path}: not a run.json: {exc}") from None
        if not isinstance(data, dict):
            raise RunDirError(f"{path}: not a run.json: a JSON {type(data).__name__}")
        try:
            _merge_meta(meta, data)
        except (TypeError, ValueError) as exc:  # e.g. a duration that is not a number
            raise RunDirError(f"{path}: not a run.json: {exc}") from None
    return meta


def partial_note(meta: Mapping[str, Any]) -> str:
    """The warning for an interrupted run, naming the signal when run.json records it."""
    by = meta.get("interrupted_by")
    how = f"interrupted by {by}" if by else "interrupted"
    return f"partial run ({how}): cases that did not run are missing from the matrix"


def _merge_meta(into: dict[str, Any], data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if key == "duration_seconds":
            into[key] = max(float(into.get(key, 0) or 0), float(value or 0))
        elif key == "backends":
            into[key] = sorted({*into.get(key, []), *value})
        elif isinstance(value, dict):
            into[key] = {**into.get(key, {}), **value}
        elif key not in into or not into[key]:
            into[key] = value
        elif into[key] != value and key in ("run_id", "kit_sha", "target", "shard"):
            known = str(into[key]).split(", ")
            if str(value) not in known:
                into[key] = ", ".join([*known, str(value)])


def load_run(*run_dirs: str | Path) -> Run:
    """Read run directories (symlinks such as `reports/latest` resolved) as one run."""
    if not run_dirs:
        raise RunDirError("no run directory given")
    dirs = []
    for given in run_dirs:
        path = Path(given).resolve()
        if not is_run_dir(path):
            raise NotARunDir(f"{given}: not a run directory (no records.jsonl)")
        dirs.append(path)
    meta: dict[str, Any] = {}
    by_case: dict[str, Record] = {}
    origin: dict[str, Path] = {}
    profiles: dict[str, Profile] = {}
    deviations: dict[str, Deviation] = {}
    warnings: list[str] = []
    for path in dirs:
        _merge_meta(meta, read_meta(path))
        try:
            for record in read_records(path / RECORDS, warnings=warnings):
                by_case[record.case_id] = record  # a later directory wins
                origin[record.case_id] = path
        except OSError as exc:
            raise RunDirError(f"{path / RECORDS}: cannot read: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise RunDirError(str(exc)) from None
        for snapshot in sorted((path / PROFILES).glob("*.yaml")):
            profile = _read_profile(snapshot, warnings)
            if profile is not None:
                profiles[profile.backend] = profile
        for row in _read_deviations(path / DEVIATIONS, warnings):
            deviations[row.id] = row
    records = list(by_case.values())
    if not meta.get("run_id") and records:
        meta["run_id"] = records[0].run_id
    applicable = _applicable(meta.get("applicable"), dirs[0], warnings)
    if applicable is not None:
        warnings += _hidden_failures(records, applicable)
    if meta.get("partial"):
        warnings.insert(0, partial_note(meta))
    return Run(
        dirs,
        meta,
        records,
        profiles,
        list(deviations.values()),
        origin,
        warnings,
        applicable=applicable,
    )


def _snapshot_warning(path: Path, problem: object) -> str:
    text = " ".join(str(problem).split())  # parsers' messages may span lines: keep one
    return f"{path}: snapshot left out: {text.removeprefix(f'{path}: ')}"


def _read_yaml(path: Path, warnings: list[str]) -> tuple[bool, Any]:
    """(read, data) of a snapshot; a file that cannot be read or parsed is a warning."""
    try:
        return True, yaml.safe_load(path.read_text())
    except OSError as exc:
        warnings.append(_snapshot_warning(path, f"cannot read: {exc.strerror or exc}"))
    except (yaml.YAMLError, ValueError) as exc:
        warnings.append(_snapshot_warning(path, f"not YAML: {exc}"))
    return False, None


def _read_profile(path: Path, warnings: list[str]) -> Profile | None:
    read, data = _read_yaml(path, warnings)
    if not read:
        return None
    if not isinstance(data, dict):
        warnings.append(_snapshot_warning(path, f"not a profile: a YAML {type(data).__name__}"))
        return None
    try:
        return parse_profile(data, str(path), snapshot=True)
    except ProfileError as exc:  # a missing field, a gap without a reason: named in the message
        warnings.append(_snapshot_warning(path, exc))
    # An unknown capability (UnknownCapability), or a field of the wrong shape, which the
    # parser (written for the kit's own, checked profiles) does not catch itself.
    except (ValueError, TypeError, AttributeError) as exc:
        warnings.append(_snapshot_warning(path, f"not a profile: {exc}"))
    return None


def _read_deviations(path: Path, warnings: list[str]) -> tuple[Deviation, ...]:
    if not path.is_file():
        return ()
    read, data = _read_yaml(path, warnings)
    if not read:
        return ()
    try:
        return parse_deviations(data, str(path))
    except ArtifactError as exc:  # BadRequest, naming the row and field
        warnings.append(_snapshot_warning(path, exc))
        return ()


_VOCABULARY = {capability.value: rank for rank, capability in enumerate(Capability)}


def _applicable(
    value: Any, run_dir: Path, warnings: list[str]
) -> dict[str, tuple[str, ...]] | None:
    """run.json's `applicable` ({driver: [capability, ...]}) in vocabulary order, or None."""
    if value is None:
        return None
    where = f"{run_dir / META}: applicable"
    if not isinstance(value, dict) or not all(
        isinstance(names, list) and all(isinstance(n, str) for n in names)
        for names in value.values()
    ):
        warnings.append(
            f"{where}: not a mapping of driver -> capability names; ignored, the grid shows "
            "every capability with records"
        )
        return None
    unknown = sorted({n for names in value.values() for n in names} - set(_VOCABULARY))
    if unknown:
        warnings.append(f"{where}: unknown capabilities left out: {', '.join(unknown)}")
    return {
        str(driver): tuple(sorted({n for n in names if n in _VOCABULARY}, key=_VOCABULARY.get))
        for driver, names in value.items()
    }


def _hidden_failures(
    records: Sequence[Record], applicable: Mapping[str, Sequence[str]]
) -> list[str]:
    """A warning when a failing case is of a capability outside its driver's applicable set:
    the grid has no row for it, so the page must not read as if nothing failed."""
    hidden = [
        r
        for r in records
        if r.outcome in ("fail", "xpass", "infra-error")
        and r.driver in applicable
        and r.capability not in applicable[r.driver]
    ]
    if not hidden:
        return []
    return [
        f"{len(hidden)} failing case(s) of capabilities outside run.json's applicable set, "
        f"not in the grid (listed under failures), e.g. {hidden[0].case_id}"
    ]


def history(run: Run, reports: Path | None = None) -> list[Path]:
    """Run directories beside the run (or in `reports`) with an earlier run id, oldest first.

    A directory whose run.json cannot be read, or that has a run.json but no records, is left
    out and noted in `run.skipped`.
    """
    parent = reports or run.dirs[0].parent
    current = {d.resolve() for d in run.dirs}
    key = natural_key(run.run_id)
    earlier = []
    for path in parent.iterdir() if parent.is_dir() else []:
        if path.is_symlink() or path.resolve() in current or not looks_like_run_dir(path):
            continue
        if not is_run_dir(path):
            _skip(run, path, f"no {RECORDS}")
            continue
        try:
            run_id = str(read_meta(path).get("run_id", path.name))
        except RunDirError as exc:
            _skip(run, path, str(exc))
            continue
        if natural_key(run_id) < key:
            earlier.append((natural_key(run_id), path))
    return [path for _, path in sorted(earlier)]


def _skip(run: Run, path: Path, why: str) -> None:
    note = f"skipped earlier run {path}: {why}"
    if note not in run.skipped:  # history is read once for the diff and once for the trend
        run.skipped.append(note)


def usable_runs(run: Run, paths: Iterable[Path]) -> Iterator[Run]:
    """The runs of `paths` that read whole and complete, in order; each other one is skipped
    and noted in `run.skipped`."""
    for path in paths:
        try:
            before = load_run(path)
        except RunDirError as exc:
            _skip(run, path, str(exc))
            continue
        if before.warnings:
            _skip(run, path, before.warnings[0])
            continue
        yield before


def earlier_runs(run: Run, count: int) -> list[Run]:
    """The newest `count` usable runs before this one, oldest first.

    A damaged or partial run is skipped (and noted in `run.skipped`): the one before it is used
    instead, so the diff and the trend compare complete runs only.
    """
    newest_first = usable_runs(run, reversed(history(run)))
    return list(itertools.islice(newest_first, count))[::-1]


def previous_run(run: Run, previous: str | Path | None = None) -> Run | None:
    """`previous` if given, else the newest usable earlier run beside this one, else None."""
    if previous:
        return load_run(previous)
    earlier = earlier_runs(run, 1)
    return earlier[-1] if earlier else None
