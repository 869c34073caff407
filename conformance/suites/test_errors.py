"""Errors carry Argo's codes and fail fast: missing keys and buckets, rejected credentials
(spec 1.5, 6.5, 11.7).

Each negative case builds its driver with a context whose retry clock records the delays
instead of sleeping: a fatal error must come back on the first attempt, with no backoff.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os

import pytest

from conformance.cases import deviation, requires, verifies
from drivers.core.errors import ArtifactError, Code
from drivers.core.secrets import MemorySecretSource
from conformance.kinds.gcs import throwaway_service_account


def fast_driver(store, artifact=None, secrets=None):
    """A driver whose retry clock records delays; returns (driver, delays)."""
    delays: list[float] = []
    context = dataclasses.replace(store.context, sleep=delays.append)
    return store.new_driver(artifact, secrets, context), delays


def _fails(call) -> ArtifactError:
    with pytest.raises(ArtifactError) as caught:
        call()
    return caught.value


def wrong_secrets(store) -> MemorySecretSource:
    """The store's secrets with the credential replaced by a well-formed wrong one."""
    secrets = {name: dict(keys) for name, keys in store.location.secrets.items()}
    for keys in secrets.values():
        if "secretKey" in keys:  # S3: a valid access key, a wrong secret
            keys["secretKey"] = "artconf-wrong-" + os.urandom(8).hex()
        if "accountKey" in keys:  # Azure: a well-formed account key that is not the account's
            keys["accountKey"] = base64.b64encode(os.urandom(64)).decode()
        if "serviceAccountKey" in keys:  # GCS: a key Google never issued
            keys["serviceAccountKey"] = json.dumps(throwaway_service_account())
    return MemorySecretSource(secrets)


@verifies("load")
def test_load_missing_key_is_not_found(store):
    """load of a missing key is ERR_NOT_FOUND, not transient, not retried (1.5, 11.7)."""
    store.objects.put("present.txt", b"x")
    driver, delays = fast_driver(store)
    error = _fails(lambda: driver.load(store.artifact("absent.txt"), str(store.tmp / "out")))
    assert error.code is Code.NOT_FOUND, f"{error.code}: {error}"
    assert not error.transient
    assert delays == [], f"a missing key was retried (backoff {delays})"
    assert not (store.tmp / "out").exists()


@verifies("load")
@deviation("s3-no-such-bucket-not-found")
def test_load_from_missing_bucket_is_not_found(store):
    """load from a bucket that does not exist is ERR_NOT_FOUND, not retried (1.5, 6.5)."""
    missing = store.fresh_bucket_name()
    artifact = store.artifact_with("file.txt", **_bucket_field(store, missing))
    driver, delays = fast_driver(store, artifact)
    error = _fails(lambda: driver.load(artifact, str(store.tmp / "out")))
    assert error.code is Code.NOT_FOUND, f"{error.code}: {error}"
    assert not error.transient
    assert delays == [], f"a missing bucket was retried (backoff {delays})"


@verifies("auth_rejects_bad_credentials")
@requires("load")
def test_wrong_credentials_are_rejected(store):
    """A wrong secret is ERR_FORBIDDEN or ERR_UNAUTHORIZED, not transient (1.5, 6.5)."""
    store.objects.put("file.txt", b"secret data")
    driver, delays = fast_driver(store, secrets=wrong_secrets(store))
    error = _fails(lambda: driver.load(store.artifact("file.txt"), str(store.tmp / "out")))
    assert error.code in (Code.FORBIDDEN, Code.UNAUTHORIZED), f"{error.code}: {error}"
    assert not error.transient
    assert delays == [], f"rejected credentials were retried (backoff {delays})"
    assert not (store.tmp / "out").exists()


@verifies("auth_rejects_bad_credentials")
@requires("save")
def test_wrong_credentials_write_nothing(store):
    """save with a wrong secret is refused and leaves no object behind (1.5)."""
    path = store.local_file("in.txt", b"data")
    driver, _ = fast_driver(store, secrets=wrong_secrets(store))
    error = _fails(lambda: driver.save(str(path), store.artifact("written.txt")))
    assert error.code in (Code.FORBIDDEN, Code.UNAUTHORIZED), f"{error.code}: {error}"
    assert store.objects.keys() == []


def _bucket_field(store, name: str) -> dict[str, str]:
    return {"container" if store.location.driver == "azure" else "bucket": name}
