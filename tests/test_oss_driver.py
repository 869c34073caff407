"""`drivers.oss.OSSDriver` against the OSS stand-in, plain HTTP and TLS (issue 18).

What the suites do not pin down: Argo's lifecycle-rule validation message, the security token
kept out of every repr, error and log line, createBucketIfNotPresent, the multipart split as
the server records it, and the not-found behaviour. Each test gets its own bucket.
"""

from __future__ import annotations

import logging
import math
import uuid
from pathlib import Path

import pytest

from conformance.kinds.oss import KIND, OSSAdmin
from drivers.core.context import DriverContext
from drivers.core.errors import ArtifactError, BadRequest, Code, NotFound, Unimplemented
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from drivers.oss import OSSDriver
from drivers.oss.driver import THRESHOLD_SETTING

MIB = 1024 * 1024


@pytest.fixture(params=["oss", "oss-tls"])
def endpoint(request: pytest.FixtureRequest, artconf_server):
    return artconf_server(request.param)


@pytest.fixture
def bucket(endpoint):
    admin = OSSAdmin(endpoint)
    name = f"driver-{uuid.uuid4().hex[:12]}"
    admin.create_container(name)
    yield name
    admin.delete_container(name)


def driver_for(endpoint, bucket: str, tmp_path: Path, key: str = "k", **fields):
    location = KIND.location(endpoint, bucket, key)
    if fields.pop("temporary", False):
        location = KIND.session_token(location, endpoint)
    location = location.replace(**fields)
    artifact = parse_artifact(location.artifact())
    context = location.driver_context(temp_dir=tmp_path / "private", sleep=_no_sleep)
    return OSSDriver(artifact, MemorySecretSource(location.secrets), context), artifact, location


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"a retry slept {seconds}s: the error should have been final")


def with_key(artifact, key: str):
    copy = artifact.model_copy(deep=True)
    copy.oss.key = key
    return copy


def test_lifecycle_order_is_refused_with_argos_message(endpoint, bucket, tmp_path):
    with pytest.raises(BadRequest) as caught:
        driver_for(
            endpoint,
            bucket,
            tmp_path,
            lifecycleRule={"markInfrequentAccessAfterDays": 9, "markDeletionAfterDays": 3},
        )
    assert "markInfrequentAccessAfterDays cannot be large than markDeletionAfterDays" in str(
        caught.value
    )


def test_lifecycle_zero_days_installs_nothing(endpoint, bucket, tmp_path):
    driver, artifact, _ = driver_for(
        endpoint, bucket, tmp_path, lifecycleRule={"markDeletionAfterDays": 0}
    )
    source = tmp_path / "in.txt"
    source.write_bytes(b"x")
    driver.save(str(source), artifact)
    assert OSSAdmin(endpoint).lifecycle_rules(bucket) == []


def test_security_token_never_shown(endpoint, bucket, tmp_path, caplog):
    token = endpoint.credentials["sts_token"]
    caplog.set_level(logging.DEBUG)
    driver, artifact, _ = driver_for(endpoint, bucket, tmp_path, temporary=True)
    source = tmp_path / "in.txt"
    source.write_bytes(b"temporary")
    driver.save(str(source), artifact)
    out = tmp_path / "out.txt"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"temporary"
    with pytest.raises(NotFound) as missing:
        driver.load(with_key(artifact, "absent"), str(tmp_path / "absent"))
    wrong = artifact.model_copy(deep=True)
    wrong.oss.security_token = type(wrong.oss.security_token)("not-" + token)
    refused_driver = OSSDriver(wrong, driver.secrets, driver.context)
    with pytest.raises(ArtifactError) as refused:
        refused_driver.load(wrong, str(tmp_path / "refused"))
    assert refused.value.code is Code.FORBIDDEN and "InvalidSecurityToken" in str(refused.value)
    shown = [
        repr(driver),
        repr(artifact),
        str(artifact),
        artifact.model_dump_json(),
        str(missing.value),
        repr(missing.value),
        str(refused.value),
        caplog.text,
    ]
    assert not [text for text in shown if token in text]


