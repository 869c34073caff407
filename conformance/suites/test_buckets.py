"""Buckets and objects: createBucketIfNotPresent, object locking, region discovery and
server-side encryption (spec 1.3 Save, 2.1, 6.2).

The kind adapter writes each feature's fields (`store.kind`); what the server made of them is
read back through its own SDK (`store.objects`, `store.admin`).
"""

from __future__ import annotations

import hashlib

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from conformance.kinds import ObjectStore
from drivers.core.errors import Code

SITE_REGION = "eu-west-3"
WRONG_REGION = "us-west-2"
# The server refuses a request signed for another region as malformed (status 400), which Argo
# reports as a plain error, ERR_INTERNAL (spec 1.5); ERR_BAD_REQUEST says the same.
WRONG_REGION_CODES = (Code.INTERNAL, Code.BAD_REQUEST)


def _save(store, driver, artifact, data: bytes = b"bucket data") -> None:
    path = store.local_file("in.bin", data)
    driver.save(str(path), artifact)


def _load(store, driver, artifact) -> bytes:
    out = store.tmp / "out.bin"
    driver.load(artifact, str(out))
    return out.read_bytes()


# --------------------------------------------------------------------------- creation


@verifies("create_bucket")
@requires("save")
def test_create_bucket_if_not_present_creates_it(store):
    """createBucketIfNotPresent: {} creates a missing bucket on save, then writes (1.3, 2.1)."""
    name = store.fresh_bucket_name()
    location = store.kind.creating_container(store.kind.in_container(store.location, name))
    _save(store, store.driver_for(location), store.artifact_in(location, "created/in.bin"))
    checks.same_bytes(ObjectStore(store.admin, name).get("created/in.bin"), b"bucket data")


@verifies("create_bucket")
@requires("save")
def test_create_bucket_tolerates_an_existing_bucket(store):
    """createBucketIfNotPresent on an existing bucket (ours, twice) is no error (1.3)."""
    location = store.kind.creating_container(store.location)
    artifact = store.artifact_in(location, "existing/in.bin")
    driver = store.driver_for(location)
    _save(store, driver, artifact, b"first")
    _save(store, driver, artifact, b"second")
    checks.same_bytes(store.objects.get("existing/in.bin"), b"second")


@verifies("create_bucket")
@requires("save")
@deviation("no-such-bucket-not-found")
def test_missing_bucket_is_not_created_without_the_option(store):
    """Without createBucketIfNotPresent, saving to a missing bucket fails as ERR_NOT_FOUND and
    creates none (spec 1.3 NoSuchBucket is fatal, 2.1)."""
    name = store.fresh_bucket_name()
    location = store.kind.in_container(store.location, name)
    backoff = checks.Backoff()
    driver = store.driver_for(location, sleep=backoff)
    artifact = store.artifact_in(location, "absent/in.bin")
    checks.raises(lambda: _save(store, driver, artifact), Code.NOT_FOUND, backoff=backoff)
    assert not ObjectStore(store.admin, name).exists(), f"bucket {name} was created"


@verifies("create_bucket_object_locking")
@requires("save", "create_bucket")
def test_create_bucket_with_object_locking(store):
    """createBucketIfNotPresent.objectLocking creates the bucket with object lock enabled (2.1)."""
    name = store.fresh_bucket_name()  # removed after the case, every locked version with it
    location = store.kind.in_container(store.location, name)
    location = store.kind.creating_container(location, object_locking=True)
    _save(store, store.driver_for(location), store.artifact_in(location, "locked/in.bin"))
    assert store.admin.object_lock_enabled(name), f"bucket {name} has no object lock"


# --------------------------------------------------------------------------- region


@pytest.fixture
def regional(store, artconf_private_server):
    """A bucket in SITE_REGION on a private server whose own region is SITE_REGION (same
    mode as the case): (its location, its objects)."""
    endpoint = store.server_with(artconf_private_server, region=SITE_REGION)
    return store.bucket_on(endpoint, region=SITE_REGION)


@verifies("region_discovery")
@requires("save", "load")
def test_empty_region_is_discovered(store, regional):
    """With region empty the bucket's region is discovered and used (6.2)."""
    location, objects = regional
    artifact = store.artifact_in(location, "region/in.bin")
    checks.round_trip(store, store.driver_for(location), artifact, b"regional", objects)


