"""`drivers.gcs.GCSDriver` against the real fake-gcs-server, plain HTTP and TLS.

Every request is signed with a service-account key generated here (fake-gcs checks none, so
one test verifies the JWT itself). Each test gets its own bucket, removed afterwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.structures import CaseInsensitiveDict

from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext, system_ca_bundle
from drivers.core.errors import ArtifactError, BadRequest, Code, NotFound, Unimplemented
from drivers.core.model import Artifact
from drivers.core.secrets import MemorySecretSource
from drivers.gcs import CHUNK_SIZE, GCSDriver
from emulators.endpoint import Endpoint
from tests.servers import gcs_client, unique_name

MiB = 1024 * 1024
SA_EMAIL = "artconf-driver@artconf.iam.gserviceaccount.com"
SA_KEY_ID = "artconf-test-key-1"


# ------------------------------------------------------------------------------------ fixtures


@dataclass(frozen=True)
class ServiceAccount:
    info: dict[str, str]
    public_pem: bytes

    @property
    def json(self) -> str:
        return json.dumps(self.info)


@pytest.fixture(scope="session")
def service_account() -> ServiceAccount:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "artconf",
        "private_key_id": SA_KEY_ID,
        "private_key": private_pem,
        "client_email": SA_EMAIL,
        "client_id": "1234567890",
        # Never contacted: the driver signs its own JWTs.
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return ServiceAccount(info, public_pem)


@dataclass
class Gcs:
    """One test's world: a server, an empty bucket on it, and a way to build drivers."""

    endpoint: Endpoint
    bucket: str
    account: ServiceAccount
    tmp: Path
    sleeps: list[float] = field(default_factory=list)

    def context(self, **overrides: Any) -> DriverContext:
        values: dict[str, Any] = {
            "gcs_endpoint": self.endpoint.url,
            "sleep": self.sleeps.append,
            "temp_dir": self.tmp,
        }
        if self.endpoint.ca_bundle:
            values["ca_bundle"] = self.endpoint.ca_bundle
        values.update(overrides)
        return DriverContext(**values)

    def artifact(self, key: str, *, secret: dict[str, Any] | None = None) -> Artifact:
        location: dict[str, Any] = {"bucket": self.bucket, "key": key}
        location["serviceAccountKeySecret"] = secret or {"name": "gcs-sa", "key": "key.json"}
        return Artifact.model_validate({"name": "art", "gcs": location})

    def driver(
        self,
        key: str = "any",
        *,
        secrets: dict[str, dict[str, str]] | None = None,
        secret: dict[str, Any] | None = None,
        **context: Any,
    ) -> GCSDriver:
        source = MemorySecretSource(
            {"gcs-sa": {"key.json": self.account.json}} if secrets is None else secrets
        )
        return GCSDriver(self.artifact(key, secret=secret), source, self.context(**context))

    def official(self):
        return gcs_client(self.endpoint).bucket(self.bucket)

    def names(self) -> list[str]:
        client = gcs_client(self.endpoint)
        return sorted(b.name for b in client.list_blobs(self.bucket, retry=None, timeout=30))

    def put(self, name: str, data: bytes = b"x") -> None:
        self.official().blob(name).upload_from_string(data, retry=None, timeout=30)

    def get(self, name: str) -> bytes:
        return self.official().blob(name).download_as_bytes(retry=None, timeout=30)


def _make_world(endpoint: Endpoint, account: ServiceAccount, tmp: Path) -> Iterator[Gcs]:
    client = gcs_client(endpoint)
    bucket = client.create_bucket(unique_name("gcsdrv"), retry=None, timeout=30)
    try:
        yield Gcs(endpoint, bucket.name, account, tmp)
    finally:
        for blob in client.list_blobs(bucket.name, retry=None, timeout=30):
            blob.delete(retry=None, timeout=30)
        bucket.delete(retry=None, timeout=30)


@pytest.fixture(params=["fake-gcs", "fake-gcs-tls"])
def gcs(request, artconf_server, service_account, tmp_path) -> Iterator[Gcs]:
    """Both modes: plain HTTP and TLS with our own CA (trusted through the context only)."""
    yield from _make_world(artconf_server(request.param), service_account, tmp_path)


