"""Requests: how a URL-addressed driver authenticates, what it sends, how it survives a redirect,
and how it refuses what its protocol lacks (spec 1.2, 1.3, 2.5, 2.6).

Every case writes through the driver and checks what landed through the server's own view
(`store.objects`), so a driver that drops a credential, a header or a redirected body fails
here and nowhere else.
"""

from __future__ import annotations

import os
import re

from conformance import checks
from conformance.cases import deviation, requires, verifies
from conformance.suites.test_streaming import OneWayStream
from drivers.controller.gc import ERR_DELETE_NOT_SUPPORTED
from drivers.core.errors import LIST_OBJECTS_NOT_SUPPORTED, ArtifactError, Code

MIB = 1024 * 1024


def round_trip(store, location, key: str, data: bytes) -> None:
    """Save `data` at `key` of `location` with a driver for it, check the server holds it,
    then load it back through the same driver."""
    driver = store.driver_for(location)
    path = store.local_file(f"src/{key}", data)
    driver.save(str(path), store.artifact_in(location, key))
    checks.same_bytes(store.objects.get(key), data, what=key)
    out = store.tmp / f"loaded-{key}"
    driver.load(store.artifact_in(location, key), str(out))
    checks.same_file(out, data)


# --- credentials ----------------------------------------------------------------------------


@verifies("auth_basic")
@requires("save", "load")
def test_basic_auth_round_trip(store):
    """Basic auth from the username and password Secrets lets the writer save and load
    (spec 1.3: basic auth when both values are set)."""
    round_trip(store, store.location, "basic.bin", os.urandom(64 * 1024))


@verifies("auth_basic")
@requires("load", "save")
@deviation("refusals-are-typed")
def test_basic_auth_reader_loads_but_cannot_save(store):
    """A read-only user's credentials load, and a save with them is refused, typed, and
    writes nothing (spec 1.3, 1.5)."""
    store.objects.put("shared.txt", b"readable")
    reader = store.driver_for(store.kind.as_reader(store.location, store.backend.endpoint))
    out = store.tmp / "out.txt"
    reader.load(store.artifact("shared.txt"), str(out))
    checks.same_file(out, b"readable")
    path = store.local_file("in.txt", b"not allowed")
    checks.raises(
        lambda: reader.save(str(path), store.artifact("written.txt")),
        Code.UNAUTHORIZED,
        Code.FORBIDDEN,
    )
    checks.same_keys(store.objects.keys(), ["shared.txt"])


@verifies("auth_oauth2")
@requires("save", "load")
def test_oauth2_client_credentials_round_trip(store):
    """A client-credentials token, asked with the configured scopes and endpoint parameters,
    is sent as a bearer on save and load (spec 1.3, OAuth2)."""
    location = store.kind.with_oauth2(store.location, store.backend.endpoint)
    round_trip(store, location, "oauth.bin", os.urandom(64 * 1024))


@verifies("auth_client_cert")
@requires("save", "load")
def test_client_certificate_round_trip(store):
    """The client certificate and key from Secrets are presented in the handshake, so a
    server that requires one takes the save and the load (spec 1.3, client certificate)."""
    round_trip(store, store.location, "cert.bin", os.urandom(64 * 1024))


@verifies("auth_client_cert")
@requires("load")
def test_no_client_certificate_is_refused(store):
    """Without the certificate the same server refuses the request; the certificate, not
    anything else in the location, is what let the other case in (spec 1.3)."""
    store.objects.put("guarded.txt", b"x")
    location = store.kind.without_auth(store.location, keep_client_cert=False)
    driver = store.driver_for(location)
    out = store.tmp / "out"
    checks.raises(
        lambda: driver.load(store.artifact_in(location, "guarded.txt"), str(out)),
        Code.INTERNAL,
        Code.BAD_REQUEST,
        match=r"400 Bad Request",
    )


# --- what is sent ---------------------------------------------------------------------------


