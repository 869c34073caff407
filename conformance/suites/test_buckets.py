"""Buckets and objects: createBucketIfNotPresent, object locking, region discovery and
server-side encryption (spec 1.3 S3 Save, 2.1, 6.2).
"""

from __future__ import annotations

import contextlib
import dataclasses

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance.cases import requires, verifies
from conformance.kinds import ObjectStore
from drivers.core.errors import ArtifactError
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource

KMS_KEY = "artconf-key"  # the static KMS key the MinIO profile configures
SSE_C_SECRET = "artconf-sse-c"
SITE_REGION = "eu-west-3"


def _save(store, driver, artifact, data: bytes = b"bucket data") -> None:
    path = store.local_file("in.bin", data)
    driver.save(str(path), artifact)


def _head(store, key: str, **extra) -> dict:
    return store.objects.client.head_object(Bucket=store.bucket, Key=key, **extra)


# --------------------------------------------------------------------------- creation


@verifies("create_bucket")
@requires("save")
def test_create_bucket_if_not_present_creates_it(store):
    """createBucketIfNotPresent: {} creates a missing bucket on save, then writes (1.3, 2.1)."""
    name = store.fresh_bucket_name()
    artifact = store.artifact_with("created/in.bin", bucket=name, createBucketIfNotPresent={})
    _save(store, store.new_driver(artifact), artifact)
    assert ObjectStore(store.admin, name).get("created/in.bin") == b"bucket data"


@verifies("create_bucket")
@requires("save")
def test_create_bucket_tolerates_an_existing_bucket(store):
    """createBucketIfNotPresent on an existing bucket (ours, twice) is no error (1.3)."""
    artifact = store.artifact_with("existing/in.bin", createBucketIfNotPresent={})
    driver = store.new_driver(artifact)
    _save(store, driver, artifact, b"first")
    _save(store, driver, artifact, b"second")
    assert store.objects.get("existing/in.bin") == b"second"


@verifies("create_bucket")
@requires("save")
def test_missing_bucket_is_not_created_without_the_option(store):
    """Without createBucketIfNotPresent, saving to a missing bucket fails and creates none (2.1)."""
    name = store.fresh_bucket_name()
    artifact = store.artifact_with("absent/in.bin", bucket=name)
    driver = store.new_driver(artifact, store.secrets, _fast(store))
    with pytest.raises(ArtifactError):
        _save(store, driver, artifact)
    client = store.objects.client
    with pytest.raises(ClientError):
        client.head_bucket(Bucket=name)


@verifies("create_bucket_object_locking")
@requires("save", "create_bucket")
def test_create_bucket_with_object_locking(store):
    """createBucketIfNotPresent.objectLocking creates the bucket with object lock enabled (2.1)."""
    name = store.fresh_bucket_name()
    artifact = store.artifact_with(
        "locked/in.bin", bucket=name, createBucketIfNotPresent={"objectLocking": True}
    )
    client = store.objects.client
    try:
        _save(store, store.new_driver(artifact), artifact)
        config = client.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
        assert config.get("ObjectLockEnabled") == "Enabled", config
    finally:
        _remove_versions(client, name)


def _remove_versions(client, bucket: str) -> None:
    """A locked bucket is versioned: delete every version so the bucket can be removed."""
    with contextlib.suppress(ClientError):
        pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                client.delete_object(
                    Bucket=bucket,
                    Key=item["Key"],
                    VersionId=item["VersionId"],
                    BypassGovernanceRetention=True,
                )


# --------------------------------------------------------------------------- region


@pytest.fixture
def regional(store, artconf_private_server):
    """A bucket on a private MinIO whose site region is eu-west-3 (same mode as the case)."""
    endpoint = artconf_private_server(
        "minio", tls=store.backend.mode == "tls", env={"MINIO_SITE_REGION": SITE_REGION}
    )
    client = boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        region_name=SITE_REGION,
        aws_access_key_id=endpoint.credentials["access_key"],
        aws_secret_access_key=endpoint.credentials["secret_key"],
        verify=endpoint.ca_bundle if endpoint.tls else True,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    name = store.fresh_bucket_name()
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": SITE_REGION})
    location = store.kind.location(endpoint, name)
    yield location, client
    with contextlib.suppress(ClientError):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)


