"""Which runs a report reads: the run, the run it is compared with, the runs of its trend.

The *previous run* is, by default, the newest run directory beside the first one whose run id
sorts before the current run id (ids are timestamps; digits compare as numbers); an earlier run
that is damaged or partial is skipped, for the diff and the trend, and noted on the page
(`conformance.rundir.earlier_runs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance.rundir import Run, earlier_runs, load_run

TREND_RUNS = 10


def trend_runs(run: Run, count: int = TREND_RUNS) -> list[Run]:
    """The last `count` runs, oldest first, ending with this one."""
    return [*earlier_runs(run, count - 1), run] if count > 1 else [run]


def load_all(
    run_dirs: Sequence[str | Path], previous: str | Path | None = None, count: int = TREND_RUNS
) -> tuple[Run, Run | None, list[Run]]:
    """The run, the run it is compared with (or None) and the runs of the trend, oldest first.

    The default previous run is the newest earlier one, i.e. the one before last in the trend.
    A `previous` given is used even when partial or truncated, with a warning saying so.
    """
    run = load_run(*run_dirs)
    runs = trend_runs(run, max(2, count))
    if previous:
        before: Run | None = load_run(previous)
        run.warnings += [f"the run compared with, {previous}: {note}" for note in before.warnings]
    else:
        before = runs[-2] if len(runs) > 1 else None
    return run, before, runs[-count:] if count > 0 else [run]
