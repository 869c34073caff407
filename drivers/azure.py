"""The reference Azure Blob driver (spec 1.3 "Azure", 2.3, 8.1) on azure-storage-blob.

Location
    ``endpoint`` is the blob service URL; the container is appended to its path, so Azurite's
    ``http://127.0.0.1:10000/devstoreaccount1`` and Azure's ``https://acct.blob.core.windows.net``
    both work. The shared-key account name follows Argo's rule (:func:`determine_account_name`).

Credentials (read once, from the artifact given to the constructor)
    * ``useSDKCreds: true``: ``azure.identity.DefaultAzureCredential``; the key is ignored. Token
      credentials are only ever sent over https, so a plain-http endpoint is ERR_BAD_REQUEST, and
      a credential chain that cannot get a token is ERR_UNAUTHORIZED naming what was tried.
    * otherwise ``accountKeySecret`` is required (Argo's ERR_BAD_REQUEST text otherwise). A value
      that looks like query parameters (``?k=v`` or ``&k=v``, :func:`is_sas_account_key`) is a SAS
      token: an anonymous client on ``<containerURL>?<sas>``. Anything else is an account key
      (shared key). Surrounding whitespace is stripped from either (a trailing newline in a
      Secret would otherwise break the signature or the URL).

Semantics (Argo's, with deviations ``azure-raw-prefix-siblings`` and ``azure-empty-blob-is-file``)
    * A blob's *directory* is the blobs under ``blob + "/"``, never siblings such as
      ``blob-other``. An empty blob name is the whole container, a directory.
    * load: the blob named exactly ``blob`` is a file. If it is missing, or 0 bytes long (an
      ADLS Gen2 directory marker), and blobs exist under ``blob/``, the directory is downloaded
      (markers: names ending in "/" or with ``hdi_isfolder`` metadata, are skipped). A 0-byte
      blob with nothing under it is an empty file. Neither: ERR_NOT_FOUND.
    * save: a file to ``blob``; a directory uploads each regular file to ``blob/<rel>``
      (symlinks and empty directories are skipped).
    * delete: every blob under ``blob/``, then ``blob`` itself (the marker last, as Argo);
      BlobNotFound is tolerated, so delete is idempotent. An empty blob name is refused
      (ERR_BAD_REQUEST) rather than emptying the container.
    * list_objects: full names of the file blobs under ``blob/`` (so a plain file lists as []).
    * is_directory: true for an empty blob name, else whether anything exists under ``blob/``.
    * open_stream (native): a chunked download, :data:`CHUNK_SIZE` bytes per request, one chunk
      held by the reader (peak ~9 chunks with the SDK's own copies), no temporary file. A
      directory is ERR_NOT_IMPLEMENTED.
    * save_stream (native, as Argo's ``UploadStream``): the stream is read in blocks of
      :data:`BLOCK_SIZE` bytes, at most :data:`UPLOAD_CONCURRENCY` blocks in flight (so about
      ``(UPLOAD_CONCURRENCY + 1) * BLOCK_SIZE`` bytes of memory), then the block list is committed.
      No temporary file. If the stream fails, nothing is committed: no blob is created (an
      existing blob keeps its old content) and the uncommitted blocks expire server-side.

Transport and retries
    * Blob names are sent verbatim, ``.`` and ``..`` segments included
      (:func:`escape_dot_segments`): ``a/../b`` is a blob of that name, never ``b``.
    * TLS trusts ``DriverContext.ca_bundle`` (``connection_verify``), falling back to the OS
      bundle, never the CA environment variables.
    * Argo leaves retries to the SDK pipeline; so do we, with the SDK's exponential policy and its
      default of 3 retries per request, except that a certificate-verification failure is never
      retried (it cannot heal, and the SDK would otherwise spend ~80 s on it).
    * Setting (``DriverContext.settings``, from the environment variable of the same name):
      ``ARTIFACT_AZURE_RETRY_TOTAL``: retries per HTTP request (default 3; 0 disables).

Errors are ``ArtifactError``s from ``drivers.core.errors.from_exception("azure", ...)``; SAS
tokens and keys are redacted from their messages.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import ssl
import stat
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ContainerClient, ExponentialRetry

from drivers.base import Driver
from drivers.core.capabilities import OBJECT_STORE_BASE, Capability
from drivers.core.context import DriverContext, system_ca_bundle
from drivers.core.errors import (
    CERT_FAILURE_MARKS,
    ArtifactError,
    BadRequest,
    Unauthorized,
    Unimplemented,
    error_for,
    from_exception,
)
from drivers.core.model import Artifact, AzureArtifact
from drivers.core.secrets import SecretSource, SecretValue, read_selector, redact

KIND = "azure"

MiB = 1024 * 1024
#: Upload block size; a blob larger than :data:`SINGLE_PUT_MAX` is uploaded in blocks.
BLOCK_SIZE = 4 * MiB
#: Largest upload sent as one Put Blob request.
SINGLE_PUT_MAX = 4 * MiB
#: Download request size, for the first request and every following one. The SDK and urllib3
#: copy each chunk several times: measured peak of ``open_stream`` is about 9 chunks (~9 MiB),
#: whatever the blob's size.
CHUNK_SIZE = 1 * MiB
#: Blocks uploaded in parallel (by ``save`` and ``save_stream``).
UPLOAD_CONCURRENCY = 2
#: Parallel range requests of ``load`` (which writes to a seekable local file).
DOWNLOAD_CONCURRENCY = 2
#: Buffer of the reader returned by ``open_stream``, and the size of response body reads.
STREAM_BUFFER = 64 * 1024
#: Seconds to connect, and to wait for each read (azure-storage-blob's defaults).
CONNECTION_TIMEOUT = 20
READ_TIMEOUT = 60

RETRY_TOTAL_SETTING = "ARTIFACT_AZURE_RETRY_TOTAL"
DEFAULT_RETRY_TOTAL = 3  # azure-storage-blob's ExponentialRetry default

MISSING_KEY_ERROR = "accountKeySecret is required for Azure Blob Storage if useSDKCreds is false"

_SAS_PARAMETER = re.compile(r"[?&][\w.-]+=[^&]")


# --------------------------------------------------------------------------------------------
# Location rules (pure functions, unit-tested)
# --------------------------------------------------------------------------------------------


def _split_endpoint(endpoint: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(
            f"azure.endpoint: {endpoint!r} is not an http(s) URL; expected the blob service URL, "
            "e.g. https://<account>.blob.core.windows.net"
        )
    return parts


def determine_account_name(endpoint: str) -> str:
    """The storage account of ``endpoint`` (Argo's ``determineAccountName``).

    The first DNS label of the host; for hosts starting with ``127.0.0.1`` or ``localhost``
    (Azurite's path-style URLs) the first path segment instead.
    """
    parts = _split_endpoint(endpoint)
    host = parts.hostname or ""
    if host.startswith(("127.0.0.1", "localhost")):
        segments = parts.path.split("/")
        name = segments[1] if len(segments) > 1 else ""
    else:
        name = host.split(".")[0]
    if not name:
        raise BadRequest(
            f"azure.endpoint: cannot determine the storage account name from {endpoint!r}: "
            "use https://<account>.blob.core.windows.net, or http://127.0.0.1:<port>/<account> "
            "for Azurite"
        )
    return name


def container_url(endpoint: str, container: str) -> str:
    """``endpoint`` with ``container`` appended to its path (query and fragment dropped)."""
    parts = _split_endpoint(endpoint)
    path = f"{parts.path.rstrip('/')}/{container}"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_sas_account_key(value: str) -> bool:
    """Whether an ``accountKeySecret`` value is a SAS token: it contains ``?k=v`` or ``&k=v``.

    Account keys are base64 and never contain ``?`` or ``&``; a SAS token has several parameters
    (``sv=..&sig=..``), with or without a leading ``?``.
    """
    return _SAS_PARAMETER.search(value) is not None


def directory_prefix(blob: str) -> str:
    """The prefix of the blobs inside ``blob`` as a directory: ``blob/``, or "" for the root."""
    if not blob:
        return ""
    return blob if blob.endswith("/") else blob + "/"


def _retry_total(settings: Any) -> int:
    raw = settings.get(RETRY_TOTAL_SETTING)
    if raw is None or str(raw).strip() == "":
        return DEFAULT_RETRY_TOTAL
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if value < 0:
        raise BadRequest(f"{RETRY_TOTAL_SETTING}={raw!r}: expected a whole number of retries >= 0")
    return value


def _is_cert_failure(exc: BaseException) -> bool:
    """Whether any link of the exception chain is a certificate-verification failure."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if any(mark in str(current).lower() for mark in CERT_FAILURE_MARKS):
            return True
        inner = getattr(current, "inner_exception", None)
        pending += [current.__cause__, current.__context__]
        if isinstance(inner, BaseException):
            pending.append(inner)
    return False


def _is_credential_failure(exc: BaseException) -> bool:
    """A token credential (DefaultAzureCredential) failed: no request reached the server."""
    return isinstance(exc, ClientAuthenticationError) and exc.response is None


def escape_dot_segments(url: str) -> str:
    """``url`` with its ``.`` and ``..`` path segments percent-encoded (``%2E``, ``%2E%2E``).

    Blob names are keys, kept verbatim (spec 4.7): ``a/../b`` is a blob of that name. requests
    (through urllib3's ``parse_url``) would resolve such segments after the SDK has signed the
    path, sending another name and breaking the shared-key signature. Encoded segments survive
    that step, and requests decodes the unreserved ``%2E`` again, so the server receives the
    path the SDK signed.
    """
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.split("/")
    if not any(segment in (".", "..") for segment in segments):
        return url
    path = "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)
    return urllib.parse.urlunsplit(parts._replace(path=path))


class _VerbatimPathTransport(RequestsTransport):
    """The SDK's requests transport, sending dot segments of blob names verbatim."""

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        request.url = escape_dot_segments(request.url)
        return super().send(request, **kwargs)


class _RetryPolicy(ExponentialRetry):
    """The SDK's exponential retry, except that failures retrying cannot heal are not retried:
    certificate verification, and a token credential that could not get a token (the credential
    policy runs after the retry policy, so the SDK would otherwise retry it with backoff)."""

    def increment(self, settings, request, response=None, error=None) -> bool:  # type: ignore[override]
        if error is not None and (_is_cert_failure(error) or _is_credential_failure(error)):
            return False
        return super().increment(settings, request, response=response, error=error)


# --------------------------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------------------------


class _DownloadReader(io.RawIOBase):
    """A raw reader over the downloader's chunk iterator: one chunk in memory at a time."""

    def __init__(
        self, chunks: Iterator[bytes], translate: Callable[[BaseException], ArtifactError]
    ) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] | None = chunks
        self._view = memoryview(b"")
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view:
            self._view.release()  # an empty slice still pins the whole previous chunk
            self._view = memoryview(b"")
            if self._chunks is None:
                return 0
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._chunks = None
                return 0
            except Exception as exc:
                self._chunks = None
                err = self._translate(exc)
                raise err from err.__cause__
            self._view = memoryview(chunk)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def close(self) -> None:
        self._chunks = None
        self._view = memoryview(b"")
        super().close()


class _UploadSource:
    """What ``upload_blob`` reads: not seekable and without ``fileno``, so the SDK reads it in
    blocks and never guesses a length from the underlying file (whose position may not be 0).

    :meth:`read_head` reads the first block ahead; :meth:`read` serves it first, then the rest.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._head = b""
        self.error: BaseException | None = None

    def _read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
            while data is None:  # a non-blocking raw stream with nothing ready yet
                data = self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise
        return data if isinstance(data, bytes) else bytes(data)

    def read_head(self, size: int) -> bytes:
        """Read until ``size`` bytes or the end of the stream; kept for :meth:`read`."""
        parts, total = [], 0
        while total < size:
            data = self._read(size - total)
            if not data:
                break
            parts.append(data)
            total += len(data)
        self._head = b"".join(parts)
        return self._head

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                data, self._head = self._head, b""
            else:
                data, self._head = self._head[:size], self._head[size:]
            return data
        return self._read(size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------


def _location(artifact: Artifact) -> AzureArtifact:
    location = artifact.azure
    if location is None:
        raise BadRequest(f"azure: artifact {artifact.name!r} has no azure location")
    if not location.endpoint:
        raise BadRequest(f"azure.endpoint: required (artifact {artifact.name!r})")
    if not location.container:
        raise BadRequest(f"azure.container: required (artifact {artifact.name!r})")
    return location


def _error_code(exc: BaseException) -> str | None:
    return getattr(exc, "error_code", None)


class AzureDriver(Driver):
    """Azure Blob Storage through azure-storage-blob; see the module docstring for semantics."""

    kind = KIND
    capabilities = OBJECT_STORE_BASE | frozenset(
        {
            Capability.TLS_CUSTOM_CA,
            Capability.TLS_PLAIN_HTTP,
            Capability.AUTH_STATIC_KEYS,
            Capability.AUTH_SAS,
            Capability.AUTH_SDK_CHAIN,
            Capability.AUTH_REJECTS_BAD_CREDENTIALS,
            Capability.MULTIPART_UPLOAD,
        }
    )

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        location = artifact.azure
        if location is None:
            raise BadRequest(f"azure: artifact {artifact.name!r} has no azure location")
        self._retry_total = _retry_total(context.settings)
        self._verify: str | bool = context.ca_bundle or system_ca_bundle() or True
        self._use_sdk_creds = location.use_sdk_creds
        self._account_key: SecretValue | None = None
        self._sas: SecretValue | None = None
        self._token_credential: Any = None
        self._clients: dict[tuple[str, str], ContainerClient] = {}
        if not self._use_sdk_creds:
            secret = read_selector(
                secrets, location.account_key_secret, field="azure.accountKeySecret"
            )
            if secret is None or not secret.strip():
                raise BadRequest(MISSING_KEY_ERROR)
            secret = secret.strip()
            if is_sas_account_key(secret.reveal()):
                self._sas = secret
            else:
                self._account_key = secret
        if location.endpoint and location.container:
            self._client(location)  # configuration errors surface now, not at the first call

    # ---------------------------------------------------------------- clients and errors

    def _client_options(self) -> dict[str, Any]:
        transport = _VerbatimPathTransport(
            connection_verify=self._verify,
            connection_timeout=CONNECTION_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            connection_data_block_size=STREAM_BUFFER,
        )
        return {
            "transport": transport,
            "retry_policy": _RetryPolicy(retry_total=self._retry_total),
            "max_single_put_size": SINGLE_PUT_MAX,
            "max_block_size": BLOCK_SIZE,
            "max_single_get_size": CHUNK_SIZE,
            "max_chunk_get_size": CHUNK_SIZE,
        }

    def _client(self, location: AzureArtifact) -> ContainerClient:
        key = (location.endpoint, location.container)
        client = self._clients.get(key)
        if client is None:
            client = self._new_client(location.endpoint, location.container)
            self._clients[key] = client
        return client

    def _new_client(self, endpoint: str, container: str) -> ContainerClient:
        url = container_url(endpoint, container)
        account_url = url.rsplit("/", 1)[0]
        options = self._client_options()
        if self._use_sdk_creds:
            if urllib.parse.urlsplit(url).scheme != "https":
                raise BadRequest(
                    f"azure.useSDKCreds: endpoint {endpoint!r} is not https; Azure token "
                    "credentials are never sent over plain HTTP: use an https endpoint, or "
                    "accountKeySecret with useSDKCreds: false"
                )
            if self._token_credential is None:
                from azure.identity import DefaultAzureCredential

                self._token_credential = DefaultAzureCredential()
            return ContainerClient(account_url, container, self._token_credential, **options)
        if self._sas is not None:
            sas = self._sas.reveal().lstrip("?&")
            return ContainerClient.from_container_url(f"{url}?{sas}", **options)
        assert self._account_key is not None
        credential = AzureNamedKeyCredential(
            determine_account_name(endpoint), self._account_key.reveal()
        )
        return ContainerClient(account_url, container, credential, **options)

    def _secrets(self) -> list[SecretValue]:
        return [s for s in (self._sas, self._account_key) if s is not None]

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        """The ``ArtifactError`` for ``exc`` (without ``__cause__`` if it had to be redacted)."""
        if isinstance(exc, ArtifactError):
            return exc
        if self._use_sdk_creds and _is_credential_failure(exc):
            return Unauthorized(
                f"azure: useSDKCreds is set but DefaultAzureCredential could not get a token "
                f"{what}: give the pod an Azure identity (workload identity, a managed identity, "
                "or the AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET environment "
                f"variables), or use accountKeySecret with useSDKCreds: false (cause: {exc})",
                cause=exc,
            )
        err = from_exception(KIND, exc, what, env=self.context.settings)
        if _is_cert_failure(exc):
            trusted = self._verify if isinstance(self._verify, str) else "the default trust store"
            err = error_for(
                err.code,
                f"azure: TLS certificate verification failed {what}: the server certificate is "
                f"not signed by a CA in {trusted}; Argo has no caSecret for Azure, so add the "
                "CA to the pod's trust store (DriverContext.ca_bundle) or fix the server "
                f"certificate (cause: {exc})",
                transient=False,
                cause=exc,
            )
        cleaned = redact(err.message, self._secrets())
        if cleaned != err.message:
            # The SDK's own text may carry the SAS in a URL: keep neither it nor its cause.
            return error_for(err.code, cleaned, transient=err.transient)
        return err

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Translate whatever the block raises (``ArtifactError``s pass through)."""
        try:
            yield
        except Exception as exc:
            err = self._translate(exc, what)
            raise err from err.__cause__

    @staticmethod
    def _what(verb: str, location: AzureArtifact, blob: str | None = None) -> str:
        name = location.blob if blob is None else blob
        return f"{verb} blob {name!r} in container {location.container!r} at {location.endpoint}"

    # ---------------------------------------------------------------- listing helpers

    def _names_under(self, client: ContainerClient, prefix: str, *, files_only: bool) -> list[str]:
        names = []
        for item in client.list_blobs(name_starts_with=prefix, include=["metadata"]):
            name = item.name
            if files_only:
                metadata = item.metadata or {}
                folder = str(metadata.get("hdi_isfolder", "")).lower() == "true"
                if name.endswith("/") or folder:
                    continue
            names.append(name)
        return names

    def _has_children(self, client: ContainerClient, blob: str) -> bool:
        if not blob:
            return True
        pages = client.list_blobs(name_starts_with=directory_prefix(blob), results_per_page=1)
        return next(iter(pages), None) is not None

    # ---------------------------------------------------------------- operations

    def load(self, artifact: Artifact, path: str) -> None:
        location = _location(artifact)
        client = self._client(location)
        blob = location.blob
        with self._errors(self._what("loading", location)):
            if not blob:
                self._load_directory(client, blob, Path(path))
                return
            try:
                downloader = client.get_blob_client(blob).download_blob(
                    max_concurrency=DOWNLOAD_CONCURRENCY
                )
            except ResourceNotFoundError as exc:
                if _error_code(exc) == "BlobNotFound" and self._has_children(client, blob):
                    self._load_directory(client, blob, Path(path))
                    return
                raise
            if downloader.size == 0 and self._has_children(client, blob):
                # An ADLS Gen2 directory marker (deviation azure-empty-blob-is-file).
                self._load_directory(client, blob, Path(path))
                return
            self._download_to(downloader, Path(path))

    def _download_to(self, downloader: Any, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(target, "wb") as file:
                downloader.readinto(file)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def _load_directory(self, client: ContainerClient, blob: str, root: Path) -> None:
        prefix = directory_prefix(blob)
        root.mkdir(parents=True, exist_ok=True)
        for name in self._names_under(client, prefix, files_only=True):
            relative = PurePosixPath(name[len(prefix) :])
            if relative.is_absolute() or ".." in relative.parts or not relative.parts:
                raise BadRequest(
                    f"azure: blob {name!r} would be written outside {root} "
                    f"(relative name {str(relative)!r}); refusing to load it"
                )
            downloader = client.get_blob_client(name).download_blob(
                max_concurrency=DOWNLOAD_CONCURRENCY
            )
            self._download_to(downloader, root.joinpath(*relative.parts))

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        location = _location(artifact)
        client = self._client(location)
        blob = location.blob
        what = self._what("opening a stream of", location)
        directory = Unimplemented(
            f"azure: open_stream of blob {blob!r} in container {location.container!r} at "
            f"{location.endpoint}: it is a directory; Directory Stream capability currently "
            "unimplemented for Azure (load it instead)"
        )
        if not blob:
            raise directory
        with self._errors(what):
            try:
                downloader = client.get_blob_client(blob).download_blob(max_concurrency=1)
            except ResourceNotFoundError as exc:
                if _error_code(exc) == "BlobNotFound" and self._has_children(client, blob):
                    raise directory from None
                raise
            if downloader.size == 0 and self._has_children(client, blob):
                raise directory
        raw = _DownloadReader(downloader.chunks(), lambda exc: self._translate(exc, what))
        return io.BufferedReader(raw, buffer_size=STREAM_BUFFER)  # type: ignore[return-value]

    def save(self, path: str, artifact: Artifact) -> None:
        location = _location(artifact)
        client = self._client(location)
        source = Path(path)
        if source.is_dir():
            prefix = directory_prefix(location.blob)
            for file, relative in _regular_files(source):
                name = prefix + relative
                with self._errors(self._what("saving", location, name)):
                    self._upload_file(client, file, name)
            return
        if not source.is_file():
            raise BadRequest(f"azure: cannot save {path}: no such file or directory")
        if not location.blob:
            raise BadRequest(f"azure.blob: required to save the file {path}")
        with self._errors(self._what("saving", location)):
            self._upload_file(client, source, location.blob)

    def _upload_file(self, client: ContainerClient, file: Path, name: str) -> None:
        with open(file, "rb") as handle:
            client.get_blob_client(name).upload_blob(
                handle,
                length=os.fstat(handle.fileno()).st_size,
                overwrite=True,
                max_concurrency=UPLOAD_CONCURRENCY,
            )

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        location = _location(artifact)
        client = self._client(location)
        if not location.blob:
            raise BadRequest("azure.blob: required to save a stream")
        source = _UploadSource(stream)
        try:
            blob = client.get_blob_client(location.blob)
            # A stream that ends within the first block is one Put Blob of known length. This
            # also avoids an SDK defect: a parallel block upload of a stream of unknown length
            # that yields no block at all spins forever (azure-storage-blob 12.31,
            # _shared/uploads.py _parallel_uploads).
            head = source.read_head(BLOCK_SIZE)
            if len(head) < BLOCK_SIZE:
                blob.upload_blob(head, length=len(head), overwrite=True)
            else:
                blob.upload_blob(source, overwrite=True, max_concurrency=UPLOAD_CONCURRENCY)
        except Exception as exc:
            verb = "reading the stream to upload to" if source.error is exc else "uploading"
            err = self._translate(exc, self._what(verb, location))
            raise err from err.__cause__

    def delete(self, artifact: Artifact) -> None:
        location = _location(artifact)
        if not location.blob:
            raise BadRequest(
                f"azure.blob: empty; refusing to delete every blob of container "
                f"{location.container!r}"
            )
        client = self._client(location)
        with self._errors(self._what("deleting", location)):
            names = self._names_under(client, directory_prefix(location.blob), files_only=False)
            for name in [*names, location.blob]:  # the exact blob (a marker) last, as Argo
                try:
                    client.delete_blob(name, delete_snapshots="include")
                except ResourceNotFoundError as exc:
                    if _error_code(exc) != "BlobNotFound":
                        raise

    def list_objects(self, artifact: Artifact) -> list[str]:
        location = _location(artifact)
        client = self._client(location)
        with self._errors(self._what("listing", location)):
            return self._names_under(client, directory_prefix(location.blob), files_only=True)

    def is_directory(self, artifact: Artifact) -> bool:
        location = _location(artifact)
        client = self._client(location)
        with self._errors(self._what("probing", location)):
            return self._has_children(client, location.blob)

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
        credential, self._token_credential = self._token_credential, None
        if credential is not None:
            credential.close()


def _regular_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Each regular file under ``root`` (symlinks not followed nor uploaded), with its
    ``/``-separated relative path, in a stable order."""
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs.sort()
        for name in sorted(files):
            full = Path(directory, name)
            if stat.S_ISREG(os.lstat(full).st_mode):
                yield full, full.relative_to(root).as_posix()
