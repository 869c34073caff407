"""Errors carry Argo's codes and fail fast: missing keys and buckets, rejected credentials
(spec 1.5, 6.5, 11.7).

Each negative case builds its driver with a context whose retry clock records the delays
instead of sleeping (`checks.Backoff`): a fatal error must come back on the first attempt.
"""

from __future__ import annotations

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.core.errors import Code
from drivers.core.secrets import MemorySecretSource

REFUSED = (Code.FORBIDDEN, Code.UNAUTHORIZED)


def wrong_secrets(store) -> MemorySecretSource:
    """The case's secrets with the credential replaced by a well-formed wrong one."""
    return MemorySecretSource(store.kind.wrong_secrets(store.location))


@verifies("load")
@deviation("failed-load-leaves-file")
def test_load_missing_key_is_not_found(store):
    """load of a missing key is ERR_NOT_FOUND, not transient, not retried (1.5, 11.7)."""
    store.objects.put("present.txt", b"x")
    backoff = checks.Backoff()
    driver = store.new_driver(context=store.context_with(sleep=backoff))
    out = store.tmp / "out"
    artifact = store.artifact("absent.txt")
    checks.raises(lambda: driver.load(artifact, str(out)), Code.NOT_FOUND, backoff=backoff)
    assert not out.exists(), f"a failed load left {out}"


@verifies("load")
@deviation("no-such-bucket-not-found")
def test_load_from_missing_bucket_is_not_found(store):
    """load from a bucket that does not exist is ERR_NOT_FOUND, not retried (1.5, 6.5)."""
    location = store.kind.in_container(store.location, store.fresh_bucket_name())
    backoff = checks.Backoff()
    driver = store.driver_for(location, sleep=backoff)
    artifact = store.artifact_in(location, "file.txt")
    checks.raises(
        lambda: driver.load(artifact, str(store.tmp / "out")), Code.NOT_FOUND, backoff=backoff
    )


@verifies("auth_rejects_bad_credentials")
@requires("load")
@deviation("refusals-are-typed")
def test_wrong_credentials_are_rejected(store):
    """A wrong secret is ERR_FORBIDDEN or ERR_UNAUTHORIZED, not transient (1.5, 6.5)."""
    store.objects.put("file.txt", b"secret data")
    backoff = checks.Backoff()
    driver = store.new_driver(
        secrets=wrong_secrets(store), context=store.context_with(sleep=backoff)
    )
    out = store.tmp / "out"
    artifact = store.artifact("file.txt")
    checks.raises(lambda: driver.load(artifact, str(out)), *REFUSED, backoff=backoff)
    assert not out.exists(), f"a refused load left {out}"


@verifies("auth_rejects_bad_credentials")
@requires("save")
@deviation("refusals-are-typed")
def test_wrong_credentials_write_nothing(store):
    """save with a wrong secret is refused and leaves no object behind (1.5)."""
    path = store.local_file("in.txt", b"data")
    driver = store.new_driver(
        secrets=wrong_secrets(store), context=store.context_with(sleep=checks.Backoff())
    )
    artifact = store.artifact("written.txt")
    checks.raises(lambda: driver.save(str(path), artifact), *REFUSED)
    checks.same_keys(store.objects.keys(), [])
