"""An S3 artifact driver on minio-py, honouring Argo's semantics as the kit's guide states them.

Written from docs/driver-guide.md alone: the factory `make_driver(artifact, secrets, context)`,
the seven methods, every failure an `ArtifactError` with Argo's code. Connection settings
(endpoint, TLS, credentials, region) come from the artifact the driver is built with; each
call's artifact gives the bucket, the key and `createBucketIfNotPresent`.

What it does not do is not declared (see `CAPABILITIES`): no SDK credential chain, no
AssumeRole, no encryption, no region discovery, no virtual-hosted addressing. No retries
either: minio-py's own are switched off, and every error comes back on the first attempt.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import ssl
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, S3Error, ServerError

from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Forbidden,
    Internal,
    NotFound,
    Unauthorized,
    Unimplemented,
)

KIND = "s3"
MIB = 1024 * 1024
MIN_PART = 5 * MIB  # S3's smallest part
MAX_SINGLE_PUT = 64 * MIB
DEFAULT_REGION = "us-east-1"
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 60.0
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$")

CAPABILITIES = [
    # the seven operations and their directory variants, and the executor's archives
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
    "archive_tar",
    "archive_zip",
    "archive_none",
    "key_format",
    # transport and credentials
    "tls_custom_ca",
    "tls_plain_http",
    "addressing_path",
    "auth_static_keys",
    "auth_session_token",
    "auth_rejects_bad_credentials",
    # bucket and object features
    "create_bucket",
    "multipart_upload",
]

_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "ResourceNotFound", "NoSuchObject"})
_REFUSED = frozenset(
    {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidTokenId"}
)
_BUCKET_EXISTS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_CERTIFICATE = re.compile(r"certificate", re.I)


def make_driver(artifact: Any, secrets: Any, context: Any) -> MinioDriver:
    """The target's factory: `python:minio_driver:make_driver`."""
    return MinioDriver(artifact, secrets, context)


make_driver.kinds = ["s3"]
make_driver.capabilities = CAPABILITIES


def translate(exc: BaseException, what: str) -> ArtifactError:
    """The ArtifactError for anything minio-py or urllib3 raised while `what`."""
    if isinstance(exc, ArtifactError):
        return exc
    if isinstance(exc, S3Error):
        status = exc.response.status if exc.response is not None else 0
        detail = f"s3: {exc.code} {what}: {exc.message}"
        if exc.code in _NOT_FOUND or status == 404:
            return NotFound(detail, cause=exc)
        if status == 401:
            return Unauthorized(detail, cause=exc)
        if exc.code in _REFUSED or status == 403:
            return Forbidden(detail, cause=exc)
        return Internal(detail, transient=status >= 500 or status == 429, cause=exc)
    if isinstance(exc, ServerError):
        return Internal(f"s3: server error {what}: {exc}", transient=True, cause=exc)
    if isinstance(exc, InvalidResponseError):
        return Internal(f"s3: unexpected answer {what}: {exc}", cause=exc)
    if isinstance(exc, urllib3.exceptions.SSLError) or _CERTIFICATE.search(str(exc)):
        # A certificate that is not trusted stays untrusted: never transient.
        return Internal(f"s3: TLS failure {what}: {exc}", cause=exc)
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return Internal(f"s3: connection failure {what}: {exc}", transient=True, cause=exc)
    return Internal(f"s3: {type(exc).__name__} {what}: {exc}", cause=exc)


def dir_prefix(key: str) -> str:
    """`clean(key) + "/"`: the prefix of a directory artifact; "" for the whole bucket."""
    cleaned = posixpath.normpath(key) if key else "."
    return "" if cleaned in (".", "/") else cleaned + "/"


def endpoint_of(s3: Any) -> str:
    endpoint = (s3.endpoint or "").strip()
    if not endpoint:
        raise BadRequest("s3.endpoint: required, as host[:port]")
    if not _HOST_PORT.match(endpoint):
        raise BadRequest(f"s3.endpoint: {endpoint!r} is not host[:port]; drop any scheme or path")
    return endpoint


def read_secret(secrets: Any, selector: Any, field: str) -> str | None:
    """A selector's value, stripped; None when the selector is unset."""
    if selector is None or not selector.name:
        return None
    try:
        return secrets.get(selector.name, selector.key).reveal().strip()
    except BadRequest as exc:
        raise BadRequest(f"{field}: {exc}") from None


def trust(s3: Any, secrets: Any, context: Any) -> ssl.SSLContext:
    """Argo's rule: the location's `caSecret` replaces the trust roots; else the pod's bundle."""
    pem = read_secret(secrets, s3.ca_secret, "s3.caSecret")
    try:
        if pem:
            return ssl.create_default_context(cadata=pem)
        return ssl.create_default_context(cafile=context.ca_bundle)
    except ssl.SSLError as exc:
        raise BadRequest(f"s3.caSecret: no PEM certificate could be read: {exc}") from None


