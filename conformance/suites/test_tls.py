"""Transport: whom a driver trusts, and what `insecure` means (spec 2.1, 6.1, 11.14).

S3 trusts the CA of its `caSecret` (which replaces the trust roots); GCS and Azure have no Argo
field for a CA and trust the pod's bundle, `DriverContext.ca_bundle`. The servers' certificates
come from the kit's own CA, which no system trust store holds.
"""

from __future__ import annotations

import dataclasses

import pytest

from conformance.cases import requires, verifies
from drivers.core.context import system_ca_bundle
from drivers.core.errors import ArtifactError


@verifies("tls_custom_ca")
@requires("save", "load")
def test_custom_ca_is_trusted(store):
    """A server certificate signed by the caSecret (S3) or context CA (GCS, Azure) works (6.1)."""
    path = store.local_file("in.bin", b"over tls \x00\xff")
    store.driver.save(str(path), store.artifact("tls/in.bin"))
    assert store.objects.get("tls/in.bin") == b"over tls \x00\xff"
    out = store.tmp / "out.bin"
    store.driver.load(store.artifact("tls/in.bin"), str(out))
    assert out.read_bytes() == b"over tls \x00\xff"


@verifies("tls_custom_ca")
@requires("load")
def test_system_trust_only_fails_with_certificate_error(store):
    """Without the custom CA, the handshake fails with a certificate error, not retried (6.1)."""
    store.objects.put("file.txt", b"x")
    artifact = store.artifact_with("file.txt", caSecret=None) if _is_s3(store) else None
    delays: list[float] = []
    context = dataclasses.replace(store.context, ca_bundle=system_ca_bundle(), sleep=delays.append)
    driver = store.new_driver(artifact, store.secrets, context)
    with pytest.raises(ArtifactError) as caught:
        driver.load(artifact or store.artifact("file.txt"), str(store.tmp / "out"))
    error = caught.value
    assert "certificate" in str(error).lower(), f"not a certificate error: {error}"
    assert not error.transient, f"a certificate failure is marked transient: {error!r}"
    assert delays == [], f"a certificate failure was retried (backoff {delays})"


@verifies("tls_plain_http")
@requires("save", "load")
def test_plain_http_endpoint_works(store):
    """`insecure: true` (S3) or an http:// endpoint (Azure, GCS) speaks plain HTTP (2.1)."""
    if _is_s3(store):
        artifact = store.artifact_with("plain/in.bin", insecure=True, caSecret=None)
        driver = store.new_driver(artifact)
    else:
        artifact, driver = store.artifact("plain/in.bin"), store.driver
    path = store.local_file("in.bin", b"plain")
    driver.save(str(path), artifact)
    assert store.objects.get("plain/in.bin") == b"plain"
    out = store.tmp / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"plain"


@verifies("tls_plain_http")
@requires("load")
def test_tls_location_never_falls_back_to_plain_http(store):
    """A TLS location (S3 without `insecure`, https:// URL) fails on a plain server (2.1)."""
    store.objects.put("file.txt", b"x")
    # Fail fast: no backoff sleeps, and no Azure SDK retries (what is checked is the failure).
    settings = {**store.context.settings, "ARTIFACT_AZURE_RETRY_TOTAL": "0"}
    context = dataclasses.replace(store.context, sleep=lambda _: None, settings=settings)
    fields = store.location.fields
    if store.location.driver == "s3":
        artifact = store.artifact_with("file.txt", insecure=None)
    elif store.location.driver == "azure":
        artifact = store.artifact_with(
            "file.txt", endpoint=fields["endpoint"].replace("http://", "https://", 1)
        )
    else:
        artifact = store.artifact("file.txt")
        endpoint = context.gcs_endpoint or ""
        context = dataclasses.replace(
            context, gcs_endpoint=endpoint.replace("http://", "https://", 1)
        )
    driver = store.new_driver(artifact, store.secrets, context)
    with pytest.raises(ArtifactError):
        driver.load(artifact, str(store.tmp / "out"))


def _is_s3(store) -> bool:
    return store.location.driver == "s3"
