"""Acceptance of the differential lane against Argo's own drivers (issue 13 item 4): the whole
default matrix through `--target argo-go` (Argo v4.0.5's S3, GCS and Azure drivers served as a
plugin, built with Go), every backend in both modes, and nothing left undeclared.

Each difference between Argo's drivers and the reference must be a deviation row that the case
or scenario cites (a strict xfail, absorbing only the failure the row declares); a row that no
longer holds (an xpass) fails too. NEEDS GO 1.25.7+: the build is part of the run.
"""

from __future__ import annotations

from collections import Counter

from conformance.report.versus import versus
from conformance.rundir import load_run
from tests.matrix_runs import failing_cells, run_matrix


def test_argo_go_matrix_has_no_undeclared_difference(tmp_path, artconf_server):
    result, records = run_matrix(artconf_server, tmp_path, target="argo-go", backends=None)
    assert records, result.stdout[-3000:] + result.stderr[-3000:]
    assert failing_cells(records) == set(), result.stdout[-6000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert {r.driver for r in records} == {"s3", "gcs", "azure"}

    lane = [r for r in records if r.case.startswith("test_differential::")]
    outcomes = Counter(r.outcome for r in lane)
    assert outcomes["pass"] > 0 and outcomes["xfail"] > 0, outcomes
    assert set(outcomes) <= {"pass", "xfail", "skip"}, outcomes
    for record in records:
        if record.outcome == "xfail":  # a declared deviation (or a server's known bug), cited
            assert record.reference, record

    section = versus(load_run(tmp_path / "reports" / "latest"))
    assert section is not None and section.undeclared == 0 and not section.stale
    assert section.declared_total > 0 and section.agreements > 0
