"""The report's "Reference vs Argo" section (issue 13): agreements, declared deviations, rows that
no longer hold and undeclared differences, per driver kind, from synthetic records."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import escape

from conformance import report
from conformance.records import Record
from conformance.report.versus import (
    OUTCOME_LINES,
    grouped,
    outcomes_of,
    scenario_of,
    shown_outcome,
    versus,
)
from conformance.rundir import Run
from drivers.core.deviations import deviations

REPO = Path(__file__).resolve().parent.parent
LATEST = sorted((REPO / "tests" / "fixtures" / "runs").iterdir())[-1]
TARGET = "argo-go"
DIFF = "test_differential::test_load_agrees_with_the_reference"
SUITE_DELETE = "test_delete::test_delete_directory_without_trailing_slash"
DEV_S3 = "s3-directory-delete-without-trailing-slash"
DEV_GCS = "gcs-delete-missing-idempotent"
# An outcome with markup in it: the page must show it as text.
ARGO_ODD = "ERR_INTERNAL: plugin argo-go load failed: <script>alert('x')</script> & more"


def _differs(argo: str, reference: str) -> str:
    return (
        f"AssertionError: {TARGET} and the reference differ:\n"
        f"  {TARGET}: {argo}\n"
        f"  reference: {reference}"
    )


def _record(
    driver: str,
    backend: str,
    mode: str,
    case: str,
    params: str,
    outcome: str,
    reason: str = "",
    reference: str = "",
    target: str = TARGET,
    contract: str = "",
) -> Record:
    module, function = case.split("::")
    column = f"{driver}-{backend}" + ("-tls" if mode == "tls" else "")
    suffix = f"{column}-{params}" if params else column
    return Record(
        run_id="20261207T000000",
        kit_sha="abc",
        target=target,
        driver=driver,
        backend=backend,
        mode=mode,
        capability=function.split("_")[1],
        case=case,
        case_id=f"conformance/suites/{module}.py::{function}[{suffix}]",
        outcome=outcome,
        reason=reason,
        reference=reference,
        contract=contract,
    )


def _declared(deviation: str) -> tuple[str, str]:
    ref = next(d.argo_reference for d in deviations() if d.id == deviation)
    cite = f"{deviation}: {ref}"
    return f"target declares deviation {deviation} ({cite})", cite


def _records(target: str = TARGET) -> list[Record]:
    s3_reason, s3_ref = _declared(DEV_S3)
    gcs_reason, gcs_ref = _declared(DEV_GCS)
    return [
        # s3: two differential agreements, one suite agreement, two xfails of one row,
        # one undeclared differential difference, one skip.
        _record("s3", "minio", "plain", DIFF, "file/load", "pass", target=target),
        _record("s3", "minio", "tls", DIFF, "file/load", "pass", target=target),
        _record("s3", "minio", "plain", "test_roundtrip::test_load_file", "", "pass"),
        _record("s3", "minio", "plain", SUITE_DELETE, "", "xfail", s3_reason, s3_ref),
        _record("s3", "minio", "tls", SUITE_DELETE, "", "xfail", s3_reason, s3_ref),
        _record(
            "s3", "minio", "tls", DIFF, "marker-only/load", "fail",
            _differs(ARGO_ODD, "ok, ('dir', {})"), target=target,
        ),
        _record(
            "s3", "minio", "plain", "test_buckets::test_create_bucket", "", "skip",
            "unsupported-by-driver: argo-go (s3) lacks create_bucket",
        ),
        # gcs: one xfail of another row, one xpass of it, a suite failure (no two outcomes),
        # an infra error.
        _record(
            "gcs", "fake-gcs", "plain", "test_delete::test_delete_twice_is_a_success", "",
            "xfail", gcs_reason, gcs_ref,
        ),
        _record(
            "gcs", "fake-gcs", "tls", "test_delete::test_delete_missing_key_is_a_success", "",
            "xpass", f"[XPASS(strict)] {gcs_reason}", gcs_ref,
        ),
        _record(
            "gcs", "fake-gcs", "plain", "test_archives::test_none_skips_symlinks", "", "fail",
            "drivers.core.errors.Internal: plugin argo-go save failed: open dangling\nmore",
            contract="a dangling symlink is skipped, not an error (spec 4.2).",
        ),
        _record("gcs", "fake-gcs", "plain", DIFF, "file/load", "infra-error", "infra-error: gone"),
        # azure: a differential difference whose outcome spans lines, an agreement.
        _record(
            "azure", "azurite", "plain", DIFF, "empty-object/load", "fail",
            _differs("ok, ('dir', {})\n  second line", "ok, ('file', '0B:e3b0c44298fc')"),
            target=target,
        ),
        _record("azure", "azurite", "plain", "test_roundtrip::test_save_file", "", "pass"),
    ]  # fmt: skip


def _run(records: list[Record], target: str = TARGET, **meta) -> Run:
    meta = {
        "run_id": "20261207T000000",
        "target": target,
        "drivers": ["s3", "gcs", "azure"],
        "reference": target == "reference",
        **meta,
    }
    return Run([Path("/nonexistent/run")], meta, records, deviations=list(deviations()))


def test_counts_per_kind():
    data = versus(_run(_records()))
    assert data is not None and data.target == TARGET
    kinds = {k.driver: k for k in data.kinds}
    assert [k.driver for k in data.kinds] == ["s3", "gcs", "azure"]  # run.json's order
    s3, gcs, azure = kinds["s3"], kinds["gcs"], kinds["azure"]
    assert (s3.differential_agreements, s3.suite_agreements, s3.agreements) == (2, 1, 3)
    assert s3.declared == {DEV_S3: 2} and s3.stale == 0
    assert (s3.undeclared, s3.not_compared) == (1, 1)
    assert gcs.agreements == 0 and gcs.declared == {DEV_GCS: 1}
    assert (gcs.stale, gcs.undeclared, gcs.not_compared) == (1, 1, 1)
    assert (azure.agreements, azure.declared, azure.undeclared) == (1, {}, 1)
    assert (data.agreements, data.declared_total, data.undeclared) == (4, 3, 3)


def test_declared_deviations_are_grouped_by_id_and_anchored_to_the_registry():
    data = versus(_run(_records()))
    rows = {row.id: row for row in data.declared}
    assert set(rows) == {DEV_S3, DEV_GCS}
    assert (rows[DEV_S3].kinds, rows[DEV_S3].cases, rows[DEV_S3].anchored) == (("s3",), 2, True)
    assert rows[DEV_S3].argo_reference.startswith("workflow/artifacts/s3/s3.go (Delete)")
    (stale,) = data.stale
    assert (stale.driver, stale.deviation, stale.mode) == ("gcs", DEV_GCS, "tls")


def test_a_registry_row_of_a_driver_outside_the_run_has_no_anchor():
    data = versus(_run(_records(), drivers=["s3", "azure"]))  # the registry shows no gcs row
    rows = {row.id: row for row in data.declared}
    assert rows[DEV_S3].anchored and not rows[DEV_GCS].anchored


def test_undeclared_differences_have_both_outcomes_parsed():
    data = versus(_run(_records()))
    rows = {(d.driver, d.scenario or d.case): d for d in data.differences}
    assert list(rows) == [  # the run's driver order, then the case id
        ("s3", "marker-only/load"),
        ("gcs", "test_archives::test_none_skips_symlinks"),
        ("azure", "empty-object/load"),
    ]
    s3 = rows[("s3", "marker-only/load")]
    assert (s3.backend, s3.mode, s3.differential) == ("minio", "tls", True)
    assert (s3.target_outcome, s3.reference_outcome) == (ARGO_ODD, "ok, ('dir', {})")
    azure = rows[("azure", "empty-object/load")]
    assert azure.target_outcome == "ok, ('dir', {})\nsecond line"
    assert azure.reference_outcome == "ok, ('file', '0B:e3b0c44298fc')"
    gcs = rows[("gcs", "test_archives::test_none_skips_symlinks")]
    assert not gcs.differential and gcs.reference_outcome == ""
    assert gcs.target_outcome == "drivers.core.errors.Internal: plugin argo-go save failed: " + (
        "open dangling"
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (_differs("ERR_NOT_FOUND: no results", "ok"), ("ERR_NOT_FOUND: no results", "ok")),
        ("Failed: expected ERR_FORBIDDEN, got ERR_INTERNAL\ndetail", (
            "expected ERR_FORBIDDEN, got ERR_INTERNAL", "")),
        ("", ("(no message)", "")),
    ],
)  # fmt: skip
def test_outcomes_of_a_reason(reason, expected):
    assert outcomes_of(reason, TARGET) == expected


def test_a_long_outcome_is_cut_at_whole_lines_and_says_so():
    text = "\n".join(f"line {n}" for n in range(20))
    shown = shown_outcome(text).splitlines()
    assert shown[:OUTCOME_LINES] == [f"line {n}" for n in range(OUTCOME_LINES)]
    assert shown[-1] == f"({20 - OUTCOME_LINES} more lines: see the failures section)"
    assert shown_outcome("ok, []") == "ok, []"


def test_scenario_is_the_parameters_past_the_column():
    records = _records()
    assert scenario_of(records[1]) == "file/load"  # the column minio-tls is not part of it
    assert scenario_of(records[3]) == ""


def test_html_shows_the_counts_the_rows_and_both_outcomes_escaped():
    page = report.versus_html(_run(_records()))
    assert page.startswith('<div class="artconf" id="versus"><h2>Reference vs Argo</h2>')
    assert 'data-undeclared="3"' in page and "3 undeclared differences" in page
    assert "1 case where a declared deviation no longer holds" in page
    assert '<tr data-kind="s3">' in page and 'data-agreements="3"' in page
    assert f'<a href="#dev-{DEV_S3}"><code>{DEV_S3}</code></a> &times;2' in page
    assert "<script>" not in page
    assert str(escape(ARGO_ODD)) in page  # the outcome, as text
    assert str(escape("ok, ('file', '0B:e3b0c44298fc')")) in page
    assert "a dangling symlink is skipped, not an error (spec 4.2)." in page
    assert page.count("<tr data-case=") == 4  # one stale row, three differences


def test_a_case_failing_in_several_columns_is_one_row_naming_them():
    again = _record(
        "s3", "minio", "plain", DIFF, "marker-only/load", "fail",
        _differs("ERR_INTERNAL: another message", "ok, ('dir', {})"),
    )  # fmt: skip
    data = versus(_run([*_records(), again]))
    assert data.undeclared == 4
    rows = grouped(data.differences)
    assert len(rows) == 3
    first = rows[0]
    assert first["wheres"] == ["minio", "minio-tls"] and first["vary"]
    assert first["item"].target_outcome == "ERR_INTERNAL: another message"  # minio's, first
    page = report.versus_html(_run([*_records(), again]))
    assert 'messages differ in details">shown: minio</span>' in page


def test_no_undeclared_difference_is_a_pass_sentence():
    kept = [r for r in _records() if r.outcome not in ("fail", "xpass")]
    page = report.versus_html(_run(kept))
    assert 'data-undeclared="0"' in page
    assert "No undeclared difference: argo-go agrees with the reference" in page
    assert "no longer holds" not in page.split("</p>", 1)[0]


def test_a_reference_run_has_no_section():
    records = [r for r in _records() if not r.case.startswith("test_differential")]
    for record in records:
        record.target = "reference"
    assert report.versus_html(_run(records, target="reference")) == ""
    assert report.versus_html(report.load_run(LATEST)) == ""


def test_a_differential_record_brings_the_section_for_any_target():
    page = report.versus_html(_run(_records(target="mine"), target="mine"))
    assert "<h2>Reference vs mine</h2>" in page
