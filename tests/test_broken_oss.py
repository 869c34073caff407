"""The suites and the OSS stand-in catch each broken variant of tests/broken/oss.py (issue 18).

A driver that drops the security token fails exactly the session-token cells; a driver that
signs with a wrong secret is refused by the stand-in's own signature check
(SignatureDoesNotMatch), never let through.
"""

from __future__ import annotations

from tests.matrix_runs import failing_cases, failing_cells, run_matrix

COLUMNS = ("oss", "oss-tls")


def test_dropping_the_security_token_fails_exactly_the_session_token_cells(
    artconf_server, tmp_path
):
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target="python:tests.broken.oss:drops_security_token",
        backends=("oss",),
        k="test_credentials",
    )
    assert records, f"no records written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert failing_cells(records) == {("oss", "auth_session_token", c) for c in COLUMNS}, (
        result.stdout[-3000:]
    )
    assert failing_cases(records) == {"test_credentials::test_session_token_round_trip"}
    assert result.returncode != 0


def test_a_wrong_secret_is_refused_by_the_signature_check(artconf_server, tmp_path):
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target="python:tests.broken.oss:signs_with_wrong_secret",
        backends=("oss",),
        k="test_load_file_materialises_bytes or test_save_file_lands_at_its_key",
    )
    failed = [r for r in records if r.outcome == "fail"]
    assert failed, f"nothing failed:\n{result.stdout[-3000:]}"
    for record in failed:
        assert "SignatureDoesNotMatch" in record.reason, record.reason
    assert result.returncode != 0
