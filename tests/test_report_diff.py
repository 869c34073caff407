"""The report's diff (the previous run of the same target and backends; declaration changes
apart from fixes) and its sections scoped to the run's drivers (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

from conformance import report
from conformance.records import Record
from conformance.rundir import RunWriter, claim_run_dir
from drivers.core.deviations import DEFAULT_PATH as DEVIATIONS_PATH

CASES = {
    # capability -> (driver, column)
    "load": ("s3", "minio"),
    "save": ("s3", "minio"),
    "delete": ("s3", "minio"),
    "list_objects": ("s3", "minio"),
    "is_directory": ("gcs", "fake-gcs"),
}


def _record(run_id: str, target: str, capability: str, outcome: str, skip_by: str = "") -> Record:
    driver, column = CASES[capability]
    reasons = {
        "fail": f"AssertionError: {capability} differs",
        "skip": f"unsupported-by-{skip_by}: {target} ({driver}) lacks {capability}",
        "xfail": "target declares deviation s3-directory-delete-without-trailing-slash",
    }
    return Record(
        run_id=run_id, kit_sha="test", target=target, driver=driver, backend=column,
        mode="plain", capability=capability, case=f"test_x::test_{capability}",
        case_id=f"suite.py::test_{capability}[{driver}-{column}]", outcome=outcome,
        skip_by=skip_by, reason=reasons.get(outcome, ""),
    )  # fmt: skip


def _write(
    root: Path,
    run_id: str,
    outcomes: dict[str, str],
    *,
    target: str = "python:mys3:make",
    backends: tuple[str, ...] = ("minio",),
    **meta,
) -> Path:
    """A run directory written through RunWriter; outcomes: capability -> outcome, where
    "skip-driver" / "skip-backend" is a declared skip."""
    records = []
    for capability, outcome in outcomes.items():
        name, _, by = outcome.partition("-")
        records.append(_record(run_id, target, capability, name, by))
    run_dir = claim_run_dir(root, run_id, None)
    with RunWriter(run_dir) as writer:
        writer.finish(
            records,
            {"run_id": run_id, "target": target, "backends": list(backends), **meta},
            shard=None,
            profiles=[],
            deviations_path=DEVIATIONS_PATH,
        )
    return run_dir


def _cells(table) -> set[str]:
    return set(table["capability"])


BEFORE = {"load": "fail", "save": "fail", "delete": "fail", "list_objects": "pass"}
AFTER = {
    "load": "pass",  # a fix
    "save": "skip-driver",  # the target no longer declares save: not a fix
    "delete": "xfail",  # a deviation now absorbs it: not a fix
    "list_objects": "fail",  # a new failure
}


def test_a_failure_gone_by_declaration_is_a_declaration_change_not_a_fix(tmp_path):
    reports = tmp_path / "reports"
    _write(reports, "20260101T000000", BEFORE)
    current = _write(reports, "20260102T000000", AFTER)
    run, before, _ = report.load_all([current], None, 3)
    assert before is not None and before.run_id == "20260101T000000"
    changes = report.diff(run, before)
    assert list(changes) == list(report.DIFF_SECTIONS)
    assert _cells(changes["fixes"]) == {"load"}
    assert _cells(changes["declaration changes"]) == {"save", "delete"}
    assert _cells(changes["new failures"]) == {"list_objects"}
    page = report.diff_html(run, before)
    fixes = re.search(r'<table data-diff="fixes">(.*?)</table>', page, re.S).group(1)
    declared = re.search(r'<table data-diff="declaration changes">(.*?)</table>', page, re.S)
    assert "s3/load/minio" in fixes and "s3/save/minio" not in fixes
    assert {"s3/save/minio", "s3/delete/minio"} <= set(
        re.findall(r'data-cell="([^"]+)"', declared.group(1))
    )
    assert "fixes: 1, declaration changes: 2" in page


def test_the_default_previous_run_is_of_the_same_target_and_backends(tmp_path):
    reports = tmp_path / "reports"
    _write(reports, "20260101T000000", BEFORE)  # the same target and backends: this one
    _write(reports, "20260102T000000", AFTER, target="reference")  # another target
    _write(reports, "20260103T000000", AFTER, backends=("minio", "moto"))  # other backends
    current = _write(reports, "20260104T000000", AFTER)
    run, before, _ = report.load_all([current], None, 2)
    assert before.run_id == "20260101T000000"
    assert not run.warnings
    assert "Against run <strong>20260101T000000</strong>" in report.diff_html(run, before)
    # Nothing of the same target and backends before it: no previous run, not another one.
    alone = _write(reports, "20260105T000000", AFTER, target="python:other:make")
    run, before, _ = report.load_all([alone], None, 3)
    assert before is None
    assert "no previous run" in report.diff_html(run, before)


def test_an_explicit_previous_of_another_target_is_used_with_a_warning(tmp_path):
    reports = tmp_path / "reports"
    other = _write(reports, "20260101T000000", BEFORE, target="reference", backends=("moto",))
    current = _write(reports, "20260102T000000", AFTER)
    run, before, _ = report.load_all([current], other, 3)
    assert before.run_id == "20260101T000000"
    assert run.warnings == [
        f"the run compared with, {other}, ran another target, 'reference' (this run's: "
        "'python:mys3:make') and other backends (it lacks minio; it also ran moto): the "
        "changes below compare different drivers or servers"
    ]
    assert "data-diff-warning" in report.diff_html(run, before)


def test_only_the_run_drivers_blocks_and_deviation_rows_are_shown(tmp_path):
    reports = tmp_path / "reports"
    run_dir = _write(
        reports, "20260101T000000", {**AFTER, "is_directory": "skip-driver"}, drivers=["s3"],
        declared_deviations=["s3-directory-delete-without-trailing-slash"], reference=False,
    )  # fmt: skip
    run = report.load_run(run_dir)
    assert {r.driver for r in run.records} == {"s3", "gcs"}  # a gcs case recorded, not covered
    assert report.run_drivers(run) == ["s3"]
    grid = report.grid_html(run)
    assert re.findall(r'<table class="grid" data-driver="([^"]+)"', grid) == ["s3"]
    page = report.deviations_html(run)
    rows = re.findall(r'<tr id="dev-([^"]+)" data-deviation="[^"]+"( class="declared")?', page)
    registry = {d.id: d.driver for d in run.deviations}
    shown = {row for row, _ in rows}
    assert shown == {d for d, driver in registry.items() if driver in ("", "s3")}
    assert any(driver not in ("", "s3") for driver in registry.values())  # some were left out
    assert [row for row, declared in rows if declared] == [
        "s3-directory-delete-without-trailing-slash"
    ]
    assert "data-target-note" in page
    assert "describes the reference drivers' differences" in page
    assert "The target declares 1 of them" in page


def test_an_older_run_without_drivers_shows_the_drivers_of_its_records(tmp_path):
    reports = tmp_path / "reports"
    outcomes = {**AFTER, "is_directory": "pass"}
    run = report.load_run(_write(reports, "20260101T000000", outcomes, target="reference"))
    assert report.run_drivers(run) == ["gcs", "s3"]
    grid = report.grid_html(run)
    assert re.findall(r'<table class="grid" data-driver="([^"]+)"', grid) == ["gcs", "s3"]
    page = report.deviations_html(run)
    assert "data-target-note" not in page  # the reference drivers: the registry is theirs
    assert "data-declared" not in page
