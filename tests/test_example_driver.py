"""The example driver (examples/minio_driver, written on minio-py from the guide alone) runs
through `artconf run` with one command, shows only S3, and each bug planted in its buggy twin
shows once in the grouped failure list with its contract (issue 12 acceptance)."""

from __future__ import annotations

import json
import re

from tests.matrix_runs import REPO, run_matrix

EXAMPLE = REPO / "examples" / "minio_driver"
PLANTED = {"load", "list_objects", "delete", "is_directory"}  # examples/.../buggy.py
GROUP = re.compile(r"^([FXE]) (\S+) x(\d+)  (.+)$")


def _run(artconf_server, tmp_path, factory):
    return run_matrix(
        artconf_server,
        tmp_path,
        target=f"python:{factory}",
        backends=("minio",),
        tls="off",
        env={"PYTHONPATH": f"{REPO}:{EXAMPLE}"},
        shared_servers=True,
    )


def test_the_example_driver_passes_and_runs_only_s3(artconf_server, tmp_path):
    result, records = _run(artconf_server, tmp_path, "minio_driver:make_driver")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert {r.driver for r in records} == {"s3"}
    assert not [r for r in records if r.outcome in ("fail", "xpass", "infra-error")]
    meta = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    assert meta["drivers"] == ["s3"] and meta["reference"] is False
    grid = result.stdout
    assert "s3: minio" in grid and "azure:" not in grid and "gcs:" not in grid
    assert " auth_sas " not in grid  # an Azure capability: no row under s3


def test_each_planted_bug_shows_once_with_its_contract(artconf_server, tmp_path):
    result, records = _run(artconf_server, tmp_path, "minio_driver.buggy:make_buggy_driver")
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    groups = [(i, GROUP.match(line)) for i, line in enumerate(lines) if GROUP.match(line)]
    capabilities = [m[2] for _, m in groups]
    assert sorted(capabilities) == sorted(PLANTED), result.stdout[-4000:]
    for index, _ in groups:
        first = lines[index + 1].strip()
        assert first.startswith("first: conformance/suites/"), first
        contract = next(r.contract for r in records if r.case_id in first)
        assert contract and re.sub(r"\s*\([^()]*\)\.?$", "", contract) in first
    failing = {r.capability for r in records if r.outcome == "fail"}
    assert failing == PLANTED
