"""The full default matrix for the reference drivers (`artconf run`, every backend and source,
both modes): every expected cell is verified.

`tests/expected_reference_matrix.yaml` lists, per driver and backend column, the capabilities
the reference must reach (`verified`). Anything else in the run must be a declared skip
(driver or backend, with a reason) or a strict xfail with a reference; nothing may fail.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.matrix_runs import failing_cells, run_matrix, verified_cells

EXPECTED = Path(__file__).with_name("expected_reference_matrix.yaml")


def expected_cells() -> set[tuple[str, str, str]]:
    data = yaml.safe_load(EXPECTED.read_text())
    return {
        (driver, capability, column)
        for driver, columns in data.items()
        for column, capabilities in columns.items()
        for capability in capabilities
    }


def test_reference_reaches_every_expected_cell(tmp_path, artconf_server):
    result, records = run_matrix(artconf_server, tmp_path, backends=None, tls="both")
    assert records, result.stdout[-3000:] + result.stderr[-3000:]
    assert failing_cells(records) == set(), result.stdout[-5000:]
    assert result.returncode == 0, result.stderr[-3000:]
    verified = verified_cells(records)
    missing = sorted(expected_cells() - verified)
    assert missing == [], f"expected verified, got otherwise: {missing}"
    for record in records:
        if record.outcome == "skip":
            assert record.skip_by in ("driver", "backend") and record.reason, record
        if record.outcome == "xfail":
            assert record.reference, record
