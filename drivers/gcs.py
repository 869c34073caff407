"""The GCS reference driver, on google-cloud-storage (spec 1.3 "GCS", 2.2, 6.4, 6.5, 8.1).

What belongs to an artifact at ``key`` (deviation ``gcs-raw-prefix-siblings``): the object named
exactly ``clean(key)`` is a file artifact; otherwise the objects under ``clean(key) + "/"`` are a
directory artifact. ``out`` never touches ``out-2/...`` or ``outer``.

* ``load``: the object named ``key`` if it exists, else every object under ``key/`` written to
  ``path/<relative name>`` (names ending in ``/`` skipped); neither is ERR_NOT_FOUND
  ``no results for key: <key>``.
* ``save``: a file to ``key``; a directory's regular files to ``key/<relative path>`` (symlinks
  and empty directories skipped, as Argo).
* ``delete``: the object ``key`` and everything under ``key/``; missing is a success
  (deviations ``gcs-delete-missing-idempotent``, ``gcs-directory-delete-tree``).
* ``list_objects``: S3's semantics (spec 11.8): the full names under ``key/``, ``.../`` markers
  skipped; ``[]`` for a plain file; ERR_NOT_FOUND when there is neither.
* ``is_directory``: true when anything exists under ``key/`` (deviation
  ``gcs-is-directory-implemented``).
* ``open_stream`` and ``save_stream`` are native (Argo falls back to temp files, spec 8.1): a
  ranged reader and a resumable upload, both moving :data:`CHUNK_SIZE` bytes per request, so
  memory is bounded and nothing touches the disk. A stream that fails midway never finalises the
  upload, so no object (or a half object) is left behind.

Transport: the endpoint is ``context.gcs_endpoint`` (Google's by default) and always passed to
the SDK explicitly, so ``STORAGE_EMULATOR_HOST`` and ``API_ENDPOINT_OVERRIDE`` are ignored. One
``requests`` session with ``trust_env = False`` carries ``verify = context.ca_bundle``: the CA
environment variables never decide what we trust. SDK retries are off (``retry=None``, explicit
timeouts, no 401 replay), so Argo's GCS backoff (``drivers.core.retry``) is the only retry.

Credentials: ``serviceAccountKeySecret`` (a service-account JSON key) signs a self-signed JWT per
request (no token endpoint is contacted); without it, Application Default Credentials, and
without those a BAD_REQUEST saying so. Never anonymous.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import ssl
import stat
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, ClassVar, TypeVar

import google.auth
import google.auth.exceptions
import requests
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.api_core.client_options import ClientOptions
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession, Request
from google.cloud import storage
from google.oauth2 import service_account

from drivers.base import Driver
from drivers.core.capabilities import OBJECT_STORE_BASE, Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    NotFound,
    Unimplemented,
    error_for,
    from_exception,
)
from drivers.core.model import Artifact
from drivers.core.model.base import go_path_clean
from drivers.core.retry import policy_for, retry_call
from drivers.core.secrets import SecretSource, read_selector

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Google's JSON API; used when ``context.gcs_endpoint`` is unset.
GOOGLE_ENDPOINT = "https://storage.googleapis.com"
#: The scopes google-cloud-storage asks for (full control, read-only, read-write), carried as the
#: ``scope`` claim of the self-signed JWT.
SCOPES: tuple[str, ...] = tuple(storage.Client.SCOPE)
#: Bytes per request when streaming either way (a multiple of 256 KiB, as GCS requires for
#: resumable chunks). Files up to this size are uploaded in one multipart request.
CHUNK_SIZE = 8 * 1024 * 1024
#: (connect, read) seconds for every request.
TIMEOUT: tuple[float, float] = (10.0, 120.0)

_CERT_MARKS = ("certificate_verify_failed", "certificate verify failed")


class GCSDriver(Driver):
    """Argo's GCS driver semantics with our deviations; see the module docstring."""

    kind: ClassVar[str] = "gcs"
    capabilities: ClassVar[frozenset[Capability]] = OBJECT_STORE_BASE | frozenset(
        {
            Capability.TLS_CUSTOM_CA,
            Capability.TLS_PLAIN_HTTP,
            Capability.AUTH_SERVICE_ACCOUNT_KEY,
            Capability.AUTH_SDK_CHAIN,
            Capability.AUTH_REJECTS_BAD_CREDENTIALS,
        }
    )

    chunk_size: ClassVar[int] = CHUNK_SIZE
    timeout: ClassVar[tuple[float, float]] = TIMEOUT

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        if artifact.gcs is None:
            raise BadRequest(f"artifact {artifact.name!r} has no gcs location")
        self._key_selector = artifact.gcs.service_account_key_secret
        self.endpoint = (context.gcs_endpoint or GOOGLE_ENDPOINT).rstrip("/")
        self._session: AuthorizedSession | None = None
        self._client: storage.Client | None = None
        self._auth_session: requests.Session | None = None

    # ---------------------------------------------------------------- transport and credentials

    def _plain_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE & co. silently override `verify`
        session.verify = self.context.verify
        return session

    def _credentials(self) -> Credentials:
        secret = read_selector(
            self.secrets, self._key_selector, field="gcs.serviceAccountKeySecret"
        )
        if secret is not None:
            return _service_account_credentials(secret.reveal_bytes())
        try:
            credentials, _ = google.auth.default(scopes=SCOPES, request=self._auth_request())
            # Never a project from ADC: the client is built with project=None.
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise BadRequest(
                "gcs: no credentials: serviceAccountKeySecret is not set and Application Default "
                "Credentials are not available; set serviceAccountKeySecret to a service-account "
                "JSON key, or run with Workload Identity or GOOGLE_APPLICATION_CREDENTIALS "
                f"(cause: {exc})",
                cause=exc,
            ) from exc
        if isinstance(credentials, service_account.Credentials):
            # A key file found through ADC signs its own JWTs too: no token endpoint round trip.
            credentials = credentials.with_always_use_jwt_access(True)
        return credentials

    def _auth_request(self) -> Request:
        """Transport for credential refreshes (ADC metadata or token endpoint), same trust."""
        if self._auth_session is None:
            self._auth_session = self._plain_session()
        return Request(self._auth_session)

    @property
    def session(self) -> AuthorizedSession:
        """The one ``requests`` session every request of this driver goes through.

        Built on first use: credentials are resolved then (a bad key or missing ADC is a
        BAD_REQUEST from the first operation, not from the constructor).
        """
        if self._session is None:
            session = AuthorizedSession(
                self._credentials(),
                auth_request=self._auth_request(),
                refresh_status_codes=(),  # no silent replay of a rejected request
            )
            session.trust_env = False
            session.verify = self.context.verify
            # trust_env=False also drops the proxy variables: resolve them once for our endpoint.
            session.proxies.update(requests.utils.get_environ_proxies(self.endpoint))
            self._session = session
        return self._session

    @property
    def client(self) -> storage.Client:
        if self._client is None:
            session = self.session
            self._client = storage.Client(
                project=None,  # never detect one: we only touch objects of a named bucket
                credentials=session.credentials,
                client_options=ClientOptions(api_endpoint=self.endpoint),
                _http=session,
            )
            # google-cloud-storage 3.x prefetches bucket metadata for tracing in a background
            # thread (a buckets.get per bucket): requests outside our retry policy, needing a
            # permission Argo's driver never needs. Turn it off for this client only.
            if getattr(self._client, "_bucket_metadata_cache", None) is not None:
                self._client._bucket_metadata_cache = None
        return self._client

    def close(self) -> None:
        for session in (self._session, self._auth_session):
            if session is not None:
                session.close()
        self._session = self._client = self._auth_session = None

    # ------------------------------------------------------------------------------ helpers

    def _location(self, artifact: Artifact) -> tuple[str, str]:
        gcs = artifact.gcs
        if gcs is None:
            raise BadRequest(f"artifact {artifact.name!r} has no gcs location")
        if not gcs.bucket:
            raise BadRequest(f"gcs: artifact {artifact.name!r} has no bucket; set gcs.bucket")
        # Verbatim, as spec 4.7 allows `../` in keys (deviation gcs-key-kept-verbatim); only a
        # trailing "/" is dropped, since a directory is addressed by its prefix.
        key = gcs.key.rstrip("/")
        if not key or key == ".":
            raise BadRequest(
                f"gcs: artifact {artifact.name!r} has no usable key ({gcs.key!r}); set gcs.key "
                "to an object name or prefix"
            )
        return gcs.bucket, key

    def _where(self, bucket: str, key: str) -> str:
        return f"key {key!r} in bucket {bucket!r} at {self.endpoint}"

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        err = from_exception("gcs", exc, what, env=self.context.settings)
        if _is_cert_failure(exc):
            trusted = self.context.ca_bundle or "the default trust store"
            return error_for(
                err.code,
                f"gcs: TLS certificate verification failed while {what}: "
                f"the server's certificate is not signed by a CA in {trusted}; give the driver "
                f"context the CA bundle that signed it (cause: {_root(exc)})",
                transient=False,
                cause=exc,
            )
        return err

    def _run(self, operation: str, what: str, fn: Callable[[], T]) -> T:
        """``fn`` under Argo's GCS backoff for ``operation``; SDK errors become ArtifactErrors."""

        def attempt() -> T:
            try:
                return fn()
            except ArtifactError:
                raise
            except Exception as exc:
                raise self._translate(exc, what) from exc

        return retry_call(
            attempt,
            policy_for("gcs", operation, self.context.settings),
            sleep=self.context.sleep,
        )

    def _blob(self, bucket: str, name: str, *, upload: bool = False) -> storage.Blob:
        # Only uploads get a chunk size: on a download it would turn one streamed GET into
        # ranged requests, which an empty object cannot satisfy (416).
        return self.client.bucket(bucket).blob(name, chunk_size=self.chunk_size if upload else None)

    def _list(self, bucket: str, prefix: str, *, max_results: int | None = None) -> list[Any]:
        return list(
            self.client.list_blobs(
                bucket,
                prefix=prefix,
                max_results=max_results,
                retry=None,
                timeout=self.timeout,
            )
        )

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self._blob(bucket, key).reload(retry=None, timeout=self.timeout)
        except gexc.NotFound:
            return False
        return True

    @staticmethod
    def _no_results(bucket: str, key: str) -> NotFound:
        return NotFound(
            f"no results for key: {key} (bucket {bucket!r} has no object named {key!r} and "
            f"none under {key}/; check the key, or mark the artifact optional)"
        )

    # ---------------------------------------------------------------------------- operations

    def load(self, artifact: Artifact, path: str) -> None:
        bucket, key = self._location(artifact)

        def attempt() -> None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            try:
                self._blob(bucket, key).download_to_filename(path, retry=None, timeout=self.timeout)
                return
            except gexc.NotFound:
                pass  # no file of that name (the SDK removed what it had opened): a directory?
            blobs = self._list(bucket, key + "/")
            if not blobs:
                raise self._no_results(bucket, key)
            os.makedirs(path, exist_ok=True)
            for listed in blobs:
                if listed.name.endswith("/"):
                    continue
                target = os.path.join(path, _relative(listed.name, key))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                # Rebuilt from name and generation: the URL uses our endpoint, not the listed
                # mediaLink's host, and reads exactly the version that was listed.
                blob = self.client.bucket(bucket).blob(listed.name, generation=listed.generation)
                blob.download_to_filename(target, retry=None, timeout=self.timeout)

        self._run("load", f"loading {self._where(bucket, key)} to {path}", attempt)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        bucket, key = self._location(artifact)
        what = f"streaming {self._where(bucket, key)}"

        def attempt() -> BinaryIO:
            found = self._blob(bucket, key)
            try:
                # Fails fast on a missing key, and gives the generation every range read pins
                # (an overwrite mid-stream fails the read instead of splicing two versions).
                found.reload(retry=None, timeout=self.timeout)
            except gexc.NotFound:
                if self._list(bucket, key + "/", max_results=1):
                    raise Unimplemented(
                        "Directory Stream capability currently unimplemented for GCS "
                        f"({self._where(bucket, key)} is a directory); load it instead"
                    ) from None
                raise self._no_results(bucket, key) from None
            # A fresh blob: URLs built from our endpoint (never the server's mediaLink host).
            blob = self.client.bucket(bucket).blob(key, generation=found.generation)
            reader = blob.open(
                "rb", chunk_size=self.chunk_size, retry=_RANGE_RETRY, timeout=self.timeout
            )
            return _ObjectStream(reader, lambda exc: self._translate(exc, what))

        return self._run("open_stream", what, attempt)

    def save(self, path: str, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)
        what = f"saving {path} to {self._where(bucket, key)}"
        if os.path.isdir(path):
            files = [(full, f"{key}/{rel}") for full, rel in _regular_files(path)]
        elif os.path.isfile(path):
            files = [(path, key)]
        elif os.path.lexists(path):
            raise BadRequest(f"gcs: cannot save {path}: not a regular file or a directory")
        else:
            raise BadRequest(f"gcs: cannot save {path}: no such file or directory")

        def attempt() -> None:
            for source, name in files:
                self._blob(bucket, name, upload=True).upload_from_filename(
                    source, retry=None, timeout=self.timeout
                )

        self._run("save", what, attempt)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)
        what = f"saving a stream to {self._where(bucket, key)}"
        source = _FullReads(stream)

        def attempt() -> None:
            # size=None: a resumable upload sending CHUNK_SIZE bytes per request, finalised only
            # by the last (short) chunk. If the stream fails first, nothing is committed.
            try:
                self._blob(bucket, key, upload=True).upload_from_file(
                    source, size=None, retry=None, timeout=self.timeout
                )
            except Exception as exc:
                if source.error is None:
                    raise
                raise error_for(
                    self._translate(exc, what).code,
                    f"gcs: reading the input stream failed after {source.tell()} bytes while "
                    f"{what}; the upload was not finalised, so no object was written "
                    f"(cause: {source.error!r})",
                    cause=exc,
                ) from exc

        self._run("save_stream", what, attempt)  # never retried: the stream is consumed

    def delete(self, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)

        def attempt() -> None:
            names = [blob.name for blob in self._list(bucket, key + "/")]
            for name in [key, *names]:
                with contextlib.suppress(gexc.NotFound):  # already gone: idempotent
                    self.client.bucket(bucket).delete_blob(name, retry=None, timeout=self.timeout)

        self._run("delete", f"deleting {self._where(bucket, key)}", attempt)

    def list_objects(self, artifact: Artifact) -> list[str]:
        bucket, key = self._location(artifact)

        def attempt() -> list[str]:
            blobs = self._list(bucket, key + "/")
            if blobs:
                return [blob.name for blob in blobs if not blob.name.endswith("/")]
            if self._exists(bucket, key):
                return []  # a plain file has nothing inside it
            raise NotFound(
                f"no key found of name {key} (bucket {bucket!r} has no object named {key!r} and "
                f"none under {key}/)"
            )

        return self._run("list_objects", f"listing {self._where(bucket, key)}", attempt)

    def is_directory(self, artifact: Artifact) -> bool:
        bucket, key = self._location(artifact)
        return self._run(
            "is_directory",
            f"probing {self._where(bucket, key)}",
            lambda: bool(self._list(bucket, key + "/", max_results=1)),
        )