@verifies("region_discovery")
@requires("save", "load")
def test_empty_region_is_discovered(store, regional):
    """With region empty the bucket's region is discovered and used (6.2)."""
    location, client = regional
    artifact = parse_artifact(location.with_key("region/in.bin").artifact())
    driver = store.new_driver(artifact, MemorySecretSource(location.secrets), store.context)
    _save(store, driver, artifact, b"regional")
    bucket = location.fields["bucket"]
    assert client.get_object(Bucket=bucket, Key="region/in.bin")["Body"].read() == b"regional"
    out = store.tmp / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"regional"


@verifies("region_discovery")
@requires("save")
def test_wrong_explicit_region_fails(store, regional):
    """An explicit region is used as is: a wrong one fails, without a silent redirect (2.1, 6.2)."""
    location, client = regional
    fields = {**location.with_key("region/in.bin").fields, "region": "us-west-2"}
    artifact = parse_artifact({"name": "artifact", "s3": fields})
    driver = store.new_driver(artifact, MemorySecretSource(location.secrets), _fast(store))
    with pytest.raises(ArtifactError):
        _save(store, driver, artifact)
    bucket = location.fields["bucket"]
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


# --------------------------------------------------------------------------- encryption


@verifies("encryption_sse_s3")
@requires("save", "load")
def test_sse_s3(store):
    """enableEncryption alone is SSE-S3: the object is stored AES256-encrypted (2.1)."""
    artifact = store.artifact_with("sse/s3.bin", encryptionOptions={"enableEncryption": True})
    driver = store.new_driver(artifact)
    _save(store, driver, artifact, b"sse-s3")
    assert _head(store, "sse/s3.bin").get("ServerSideEncryption") == "AES256"
    out = store.tmp / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"sse-s3"


@verifies("encryption_sse_kms")
@requires("save", "load")
def test_sse_kms(store):
    """kmsKeyId with enableEncryption is SSE-KMS with that key (2.1)."""
    artifact = store.artifact_with(
        "sse/kms.bin", encryptionOptions={"enableEncryption": True, "kmsKeyId": KMS_KEY}
    )
    driver = store.new_driver(artifact)
    _save(store, driver, artifact, b"sse-kms")
    head = _head(store, "sse/kms.bin")
    assert head.get("ServerSideEncryption") == "aws:kms", head
    assert KMS_KEY in head.get("SSEKMSKeyId", ""), head
    out = store.tmp / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"sse-kms"


@verifies("encryption_sse_kms")
@requires("save")
def test_kms_key_without_enable_encryption_sends_nothing(store):
    """kmsKeyId without enableEncryption sends no SSE headers: the master switch is off (2.1)."""
    artifact = store.artifact_with("sse/off.bin", encryptionOptions={"kmsKeyId": KMS_KEY})
    _save(store, store.new_driver(artifact), artifact)
    assert _head(store, "sse/off.bin").get("ServerSideEncryption") != "aws:kms"


@verifies("encryption_sse_c")
@requires("save", "load")
def test_sse_c(store):
    """serverSideCustomerKeySecret is SSE-C: the driver reads back, a keyless GET fails (2.1)."""
    secrets = {**store.location.secrets, SSE_C_SECRET: {"password": "artconf customer password"}}
    artifact = store.artifact_with(
        "sse/customer-key.bin",
        encryptionOptions={
            "enableEncryption": True,
            "serverSideCustomerKeySecret": {"name": SSE_C_SECRET, "key": "password"},
        },
    )
    driver = store.new_driver(artifact, MemorySecretSource(secrets))
    _save(store, driver, artifact, b"sse-c")
    with pytest.raises(ClientError):
        store.objects.client.get_object(Bucket=store.bucket, Key="sse/customer-key.bin")
    out = store.tmp / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"sse-c"


def _fast(store):
    return dataclasses.replace(store.context, sleep=lambda _: None)