@pytest.fixture
def gcs_plain(artconf_server, service_account, tmp_path) -> Iterator[Gcs]:
    yield from _make_world(artconf_server("fake-gcs"), service_account, tmp_path)


@pytest.fixture
def gcs_tls(artconf_server, service_account, tmp_path) -> Iterator[Gcs]:
    yield from _make_world(artconf_server("fake-gcs-tls"), service_account, tmp_path)


# ------------------------------------------------------------------------------ test helpers


@dataclass
class Sent:
    method: str
    url: str
    headers: CaseInsensitiveDict
    body_size: int


def record_requests(
    driver: GCSDriver,
    fail: Callable[[requests.PreparedRequest, int], int | None] | None = None,
) -> list[Sent]:
    """Wrap the driver's session: record every request; `fail(request, n)` may inject a status."""
    sent: list[Sent] = []
    session = driver.connection.session
    original = session.send

    def send(prepared: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = prepared.body
        size = len(body) if isinstance(body, bytes | str) else 0
        headers = CaseInsensitiveDict(prepared.headers)
        sent.append(Sent(prepared.method or "", prepared.url or "", headers, size))
        status = fail(prepared, len(sent)) if fail else None
        if status is not None:
            return _fake_response(prepared, status)
        return original(prepared, **kwargs)

    session.send = send  # type: ignore[method-assign]
    return sent


def _fake_response(prepared: requests.PreparedRequest, status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "Injected"
    payload = json.dumps({"error": {"code": status, "message": f"injected {status}"}}).encode()
    response._content = payload
    response._content_consumed = True
    response.raw = io.BytesIO(payload)
    response.headers["Content-Type"] = "application/json"
    response.url = prepared.url or ""
    response.request = prepared
    return response


class PatternStream(io.RawIOBase):
    """`size` deterministic bytes produced on the fly (never held whole in memory).

    `short` caps each read (a pipe or socket); `fail_after` raises once that many bytes were
    produced; `tell`/`seek` are unsupported, as for a pipe.
    """

    BLOCK = bytes(range(256)) * 4096  # 1 MiB

    def __init__(self, size: int, *, short: int | None = None, fail_after: int | None = None):
        self.size = size
        self.short = short
        self.fail_after = fail_after
        self.produced = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise io.UnsupportedOperation("a pipe has no position")

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.size - self.produced, self.short or len(view))
        if self.fail_after is not None and self.produced + want > self.fail_after:
            want = self.fail_after - self.produced
            if want <= 0:
                raise ConnectionResetError("the uploading client went away")
        done = 0
        while done < want:
            offset = (self.produced + done) % len(self.BLOCK)
            piece = self.BLOCK[offset : offset + want - done]
            view[done : done + len(piece)] = piece
            done += len(piece)
        self.digest.update(view[:want])
        self.produced += want
        return want


def sha256_of_stream(stream: io.BufferedIOBase, read_size: int = MiB) -> tuple[str, int]:
    digest = hashlib.sha256()
    total = 0
    while chunk := stream.read(read_size):
        digest.update(chunk)
        total += len(chunk)
    return digest.hexdigest(), total


def make_tree(root: Path) -> dict[str, bytes]:
    """out/
    ├── a.txt
    ├── sub/b.bin
    ├── sub/deeper/c.txt
    ├── empty/            (empty directory: not uploaded)
    └── link -> a.txt     (symlink: not uploaded)
    """
    files = {
        "a.txt": b"alpha\n",
        "sub/b.bin": bytes(range(256)),
        "sub/deeper/c.txt": b"",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "empty").mkdir()
    (root / "link").symlink_to("a.txt")
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------------- contract


def test_capabilities_are_what_the_gcs_protocol_allows():
    """Every driver method including native streams; no S3-only features (addressing, SSE...)."""
    caps = GCSDriver.capabilities
    operations = {
        "load",
        "load_directory",
        "save",
        "save_directory",
        "save_stream",
        "open_stream",
        "delete",
        "delete_directory",
        "list_objects",
        "is_directory",
    }
    assert {c.value for c in caps} >= operations
    assert Capability.AUTH_SERVICE_ACCOUNT_KEY in caps and Capability.AUTH_SDK_CHAIN in caps
    assert Capability.TLS_CUSTOM_CA in caps
    for s3_only in ("auth_static_keys", "addressing_virtual_hosted", "encryption_sse_c"):
        assert Capability(s3_only) not in caps
    assert Capability.CREATE_BUCKET not in caps  # Argo's GCS location has no such field


def test_file_roundtrip_every_method(gcs: Gcs, tmp_path: Path):
    """A file: save, is_directory false, list [] (S3 rule), load, open_stream, delete."""
    source = tmp_path / "in.bin"
    source.write_bytes(b"\x00payload\xff" * 1000)
    with gcs.driver() as driver:
        art = gcs.artifact("dir/file.bin")
        driver.save(str(source), art)
        assert gcs.names() == ["dir/file.bin"]
        assert driver.is_directory(art) is False
        assert driver.list_objects(art) == []
        driver.load(art, str(tmp_path / "out" / "file.bin.tmp"))
        assert (tmp_path / "out" / "file.bin.tmp").read_bytes() == source.read_bytes()
        with driver.open_stream(art) as stream:
            assert stream.read() == source.read_bytes()
        driver.delete(art)
        assert gcs.names() == []
        with pytest.raises(NotFound):
            driver.load(art, str(tmp_path / "again"))
    assert gcs.sleeps == []


def test_empty_file_roundtrip(gcs: Gcs, tmp_path: Path):
    """A 0-byte object is a file (never a directory), loaded and streamed as empty."""
    (tmp_path / "empty").write_bytes(b"")
    with gcs.driver() as driver:
        art = gcs.artifact("empty.txt")
        driver.save(str(tmp_path / "empty"), art)
        driver.load(art, str(tmp_path / "loaded"))
        assert (tmp_path / "loaded").read_bytes() == b""
        with driver.open_stream(art) as stream:
            assert stream.read() == b""


def test_directory_roundtrip_every_method(gcs: Gcs, tmp_path: Path):
    """A directory: one object per regular file under key/, no symlinks or empty dirs."""
    files = make_tree(tmp_path / "src")
    with gcs.driver() as driver:
        art = gcs.artifact("wf/pod/out/")  # the trailing slash is cleaned away
        driver.save(str(tmp_path / "src"), art)
        expected = sorted(f"wf/pod/out/{rel}" for rel in files)
        assert gcs.names() == expected
        assert driver.is_directory(art) is True
        assert driver.list_objects(art) == expected
        driver.load(art, str(tmp_path / "dest.tmp"))
        assert read_tree(tmp_path / "dest.tmp") == files
        with pytest.raises(Unimplemented) as err:
            driver.open_stream(art)
        assert err.value.code is Code.NOT_IMPLEMENTED
        assert "Directory Stream capability currently unimplemented" in str(err.value)
        driver.delete(gcs.artifact("wf/pod/out"))
        assert gcs.names() == []
        assert driver.is_directory(art) is False


def test_missing_key_is_not_found_everywhere(gcs: Gcs, tmp_path: Path):
    """load, open_stream and list_objects of nothing are NOT_FOUND (Argo's load message)."""
    with gcs.driver() as driver:
        art = gcs.artifact("nothing/here")
        with pytest.raises(NotFound) as err:
            driver.load(art, str(tmp_path / "x"))
        assert "no results for key: nothing/here" in str(err.value)
        assert err.value.code.http_status == 404 and not err.value.transient
        assert not (tmp_path / "x").exists()
        with pytest.raises(NotFound):
            driver.open_stream(art)
        with pytest.raises(NotFound) as listed:
            driver.list_objects(art)
        assert "no key found of name nothing/here" in str(listed.value)
        assert driver.is_directory(art) is False
    assert gcs.sleeps == []  # NOT_FOUND is never retried


def test_missing_bucket_is_not_found(gcs: Gcs, tmp_path: Path):
    """A bucket that does not exist is NOT_FOUND, named in the message, not retried."""
    with gcs.driver() as driver:
        art = Artifact.model_validate(
            {
                "name": "art",
                "gcs": {
                    "bucket": "no-such-bucket-artconf",
                    "key": "k",
                    "serviceAccountKeySecret": {"name": "gcs-sa", "key": "key.json"},
                },
            }
        )
        for call in (
            lambda: driver.load(art, str(tmp_path / "x")),
            lambda: driver.list_objects(art),
            lambda: driver.delete(art),
        ):
            with pytest.raises(NotFound) as err:
                call()
            assert "no-such-bucket-artconf" in str(err.value)
    assert gcs.sleeps == []


def test_siblings_are_never_mixed(gcs: Gcs, tmp_path: Path):
    """`out` owns only `out` and `out/...`: never `out-2/...`, `out2`, `outer/...`."""
    for name in ("out/a.txt", "out/sub/b.txt", "out-2/x.txt", "out2", "outer/y.txt", "ou"):
        gcs.put(name, name.encode())
    with gcs.driver() as driver:
        art = gcs.artifact("out")
        driver.load(art, str(tmp_path / "dest"))
        expected = {"a.txt": b"out/a.txt", "sub/b.txt": b"out/sub/b.txt"}
        assert read_tree(tmp_path / "dest") == expected
        assert driver.list_objects(art) == ["out/a.txt", "out/sub/b.txt"]
        assert driver.is_directory(gcs.artifact("ou")) is False
        driver.delete(art)
    assert gcs.names() == ["ou", "out-2/x.txt", "out2", "outer/y.txt"]


def test_exact_object_wins_over_prefix(gcs: Gcs, tmp_path: Path):
    """An object named exactly key is the artifact even if objects exist under key/ (Argo)."""
    gcs.put("both", b"the file")
    gcs.put("both/inner.txt", b"inner")
    with gcs.driver() as driver:
        driver.load(gcs.artifact("both"), str(tmp_path / "loaded"))
        assert (tmp_path / "loaded").read_bytes() == b"the file"
        with driver.open_stream(gcs.artifact("both")) as stream:
            assert stream.read() == b"the file"
        driver.delete(gcs.artifact("both"))  # the file and its tree
    assert gcs.names() == []


def test_folder_markers_are_skipped(gcs: Gcs, tmp_path: Path):
    """Console folder markers (names ending in /) are neither loaded nor listed."""
    for name in ("d/", "d/sub/", "d/sub/x.txt"):
        gcs.put(name, b"" if name.endswith("/") else b"x")
    with gcs.driver() as driver:
        art = gcs.artifact("d")
        assert driver.list_objects(art) == ["d/sub/x.txt"]
        driver.load(art, str(tmp_path / "dest"))
        assert read_tree(tmp_path / "dest") == {"sub/x.txt": b"x"}
        driver.delete(art)
    assert gcs.names() == []


def test_object_escaping_the_directory_is_refused(gcs_plain: Gcs, tmp_path: Path):
    """An object name with `..` cannot make load write outside the destination."""
    gcs_plain.put("evil/../../escaped.txt", b"x")
    with gcs_plain.driver() as driver, pytest.raises(BadRequest) as err:
        driver.load(gcs_plain.artifact("evil"), str(tmp_path / "dest" / "in"))
    assert "outside the artifact directory" in str(err.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "dest" / "escaped.txt").exists()


def test_delete_is_idempotent(gcs: Gcs, tmp_path: Path):
    """Deleting a missing key succeeds, before and after a real delete; nothing is retried."""
    (tmp_path / "f").write_bytes(b"1")
    with gcs.driver() as driver:
        art = gcs.artifact("gone")
        driver.delete(art)
        driver.save(str(tmp_path / "f"), art)
        driver.delete(art)
        driver.delete(art)
    assert gcs.names() == []
    assert gcs.sleeps == []


def test_save_overwrites_and_missing_source_is_bad_request(gcs_plain: Gcs, tmp_path: Path):
    """Saving again replaces the object; a missing local path is BAD_REQUEST before any I/O."""
    (tmp_path / "f").write_bytes(b"one")
    with gcs_plain.driver() as driver:
        art = gcs_plain.artifact("k")
        driver.save(str(tmp_path / "f"), art)
        (tmp_path / "f").write_bytes(b"two")
        driver.save(str(tmp_path / "f"), art)
        assert gcs_plain.get("k") == b"two"
        with pytest.raises(BadRequest, match="no such file or directory"):
            driver.save(str(tmp_path / "absent"), art)


# -------------------------------------------------------------------------------- streaming


def test_streams_use_no_temp_files(gcs_plain: Gcs, no_temp_files: Path):
    """64 MiB each way with TMPDIR empty and every tempfile function raising: nothing on disk."""
    scratch = no_temp_files
    driver = gcs_plain.driver(temp_dir=scratch)

    size = 64 * MiB
    art = gcs_plain.artifact("streams/big.bin")
    with driver:
        source = PatternStream(size)
        driver.save_stream(source, art)
        with driver.open_stream(art) as stream:
            digest, total = sha256_of_stream(stream)
    assert total == size
    assert digest == source.digest.hexdigest()
    assert list(scratch.iterdir()) == []


def test_streams_move_one_chunk_per_request(gcs_plain: Gcs):
    """Memory is bounded by the configured chunk: no upload body or download range exceeds it."""
    assert GCSDriver.chunk_size == CHUNK_SIZE == 8 * MiB
    assert CHUNK_SIZE % (256 * 1024) == 0  # GCS's resumable-chunk granularity
    size = 2 * CHUNK_SIZE + 123
    art = gcs_plain.artifact("streams/chunked.bin")
    with gcs_plain.driver() as driver:
        sent = record_requests(driver)
        source = PatternStream(size, short=1000)  # short reads, no tell(): like a pipe
        driver.save_stream(source, art)
        uploads = [s for s in sent if s.method == "PUT"]
        assert [s.body_size for s in uploads] == [CHUNK_SIZE, CHUNK_SIZE, 123]
        sent.clear()
        with driver.open_stream(art) as stream:
            digest, total = sha256_of_stream(stream, read_size=MiB)
        ranges = [s.headers["Range"] for s in sent if "Range" in s.headers]
        # Every range read is pinned to the generation open_stream found.
        assert all("generation=" in s.url for s in sent if "Range" in s.headers)
    assert (total, digest) == (size, source.digest.hexdigest())
    assert len(ranges) >= 3
    for value in ranges:
        start, _, end = value.removeprefix("bytes=").partition("-")
        # The SDK's reader asks for chunk + 1 bytes (an inclusive end); never the whole object.
        assert int(end) - int(start) + 1 <= CHUNK_SIZE + 1


def test_open_stream_never_splices_two_versions(gcs_plain: Gcs):
    """An overwrite while streaming fails the next read (pinned generation), never mixes data."""
    gcs_plain.put("moving.bin", b"A" * (2 * CHUNK_SIZE))
    with gcs_plain.driver() as driver:
        stream = driver.open_stream(gcs_plain.artifact("moving.bin"))
        assert stream.read(MiB) == b"A" * MiB  # the first chunk is fetched and buffered
        gcs_plain.put("moving.bin", b"B" * (2 * CHUNK_SIZE))
        with pytest.raises(ArtifactError):
            while stream.read(MiB):
                pass
        stream.close()


def test_failing_stream_leaves_no_object(gcs: Gcs):
    """A stream that raises midway: an error naming the stream; no new object, old one kept."""
    gcs.put("kept.bin", b"previous version")
    with gcs.driver() as driver:
        for key in ("fresh.bin", "kept.bin"):
            source = PatternStream(3 * CHUNK_SIZE, fail_after=CHUNK_SIZE + 5)
            with pytest.raises(ArtifactError) as err:
                driver.save_stream(source, gcs.artifact(key))
            assert "reading the input stream failed" in str(err.value)
            assert "went away" in str(err.value)
    assert gcs.names() == ["kept.bin"]
    assert gcs.get("kept.bin") == b"previous version"
    assert gcs.sleeps == []  # save_stream is never retried


def test_save_stream_small_and_empty(gcs_plain: Gcs):
    """Streams shorter than one chunk, and empty streams, make complete objects."""
    with gcs_plain.driver() as driver:
        driver.save_stream(io.BytesIO(b"tiny"), gcs_plain.artifact("tiny"))
        driver.save_stream(io.BytesIO(b""), gcs_plain.artifact("empty"))
        exact = PatternStream(CHUNK_SIZE)
        driver.save_stream(exact, gcs_plain.artifact("exact"))
    assert gcs_plain.get("tiny") == b"tiny"
    assert gcs_plain.get("empty") == b""
    assert hashlib.sha256(gcs_plain.get("exact")).hexdigest() == exact.digest.hexdigest()


# ------------------------------------------------------------------------------------- TLS


def test_wrong_ca_fails_fast_with_a_certificate_error(gcs_tls: Gcs, tmp_path: Path):
    """Trusting only the system bundle: a non-transient certificate error naming the endpoint."""
    with gcs_tls.driver(ca_bundle=system_ca_bundle()) as driver:
        started = time.monotonic()
        with pytest.raises(ArtifactError) as err:
            driver.load(gcs_tls.artifact("k"), str(tmp_path / "x"))
        elapsed = time.monotonic() - started
    message = str(err.value)
    assert "certificate" in message.lower()
    assert gcs_tls.endpoint.url in message
    assert err.value.transient is False
    assert gcs_tls.sleeps == []  # never retried by our policy
    assert elapsed < 5, f"took {elapsed:.1f}s: something retried"


def test_environment_cannot_redirect_or_retrust(gcs_tls: Gcs, monkeypatch):
    """STORAGE_EMULATOR_HOST and the CA variables are ignored; NO_PROXY is honoured."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("API_ENDPOINT_OVERRIDE", "http://127.0.0.1:9")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/nonexistent/ca.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    gcs_tls.put("k", b"v")
    with gcs_tls.driver() as driver:
        assert driver.list_objects(gcs_tls.artifact("k")) == []


# ----------------------------------------------------------------------------- credentials


def _bearer_tokens(sent: list[Sent]) -> list[str]:
    tokens = []
    for request in sent:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        assert scheme == "Bearer", f"{request.method} {request.url} carried no bearer token"
        tokens.append(token)
    return tokens


def _assert_signed_by(token: str, account: ServiceAccount) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    assert header["kid"] == SA_KEY_ID and header["alg"] == "RS256"
    claims = jwt.decode(
        token, account.public_pem, algorithms=["RS256"], options={"verify_aud": False}
    )
    assert claims["iss"] == claims["sub"] == SA_EMAIL
    assert "https://www.googleapis.com/auth/devstorage.full_control" in claims["scope"].split()
    return claims


def test_service_account_key_signs_every_request(gcs: Gcs, tmp_path: Path):
    """Each request carries `Authorization: Bearer <JWT>` verifiable with the key's public half."""
    (tmp_path / "f").write_bytes(b"signed")
    with gcs.driver() as driver:
        sent = record_requests(driver)
        art = gcs.artifact("signed/f")
        driver.save(str(tmp_path / "f"), art)
        driver.load(art, str(tmp_path / "back"))
        driver.list_objects(art)
    assert len(sent) >= 3
    assert all(s.url.startswith(gcs.endpoint.url) for s in sent)  # no token endpoint contacted
    assert all("/o" in s.url for s in sent)  # object requests only: no bucket metadata fetch
    for token in set(_bearer_tokens(sent)):
        _assert_signed_by(token, gcs.account)


def test_invalid_key_is_bad_request_without_leaking(gcs_plain: Gcs):
    """A secret that is not a service-account JSON key is BAD_REQUEST; its content never shows."""
    cases = {
        "not json": "super-secret-value-123",
        "wrong type": json.dumps({"type": "authorized_user", "refresh_token": "super-secret-1"}),
        "missing fields": json.dumps({"type": "service_account", "private_key": "super-secret"}),
    }
    for label, value in cases.items():
        driver = gcs_plain.driver(secrets={"gcs-sa": {"key.json": value}})
        with pytest.raises(BadRequest) as err:
            driver.is_directory(gcs_plain.artifact("k"))
        assert "serviceAccountKeySecret" in str(err.value), label
        assert "super-secret" not in str(err.value), label


def _no_adc(monkeypatch, tmp_path: Path) -> None:
    """A machine with no ADC at all, and no metadata-server probe (it would touch the network)."""
    from google.auth.compute_engine import _metadata

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)


