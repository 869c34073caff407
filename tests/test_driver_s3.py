"""The reference S3 driver against real servers (MinIO, moto; plain and TLS).

Every test asserts something that would fail without the feature it names. Servers come from
the `artconf_server` fixture; each test works in buckets of its own and removes them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import random
import socket
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from conformance.kinds.s3 import AWS_CHAIN_VARIABLES
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Code,
    Forbidden,
    NotFound,
    Unauthorized,
    Unimplemented,
)
from drivers.core.model import Artifact, parse_artifact
from drivers.core.secrets import MemorySecretSource
from drivers.factory import new_driver
from drivers.s3 import DIRECTORY_STREAM_UNIMPLEMENTED, S3Driver, derive_sse_c_key
from emulators.endpoint import Endpoint
from emulators.tls import make_tls_material
from tests.servers import s3_client, unique_name

S3_SERVERS = ["minio", "minio-tls", "moto", "moto-tls"]
MINIO_SERVERS = ["minio", "minio-tls"]
MIB = 1024 * 1024
VECTORS = Path(__file__).parent / "vectors" / "ssec" / "vectors.json"


@pytest.fixture
def localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve `*.localhost` to loopback in this process, as RFC 6761 reserves it.

    glibc here resolves only `localhost` itself (systemd-resolved would resolve the rest), and
    virtual-hosted addressing needs `<bucket>.localhost`.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# The adapter's list of what the default chain reads, plus what steers the client otherwise.
AWS_VARIABLES = (
    *AWS_CHAIN_VARIABLES,
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)


@pytest.fixture(autouse=True)
def _no_real_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the machine's AWS configuration, credentials or instance metadata."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# ------------------------------------------------------------------------------ harness


def purge_bucket(client: Any, bucket: str) -> None:
    """Delete every version, delete marker and open upload, then the bucket; missing is fine."""
    try:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                client.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        for upload in uploads:
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        client.delete_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise


@dataclass
class S3Target:
    """One server, an admin client (the official boto3 client), and buckets to clean up."""

    endpoint: Endpoint
    tmp: Path
    admin: Any = None
    buckets: list[str] = field(default_factory=list)
    secrets: dict[str, dict[str, str | bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.admin = s3_client(self.endpoint)
        creds = self.endpoint.credentials
        self.secrets["creds"] = {"accessKey": creds["access_key"], "secretKey": creds["secret_key"]}
        if self.endpoint.ca_bundle:
            self.secrets["ca"] = {"ca.pem": Path(self.endpoint.ca_bundle).read_bytes()}

    @property
    def is_minio(self) -> bool:
        return self.endpoint.server == "minio"

    def new_bucket(self, *, create: bool = True) -> str:
        bucket = unique_name("s3drv")
        self.buckets.append(bucket)
        if create:
            self.admin.create_bucket(Bucket=bucket)
        return bucket

    def s3(self, bucket: str, key: str, **extra: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "endpoint": f"{self.endpoint.host}:{self.endpoint.port}",
            "bucket": bucket,
            "key": key,
            "accessKeySecret": {"name": "creds", "key": "accessKey"},
            "secretKeySecret": {"name": "creds", "key": "secretKey"},
        }
        if self.endpoint.tls:
            fields["caSecret"] = {"name": "ca", "key": "ca.pem"}
        else:
            fields["insecure"] = True
        fields.update(extra)
        return {k: v for k, v in fields.items() if v is not None}

    def artifact(self, bucket: str, key: str, **extra: Any) -> Artifact:
        return parse_artifact({"name": "art", "s3": self.s3(bucket, key, **extra)})

    def context(self, **kw: Any) -> DriverContext:
        kw.setdefault("temp_dir", self.tmp)
        return DriverContext(**kw)

    @contextmanager
    def driver(
        self, artifact: Artifact, *, context: DriverContext | None = None, **secrets: Any
    ) -> Iterator[S3Driver]:
        source = MemorySecretSource({**self.secrets, **secrets})
        driver = S3Driver(artifact, source, context or self.context())
        try:
            yield driver
        finally:
            driver.close()

    def cleanup(self) -> None:
        for bucket in self.buckets:
            purge_bucket(self.admin, bucket)


def _target(artconf_server: Callable[[str], Endpoint], key: str, tmp: Path) -> Iterator[S3Target]:
    target = S3Target(artconf_server(key), tmp)
    try:
        yield target
    finally:
        target.cleanup()


@pytest.fixture(params=S3_SERVERS)
def target(request, artconf_server, tmp_path) -> Iterator[S3Target]:
    yield from _target(artconf_server, request.param, tmp_path)


@pytest.fixture(params=MINIO_SERVERS)
def minio_target(request, artconf_server, tmp_path) -> Iterator[S3Target]:
    yield from _target(artconf_server, request.param, tmp_path)


@pytest.fixture
def minio(artconf_server, tmp_path) -> Iterator[S3Target]:
    yield from _target(artconf_server, "minio", tmp_path)


@pytest.fixture(params=["minio", "moto"])
def plain_target(request, artconf_server, tmp_path) -> Iterator[S3Target]:
    yield from _target(artconf_server, request.param, tmp_path)


def make_tree(root: Path) -> dict[str, bytes]:
    """A directory with nested files, a symlink and an empty directory; returns key -> bytes."""
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(2048), "sub/deeper/c.txt": b"gamma"}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "empty").mkdir()
    (root / "link.txt").symlink_to(root / "a.txt")
    (root / "linkdir").symlink_to(root / "sub", target_is_directory=True)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def object_keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    answer = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in answer.get("Contents", []))


# ------------------------------------------------------------------------------ every method


def test_file_roundtrip_every_method(target: S3Target, tmp_path: Path) -> None:
    """save, load, open_stream, list_objects, is_directory and delete of a file artifact."""
    bucket = target.new_bucket()
    artifact = target.artifact(bucket, "some/file.bin")
    data = os.urandom(300_000)
    (tmp_path / "in.bin").write_bytes(data)
    with target.driver(artifact) as driver:
        driver.save(str(tmp_path / "in.bin"), artifact)
        assert target.admin.get_object(Bucket=bucket, Key="some/file.bin")["Body"].read() == data

        driver.load(artifact, str(tmp_path / "out" / "deep" / "file.bin"))
        assert (tmp_path / "out" / "deep" / "file.bin").read_bytes() == data

        with driver.open_stream(artifact) as stream:
            assert stream.read() == data

        assert driver.list_objects(artifact) == []
        assert driver.is_directory(artifact) is False

        driver.delete(artifact)
        assert object_keys(target.admin, bucket) == []
        driver.delete(artifact)  # a missing key is a success
        with pytest.raises(NotFound):
            driver.load(artifact, str(tmp_path / "gone"))


def test_directory_roundtrip_every_method(target: S3Target, tmp_path: Path) -> None:
    """A directory is one object per regular file; load, list, probe, stream, delete follow."""
    bucket = target.new_bucket()
    files = make_tree(tmp_path / "tree")
    artifact = target.artifact(bucket, "dir/out")
    target.admin.put_object(Bucket=bucket, Key="dir/out-sibling", Body=b"keep me")
    with target.driver(artifact) as driver:
        driver.save(str(tmp_path / "tree"), artifact)
        # Interop: the official client sees exactly one object per regular file.
        expected = sorted(f"dir/out/{rel}" for rel in files)
        assert object_keys(target.admin, bucket, "dir/out/") == expected
        for rel, data in files.items():
            got = target.admin.get_object(Bucket=bucket, Key=f"dir/out/{rel}")["Body"].read()
            assert got == data

        driver.load(artifact, str(tmp_path / "loaded"))
        assert read_tree(tmp_path / "loaded") == files

        assert sorted(driver.list_objects(artifact)) == expected
        assert driver.is_directory(artifact) is True
        assert driver.is_directory(target.artifact(bucket, "dir/out/a.txt")) is False

        with pytest.raises(Unimplemented, match=DIRECTORY_STREAM_UNIMPLEMENTED):
            driver.open_stream(artifact)

        driver.delete(artifact)  # no trailing slash: the tree goes (deviation), the sibling stays
        assert object_keys(target.admin, bucket) == ["dir/out-sibling"]


def test_delete_with_trailing_slash_removes_the_tree(plain_target: S3Target) -> None:
    bucket = plain_target.new_bucket()
    for key in ("d/x", "d/y/z", "dx"):
        plain_target.admin.put_object(Bucket=bucket, Key=key, Body=b"1")
    artifact = plain_target.artifact(bucket, "d/")
    with plain_target.driver(artifact) as driver:
        driver.delete(artifact)
    assert object_keys(plain_target.admin, bucket) == ["dx"]


def test_list_objects_skips_folder_markers(plain_target: S3Target, tmp_path: Path) -> None:
    bucket = plain_target.new_bucket()
    plain_target.admin.put_object(Bucket=bucket, Key="m/", Body=b"")
    plain_target.admin.put_object(Bucket=bucket, Key="m/sub/", Body=b"")
    plain_target.admin.put_object(Bucket=bucket, Key="m/sub/f", Body=b"f")
    artifact = plain_target.artifact(bucket, "m")
    with plain_target.driver(artifact) as driver:
        assert driver.list_objects(artifact) == ["m/sub/f"]
        driver.load(artifact, str(tmp_path / "m"))
    assert read_tree(tmp_path / "m") == {"sub/f": b"f"}


def test_not_found(target: S3Target, tmp_path: Path) -> None:
    """Missing keys and buckets are NOT_FOUND, never transient; is_directory is just false."""
    bucket = target.new_bucket()
    artifact = target.artifact(bucket, "missing/key")
    with target.driver(artifact) as driver:
        with pytest.raises(NotFound, match="The specified key does not exist") as load:
            driver.load(artifact, str(tmp_path / "x"))
        assert not load.value.transient
        assert not (tmp_path / "x").exists()
        with pytest.raises(NotFound, match=r"^no key found of name missing/key$"):
            driver.list_objects(artifact)
        with pytest.raises(NotFound):
            driver.open_stream(artifact)
        assert driver.is_directory(artifact) is False

    no_bucket = target.artifact(unique_name("s3drv-none"), "k", region="us-east-1")
    with target.driver(no_bucket) as driver, pytest.raises(NotFound, match="NoSuchBucket") as exc:
        driver.load(no_bucket, str(tmp_path / "y"))
    assert exc.value.code is Code.NOT_FOUND and not exc.value.transient


# ------------------------------------------------------------------------------ TLS and CA


@pytest.mark.parametrize("key", ["minio-tls", "moto-tls"])
def test_wrong_ca_fails_with_a_certificate_error(
    key: str, artconf_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """caSecret replaces the trust roots, and the CA environment variables are never read."""
    target = S3Target(artconf_server(key), tmp_path)
    other_ca = make_tls_material(tmp_path / "other").ca_cert.read_bytes()
    # Even with every CA variable naming the right CA, a wrong caSecret must fail.
    for name in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, str(target.endpoint.ca_bundle))
    artifact = target.artifact("any-bucket", "k", region="us-east-1")
    with (
        target.driver(artifact, ca={"ca.pem": other_ca}) as driver,
        pytest.raises(ArtifactError) as exc,
    ):
        driver.load(artifact, str(tmp_path / "x"))
    assert exc.value.code in (Code.BAD_REQUEST, Code.INTERNAL)
    assert not exc.value.transient
    assert "certificate" in str(exc.value).lower()
    assert target.endpoint.url in str(exc.value)

    # Without caSecret the context's bundle (the OS one here) is trusted, not the variables.
    plain = parse_artifact(
        {
            "name": "a",
            "s3": {k: v for k, v in target.s3("any-bucket", "k").items() if k != "caSecret"},
        }
    )
    with target.driver(plain) as driver, pytest.raises(ArtifactError, match="certificate"):
        driver.is_directory(plain)


def test_invalid_ca_pem_is_bad_request(tmp_path: Path) -> None:
    artifact = parse_artifact(
        {
            "name": "a",
            "s3": {
                "endpoint": "127.0.0.1:1",
                "bucket": "b",
                "key": "k",
                "caSecret": {"name": "ca", "key": "pem"},
            },
        }
    )
    secrets = MemorySecretSource({"ca": {"pem": "-----BEGIN CERTIFICATE-----\nnope\n"}})
    with pytest.raises(BadRequest, match=r"s3\.caSecret"):
        S3Driver(artifact, secrets, DriverContext(temp_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_ca_secret_file_is_private_and_removed_on_close(artconf_server, tmp_path: Path) -> None:
    target = S3Target(artconf_server("minio-tls"), tmp_path)
    artifact = target.artifact("b", "k")
    with target.driver(artifact) as driver:
        ca_file = driver.connection.ca.path
        assert ca_file.parent.parent == tmp_path
        assert stat.S_IMODE(ca_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(ca_file.parent.stat().st_mode) == 0o700
        assert ca_file.read_bytes() == Path(target.endpoint.ca_bundle).read_bytes()
    assert not ca_file.parent.exists()
    driver.close()  # twice is fine


# ------------------------------------------------------------------------------ credentials


def test_wrong_secret_is_forbidden_and_not_shown(minio_target: S3Target, tmp_path: Path) -> None:
    bucket = minio_target.new_bucket()
    artifact = minio_target.artifact(bucket, "k")
    wrong = "wrong-secret-value-1234"
    with (
        minio_target.driver(artifact, creds={"accessKey": "artconf-root", "secretKey": wrong}) as d,
        pytest.raises(Forbidden, match="SignatureDoesNotMatch") as exc,
    ):
        d.load(artifact, str(tmp_path / "x"))
    assert not exc.value.transient
    assert wrong not in str(exc.value) and wrong not in repr(exc.value)


def test_whitespace_around_credentials_is_stripped(minio: S3Target, tmp_path: Path) -> None:
    """Deviation s3-untrimmed-credentials: a trailing newline in a Secret still authenticates."""
    bucket = minio.new_bucket()
    creds = minio.endpoint.credentials
    padded = {"accessKey": f" {creds['access_key']}\n", "secretKey": f"{creds['secret_key']}\n"}
    artifact = minio.artifact(bucket, "k")
    (tmp_path / "f").write_bytes(b"x")
    with minio.driver(artifact, creds=padded) as driver:
        driver.save(str(tmp_path / "f"), artifact)
    assert object_keys(minio.admin, bucket) == ["k"]


def _user_env(monkeypatch: pytest.MonkeyPatch, endpoint: Endpoint, *, secret: str | None = None):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", endpoint.credentials["user_access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret or endpoint.credentials["user_secret_key"])


def test_assume_role_and_session_token(
    minio_target: S3Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """roleARN: STS AssumeRole at the endpoint with the default chain's (the non-root user's)
    credentials; the temporary keys work only together with their session token."""
    bucket = minio_target.new_bucket()
    (tmp_path / "f").write_bytes(b"assumed")
    role = {
        "accessKeySecret": None,
        "secretKeySecret": None,
        "roleARN": "arn:aws:iam::000000000000:role/artconf",
    }
    _user_env(monkeypatch, minio_target.endpoint)
    artifact = parse_artifact({"name": "a", "s3": {**minio_target.s3(bucket, "via-role"), **role}})
    artifact.s3.access_key_secret = artifact.s3.secret_key_secret = None
    with minio_target.driver(artifact) as driver:
        driver.save(str(tmp_path / "f"), artifact)
    assert object_keys(minio_target.admin, bucket) == ["via-role"]

    sts = boto3.client(
        "sts",
        endpoint_url=minio_target.endpoint.url,
        region_name="us-east-1",
        verify=minio_target.endpoint.ca_bundle or True,
        aws_access_key_id=minio_target.endpoint.credentials["user_access_key"],
        aws_secret_access_key=minio_target.endpoint.credentials["user_secret_key"],
    )
    temp = sts.assume_role(RoleArn=role["roleARN"], RoleSessionName="artconf-test")["Credentials"]
    temporary = {
        "accessKey": temp["AccessKeyId"],
        "secretKey": temp["SecretAccessKey"],
        "token": temp["SessionToken"],
    }
    with_token = minio_target.artifact(
        bucket, "via-token", sessionTokenSecret={"name": "creds", "key": "token"}
    )
    with minio_target.driver(with_token, creds=temporary) as driver:
        driver.save(str(tmp_path / "f"), with_token)
    without_token = minio_target.artifact(bucket, "no-token")
    with (
        minio_target.driver(without_token, creds=temporary) as driver,
        pytest.raises(ArtifactError) as exc,
    ):
        driver.save(str(tmp_path / "f"), without_token)
    assert exc.value.code in (Code.FORBIDDEN, Code.UNAUTHORIZED)
    assert object_keys(minio_target.admin, bucket) == ["via-role", "via-token"]


def _sdk_artifact(target: S3Target, bucket: str, key: str) -> Artifact:
    artifact = target.artifact(bucket, key, useSDKCreds=True)
    artifact.s3.access_key_secret = artifact.s3.secret_key_secret = None
    return artifact


def test_sdk_creds_from_environment(
    minio: S3Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = minio.new_bucket()
    (tmp_path / "f").write_bytes(b"env")
    artifact = _sdk_artifact(minio, bucket, "from-env")
    _user_env(monkeypatch, minio.endpoint, secret="not-the-secret")
    with minio.driver(artifact) as driver, pytest.raises(Forbidden):
        driver.save(str(tmp_path / "f"), artifact)
    _user_env(monkeypatch, minio.endpoint)
    with minio.driver(artifact) as driver:
        driver.save(str(tmp_path / "f"), artifact)
    assert object_keys(minio.admin, bucket) == ["from-env"]


def test_sdk_creds_from_shared_credentials_file(
    minio: S3Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = minio.new_bucket()
    (tmp_path / "f").write_bytes(b"file")
    creds = minio.endpoint.credentials
    shared = tmp_path / "credentials"
    shared.write_text(
        "[default]\n"
        f"aws_access_key_id = {creds['user_access_key']}\n"
        f"aws_secret_access_key = {creds['user_secret_key']}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    artifact = _sdk_artifact(minio, bucket, "from-file")
    with minio.driver(artifact) as driver:
        driver.save(str(tmp_path / "f"), artifact)
    assert object_keys(minio.admin, bucket) == ["from-file"]


def test_no_credentials_is_unauthorized(minio: S3Target, tmp_path: Path) -> None:
    """No keys, roleARN or useSDKCreds: the IAM provider alone, which finds nothing here."""
    artifact = minio.artifact("b", "k", region="us-east-1")
    artifact.s3.access_key_secret = artifact.s3.secret_key_secret = None
    with minio.driver(artifact) as driver, pytest.raises(Unauthorized, match="no credentials"):
        driver.load(artifact, str(tmp_path / "x"))


# ------------------------------------------------------------------------------ region


def test_region_explicit_discovered_and_wrong(artconf_private_server, tmp_path: Path) -> None:
    endpoint = artconf_private_server("minio", tls=False, env={"MINIO_SITE_REGION": "eu-west-3"})
    target = S3Target(endpoint, tmp_path)
    target.admin = boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        region_name="eu-west-3",
        aws_access_key_id=endpoint.credentials["access_key"],
        aws_secret_access_key=endpoint.credentials["secret_key"],
    )
    try:
        bucket = target.new_bucket(create=False)
        target.admin.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
        )
        (tmp_path / "f").write_bytes(b"r")
        explicit = target.artifact(bucket, "explicit", region="eu-west-3")
        with target.driver(explicit) as driver:
            driver.save(str(tmp_path / "f"), explicit)
        discovered = target.artifact(bucket, "discovered")
        with target.driver(discovered) as driver:
            assert driver.bucket_region(bucket) == "eu-west-3"
            driver.save(str(tmp_path / "f"), discovered)
        forced = target.artifact(bucket, "forced", region="us-east-1")
        with target.driver(forced) as driver, pytest.raises(ArtifactError) as exc:
            driver.save(str(tmp_path / "f"), forced)
        assert not exc.value.transient
        assert object_keys(target.admin, bucket) == ["discovered", "explicit"]
    finally:
        target.cleanup()


# ------------------------------------------------------------------------------ encryption


def test_sse_s3_and_sse_kms(minio_target: S3Target, tmp_path: Path) -> None:
    bucket = minio_target.new_bucket()
    (tmp_path / "f").write_bytes(b"secret data")
    sse_s3 = minio_target.artifact(bucket, "sse-s3", encryptionOptions={"enableEncryption": True})
    kms = minio_target.artifact(
        bucket,
        "sse-kms",
        encryptionOptions={
            "enableEncryption": True,
            "kmsKeyId": "artconf-key",
            "kmsEncryptionContext": '{"team": "artconf"}',
        },
    )
    off = minio_target.artifact(bucket, "off", encryptionOptions={"kmsKeyId": "artconf-key"})
    for artifact in (sse_s3, kms, off):
        with minio_target.driver(artifact) as driver:
            driver.save(str(tmp_path / "f"), artifact)
            driver.load(artifact, str(tmp_path / artifact.s3.key))
        assert (tmp_path / artifact.s3.key).read_bytes() == b"secret data"
    head = minio_target.admin.head_object
    assert head(Bucket=bucket, Key="sse-s3")["ServerSideEncryption"] == "AES256"
    kms_head = head(Bucket=bucket, Key="sse-kms")
    assert kms_head["ServerSideEncryption"] == "aws:kms"
    assert kms_head["SSEKMSKeyId"].endswith("artconf-key")
    assert "ServerSideEncryption" not in head(Bucket=bucket, Key="off")


def test_sse_c_vectors_match_minio_go() -> None:
    """Our Argon2id derivation equals minio-go's encrypt.DefaultPBKDF (tests/vectors/ssec)."""
    document = json.loads(VECTORS.read_text())
    assert "minio-go/v7 v7." in document["generator"]
    checked = 0
    for vector in document["vectors"]:
        password = vector["password"].encode()
        if len((vector["bucket"] + vector["key"]).encode()) < 8:
            with pytest.raises(BadRequest, match="salt of at least 8"):
                derive_sse_c_key(password, vector["bucket"], vector["key"])
            continue
        key = derive_sse_c_key(password, vector["bucket"], vector["key"])
        assert base64.b64encode(key).decode() == vector["sse_customer_key"]
        assert (
            base64.b64encode(hashlib.md5(key).digest()).decode() == vector["sse_customer_key_md5"]
        )
        checked += 1
    assert checked >= 4