@verifies("request_headers")
@requires("save", "load")
def test_configured_headers_are_sent(store):
    """Every configured header goes with the PUT and the GET (spec 1.3, 2.5)."""
    location = store.kind.with_headers(store.location)
    round_trip(store, location, "headers.bin", b"with the header")


# --- redirects ------------------------------------------------------------------------------


@verifies("redirect_resend")
@requires("save")
def test_save_answered_307_re_sends_its_body(store):
    """A save answered 307 is repeated at the new location with the whole body, as Go's
    client does with a re-readable file (spec 1.3, Save with GetBody)."""
    data = os.urandom(3 * MIB + 1)
    location = store.kind.redirected(store.location)
    path = store.local_file("big.bin", data)
    store.driver_for(location).save(str(path), store.artifact_in(location, "big.bin"))
    checks.same_bytes(store.objects.get("big.bin"), data)


@verifies("redirect_resend")
@requires("save_stream")
def test_stream_save_answered_307_never_loses_the_body(store):
    """A streamed save answered 307 either fails with the status, as Argo's (a stream cannot
    be re-sent), or stores the whole body; never a success that stored less (spec 1.3)."""
    data = os.urandom(MIB + 7)
    location = store.kind.redirected(store.location)
    driver = store.driver_for(location)
    try:
        driver.save_stream(OneWayStream(data), store.artifact_in(location, "streamed.bin"))
    except ArtifactError as error:  # the Argo way: then it says so exactly
        failure = error

        def again() -> None:
            raise failure

        checks.raises(again, Code.INTERNAL, match=r"failed with reason: 307 Temporary Redirect")
        return
    checks.same_bytes(store.objects.get("streamed.bin"), data)


@verifies("save_stream_via_file")
@requires("save_stream")
def test_save_stream_via_file_survives_a_307(store):
    """With `saveStreamViaFile: true` the stream is buffered to a temp file and saved as a
    file, so a 307 is followed with the whole body; the temp file is gone afterwards
    (spec 1.3, 8.1)."""
    data = os.urandom(2 * MIB + 3)
    location = store.kind.via_file(store.kind.redirected(store.location))
    driver = store.driver_for(location)
    private = store.context_with(location).temp_dir
    before = set(private.rglob("*"))  # what the driver made for itself when it was built
    driver.save_stream(OneWayStream(data), store.artifact_in(location, "via-file.bin"))
    checks.same_bytes(store.objects.get("via-file.bin"), data)
    left = sorted(str(p.relative_to(private)) for p in set(private.rglob("*")) - before)
    assert left == [], f"the stream's temp file(s) left behind in {private}: {left}"


# --- what the protocol lacks ----------------------------------------------------------------


@verifies("refuses_unsupported")
def test_delete_is_refused_with_argos_error(store):
    """Delete fails with Argo's ErrDeleteNotSupported, never a false success: artifact GC
    reads that text to finish without deleting (spec 1.3, 7.3)."""
    store.objects.put("kept.txt", b"still here")
    checks.raises(
        lambda: store.driver.delete(store.artifact("kept.txt")),
        Code.INTERNAL,
        match=re.escape(ERR_DELETE_NOT_SUPPORTED),
    )
    checks.same_bytes(store.objects.get("kept.txt"), b"still here")


@verifies("refuses_unsupported")
def test_list_and_is_directory_are_refused_with_argos_errors(store):
    """ListObjects and IsDirectory fail with Argo's own texts (spec 1.3)."""
    artifact = store.artifact("anything")
    checks.raises(
        lambda: store.driver.list_objects(artifact),
        Code.INTERNAL,
        match=re.escape(LIST_OBJECTS_NOT_SUPPORTED),
    )
    checks.raises(
        lambda: store.driver.is_directory(artifact),
        Code.NOT_IMPLEMENTED,
        match=r"IsDirectory currently unimplemented for \w+",
    )
