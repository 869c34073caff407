"""TLS: trust is exactly the CA bundle a client is given, never the environment's."""

from __future__ import annotations

import os
import ssl

import pytest

from tests.servers import azure_client, gcs_client, s3_client

SYSTEM_BUNDLE = ssl.get_default_verify_paths().openssl_cafile
TLS_KEYS = ["minio-tls", "moto-tls", "azurite-tls", "fake-gcs-tls"]


@pytest.fixture(params=TLS_KEYS)
def tls_endpoint(request, artconf_server):
    return artconf_server(request.param)


def _first_request(endpoint, verify):
    """One request through the server's official client, with retries off."""
    if endpoint.server in ("minio", "moto"):
        return s3_client(endpoint, verify=verify).list_buckets()
    if endpoint.server == "azurite":
        return list(azure_client(endpoint, verify=verify).list_containers())
    return list(gcs_client(endpoint, verify=verify).list_buckets(retry=None, timeout=10))


def _is_cert_failure(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def test_client_trusting_our_ca_succeeds(tls_endpoint):
    assert tls_endpoint.url.startswith("https://")
    _first_request(tls_endpoint, verify=tls_endpoint.ca_bundle)


def test_client_trusting_only_the_system_bundle_fails(tls_endpoint):
    with pytest.raises(Exception) as err:
        _first_request(tls_endpoint, verify=SYSTEM_BUNDLE)
    assert _is_cert_failure(err.value), f"not a certificate error: {err.value!r}"


def test_ca_environment_is_unset():
    for name in ("REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        assert name not in os.environ
