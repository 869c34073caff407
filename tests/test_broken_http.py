"""The request suite catches each broken variant of tests/broken/http.py, and only it.

Each variant breaks one behaviour of the reference HTTP driver; `artconf run` of the request
suite must fail exactly the cells written below.
"""

from __future__ import annotations

import pytest

from tests.matrix_runs import failing_cases, failing_cells, run_matrix

NGINX = ("nginx", "nginx-tls")


def cells(capability: str, columns=NGINX) -> set[tuple[str, str, str]]:
    return {("http", capability, column) for column in columns}


VARIANTS = {
    # name: (backends, -k selection, failing cells, failing cases)
    "ignores_headers": (
        ("nginx",),
        "test_requests",
        cells("request_headers"),
        {"test_requests::test_configured_headers_are_sent"},
    ),
    "drops_basic_auth": (
        ("nginx",),
        "test_requests",
        cells("auth_basic"),
        {
            "test_requests::test_basic_auth_round_trip",
            "test_requests::test_basic_auth_reader_loads_but_cannot_save",
        },
    ),
    "streams_without_redirect_support": (
        ("nginx",),
        "test_requests",
        cells("redirect_resend"),
        {"test_requests::test_stream_save_answered_307_never_loses_the_body"},
    ),
    "delete_reports_success": (
        ("nginx",),
        "test_requests",
        cells("refuses_unsupported"),
        {"test_requests::test_delete_is_refused_with_argos_error"},
    ),
    "never_sends_client_cert": (
        ("nginx-mtls",),
        "client_certificate",  # every request there needs the certificate: its cases only
        cells("auth_client_cert", ("nginx-mtls-tls",)),
        {"test_requests::test_client_certificate_round_trip"},
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_variant_fails_exactly_its_cells(variant, artconf_server, tmp_path):
    backends, k, cells_, cases = VARIANTS[variant]
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target=f"python:tests.broken.http:{variant}",
        backends=backends,
        k=k,
    )
    assert records, f"no records written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert failing_cells(records) == cells_, result.stdout[-3000:]
    assert failing_cases(records) == cases
    assert result.returncode != 0