def test_sse_c_on_tls(artconf_server, tmp_path: Path) -> None:
    target = S3Target(artconf_server("minio-tls"), tmp_path)
    try:
        bucket = target.new_bucket()
        files = make_tree(tmp_path / "tree")
        encryption = {
            "enableEncryption": True,
            "serverSideCustomerKeySecret": {"name": "ssec", "key": "password"},
        }
        artifact = target.artifact(bucket, "enc/dir", encryptionOptions=encryption)
        password = {"password": "correct horse battery staple"}
        with target.driver(artifact, ssec=password) as driver:
            driver.save(str(tmp_path / "tree"), artifact)
            driver.load(artifact, str(tmp_path / "back"))
            file_artifact = target.artifact(bucket, "enc/dir/a.txt", encryptionOptions=encryption)
            with driver.open_stream(file_artifact) as stream:
                assert stream.read() == b"alpha"
            assert driver.list_objects(file_artifact) == []
        assert read_tree(tmp_path / "back") == files
        with pytest.raises(ClientError):
            target.admin.get_object(Bucket=bucket, Key="enc/dir/a.txt")
        # Each object's key is derived with its own key as salt (bucket + object key).
        own = derive_sse_c_key(password["password"].encode(), bucket, "enc/dir/a.txt")
        got = target.admin.get_object(
            Bucket=bucket, Key="enc/dir/a.txt", SSECustomerAlgorithm="AES256", SSECustomerKey=own
        )
        assert got["Body"].read() == b"alpha"
    finally:
        target.cleanup()