# ---------------------------------------------------------------------------------- helpers


def _service_account_credentials(raw: bytes) -> Credentials:
    """Self-signed-JWT credentials from a service-account JSON key; BAD_REQUEST if unusable."""
    field = "gcs.serviceAccountKeySecret"
    try:
        info = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        # The message of a JSON error quotes no content, only a position.
        raise BadRequest(f"{field}: not a JSON service-account key ({exc})") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else type(info).__name__
        raise BadRequest(
            f"{field}: expected a service-account JSON key (type 'service_account'), got "
            f"{kind!r}; create a key for a service account and store the JSON file"
        )
    try:
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=SCOPES, always_use_jwt_access=True
        )
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"{field}: unusable service-account key: {exc}") from None
    return credentials


def _relative(name: str, key: str) -> str:
    """The local relative path of object ``name`` under ``key/``; refuses to leave the tree."""
    rel = go_path_clean(name[len(key) + 1 :].lstrip("/"))
    if rel in (".", "") or rel == ".." or rel.startswith("../"):
        raise BadRequest(
            f"gcs: object {name!r} would be written outside the artifact directory; "
            "rename the object"
        )
    return rel


def _regular_files(root: str) -> Iterator[tuple[str, str]]:
    """(absolute path, '/'-separated relative path) of each regular file; no symlinks."""
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(directory, name)
            if stat.S_ISREG(os.lstat(full).st_mode):
                yield full, os.path.relpath(full, root).replace(os.sep, "/")


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _is_cert_failure(exc: BaseException) -> bool:
    return any(
        isinstance(link, ssl.SSLCertVerificationError)
        or any(mark in str(link).lower() for mark in _CERT_MARKS)
        for link in _chain(exc)
    )