class MinioDriver:
    """Argo's S3 driver contract on minio-py."""

    def __init__(self, artifact: Any, secrets: Any, context: Any):
        s3 = artifact.s3
        if s3 is None:
            raise BadRequest(f"artifact {artifact.name!r} has no s3 location")
        self.context = context
        self.endpoint = endpoint_of(s3)
        access = read_secret(secrets, s3.access_key_secret, "s3.accessKeySecret")
        secret = read_secret(secrets, s3.secret_key_secret, "s3.secretKeySecret")
        token = read_secret(secrets, s3.session_token_secret, "s3.sessionTokenSecret")
        if not (access and secret):
            # No SDK credential chain here (not declared): unsigned requests, which a server
            # refuses with AccessDenied, i.e. ERR_FORBIDDEN.
            access = secret = token = None
        secure = not s3.insecure
        self.http = VerbatimPaths(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
            retries=False,  # Argo's policy is the caller's to apply; no hidden retries
            maxsize=10,
            **({"ssl_context": trust(s3, secrets, context)} if secure else {}),
        )
        self.client = Minio(
            self.endpoint,
            access_key=access,
            secret_key=secret,
            session_token=token or None,
            secure=secure,
            region=s3.region or DEFAULT_REGION,
            http_client=self.http,
        )
        self.part_size = self._part_size(context)

    # ================================================================== the seven methods

    def load(self, artifact: Any, path: str) -> None:
        bucket, key = self._bucket_key(artifact)
        what = self._what("loading", bucket, key)
        if key and not key.endswith("/"):
            try:
                self._download(bucket, key, Path(path))
                return
            except S3Error as exc:
                if exc.code != "NoSuchKey":
                    raise translate(exc, what) from None
            except Exception as exc:
                raise translate(exc, what) from None
        prefix = dir_prefix(key)
        names = self._call(what, lambda: list(self._list(bucket, prefix)))
        if not names:
            raise NotFound(f"s3: no key found of name {key!r} in bucket {bucket!r}")
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        for name in names:
            parts = [p for p in name[len(prefix) :].split("/") if p not in ("", ".")]
            if ".." in parts:
                raise BadRequest(f"s3: object {name!r} would be written outside {path!r}")
            if parts and not name.endswith("/"):  # folder markers are no files
                target = root.joinpath(*parts)
                self._call(what, lambda n=name, t=target: self._download(bucket, n, t))

    def open_stream(self, artifact: Any) -> BinaryIO:
        bucket, key = self._bucket_key(artifact)
        what = self._what("streaming", bucket, key)
        if not key:
            raise Unimplemented("s3: a directory cannot be streamed")
        try:
            response = self.client.get_object(bucket, key)
        except S3Error as exc:
            if exc.code == "NoSuchKey" and self._any_under(bucket, dir_prefix(key)):
                raise Unimplemented("s3: a directory cannot be streamed") from None
            raise translate(exc, what) from None
        except Exception as exc:
            raise translate(exc, what) from None
        return ObjectStream(response, what)

    def save(self, path: str, artifact: Any) -> None:
        bucket, key = self._bucket_key(artifact)
        local = Path(path)
        if not local.exists():
            raise BadRequest(f"s3: cannot save {path!r}: no such file or directory")
        if not key:
            raise BadRequest(f"s3: cannot save {path!r}: the key is empty")
        what = self._what("saving", bucket, key)
        self._maybe_create_bucket(artifact, bucket)
        if local.is_dir():
            for file, rel in regular_files(local):
                target = f"{key.rstrip('/')}/{rel}"
                self._call(what, lambda f=file, t=target: self._upload(bucket, t, f))
        else:
            self._call(what, lambda: self._upload(bucket, key, local))

    def save_stream(self, stream: BinaryIO, artifact: Any) -> None:
        """Multipart straight from the stream; minio-py aborts the upload if the stream fails."""
        bucket, key = self._bucket_key(artifact)
        if not key:
            raise BadRequest("s3: cannot save a stream: the key is empty")
        what = self._what("saving a stream to", bucket, key)
        self._maybe_create_bucket(artifact, bucket)
        self._call(
            what,
            lambda: self.client.put_object(
                bucket, key, stream, length=-1, part_size=max(self.part_size, MIN_PART)
            ),
        )

    def delete(self, artifact: Any) -> None:
        """The object `key` and everything under `key/`; a missing key is a success."""
        bucket, key = self._bucket_key(artifact)
        prefix = dir_prefix(key)
        if not prefix:
            raise BadRequest(f"s3: refusing to delete key {key!r}: it names the whole bucket")
        what = self._what("deleting", bucket, key)
        self._call(what, lambda: self.client.remove_object(bucket, key))
        names = self._call(what, lambda: [DeleteObject(n) for n in self._list(bucket, prefix)])
        if names:
            errors = self._call(what, lambda: list(self.client.remove_objects(bucket, names)))
            if errors:
                first = errors[0]
                raise Internal(f"s3: {len(errors)} objects not deleted {what}: {first.message}")

    def list_objects(self, artifact: Any) -> list[str]:
        bucket, key = self._bucket_key(artifact)
        what = self._what("listing", bucket, key)
        names = self._call(what, lambda: list(self._list(bucket, dir_prefix(key))))
        names = [n for n in names if not n.endswith("/")]
        if names or (key and self._exists(bucket, key, what)):
            return names
        raise NotFound(f"s3: no key found of name {key!r} in bucket {bucket!r}")

    def is_directory(self, artifact: Any) -> bool:
        bucket, key = self._bucket_key(artifact)
        what = self._what("probing", bucket, key)
        return self._call(what, lambda: self._any_under(bucket, dir_prefix(key)))

    def close(self) -> None:
        self.http.clear()

    # ================================================================== helpers

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:
            raise translate(exc, what) from None

    def _bucket_key(self, artifact: Any) -> tuple[str, str]:
        s3 = artifact.s3
        if s3 is None or not s3.bucket:
            raise BadRequest(f"s3.bucket: required for artifact {artifact.name!r}")
        return s3.bucket, s3.key

    def _what(self, verb: str, bucket: str, key: str) -> str:
        return f"{verb} key {key!r} in bucket {bucket!r} at {self.endpoint}"

    @staticmethod
    def _part_size(context: Any) -> int:
        value = context.settings.get("ARTIFACT_S3_UPLOAD_PART_SIZE_MIB", "")
        try:
            return int(value) * MIB if value else 0
        except ValueError:
            raise BadRequest(
                f"ARTIFACT_S3_UPLOAD_PART_SIZE_MIB: {value!r} is not a whole number"
            ) from None

    def _list(self, bucket: str, prefix: str) -> Iterator[str]:
        for item in self.client.list_objects(bucket, prefix=prefix, recursive=True):
            yield item.object_name

    def _any_under(self, bucket: str, prefix: str) -> bool:
        return next(iter(self.client.list_objects(bucket, prefix=prefix)), None) is not None

    def _exists(self, bucket: str, key: str, what: str) -> bool:
        try:
            self.client.stat_object(bucket, key)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                return False
            raise translate(exc, what) from None
        return True

    def _download(self, bucket: str, key: str, target: Path) -> None:
        """GET to `target` in 1 MiB chunks; a partial file is removed."""
        response = self.client.get_object(bucket, key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                for chunk in response.stream(MIB):
                    handle.write(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        finally:
            response.close()
            response.release_conn()

    def _upload(self, bucket: str, key: str, file: Path) -> None:
        if {".", ".."} & set(key.split("/")):
            self._upload_dot_segments(bucket, key, file)
            return
        self.client.fput_object(bucket, key, str(file), part_size=self.part_size)

    def _upload_dot_segments(self, bucket: str, key: str, file: Path) -> None:
        """Argo (minio-go) stores a key with `.`/`..` segments verbatim (spec 4.7); minio-py
        refuses such names before sending anything, in its public methods only. So a single
        PUT through its request layer, as the public `put_object` would send it."""
        size = file.stat().st_size
        if size > MAX_SINGLE_PUT:
            raise BadRequest(
                f"s3: key {key!r} has '.' or '..' segments, which this driver can upload in one "
                f"PUT of at most {MAX_SINGLE_PUT // MIB} MiB only ({size} bytes)"
            )
        self.client._put_object(bucket, key, file.read_bytes(), {})

    def _maybe_create_bucket(self, artifact: Any, bucket: str) -> None:
        if artifact.s3.create_bucket_if_not_present is None:
            return
        try:
            self.client.make_bucket(bucket)
        except S3Error as exc:
            if exc.code not in _BUCKET_EXISTS:
                raise translate(exc, f"creating bucket {bucket!r}") from None
        except Exception as exc:
            raise translate(exc, f"creating bucket {bucket!r}") from None


class VerbatimPaths(urllib3.PoolManager):
    """A PoolManager that sends a URL's path as given.

    urllib3's own removes `.` and `..` segments (RFC 3986), so the key `a/../b.txt` would land
    at `b.txt`; S3 keys keep them verbatim (spec 4.7). No redirects: S3 answers none here.
    """

    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> Any:
        parts = urllib.parse.urlsplit(url)
        host = urllib3.util.parse_url(url)
        pool = self.connection_from_host(host.host, port=host.port, scheme=host.scheme)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        kw.setdefault("headers", self.headers)
        return pool.urlopen(method, target, assert_same_host=False, redirect=False, **kw)


class ObjectStream(io.RawIOBase):
    """A GET response as a readable binary stream; read errors become ArtifactErrors."""

    def __init__(self, response: Any, what: str):
        super().__init__()
        self._response = response
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._response.read(len(buffer))
        except Exception as exc:
            raise translate(exc, self._what) from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def regular_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Each regular file under `root` (symlinks and empty directories skipped), with its
    path relative to `root` in `/` form."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            file = Path(folder) / name
            if file.is_file() and not file.is_symlink():
                yield file, file.relative_to(root).as_posix()