def test_create_bucket_if_not_present(endpoint, tmp_path):
    name = f"created-{uuid.uuid4().hex[:12]}"
    admin = OSSAdmin(endpoint)
    try:
        driver, artifact, _ = driver_for(endpoint, name, tmp_path, createBucketIfNotPresent=True)
        source = tmp_path / "in.txt"
        source.write_bytes(b"new bucket")
        driver.save(str(source), artifact)
        driver.save(str(source), artifact)  # the bucket exists now: still fine
        assert admin.get(name, "k") == b"new bucket"
    finally:
        admin.delete_container(name)


def test_without_create_a_missing_bucket_is_not_found(endpoint, tmp_path):
    name = f"absent-{uuid.uuid4().hex[:12]}"
    driver, artifact, _ = driver_for(endpoint, name, tmp_path)
    source = tmp_path / "in.txt"
    source.write_bytes(b"x")
    with pytest.raises(NotFound, match="NoSuchBucket"):
        driver.save(str(source), artifact)
    assert not OSSAdmin(endpoint).container_exists(name)


@pytest.mark.parametrize("size_mib", [6, 12])
def test_multipart_above_the_threshold_splits_as_argo(endpoint, bucket, tmp_path, size_mib):
    data = uuid.uuid4().bytes * (size_mib * MIB // 16)
    location = KIND.location(endpoint, bucket, "big.bin")
    artifact = parse_artifact(location.artifact())
    context = location.driver_context(
        temp_dir=tmp_path / "private", settings={THRESHOLD_SETTING: "5"}
    )
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    OSSDriver(artifact, MemorySecretSource(location.secrets), context).save(str(source), artifact)
    admin = OSSAdmin(endpoint)
    assert admin.part_count(bucket, "big.bin") == math.ceil(len(data) / (5 * MIB)) + 1
    assert admin.get(bucket, "big.bin") == data
    assert admin.open_uploads(bucket) == []


def test_at_the_threshold_one_put(endpoint, bucket, tmp_path):
    location = KIND.location(endpoint, bucket, "edge.bin")
    artifact = parse_artifact(location.artifact())
    context = location.driver_context(temp_dir=tmp_path / "p", settings={THRESHOLD_SETTING: "1"})
    source = tmp_path / "edge.bin"
    source.write_bytes(b"e" * MIB)
    OSSDriver(artifact, MemorySecretSource(location.secrets), context).save(str(source), artifact)
    assert OSSAdmin(endpoint).part_count(bucket, "edge.bin") == 1


def test_not_found_behaviour(endpoint, bucket, tmp_path):
    admin = OSSAdmin(endpoint)
    admin.put(bucket, "dir/a.txt", b"a")
    admin.put(bucket, "dir/sub/", b"")
    driver, artifact, _ = driver_for(endpoint, bucket, tmp_path, key="missing")
    out = tmp_path / "out"
    with pytest.raises(NotFound) as caught:
        driver.load(artifact, str(out))  # at once: _no_sleep fails any retry
    assert not caught.value.transient and not out.exists()
    with pytest.raises(NotFound):
        driver.open_stream(artifact)
    with pytest.raises(NotFound):
        driver.list_objects(artifact)
    assert driver.is_directory(artifact) is False
    driver.delete(artifact)  # missing is a success
    directory = with_key(artifact, "dir")
    with pytest.raises(Unimplemented, match="Directory Stream capability"):
        driver.open_stream(directory)
    driver.load(directory, str(out))
    assert (out / "a.txt").read_bytes() == b"a" and (out / "sub").is_dir()
    assert driver.list_objects(directory) == ["dir/a.txt"]


def test_endpoint_without_scheme_is_plain_http(tmp_path):
    artifact = parse_artifact(
        {"name": "a", "oss": {"endpoint": "127.0.0.1:9", "bucket": "b", "key": "k"}}
    )
    driver = OSSDriver(artifact, MemorySecretSource({}), DriverContext(temp_dir=tmp_path))
    assert driver.connection.endpoint == "http://127.0.0.1:9"
    with pytest.raises(BadRequest, match="no credentials"):
        driver.load(artifact, str(tmp_path / "x"))
