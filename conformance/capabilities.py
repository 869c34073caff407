"""Capabilities as the matrix sees them: the vocabulary, plus Argo's own set per location type.

The vocabulary itself lives in `drivers.core.capabilities` (drivers declare it without the test
harness); this module adds what a target that declares nothing is assumed to support: Argo's
own capability for its location type (spec 1.3 and 2), so a third-party driver is measured
against what Argo's driver for that type does.
"""

from __future__ import annotations

from drivers.core.capabilities import (
    Capability,
    UnknownCapability,
    parse_capabilities,
    parse_capability,
)

__all__ = [
    "ARGO_CAPABILITIES",
    "Capability",
    "UnknownCapability",
    "parse_capabilities",
    "parse_capability",
]


def _names(text: str) -> frozenset[Capability]:
    return parse_capabilities(text.split(), where="ARGO_CAPABILITIES")


_OPERATIONS = """load load_directory save save_directory save_stream open_stream delete
                 list_objects archive_tar archive_zip archive_none"""

# Spec 1.3 (operations) and 2.x (configuration), per location type.
ARGO_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "s3": _names(
        _OPERATIONS
        + """ delete_directory is_directory tls_custom_ca tls_plain_http addressing_path
        addressing_virtual_hosted auth_static_keys auth_session_token auth_assume_role
        auth_sdk_chain auth_web_identity auth_rejects_bad_credentials create_bucket
        create_bucket_object_locking
        region_discovery encryption_sse_s3 encryption_sse_kms encryption_sse_c multipart_upload"""
    ),
    # GCS: IsDirectory is NOT_IMPLEMENTED and Delete removes one object only (spec 1.3).
    "gcs": _names(
        _OPERATIONS
        + " tls_custom_ca auth_service_account_key auth_rejects_bad_credentials multipart_upload"
    ),
    "azure": _names(
        _OPERATIONS
        + """ delete_directory is_directory tls_custom_ca tls_plain_http auth_static_keys
        auth_sas auth_sdk_chain auth_rejects_bad_credentials multipart_upload"""
    ),
}
