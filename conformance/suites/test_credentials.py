"""Credentials: static keys, session tokens, AssumeRole, the SDK chain, web identity, SAS and
service-account keys (spec 1.2, 2.1 credentials, 2.2, 2.3, 6.3).

The kind adapter writes every credential variant (`store.kind`). Cases that read an SDK's
default chain get an environment set up explicitly (monkeypatch): the shared config and
credentials files point at empty files and instance metadata is disabled, so nothing of the
machine's own is ever read.
"""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from conformance.openid import OpenIDProvider, SigningKey
from drivers.core.errors import Code
from drivers.core.secrets import MemorySecretSource

REFUSED = (Code.FORBIDDEN, Code.UNAUTHORIZED)
# An STS that refuses a web identity token answers 400 (InvalidIdentityToken); the SDK
# returns that as a plain error, which Argo reports as ERR_INTERNAL (spec 1.5, 6.3).
TOKEN_REFUSED = (*REFUSED, Code.INTERNAL)
HOUR = 3600


def round_trip(store, driver, artifact, objects=None) -> None:
    checks.round_trip(store, driver, artifact, b"credentials \x00\xff", objects)


def refused_load(store, location, key: str, codes=REFUSED, match: str | None = None) -> None:
    """A load through `location` is refused at once: one of `codes`, not transient, no retry,
    and nothing written locally."""
    backoff = checks.Backoff()
    driver = store.driver_for(location, sleep=backoff)
    out = store.tmp / "out"
    artifact = store.artifact_in(location, key)
    checks.raises(lambda: driver.load(artifact, str(out)), *codes, match=match, backoff=backoff)
    assert not out.exists(), f"a refused load left {out}"


# --------------------------------------------------------------------------- static keys


@verifies("auth_static_keys")
@requires("save", "load")
def test_static_keys_round_trip(store):
    """The location's static credentials (access and secret key, or account key)
    authenticate (spec 2.1, 2.3)."""
    round_trip(store, store.driver, store.artifact("static/in.bin"))


@verifies("auth_static_keys")
@requires("save", "load")
@deviation("untrimmed-credentials")
def test_static_keys_are_stripped(store):
    """Keys read from a Secret with a trailing newline still authenticate (deviation 6.3)."""
    driver = store.new_driver(secrets=MemorySecretSource(store.kind.padded_secrets(store.location)))
    round_trip(store, driver, store.artifact("static/stripped.bin"))


# --------------------------------------------------------------------------- session token


@verifies("auth_session_token")
@requires("save", "load")
def test_session_token_round_trip(store):
    """sessionTokenSecret with STS temporary keys authenticates (2.1 sessionTokenSecret)."""
    location = store.kind.session_token(store.location, store.backend.endpoint)
    round_trip(store, store.driver_for(location), store.artifact_in(location, "session/in.bin"))


@verifies("auth_session_token")
@requires("load")
@deviation("refusals-are-typed")
def test_temporary_keys_without_token_are_rejected(store):
    """The same temporary key and secret without the token are refused (negative control, 2.1)."""
    store.objects.put("session/file.txt", b"x")
    location = store.kind.session_token(store.location, store.backend.endpoint, with_token=False)
    refused_load(store, location, "session/file.txt")


# --------------------------------------------------------------------------- AssumeRole


@verifies("auth_assume_role")
@requires("save", "load")
@deviation("sts-same-endpoint")
def test_assume_role_with_environment_source_credentials(store, monkeypatch):
    """roleARN: AssumeRole with source credentials from the default chain's env vars (2.1, 6.3)."""
    location = store.kind.assume_role(
        store.location, store.backend.endpoint, store.tmp, monkeypatch
    )
    round_trip(store, store.driver_for(location), store.artifact_in(location, "role/in.bin"))


@verifies("auth_assume_role")
@requires("load")
@deviation("refusals-are-typed")
def test_assume_role_without_source_credentials_fails(store, monkeypatch):
    """roleARN with nothing in the default chain fails as unauthenticated, at once (6.3)."""
    store.objects.put("role/file.txt", b"x")
    location = store.kind.assume_role(
        store.location, store.backend.endpoint, store.tmp, monkeypatch, source=False
    )
    refused_load(store, location, "role/file.txt")


# --------------------------------------------------------------------------- SDK chain


@verifies("auth_sdk_chain")
@requires("save", "load")
def test_sdk_creds_from_environment(store, monkeypatch):
    """useSDKCreds reads the SDK's default chain: environment variables (2.1, 2.2, 2.3, 6.3)."""
    location = store.kind.sdk_chain(
        store.location, store.backend.endpoint, "env", store.tmp, monkeypatch
    )
    round_trip(store, store.driver_for(location), store.artifact_in(location, "sdk/env.bin"))