def _root(exc: BaseException) -> BaseException:
    return list(_chain(exc))[-1]


class _ObjectStream(io.BufferedIOBase):
    """A file artifact's bytes, read through the SDK's ranged reader; errors are ArtifactErrors."""

    def __init__(self, reader: io.BufferedIOBase, translate: Callable[[Exception], ArtifactError]):
        super().__init__()
        self._reader = reader
        self._translate = translate

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._reader.read(-1 if size is None else size)
        except ArtifactError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


class _FullReads:
    """What the SDK's resumable upload needs of a stream, for any stream.

    ``tell()`` counts bytes handed out (the SDK requires it and a pipe has none); ``read(n)``
    returns exactly ``n`` bytes until the end (a short read means "last chunk" to the SDK).
    The stream's own exception is kept in ``error`` so it is reported as the stream's fault.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._position = 0
        self.error: BaseException | None = None

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET and offset == self._position:
            return self._position
        raise io.UnsupportedOperation("the input stream can only be read forward")

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size
        try:
            while wanted != 0:
                chunk = self._stream.read(wanted if wanted > 0 else CHUNK_SIZE)
                if not chunk:
                    break
                parts.append(chunk)
                if wanted > 0:
                    wanted -= len(chunk)
        except Exception as exc:
            self.error = exc
            raise
        data = b"".join(parts)
        self._position += len(data)
        return data


def _is_dropped_connection(exc: BaseException) -> bool:
    """A pooled connection the server had already closed (a reset or an aborted response)."""
    import http.client

    import requests
    import urllib3

    dropped = (
        ConnectionResetError,
        http.client.RemoteDisconnected,
        urllib3.exceptions.ProtocolError,
        requests.exceptions.ConnectionError,
    )
    return isinstance(exc, dropped) and not _is_cert_failure(exc)


# Range reads of an open stream are pinned to one object generation, so re-reading a range is
# safe: retry only a dropped keep-alive connection, briefly (the open itself follows Argo's
# GCS backoff through `_run`).
_RANGE_RETRY = gretry.Retry(
    predicate=_is_dropped_connection, initial=0.1, maximum=1.0, multiplier=2.0, timeout=15.0
)
