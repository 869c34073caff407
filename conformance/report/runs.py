"""Which runs a report reads: the run, the run it is compared with, the runs of its trend.

The *previous run* is, by default, the newest usable run directory beside the first one whose
run id sorts before the current run id (ids are timestamps; digits compare as numbers) and
whose run.json names the same `target` and the same `backends`: a run of another driver or
other servers is never compared with by default. An earlier run that is damaged or partial is
skipped, for the diff and the trend, and noted on the page (`conformance.rundir.earlier_runs`).
An explicit `previous` is used whatever it ran, with a warning naming the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance.report.analysis import setup_difference
from conformance.rundir import (
    Run,
    RunDirError,
    earlier_runs,
    history,
    load_run,
    read_meta,
    usable_runs,
)

TREND_RUNS = 10


def trend_runs(run: Run, count: int = TREND_RUNS) -> list[Run]:
    """The last `count` runs, oldest first, ending with this one."""
    return [*earlier_runs(run, count - 1), run] if count > 1 else [run]


def _same_setup(run: Run, path: Path) -> bool:
    try:
        meta = read_meta(path)
    except RunDirError:
        return False  # earlier_runs notes it when it reaches it
    other = Run([path], meta, [])
    return not setup_difference(run, other)


def previous_of(run: Run, candidates: Sequence[Run] = ()) -> Run | None:
    """The newest usable earlier run of the same target and backends, or None.

    `candidates` (earlier runs already read, oldest first) are looked at first; further back,
    run.json alone decides which directories are read whole.
    """
    for before in reversed(candidates):
        if not setup_difference(run, before):
            return before
    seen = {d.resolve() for c in candidates for d in c.dirs}
    further = [p for p in reversed(history(run)) if p.resolve() not in seen]
    return next(usable_runs(run, (p for p in further if _same_setup(run, p))), None)


def load_all(
    run_dirs: Sequence[str | Path], previous: str | Path | None = None, count: int = TREND_RUNS
) -> tuple[Run, Run | None, list[Run]]:
    """The run, the run it is compared with (or None) and the runs of the trend, oldest first.

    The default previous run is the newest earlier one of the same target and backends. A
    `previous` given is used even when partial, truncated or of another target or backends,
    with a warning saying so.
    """
    run = load_run(*run_dirs)
    runs = trend_runs(run, max(2, count))
    if previous:
        before: Run | None = load_run(previous)
        run.warnings += [f"the run compared with, {previous}: {note}" for note in before.warnings]
        difference = setup_difference(run, before)
        if difference:
            run.warnings.append(
                f"the run compared with, {previous}, ran {difference}: the changes below "
                "compare different drivers or servers"
            )
    else:
        before = previous_of(run, runs[:-1])
    return run, before, runs[-count:] if count > 0 else [run]