@verifies("region_discovery")
@requires("save")
def test_wrong_explicit_region_fails(store, regional):
    """An explicit region is used as is: a wrong one is refused, without a silent redirect
    to the bucket's region and without a retry (2.1, 6.2)."""
    location, objects = regional
    location = store.kind.in_region(location, WRONG_REGION)
    backoff = checks.Backoff()
    driver = store.driver_for(location, sleep=backoff)
    artifact = store.artifact_in(location, "region/in.bin")
    checks.raises(
        lambda: _save(store, driver, artifact),
        *WRONG_REGION_CODES,
        match=r"(?i)region",
        backoff=backoff,
    )
    checks.same_keys(objects.keys(), [])


# --------------------------------------------------------------------------- encryption


@verifies("encryption_sse_s3")
@requires("save", "load")
def test_sse_s3(store):
    """enableEncryption alone is encryption with server-managed keys: the object is stored
    AES256-encrypted, and loads back (2.1)."""
    location = store.kind.server_side_encryption(store.location)
    artifact = store.artifact_in(location, "sse/managed.bin")
    checks.round_trip(store, store.driver_for(location), artifact, b"sse managed")
    encryption = store.objects.encryption("sse/managed.bin")
    assert encryption["algorithm"] == "AES256", encryption


@verifies("encryption_sse_kms")
@requires("save", "load")
def test_sse_kms(store):
    """kmsKeyId with enableEncryption is SSE-KMS with that key (2.1)."""
    key_id = store.server.kms_key_id
    location = store.kind.server_side_encryption(store.location, kms_key_id=key_id)
    artifact = store.artifact_in(location, "sse/kms.bin")
    checks.round_trip(store, store.driver_for(location), artifact, b"sse-kms")
    encryption = store.objects.encryption("sse/kms.bin")
    assert encryption["algorithm"] == "aws:kms", encryption
    assert key_id in encryption["kms_key_id"], encryption


@verifies("encryption_sse_kms")
@requires("save")
def test_kms_key_without_enable_encryption_sends_nothing(store):
    """kmsKeyId without enableEncryption sends no SSE headers: the master switch is off (2.1)."""
    location = store.kind.server_side_encryption(
        store.location, kms_key_id=store.server.kms_key_id, enabled=False
    )
    _save(store, store.driver_for(location), store.artifact_in(location, "sse/off.bin"))
    encryption = store.objects.encryption("sse/off.bin")
    assert encryption["algorithm"] != "aws:kms", encryption


@verifies("encryption_sse_c")
@requires("save", "load")
def test_sse_c(store):
    """serverSideCustomerKeySecret is SSE-C: the driver reads back, a keyless GET fails (2.1)."""
    location = store.kind.customer_key_encryption(store.location, "artconf customer password")
    driver = store.driver_for(location)
    artifact = store.artifact_in(location, "sse/customer-key.bin")
    _save(store, driver, artifact, b"sse-c")
    assert not store.objects.readable_without_customer_key("sse/customer-key.bin")
    checks.same_bytes(_load(store, driver, artifact), b"sse-c")


# --------------------------------------------------------------------------- lifecycle


@verifies("lifecycle_rule")
@requires("save")
def test_lifecycle_rule_installed_for_the_key(store):
    """lifecycleRule installs one bucket rule for the key's prefix on save: ID sha256(key),
    expiration after markDeletionAfterDays, transition to IA after
    markInfrequentAccessAfterDays, aborted uploads after markDeletionAfterDays (spec 2.4)."""
    key = "lifecycle/in.bin"
    location = store.kind.with_lifecycle(store.location, 7, 30)
    _save(store, store.driver_for(location), store.artifact_in(location, key))
    checks.same_bytes(store.objects.get(key), b"bucket data")
    rules = store.admin.lifecycle_rules(store.objects.container)
    assert rules == [
        {
            "id": hashlib.sha256(key.encode()).hexdigest(),
            "prefix": key,
            "status": "Enabled",
            "expiration_days": 30,
            "transitions": [(7, "IA")],
            "abort_multipart_days": 30,
        }
    ], f"lifecycle rules on the bucket: {rules}"


@verifies("lifecycle_rule")
@requires("save")
def test_lifecycle_rule_with_infrequent_after_deletion_is_refused(store):
    """markInfrequentAccessAfterDays above markDeletionAfterDays is refused before anything is
    written: "markInfrequentAccessAfterDays cannot be large than markDeletionAfterDays" (2.4)."""
    location = store.kind.with_lifecycle(store.location, 30, 7)
    checks.raises(
        lambda: _save(
            store, store.driver_for(location), store.artifact_in(location, "lifecycle/bad.bin")
        ),
        Code.BAD_REQUEST,
        match="cannot be large than markDeletionAfterDays",
    )
    assert store.objects.get("lifecycle/bad.bin") is None, "an object was written"
