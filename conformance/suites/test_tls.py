"""Transport: whom a driver trusts, and what `insecure` means (spec 2.1, 6.1, 11.14).

Where a kind has an Argo field for the CA (`caSecret`, which replaces the trust roots) the
location carries the kit's CA there; otherwise it is the pod's bundle, `DriverContext.ca_bundle`.
The servers' certificates come from the kit's own CA, which no system trust store holds. The
kind adapter makes each transport variant (`untrusted`, `plain_http`, `tls_on_plain`).
"""

from __future__ import annotations

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.core.errors import Code

# Argo has no code of its own for a failed handshake: a plain error, ERR_INTERNAL (spec 1.5).
TRANSPORT_FAILURE = Code.INTERNAL
# What a TLS client meeting a server without TLS says: an error only a handshake gives, so
# that a refused connection or a crashing factory never passes for it (Go's TLS client says
# "server gave ... response to HTTPS client").
HANDSHAKE_FAILURE = r"(?i)\bssl|\btls\b|wrong.version|handshake|response to HTTPS client"


@verifies("tls_custom_ca")
@requires("save", "load")
def test_custom_ca_is_trusted(store):
    """A server certificate signed by the CA the location trusts (its CA field, or the pod's
    bundle) works (spec 6.1)."""
    checks.round_trip(store, store.driver, store.artifact("tls/in.bin"), b"over tls \x00\xff")


@verifies("tls_custom_ca")
@requires("load")
@deviation("failed-load-leaves-file")
def test_system_trust_only_fails_with_certificate_error(store):
    """Without the custom CA, the handshake fails with a certificate error, not retried, and
    leaves nothing at the load path (6.1)."""
    store.objects.put("file.txt", b"x")
    location = store.kind.untrusted(store.location)
    backoff = checks.Backoff()
    driver = store.driver_for(location, sleep=backoff)
    artifact = store.artifact_in(location, "file.txt")
    checks.raises(
        lambda: driver.load(artifact, str(store.tmp / "out")),
        TRANSPORT_FAILURE,
        match=r"(?i)certificate",
        backoff=backoff,
    )
    assert not (store.tmp / "out").exists(), "a failed load left a file at its path"


@verifies("tls_plain_http")
@requires("save", "load")
def test_plain_http_endpoint_works(store):
    """A location that asks for no TLS (`insecure: true`, or an endpoint URL without TLS)
    talks to a server without TLS (spec 2.1)."""
    location = store.kind.plain_http(store.location)
    artifact = store.artifact_in(location, "plain/in.bin")
    checks.round_trip(store, store.driver_for(location), artifact, b"plain \x00\xff")


@verifies("tls_plain_http")
@requires("load")
def test_tls_location_never_falls_back_to_plain_http(store):
    """A location that says TLS (no `insecure`, an https:// endpoint) fails on a plain server
    instead of falling back to an unencrypted connection (spec 2.1, 6.1)."""
    store.objects.put("file.txt", b"x")
    location = store.kind.tls_on_plain(store.location)
    driver = store.driver_for(location, sleep=checks.Backoff())
    artifact = store.artifact_in(location, "file.txt")
    checks.raises(
        lambda: driver.load(artifact, str(store.tmp / "out")),
        TRANSPORT_FAILURE,
        match=HANDSHAKE_FAILURE,
        transient=None,
    )
