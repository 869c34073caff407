"""Run the conformance matrix from a kit test, against the session's already-running servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.matrix import cells
from conformance.records import Record, read_records

REPO = Path(__file__).resolve().parent.parent


def endpoints_file(artconf_server, keys: list[str], path: Path) -> Path:
    """Write the `emulators up --json` form of the session's servers named by `keys`."""
    data = {}
    for key in keys:
        endpoint = artconf_server(key).to_dict(redact=False)
        endpoint.pop("name")
        data[key] = endpoint
    path.write_text(json.dumps(data))
    return path


def run_matrix(
    artconf_server,
    tmp_path: Path,
    *,
    target: str = "reference",
    backends: tuple[str, ...] | None = ("minio",),
    tls: str = "both",
    k: str | None = None,
    workers: str = "2",
    env: dict[str, str] | None = None,
    shared_servers: bool = False,
) -> tuple[subprocess.CompletedProcess, list[Record]]:
    """`artconf run` in a subprocess; returns the process and its records (backends=None: all).

    By default the run starts servers of its own, so its load never slows the session's shared
    servers; `shared_servers=True` reuses those through an endpoints file instead.
    """
    argv = [
        sys.executable, "-m", "conformance.cli", "run",
        "--target", target,
        "--tls", tls,
        "--reports", str(tmp_path / "reports"),
        "-n", workers,
    ]  # fmt: skip
    if backends:
        argv += ["--backends", ",".join(backends)]
    if shared_servers:
        modes = {"off": [""], "on": ["-tls"], "both": ["", "-tls"]}[tls]
        keys = [b + m for b in backends for m in modes]
        argv += ["--endpoints", str(endpoints_file(artconf_server, keys, tmp_path / "ep.json"))]
    if k:
        argv += ["-k", k]
    run_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    run_env.pop("ARTCONF_REQUIRE", None)  # `artconf run` requires exactly its backends
    result = subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=900)
    records_path = tmp_path / "reports" / "latest" / "records.jsonl"
    records = read_records(records_path) if records_path.exists() else []
    return result, records


def failing_cells(records: list[Record]) -> set[tuple[str, str, str]]:
    """(driver, capability, column) of every cell that is failed, xpass or infra-error."""
    table = cells(records)
    bad = table[table["state"].isin(["failed", "xpass", "infra-error"])]
    return set(zip(bad["driver"], bad["capability"], bad["column"], strict=True))


def verified_cells(records: list[Record]) -> set[tuple[str, str, str]]:
    """(driver, capability, column) of every verified cell."""
    table = cells(records)
    ok = table[table["state"] == "verified"]
    return set(zip(ok["driver"], ok["capability"], ok["column"], strict=True))


def failing_cases(records: list[Record]) -> set[str]:
    return {r.case for r in records if r.outcome in ("fail", "xpass", "infra-error")}
