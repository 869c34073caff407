"""The reference Azure Blob driver: location rules (unit) and every operation against Azurite.

Server tests run on plain HTTP and on TLS (trusting the session CA through
``DriverContext(ca_bundle=...)``). Each creates its own container and deletes it afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from drivers.azure import (
    BLOCK_SIZE,
    DEFAULT_RETRY_TOTAL,
    MISSING_KEY_ERROR,
    RETRY_TOTAL_SETTING,
    SINGLE_PUT_MAX,
    AzureDriver,
    container_url,
    determine_account_name,
    directory_prefix,
    escape_dot_segments,
    is_sas_account_key,
)
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext, system_ca_bundle
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Code,
    Forbidden,
    NotFound,
    Unauthorized,
    Unimplemented,
)
from drivers.core.model import Artifact
from drivers.core.secrets import MemorySecretSource
from drivers.factory import new_driver
from emulators.endpoint import Endpoint
from tests.servers import azure_client, unique_name

MiB = 1024 * 1024
SECRET = {"name": "azure-creds", "key": "accountKey"}
# A well-formed account key that is not the server's.
WRONG_KEY = base64.b64encode(b"not the key of this account, 64 bytes long......................")


def make_artifact(endpoint: str, container: str, blob: str, **fields: Any) -> Artifact:
    azure = {"endpoint": endpoint, "container": container, "blob": blob, **fields}
    if "useSDKCreds" not in fields:
        azure.setdefault("accountKeySecret", SECRET)
    return Artifact.model_validate({"name": "art", "azure": azure})


def secrets_with(value: str | bytes) -> MemorySecretSource:
    return MemorySecretSource({SECRET["name"]: {SECRET["key"]: value}})


# --------------------------------------------------------------------------------------------
# Unit tests: no server
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "account"),
    [
        ("https://myaccount.blob.core.windows.net", "myaccount"),
        ("https://myaccount.blob.core.windows.net/", "myaccount"),
        ("https://myaccount.blob.core.windows.net/ignored/path", "myaccount"),
        ("https://myaccount.privatelink.blob.core.windows.net:443", "myaccount"),
        ("https://myaccount.blob.core.chinacloudapi.cn", "myaccount"),
        ("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1"),
        ("http://127.0.0.1:10000/devstoreaccount1/", "devstoreaccount1"),
        ("https://localhost:10000/artconf", "artconf"),
        ("http://localhost.localdomain:10000/artconf", "artconf"),  # "starts with localhost"
        ("http://127.0.0.10:10000/artconf", "artconf"),  # "starts with 127.0.0.1"
        # Argo's rule: Azurite under any other host name takes the first DNS label.
        ("http://azurite.storage.svc:10000/devstoreaccount1", "azurite"),
    ],
)
def test_account_name_rule(endpoint, account):
    assert determine_account_name(endpoint) == account


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:10000",
        "http://localhost/",
        "myaccount.blob.core.windows.net",
        "",
        "ftp://x",
    ],
)
def test_account_name_undeterminable_is_bad_request(endpoint):
    with pytest.raises(BadRequest, match=r"azure\.endpoint"):
        determine_account_name(endpoint)


def test_container_url_appends_container_to_path():
    assert (
        container_url("https://a.blob.core.windows.net", "c") == "https://a.blob.core.windows.net/c"
    )
    assert container_url("http://127.0.0.1:1/acct/", "c") == "http://127.0.0.1:1/acct/c"


@pytest.mark.parametrize(
    ("value", "is_sas"),
    [
        ("?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=abc%2Bdef%3D", True),
        ("sv=2022-11-02&sp=r&sig=abc", True),  # no leading "?": "&sp=r" still matches
        ("&sig=abc", True),
        ("?sig=abc", True),
        (
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
            False,
        ),
        ("c2VjcmV0a2V5Cg==", False),
        ("sig=abc", False),  # one parameter without "?" or "&": not SAS (Argo's rule)
        ("", False),
    ],
)
def test_sas_detection(value, is_sas):
    assert is_sas_account_key(value) is is_sas


def test_escape_dot_segments_only_touches_dot_segments():
    assert escape_dot_segments("http://h/acct/c/a/../b.txt?sv=1&sig=a.b") == (
        "http://h/acct/c/a/%2E%2E/b.txt?sv=1&sig=a.b"
    )
    assert escape_dot_segments("https://h/c/./x/..") == "https://h/c/%2E/x/%2E%2E"
    plain = "https://h/c/a..b/.hidden/x.y"
    assert escape_dot_segments(plain) == plain


def test_directory_prefix():
    assert directory_prefix("") == ""
    assert directory_prefix("a/b") == "a/b/"
    assert directory_prefix("a/b/") == "a/b/"


def test_missing_account_key_is_argos_bad_request():
    artifact = Artifact.model_validate(
        {"name": "a", "azure": {"endpoint": "https://a.blob.core.windows.net", "container": "c"}}
    )
    with pytest.raises(BadRequest) as err:
        AzureDriver(artifact, MemorySecretSource({}), DriverContext())
    assert str(err.value) == MISSING_KEY_ERROR
    assert err.value.code is Code.BAD_REQUEST


def test_absent_secret_names_the_field():
    artifact = make_artifact("https://a.blob.core.windows.net", "c", "b")
    with pytest.raises(
        BadRequest, match=r"azure\.accountKeySecret: secret 'azure-creds' not found"
    ):
        AzureDriver(artifact, MemorySecretSource({}), DriverContext())


def test_sdk_creds_never_read_the_key_and_refuse_plain_http():
    # accountKeySecret names a secret that does not exist: with useSDKCreds it is not read.
    secure = make_artifact(
        "https://a.blob.core.windows.net", "c", "b", useSDKCreds=True, accountKeySecret=SECRET
    )
    AzureDriver(secure, MemorySecretSource({}), DriverContext()).close()
    plain = make_artifact("http://127.0.0.1:9/acct", "c", "b", useSDKCreds=True)
    with pytest.raises(BadRequest, match="never sent over plain HTTP"):
        AzureDriver(plain, MemorySecretSource({}), DriverContext())


def test_retry_total_setting():
    artifact = make_artifact("https://a.blob.core.windows.net", "c", "b")
    secrets = secrets_with(WRONG_KEY)

    def total(settings):
        with AzureDriver(artifact, secrets, DriverContext(settings=settings)) as driver:
            client = driver.connection.client(artifact.azure)
            return client._config.retry_policy.total_retries

    assert total({}) == DEFAULT_RETRY_TOTAL == 3
    assert total({RETRY_TOTAL_SETTING: "0"}) == 0
    assert total({RETRY_TOTAL_SETTING: "7"}) == 7
    with pytest.raises(BadRequest, match=RETRY_TOTAL_SETTING):
        total({RETRY_TOTAL_SETTING: "-1"})
    with pytest.raises(BadRequest, match=RETRY_TOTAL_SETTING):
        total({RETRY_TOTAL_SETTING: "many"})
    from_env = DriverContext.from_environment({RETRY_TOTAL_SETTING: "1", "HOME": "/root"})
    assert from_env.settings == {RETRY_TOTAL_SETTING: "1"}


def test_factory_capabilities_and_empty_blob_delete_refused():
    artifact = make_artifact("https://a.blob.core.windows.net", "c", "")
    with new_driver(artifact, secrets_with(WRONG_KEY), DriverContext()) as driver:
        assert isinstance(driver, AzureDriver)
        assert {Capability.SAVE_STREAM, Capability.OPEN_STREAM, Capability.AUTH_SAS} <= (
            driver.capabilities
        )
        assert Capability.CREATE_BUCKET not in driver.capabilities
        assert Capability.ENCRYPTION_SSE_C not in driver.capabilities
        assert driver.is_directory(artifact) is True  # an empty blob name: no request needed
        with pytest.raises(BadRequest, match="refusing to delete"):
            driver.delete(artifact)
        with pytest.raises(Unimplemented):
            driver.open_stream(artifact)


def test_sas_is_redacted_from_connection_errors(unused_port):
    sas = "?sv=2022-11-02&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=TOPSECRETSIGNATURE"
    artifact = make_artifact(f"http://127.0.0.1:{unused_port}/acct", "c", "b")
    context = DriverContext(settings={RETRY_TOTAL_SETTING: "0"})
    with (
        AzureDriver(artifact, secrets_with(sas), context) as driver,
        pytest.raises(ArtifactError) as err,
    ):
        driver.load(artifact, "/nonexistent/never-written")
    assert "TOPSECRETSIGNATURE" not in str(err.value)
    assert err.value.transient  # connection refused


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Against Azurite
# --------------------------------------------------------------------------------------------


@dataclass
class Azure:
    """One container on one Azurite server, and how to build drivers for it."""

    endpoint: Endpoint
    service: BlobServiceClient
    container: str
    context: DriverContext

    @property
    def blob_endpoint(self) -> str:
        return f"{self.endpoint.url}/{self.endpoint.credentials['account_name']}"

    @property
    def account_key(self) -> str:
        return self.endpoint.credentials["account_key"]

    def artifact(self, blob: str, **fields: Any) -> Artifact:
        return make_artifact(self.blob_endpoint, self.container, blob, **fields)

    def driver(self, secret: str | bytes | None = None, **context: Any) -> AzureDriver:
        ctx = DriverContext(**{"ca_bundle": self.context.ca_bundle, **context})
        return AzureDriver(self.artifact("x"), secrets_with(secret or self.account_key), ctx)

    def put(self, name: str, data: bytes = b"", **kw: Any) -> None:
        self.service.get_blob_client(self.container, name).upload_blob(data, overwrite=True, **kw)

    def get(self, name: str) -> bytes:
        return self.service.get_blob_client(self.container, name).download_blob().readall()

    def names(self) -> list[str]:
        return sorted(
            b.name for b in self.service.get_container_client(self.container).list_blobs()
        )

    def exists(self, name: str) -> bool:
        return self.service.get_blob_client(self.container, name).exists()

    def sas(self, expiry: datetime, **permissions: bool) -> str:
        return generate_container_sas(
            self.endpoint.credentials["account_name"],
            self.container,
            account_key=self.account_key,
            permission=ContainerSasPermissions(**permissions),
            start=datetime.now(UTC) - timedelta(hours=2),
            expiry=expiry,
        )


@pytest.fixture(params=["azurite", "azurite-tls"])
def endpoint(request, artconf_server) -> Endpoint:
    return artconf_server(request.param)


@contextlib.contextmanager
def container_on(endpoint: Endpoint) -> Iterator[Azure]:
    service = azure_client(endpoint)
    container = unique_name()
    service.create_container(container)
    context = DriverContext(ca_bundle=endpoint.ca_bundle) if endpoint.tls else DriverContext()
    try:
        yield Azure(endpoint, service, container, context)
    finally:
        service.delete_container(container)
        service.close()


@pytest.fixture
def azure(endpoint) -> Iterator[Azure]:
    with container_on(endpoint) as env:
        yield env


@pytest.fixture
def tls_azure(artconf_server) -> Iterator[Azure]:
    with container_on(artconf_server("azurite-tls")) as env:
        yield env


@pytest.fixture
def driver(azure) -> Iterator[AzureDriver]:
    with azure.driver() as drv:
        yield drv


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_file_roundtrip(azure, driver, tmp_path):
    payload = os.urandom(100_000)
    source = tmp_path / "in.bin"
    source.write_bytes(payload)
    art = azure.artifact("runs/one/file.bin")

    driver.save(str(source), art)
    assert azure.get("runs/one/file.bin") == payload

    target = tmp_path / "deep" / "out.bin"  # missing parents are created
    driver.load(art, str(target))
    assert target.read_bytes() == payload
    with driver.open_stream(art) as stream:
        assert stream.read(10) == payload[:10]
        assert stream.read() == payload[10:]
    assert driver.is_directory(art) is False
    assert driver.list_objects(art) == []

    driver.delete(art)
    assert azure.names() == []
    with pytest.raises(NotFound, match="BlobNotFound"):
        driver.load(art, str(tmp_path / "gone"))
    assert not (tmp_path / "gone").exists()


def test_directory_roundtrip(azure, driver, tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "empty-dir").mkdir()
    (tree / "a.txt").write_bytes(b"a")
    (tree / "sub" / "b.bin").write_bytes(os.urandom(5000))
    (tree / "sub" / "deeper" / "c").write_bytes(b"")
    (tree / "link-to-a").symlink_to(tree / "a.txt")
    (tree / "link-to-sub").symlink_to(tree / "sub")
    art = azure.artifact("out/dir")

    driver.save(str(tree), art)
    assert azure.names() == ["out/dir/a.txt", "out/dir/sub/b.bin", "out/dir/sub/deeper/c"]
    assert driver.is_directory(art) is True
    assert sorted(driver.list_objects(art)) == azure.names()
    with pytest.raises(Unimplemented, match="Directory Stream"):
        driver.open_stream(art)

    loaded = tmp_path / "loaded"
    driver.load(art, str(loaded))
    assert read_tree(loaded) == {
        "a.txt": b"a",
        "sub/b.bin": (tree / "sub" / "b.bin").read_bytes(),
        "sub/deeper/c": b"",
    }

    driver.delete(art)
    assert azure.names() == []
    assert driver.is_directory(art) is False


def test_missing_artifact_and_container(azure, driver, tmp_path):
    art = azure.artifact("no/such/blob")
    with pytest.raises(NotFound) as err:
        driver.load(art, str(tmp_path / "x"))
    assert "no/such/blob" in str(err.value) and azure.container in str(err.value)
    with pytest.raises(NotFound):
        driver.open_stream(art)
    assert driver.is_directory(art) is False
    assert driver.list_objects(art) == []
    driver.delete(art)  # a missing blob is a successful delete

    other = make_artifact(azure.blob_endpoint, unique_name("missing"), "b")
    with pytest.raises(NotFound, match="container does not exist"):
        driver.load(other, str(tmp_path / "y"))
    with pytest.raises(NotFound, match="ContainerNotFound"):
        driver.save_stream(io.BytesIO(b"data"), other)


def test_siblings_are_never_part_of_a_directory(azure, driver, tmp_path):
    for name in ("d/a", "d/sub/b", "d-other/x", "d-other", "dx", "d.txt"):
        azure.put(name, name.encode())
    art = azure.artifact("d")

    assert sorted(driver.list_objects(art)) == ["d/a", "d/sub/b"]
    driver.load(art, str(tmp_path / "d"))
    assert read_tree(tmp_path / "d") == {"a": b"d/a", "sub/b": b"d/sub/b"}

    driver.delete(art)
    assert azure.names() == ["d-other", "d-other/x", "d.txt", "dx"]


@pytest.mark.parametrize("blob", ["a/../b.txt", "../up/kept.txt", "./here"])
def test_dot_segments_in_blob_names_are_kept_verbatim(azure, driver, tmp_path, blob):
    source = tmp_path / "in"
    source.write_bytes(b"dots")
    driver.save(str(source), azure.artifact(blob))
    assert azure.names() == [blob]
    driver.load(azure.artifact(blob), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"dots"
    driver.delete(azure.artifact(blob))
    assert azure.names() == []


def test_delete_is_idempotent(azure, driver):
    azure.put("f", b"1")
    azure.put("dir/a", b"2")
    for blob in ("f", "dir"):
        art = azure.artifact(blob)
        driver.delete(art)
        driver.delete(art)
    assert azure.names() == []


def test_empty_blob_is_an_empty_file_and_a_marker_with_children_a_directory(
    azure, driver, tmp_path
):
    azure.put("empty")
    driver.load(azure.artifact("empty"), str(tmp_path / "empty"))
    assert (tmp_path / "empty").is_file() and (tmp_path / "empty").read_bytes() == b""
    with driver.open_stream(azure.artifact("empty")) as stream:
        assert stream.read() == b""

    # An ADLS Gen2-style directory: a 0-byte marker blob, folder markers inside, files under it.
    azure.put("marked")
    azure.put("marked/", b"")
    azure.put("marked/sub", b"", metadata={"hdi_isfolder": "true"})
    azure.put("marked/sub/file", b"content")
    marked = azure.artifact("marked")
    driver.load(marked, str(tmp_path / "marked"))
    assert read_tree(tmp_path / "marked") == {"sub/file": b"content"}
    assert driver.list_objects(marked) == ["marked/sub/file"]
    with pytest.raises(Unimplemented):
        driver.open_stream(marked)
    driver.delete(marked)  # markers included
    assert azure.names() == ["empty"]


def test_a_non_empty_blob_is_a_file_even_with_blobs_under_it(azure, driver, tmp_path):
    azure.put("both", b"file")
    azure.put("both/child", b"child")
    driver.load(azure.artifact("both"), str(tmp_path / "both"))
    assert (tmp_path / "both").read_bytes() == b"file"


def test_large_upload_uses_blocks_and_small_one_a_single_put(azure, driver, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(os.urandom(2 * BLOCK_SIZE + 1))
    small = tmp_path / "small"
    small.write_bytes(os.urandom(SINGLE_PUT_MAX))

    driver.save(str(big), azure.artifact("big"))
    driver.save(str(small), azure.artifact("small"))
    driver.save_stream(io.BytesIO(big.read_bytes()), azure.artifact("big-stream"))
    driver.save_stream(io.BytesIO(big.read_bytes()[:BLOCK_SIZE]), azure.artifact("one-block"))
    driver.save_stream(io.BytesIO(b"tiny"), azure.artifact("tiny-stream"))

    def committed(name: str) -> list[int]:
        blocks, _ = azure.service.get_blob_client(azure.container, name).get_block_list()
        return [b.size for b in blocks]

    assert committed("big") == [BLOCK_SIZE, BLOCK_SIZE, 1]
    assert committed("big-stream") == [BLOCK_SIZE, BLOCK_SIZE, 1]
    assert committed("one-block") == [BLOCK_SIZE]
    assert committed("small") == committed("tiny-stream") == []  # one Put Blob: no block list
    assert azure.get("tiny-stream") == b"tiny"
    assert azure.get("big") == azure.get("big-stream") == big.read_bytes()


# --- credentials ------------------------------------------------------------------------------


def test_read_only_sas_can_load_but_not_write(azure, tmp_path):
    azure.put("dir/a", b"a")
    azure.put("file", b"file")
    sas = azure.sas(datetime.now(UTC) + timedelta(hours=1), read=True, list=True)
    for secret in (sas, "?" + sas):
        with azure.driver(secret) as driver:
            driver.connection.sas is not None or pytest.fail("the SAS was not detected")
            driver.load(azure.artifact("file"), str(tmp_path / "f"))
            assert (tmp_path / "f").read_bytes() == b"file"
            driver.load(azure.artifact("dir"), str(tmp_path / "d"))
            assert read_tree(tmp_path / "d") == {"a": b"a"}
            with driver.open_stream(azure.artifact("file")) as stream:
                assert stream.read() == b"file"
            with pytest.raises(Forbidden) as err:
                driver.save_stream(io.BytesIO(b"nope"), azure.artifact("new"))
            assert err.value.code.http_status == 403
            with pytest.raises(Forbidden):
                driver.save(str(tmp_path / "f"), azure.artifact("new"))
            with pytest.raises(Forbidden):
                driver.delete(azure.artifact("file"))
            assert sas.split("sig=")[1][:10] not in str(err.value)
    assert azure.names() == ["dir/a", "file"]


def test_expired_sas_is_forbidden(azure, tmp_path):
    azure.put("file", b"file")
    expired = azure.sas(datetime.now(UTC) - timedelta(hours=1), read=True, list=True)
    with azure.driver(expired) as driver, pytest.raises(Forbidden) as err:
        driver.load(azure.artifact("file"), str(tmp_path / "f"))
    assert not err.value.transient


def test_wrong_account_key_is_forbidden(azure, tmp_path):
    azure.put("file", b"file")
    with azure.driver(WRONG_KEY) as driver, pytest.raises(Forbidden) as err:
        driver.load(azure.artifact("file"), str(tmp_path / "f"))
    # Azure answers AuthenticationFailed, Azurite AuthorizationFailure: both 403.
    assert "AuthenticationFailed: " in str(err.value) or "AuthorizationFailure: " in str(err.value)
    assert not err.value.transient
    assert WRONG_KEY.decode() not in str(err.value)


def test_sdk_creds_on_azurite_fail_clearly_and_fast(azure, monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_")):
            monkeypatch.delenv(name)
    art = azure.artifact("file", useSDKCreds=True)
    if not azure.endpoint.tls:
        with pytest.raises(BadRequest, match="https"):
            AzureDriver(art, MemorySecretSource({}), azure.context)
        return
    outcome: dict[str, BaseException] = {}

    def attempt() -> None:
        with AzureDriver(art, MemorySecretSource({}), azure.context) as driver:
            try:
                driver.load(art, str(tmp_path / "f"))
            except BaseException as exc:
                outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "useSDKCreds on Azurite hung for 60 s"
    assert time.monotonic() - started < 20
    error = outcome.get("error")
    assert isinstance(error, Unauthorized), repr(error)
    assert "DefaultAzureCredential could not get a token" in str(error)
    assert azure.blob_endpoint in str(error)


def test_untrusted_ca_fails_fast_with_a_certificate_error(tls_azure, tmp_path):
    azure = tls_azure
    azure.put("file", b"file")
    started = time.monotonic()
    # The system bundle only, and the SDK's default retries: certificate failures are not retried.
    with azure.driver(ca_bundle=system_ca_bundle()) as driver, pytest.raises(ArtifactError) as err:
        driver.load(azure.artifact("file"), str(tmp_path / "f"))
    assert time.monotonic() - started < 10
    message = str(err.value)
    assert "certificate verification failed" in message
    assert azure.blob_endpoint in message
    assert not err.value.transient


# --- streaming --------------------------------------------------------------------------------


class PatternStream(io.RawIOBase):
    """``size`` bytes made of distinct 1 MiB blocks, hashed as they are read; optionally fails
    with ``OSError`` after ``fail_after`` bytes. Not seekable and without a file descriptor."""

    BASE = os.urandom(MiB)

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        super().__init__()
        self.size, self.fail_after, self.position = size, fail_after, 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.fail_after is not None and self.position >= self.fail_after:
            raise OSError("the source went away")
        offset = self.position % MiB
        n = min(len(buffer), self.size - self.position, MiB - offset)
        if n <= 0:
            return 0
        block = (self.position // MiB).to_bytes(8, "big") + self.BASE[8:]
        buffer[:n] = block[offset : offset + n]
        self.digest.update(block[offset : offset + n])
        self.position += n
        return n


def test_64_mib_streams_both_ways_without_temp_files_in_bounded_memory(azure, no_temp_files):
    size = 64 * MiB
    art = azure.artifact("streams/big.bin")
    context = DriverContext(ca_bundle=azure.context.ca_bundle, temp_dir=no_temp_files)
    with AzureDriver(art, secrets_with(azure.account_key), context) as driver:
        source = PatternStream(size)
        tracemalloc.start()
        try:
            driver.save_stream(source, art)
            upload_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            received = hashlib.sha256()
            total = 0
            with driver.open_stream(art) as stream:
                while chunk := stream.read(256 * 1024):
                    received.update(chunk)
                    total += len(chunk)
            download_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        driver.delete(art)
    assert source.position == size and total == size
    assert received.hexdigest() == source.digest.hexdigest()
    assert list(no_temp_files.iterdir()) == []
    # Measured ~20 MiB: (UPLOAD_CONCURRENCY + 1) 4 MiB blocks plus the SDK's copies of them.
    assert upload_peak < 32 * MiB, upload_peak
    # Measured ~9.4 MiB: about 9 copies of one 1 MiB chunk in the SDK and urllib3.
    assert download_peak < 16 * MiB, download_peak


def test_failing_stream_commits_nothing(azure, driver):
    art = azure.artifact("partial")
    with pytest.raises(ArtifactError) as err:
        driver.save_stream(PatternStream(64 * MiB, fail_after=10 * MiB), art)
    assert "reading the stream" in str(err.value) and "the source went away" in str(err.value)
    assert not azure.exists("partial")

    azure.put("partial", b"previous content")
    with pytest.raises(ArtifactError):
        driver.save_stream(PatternStream(64 * MiB, fail_after=6 * MiB), art)
    assert azure.get("partial") == b"previous content"


def test_a_source_artifact_error_passes_through_save_stream(azure, driver):
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise NotFound("upstream: not found")

    with pytest.raises(NotFound, match=r"^upstream: not found$"):
        driver.save_stream(Broken(), azure.artifact("relay"))
    assert azure.names() == []


def test_save_stream_of_nothing_is_an_empty_blob(azure, driver, tmp_path):
    driver.save_stream(io.BytesIO(b""), azure.artifact("zero"))
    assert azure.get("zero") == b""
    driver.load(azure.artifact("zero"), str(tmp_path / "zero"))
    assert (tmp_path / "zero").read_bytes() == b""


def test_save_stream_does_not_trust_the_file_position(azure, driver, tmp_path):
    source = tmp_path / "src"
    source.write_bytes(b"header|body")
    with open(source, "rb") as handle:
        handle.read(len(b"header|"))
        driver.save_stream(handle, azure.artifact("positioned"))
    assert azure.get("positioned") == b"body"


def test_blob_names_escaping_the_load_directory_are_refused(tmp_path):
    # The SDK's URL handling normalises "..", so a real server cannot hold such a name for us:
    # a stand-in container client lists one.
    class Listing:
        def list_blobs(self, **kwargs: Any) -> list[Any]:
            return [type("Blob", (), {"name": "esc/../../outside", "metadata": {}})()]

    artifact = make_artifact("https://a.blob.core.windows.net", "c", "esc")
    driver = AzureDriver(artifact, secrets_with(WRONG_KEY), DriverContext())
    with driver, pytest.raises(BadRequest, match="outside"):
        driver._load_directory(Listing(), "esc", tmp_path / "in")  # type: ignore[arg-type]
    assert not (tmp_path / "outside").exists()
