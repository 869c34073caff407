"""Synthetic run directories for `artconf bench report` and the report's interrupt tests.

Written through `conformance.rundir.RunWriter`, like a real run: records, server logs, profile
and deviation snapshots, run.json with `applicable`. The columns are the kit's backends, from
their profiles (each storage backend plain and TLS, each resolution source plain), so a new
backend shows up here without an edit.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from conformance.profiles import RESOLUTION, Profile, load_profiles
from conformance.records import Record
from conformance.rundir import RunWriter, claim_run_dir
from drivers.core.capabilities import Capability
from drivers.core.deviations import DEFAULT_PATH as DEVIATIONS_PATH

LOG_LINES = 2000


def matrix_columns(profiles: dict[str, Profile]) -> dict[str, list[str]]:
    """Driver -> its columns (backend keys), sorted by backend: each storage backend in the
    modes it serves, each resolution source plain (it has no TLS mode)."""
    columns: dict[str, list[str]] = {}
    for name in sorted(profiles):
        profile = profiles[name]
        served = ("plain",) if profile.is_resolution_source else profile.served_modes
        modes = [{"plain": "", "tls": "-tls"}[m] for m in served]
        columns.setdefault(profile.driver, []).extend(profile.backend + m for m in modes)
    return columns


def capabilities_of(driver: str) -> list[str]:
    """The vocabulary's resolution capabilities for the resolution sources, the rest for the
    storage drivers."""
    resolution = driver == RESOLUTION
    return [c.value for c in Capability if c.value.startswith("resolution_") == resolution]


def write_synthetic_runs(root: Path, records: int, runs: int = 3, seed: int = 7) -> list[Path]:
    """`runs` run directories of `records` records each under `root`, oldest first.

    Real drivers, columns and capabilities; a few percent of cases fail, some flip between runs.
    """
    profiles = load_profiles()
    columns = matrix_columns(profiles)
    applicable = {driver: capabilities_of(driver) for driver in columns}
    slots = all_slots(profiles)
    keys = sorted(c for cols in columns.values() for c in cols)
    rng = random.Random(seed)
    paths = []
    for n in range(runs):
        run_id = f"2026010{n + 1}T000000"
        run_dir = claim_run_dir(root, run_id, None)
        with RunWriter(run_dir) as writer:
            logs = {
                key: writer.copy_log(key, _log_text(run_id, key)) for key in keys
            }  # one per column, as if every server had failing cases behind it
            out = [_record(run_id, i, slots[i % len(slots)], rng, logs) for i in range(records)]
            meta = {
                "run_id": run_id, "target": "reference", "kit_sha": "bench", "backends": keys,
                "shard": "", "duration_seconds": 1.0,
                "versions": {"python": sys.version.split()[0]}, "servers": {},
                "applicable": applicable,
            }  # fmt: skip
            writer.finish(
                out,
                meta,
                shard=None,
                profiles=[Path(p.path) for p in profiles.values()],
                deviations_path=DEVIATIONS_PATH,
            )
        paths.append(run_dir)
    return paths


def all_slots(profiles: dict) -> list[tuple[str, str, str]]:
    """(driver, column, capability) of every cell the shipped profiles give the matrix."""
    columns = matrix_columns(profiles)
    return [(d, c, cap) for d, cols in columns.items() for c in cols for cap in capabilities_of(d)]


def _record(
    run_id: str,
    i: int,
    slot: tuple[str, str, str],
    rng: random.Random,
    logs: dict[str, str],
) -> Record:
    driver, column, capability = slot
    roll = rng.random()
    outcome, reason, skip_by, log = "pass", "", "", ""
    if roll < 0.02:
        outcome, reason, log = "fail", f"AssertionError: case {i} differs", logs[column]
    elif roll < 0.022:
        outcome, reason, log = "infra-error", "infra-error: server went away", logs[column]
    elif roll < 0.03:
        outcome, reason = "xfail", "target declares deviation gcs-raw-prefix-siblings"
    elif roll < 0.2:
        outcome, skip_by = "skip", rng.choice(["driver", "backend"])
        reason = f"unsupported-by-{skip_by}: {capability} on {column}"
    return Record(
        run_id=run_id,
        kit_sha="bench",
        target="reference",
        driver=driver,
        backend=column.removesuffix("-tls"),
        mode="tls" if column.endswith("-tls") else "plain",
        capability=capability,
        case=f"test_bench::test_case_{i}",
        case_id=f"bench.py::test_{i}[{column}]",
        outcome=outcome,
        skip_by=skip_by,
        reason=reason,
        log=log,
        contract=f"case {i} does what the spec says (spec 1.3)." if outcome == "fail" else "",
        spec="1.3" if outcome == "fail" else "",
        duration=0.01,
    )


def _log_text(run_id: str, column: str) -> str:
    lines = (f"{run_id} {column} request {k}: GET /bucket/key 200" for k in range(LOG_LINES))
    return "\n".join(lines) + "\n"