@verifies("auth_sdk_chain")
@requires("save", "load")
def test_sdk_creds_from_shared_credentials_file(store, monkeypatch):
    """useSDKCreds reads the SDK's default chain: a credentials file it finds (2.1, 2.2, 6.3)."""
    location = store.kind.sdk_chain(
        store.location, store.backend.endpoint, "file", store.tmp, monkeypatch
    )
    round_trip(store, store.driver_for(location), store.artifact_in(location, "sdk/file.bin"))


# --------------------------------------------------------------------------- web identity


@pytest.fixture(scope="session")
def identity_provider():
    """One OpenID provider per test process; servers configured with it outlive each case."""
    with OpenIDProvider(client_id="artconf-conformance") as provider:
        yield provider


@pytest.fixture
def web_identity_server(store, identity_provider, artconf_private_server):
    """A server of the case's kind that trusts `identity_provider` (same mode as the case),
    with a fresh bucket: (its endpoint, its location, its objects)."""
    endpoint = store.server_with(
        artconf_private_server,
        openid_config_url=identity_provider.config_url,
        openid_client_id=identity_provider.client_id,
    )
    location, objects = store.bucket_on(endpoint)
    return endpoint, location, objects


@verifies("auth_web_identity")
@requires("save", "load")
def test_web_identity_token_round_trip(store, identity_provider, web_identity_server, monkeypatch):
    """useSDKCreds with a web identity token (IRSA): the SDK trades the provider's signed token
    for credentials at the server's STS, and they authenticate (spec 2.1, 6.3)."""
    endpoint, location, objects = web_identity_server
    token = identity_provider.token(store.server.openid_claims)
    location = store.kind.web_identity(location, endpoint, token, store.tmp, monkeypatch)
    driver = store.driver_for(location)
    round_trip(store, driver, store.artifact_in(location, "identity/in.bin"), objects)


@verifies("auth_web_identity")
@requires("load")
def test_web_identity_token_of_an_unknown_key_is_rejected(
    store, identity_provider, web_identity_server, monkeypatch
):
    """A token signed by a key the provider never published is refused by the server's STS:
    no credentials, a failure at once that says so (negative control, spec 1.5, 6.3)."""
    endpoint, location, objects = web_identity_server
    objects.put("identity/file.txt", b"x")
    token = identity_provider.token(store.server.openid_claims, key=SigningKey())
    location = store.kind.web_identity(location, endpoint, token, store.tmp, monkeypatch)
    refused_load(store, location, "identity/file.txt", TOKEN_REFUSED, match=r"(?i)identity|token")


# --------------------------------------------------------------------------- SAS


def _sas(store, *, write: bool, expires_in_seconds: float):
    return store.kind.with_sas(
        store.location,
        store.backend.endpoint,
        write=write,
        expires_in_seconds=expires_in_seconds,
    )


@verifies("auth_sas")
@requires("save", "load")
def test_sas_token_round_trip(store):
    """An accountKeySecret holding a read-write SAS token authenticates (2.3)."""
    location = _sas(store, write=True, expires_in_seconds=HOUR)
    round_trip(store, store.driver_for(location), store.artifact_in(location, "sas/in.bin"))


@verifies("auth_sas")
@requires("save", "load")
@deviation("refusals-are-typed")
def test_read_only_sas_cannot_write(store):
    """A read-only SAS loads but a save with it is ERR_FORBIDDEN and writes nothing (2.3)."""
    store.objects.put("sas/present.txt", b"readable")
    location = _sas(store, write=False, expires_in_seconds=HOUR)
    backoff = checks.Backoff()
    driver = store.driver_for(location, sleep=backoff)
    out = store.tmp / "out.txt"
    driver.load(store.artifact_in(location, "sas/present.txt"), str(out))
    checks.same_file(out, b"readable")
    path = store.local_file("in.txt", b"new")
    target = store.artifact_in(location, "sas/new.txt")
    checks.raises(lambda: driver.save(str(path), target), Code.FORBIDDEN, backoff=backoff)
    assert store.objects.get("sas/new.txt") is None, "a refused save wrote sas/new.txt"


@verifies("auth_sas")
@requires("load")
@deviation("refusals-are-typed")
def test_expired_sas_is_rejected(store):
    """An expired SAS token is refused (ERR_FORBIDDEN or ERR_UNAUTHORIZED), not retried (2.3)."""
    store.objects.put("sas/present.txt", b"readable")
    refused_load(store, _sas(store, write=False, expires_in_seconds=-60), "sas/present.txt")


# --------------------------------------------------------------------------- service account


@verifies("auth_service_account_key")
@requires("save", "load")
def test_service_account_key_round_trip(store):
    """serviceAccountKeySecret (a service-account JSON key) authenticates (2.2)."""
    round_trip(store, store.driver, store.artifact("sa/in.bin"))