def test_no_secret_and_no_adc_is_a_clear_error(gcs_plain: Gcs, tmp_path: Path, monkeypatch):
    """Without a key and without ADC: BAD_REQUEST saying both, never an anonymous request."""
    _no_adc(monkeypatch, tmp_path)
    driver = GCSDriver(
        Artifact.model_validate({"name": "a", "gcs": {"bucket": gcs_plain.bucket, "key": "k"}}),
        MemorySecretSource({}),
        gcs_plain.context(),
    )
    with pytest.raises(BadRequest) as err:
        driver.list_objects(gcs_plain.artifact("k"))
    message = str(err.value)
    assert "serviceAccountKeySecret is not set" in message
    assert "Application Default Credentials are not available" in message
    assert gcs_plain.sleeps == []


def test_optional_missing_secret_falls_back_to_adc(gcs_plain: Gcs, tmp_path: Path, monkeypatch):
    """An optional, missing key secret counts as unset: ADC (here a key file) signs instead."""
    _no_adc(monkeypatch, tmp_path)
    key_file = tmp_path / "adc.json"
    key_file.write_text(gcs_plain.account.json)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    gcs_plain.put("adc/x", b"1")
    driver = gcs_plain.driver(
        secrets={}, secret={"name": "absent", "key": "key.json", "optional": True}
    )
    with driver:
        sent = record_requests(driver)
        assert driver.list_objects(gcs_plain.artifact("adc")) == ["adc/x"]
    for token in set(_bearer_tokens(sent)):
        _assert_signed_by(token, gcs_plain.account)


