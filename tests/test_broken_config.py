"""The configuration suites catch each broken variant of tests/broken/config.py, and only it.

Each variant breaks one behaviour of the reference driver; `artconf run` against MinIO (plain
and TLS) must fail exactly the cells written below. The TLS variant runs every suite, so it also
shows that nothing else in the kit depends on certificate verification.
"""

from __future__ import annotations

import pytest

from tests.matrix_runs import failing_cases, failing_cells, run_matrix

BOTH = ("minio", "minio-tls")

VARIANTS = {
    # name: (-k selection or None for every suite, failing cells, failing cases)
    "tls_unverified": (
        None,
        {("s3", "tls_custom_ca", "minio-tls")},
        {"test_tls::test_system_trust_only_fails_with_certificate_error"},
    ),
    "gzip_default_level": (
        "test_archives",
        {("s3", "archive_tar", column) for column in BOTH},
        {
            "test_archives::test_tar_compression_level_is_honoured",
            "test_archives::test_tar_levels_change_the_archive_size",
        },
    ),
    "not_found_as_internal": (
        "test_errors",
        {("s3", "load", column) for column in BOTH},
        {
            "test_errors::test_load_missing_key_is_not_found",
            "test_errors::test_load_from_missing_bucket_is_not_found",
        },
    ),
    "drops_session_token": (
        "test_credentials",
        {("s3", "auth_session_token", column) for column in BOTH},
        {"test_credentials::test_session_token_round_trip"},
    ),
    "ignores_create_bucket": (
        "test_buckets",
        {
            ("s3", capability, column)
            for capability in ("create_bucket", "create_bucket_object_locking")
            for column in BOTH
        },
        {
            "test_buckets::test_create_bucket_if_not_present_creates_it",
            "test_buckets::test_create_bucket_with_object_locking",
        },
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_variant_fails_exactly_its_cells(variant, artconf_server, tmp_path):
    k, cells, cases = VARIANTS[variant]
    result, records = run_matrix(
        artconf_server, tmp_path, target=f"python:tests.broken.config:{variant}", k=k
    )
    assert records, f"no records written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert failing_cells(records) == cells, result.stdout[-3000:]
    assert failing_cases(records) == cases
    assert result.returncode != 0