# ------------------------------------------------------------------------------ buckets


def test_create_bucket_with_object_locking(plain_target: S3Target, tmp_path: Path) -> None:
    bucket = plain_target.new_bucket(create=False)
    (tmp_path / "f").write_bytes(b"locked")
    artifact = plain_target.artifact(bucket, "k", createBucketIfNotPresent={"objectLocking": True})
    with plain_target.driver(artifact) as driver:
        driver.save(str(tmp_path / "f"), artifact)
        driver.save(str(tmp_path / "f"), artifact)  # the bucket now exists: tolerated
    config = plain_target.admin.get_object_lock_configuration(Bucket=bucket)
    assert config["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


def test_create_bucket_sets_default_encryption(minio: S3Target, tmp_path: Path) -> None:
    bucket = minio.new_bucket(create=False)
    (tmp_path / "f").write_bytes(b"x")
    artifact = minio.artifact(
        bucket, "k", createBucketIfNotPresent={}, encryptionOptions={"enableEncryption": True}
    )
    with minio.driver(artifact) as driver:
        driver.save(str(tmp_path / "f"), artifact)
    rules = minio.admin.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


# ------------------------------------------------------------------------------ multipart


def test_multipart_part_size(
    plain_target: S3Target, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = plain_target.new_bucket()
    big, small = tmp_path / "big", tmp_path / "small"
    big.write_bytes(os.urandom(12 * MIB))
    small.write_bytes(os.urandom(4 * MIB))
    settings = {"ARTIFACT_S3_UPLOAD_PART_SIZE_MIB": "5", "ARTIFACT_S3_UPLOAD_THREADS": "x"}
    context = plain_target.context(settings=settings)
    for name, path in (("big", big), ("small", small), ("default", big)):
        artifact = plain_target.artifact(bucket, name)
        with (
            plain_target.driver(artifact, context=None if name == "default" else context) as d,
            caplog.at_level(logging.WARNING, logger="drivers.s3"),
        ):
            d.save(str(path), artifact)
    etag = {
        k: plain_target.admin.head_object(Bucket=bucket, Key=k)["ETag"]
        for k in ("big", "small", "default")
    }
    assert etag["big"].strip('"').endswith("-3")
    assert "-" not in etag["small"]  # 4 MiB < 5 MiB part: the setting is ignored
    assert "-" not in etag["default"]  # minio-go's default: single PUT up to 16 MiB
    assert any("smaller than one part" in r.getMessage() for r in caplog.records)
    assert any("ARTIFACT_S3_UPLOAD_THREADS" in r.getMessage() for r in caplog.records)
    with plain_target.driver(plain_target.artifact(bucket, "big")) as driver:
        driver.load(plain_target.artifact(bucket, "big"), str(tmp_path / "big.back"))
    assert (tmp_path / "big.back").read_bytes() == big.read_bytes()


class PatternStream(io.RawIOBase):
    """``size`` deterministic bytes, generated on the fly; optionally fails at ``fail_at``."""

    def __init__(self, size: int, fail_at: int | None = None):
        self.block = random.Random(7).randbytes(MIB + 17)
        self.size, self.fail_at, self.pos = size, fail_at, 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise OSError("simulated failure of the uploaded stream")
        n = min(len(buffer), self.size - self.pos, len(self.block) - self.pos % len(self.block))
        start = self.pos % len(self.block)
        chunk = self.block[start : start + n]
        buffer[:n] = chunk
        self.digest.update(chunk)
        self.pos += n
        return n


def test_streams_use_no_temporary_files(minio: S3Target, no_temp_files: Path) -> None:
    """64 MiB each way through save_stream and open_stream with tempfile unusable."""
    empty = no_temp_files
    bucket = minio.new_bucket()
    artifact = minio.artifact(bucket, "stream.bin")
    source = PatternStream(64 * MIB)
    with minio.driver(artifact, context=minio.context(temp_dir=empty)) as driver:
        driver.save_stream(source, artifact)
        back = hashlib.sha256()
        with driver.open_stream(artifact) as stream:
            while chunk := stream.read(MIB):
                back.update(chunk)
    assert source.pos == 64 * MIB
    assert back.hexdigest() == source.digest.hexdigest()
    assert list(empty.iterdir()) == []
    etag = minio.admin.head_object(Bucket=bucket, Key="stream.bin")["ETag"]
    assert etag.strip('"').endswith("-8")  # 8 MiB parts, streamed


def test_failed_stream_leaves_no_object_and_no_upload(plain_target: S3Target) -> None:
    bucket = plain_target.new_bucket()
    artifact = plain_target.artifact(bucket, "partial.bin")
    with plain_target.driver(artifact) as driver, pytest.raises(ArtifactError, match="simulated"):
        driver.save_stream(PatternStream(64 * MIB, fail_at=20 * MIB), artifact)
    assert object_keys(plain_target.admin, bucket) == []
    assert plain_target.admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# ------------------------------------------------------------------------------ addressing


class _RawBody:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def stub_response(url: str, status: int, body: bytes = b"", headers: dict | None = None):
    return AWSResponse(url, status, headers or {"Content-Type": "application/xml"}, _RawBody(body))


EMPTY_LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'
    b"<Name>bucket</Name><Prefix>p/</Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys>"
    b"<IsTruncated>false</IsTruncated></ListBucketResult>"
)


@pytest.mark.parametrize(
    ("style", "endpoint", "expected"),
    [
        ("path", "minio.example:9000", "https://minio.example:9000/bucket?"),
        ("virtual-hosted", "minio.example:9000", "https://bucket.minio.example:9000/?"),
        ("", "minio.example:9000", "https://minio.example:9000/bucket?"),
        ("", "s3.amazonaws.com", "https://bucket.s3.amazonaws.com/?"),
    ],
)
def test_addressing_style_shapes_the_request_url(
    style: str, endpoint: str, expected: str, tmp_path: Path
) -> None:
    """addressingStyle picks path or virtual-hosted URLs ("" is minio-go's auto)."""
    artifact = parse_artifact(
        {
            "name": "a",
            "s3": {
                "endpoint": endpoint,
                "bucket": "bucket",
                "key": "p",
                "region": "us-east-1",
                "addressingStyle": style,
                "accessKeySecret": {"name": "c", "key": "a"},
                "secretKeySecret": {"name": "c", "key": "s"},
            },
        }
    )
    urls: list[str] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        urls.append(request.url)
        return stub_response(request.url, 200, EMPTY_LISTING)

    secrets = MemorySecretSource({"c": {"a": "AK", "s": "SK"}})
    with S3Driver(artifact, secrets, DriverContext(temp_dir=tmp_path)) as driver:
        driver.boto_session.events.register("before-send.s3.ListObjectsV2", capture)
        assert driver.is_directory(artifact) is False
    assert urls and urls[0].startswith(expected), urls


@pytest.mark.parametrize("kind", ["minio", "moto"])
def test_virtual_hosted_addressing_against_a_server(
    kind: str, artconf_server, artconf_private_server, tmp_path: Path, localhost_subdomains
) -> None:
    if kind == "minio":  # MinIO serves virtual-hosted requests only for MINIO_DOMAIN
        endpoint = artconf_private_server("minio", env={"MINIO_DOMAIN": "localhost"})
    else:
        endpoint = artconf_server("moto")
    target = S3Target(endpoint, tmp_path)
    target.endpoint = Endpoint(**{**endpoint.__dict__, "host": "localhost"})
    try:
        bucket = target.new_bucket()
        (tmp_path / "f").write_bytes(b"vhost")
        artifact = target.artifact(bucket, "k", addressingStyle="virtual-hosted")
        urls: list[str] = []
        with target.driver(artifact) as driver:
            driver.boto_session.events.register(
                "before-send.s3", lambda request, **_: urls.append(request.url)
            )
            driver.save(str(tmp_path / "f"), artifact)
            driver.load(artifact, str(tmp_path / "back"))
        assert (tmp_path / "back").read_bytes() == b"vhost"
        # GetBucketLocation stays path-style, as in minio-go; every object request is virtual
        data = [u for u in urls if not u.endswith("?location")]
        assert data and all(u.split("//")[1].startswith(f"{bucket}.localhost") for u in data)
    finally:
        target.cleanup()


# ------------------------------------------------------------------------------ retries


def _inject(driver: S3Driver, operation: str, failures: list[tuple[int, str]]) -> list[str]:
    """Answer the next len(failures) ``operation`` requests with (status, code) errors."""
    calls: list[str] = []

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        calls.append(request.url)
        if failures:
            status, code = failures.pop(0)
            body = f"<Error><Code>{code}</Code><Message>injected {code}</Message></Error>"
            return stub_response(request.url, status, body.encode())
        return None

    driver.boto_session.events.register(f"before-send.s3.{operation}", handler)
    driver.connection.reset()  # clients copy the session's handlers when they are built
    return calls


def test_transient_failures_are_retried_with_the_policy_delays(
    minio: S3Target, tmp_path: Path
) -> None:
    bucket = minio.new_bucket()
    minio.admin.put_object(Bucket=bucket, Key="k", Body=b"payload")
    artifact = minio.artifact(bucket, "k")
    slept: list[float] = []
    context = minio.context(settings={"EXECUTOR_RETRY_BACKOFF_JITTER": "0"}, sleep=slept.append)
    with minio.driver(artifact, context=context) as driver:
        calls = _inject(driver, "GetObject", [(503, "SlowDown"), (500, "InternalError")])
        driver.load(artifact, str(tmp_path / "out"))
        assert len(calls) == 3
        assert slept == [1.0, 1.6]
        assert (tmp_path / "out").read_bytes() == b"payload"

        # Exhaustion after the 5 steps: Argo's wait timeout text.
        slept.clear()
        _inject(driver, "ListObjectsV2", [(503, "SlowDown")] * 5)
        with pytest.raises(ArtifactError, match=r"^timed out waiting for the condition") as exc:
            driver.list_objects(artifact)
        assert exc.value.transient
        assert slept == pytest.approx([1.0, 1.6, 2.56, 4.096])


def test_non_transient_failures_and_unretried_operations(minio: S3Target, tmp_path: Path) -> None:
    bucket = minio.new_bucket()
    minio.admin.put_object(Bucket=bucket, Key="k", Body=b"payload")
    artifact = minio.artifact(bucket, "k")
    slept: list[float] = []
    with minio.driver(artifact, context=minio.context(sleep=slept.append)) as driver:
        calls = _inject(driver, "GetObject", [(403, "AccessDenied")])
        with pytest.raises(Forbidden, match="AccessDenied"):
            driver.load(artifact, str(tmp_path / "out"))
        assert len(calls) == 1 and slept == []

        # open_stream and save_stream are single attempts even for transient errors.
        _inject(driver, "GetObject", [(503, "SlowDown")])
        with pytest.raises(ArtifactError) as exc:
            driver.open_stream(artifact)
        assert exc.value.transient and slept == []
        put_calls = _inject(driver, "PutObject", [(503, "SlowDown")])
        with pytest.raises(ArtifactError):
            driver.save_stream(io.BytesIO(b"abc"), artifact)
        assert len(put_calls) == 1 and slept == []

        # delete uses client-go's DefaultBackoff: 10 ms, x5, jitter 0.1.
        _inject(driver, "DeleteObject", [(503, "SlowDown"), (503, "SlowDown")])
        driver.delete(artifact)
        assert len(slept) == 2
        assert 0.010 <= slept[0] <= 0.011 and 0.050 <= slept[1] <= 0.055
    assert object_keys(minio.admin, bucket) == []


# ------------------------------------------------------------------------------ factory


def test_factory_and_capabilities(tmp_path: Path) -> None:
    artifact = parse_artifact(
        {
            "name": "a",
            "s3": {"endpoint": "127.0.0.1:9", "bucket": "b", "key": "k", "insecure": True},
        }
    )
    driver = new_driver(artifact, MemorySecretSource({}), DriverContext(temp_dir=tmp_path))
    assert isinstance(driver, S3Driver)
    driver.close()
    assert {
        Capability.OPEN_STREAM,
        Capability.SAVE_STREAM,
        Capability.DELETE_DIRECTORY,
        Capability.ENCRYPTION_SSE_C,
        Capability.REGION_DISCOVERY,
        Capability.AUTH_ASSUME_ROLE,
    } <= S3Driver.capabilities
    assert Capability.AUTH_SAS not in S3Driver.capabilities


def test_endpoint_with_a_scheme_is_bad_request(tmp_path: Path) -> None:
    artifact = parse_artifact(
        {"name": "a", "s3": {"endpoint": "https://s3.example.com", "bucket": "b", "key": "k"}}
    )
    with pytest.raises(BadRequest, match=r"s3\.endpoint"):
        S3Driver(artifact, MemorySecretSource({}), DriverContext(temp_dir=tmp_path))