def test_required_missing_secret_is_bad_request(gcs_plain: Gcs):
    """A named, non-optional secret that is missing is BAD_REQUEST naming the field."""
    driver = gcs_plain.driver(secrets={})
    with pytest.raises(BadRequest, match=r"gcs\.serviceAccountKeySecret"):
        driver.load(gcs_plain.artifact("k"), "/nonexistent/never-written")


# --------------------------------------------------------------------------------- retries


def test_transient_503_is_retried_with_argo_gcs_backoff(gcs: Gcs, tmp_path: Path):
    """Two injected 503s: two sleeps of the GCS policy (2s, 4s, +10% jitter), then success."""
    gcs.put("flaky", b"eventually")
    with gcs.driver() as driver:
        sent = record_requests(driver, fail=lambda request, n: 503 if n <= 2 else None)
        driver.load(gcs.artifact("flaky"), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"eventually"
    assert len(gcs.sleeps) == 2
    assert 2.0 <= gcs.sleeps[0] <= 2.2 and 4.0 <= gcs.sleeps[1] <= 4.4
    # One download per attempt: the SDK retried nothing and fetched nothing else.
    assert [s.method for s in sent] == ["GET"] * 3
    assert all("/o/flaky?alt=media" in s.url for s in sent)


def test_retries_exhausted_report_the_last_error(gcs_plain: Gcs, tmp_path: Path):
    """A 503 every time: 5 attempts, 4 sleeps, Argo's `timed out waiting for the condition`."""
    gcs_plain.put("down", b"x")
    with gcs_plain.driver() as driver:
        sent = record_requests(driver, fail=lambda request, n: 503)
        with pytest.raises(ArtifactError) as err:
            driver.delete(gcs_plain.artifact("down"))
    assert str(err.value).startswith("timed out waiting for the condition: ")
    assert "503" in str(err.value)
    assert err.value.transient is True
    assert len(gcs_plain.sleeps) == 4 and len(sent) == 5


def test_404_and_save_stream_are_not_retried(gcs_plain: Gcs):
    """An injected 404 is NOT_FOUND at once; a 503 during save_stream is reported, not retried."""
    with gcs_plain.driver() as driver:
        sent = record_requests(driver, fail=lambda request, n: 404)
        with pytest.raises(NotFound):
            driver.list_objects(gcs_plain.artifact("k"))
        assert len(sent) == 1
    with gcs_plain.driver() as driver:
        sent = record_requests(driver, fail=lambda request, n: 503)
        with pytest.raises(ArtifactError) as err:
            driver.save_stream(io.BytesIO(b"data"), gcs_plain.artifact("k"))
        assert err.value.transient is True and len(sent) == 1
    assert gcs_plain.sleeps == []
