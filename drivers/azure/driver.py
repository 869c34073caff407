"""The reference Azure Blob driver (spec 1.3 "Azure", 2.3, 8.1) on azure-storage-blob.

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
    * open_stream (native): a chunked download, ``CHUNK_SIZE`` bytes per request, one chunk
      held by the reader (peak ~9 chunks with the SDK's own copies), no temporary file. A
      directory is ERR_NOT_IMPLEMENTED.
    * save_stream (native, as Argo's ``UploadStream``): the stream is read in blocks of
      ``BLOCK_SIZE`` bytes, at most :data:`UPLOAD_CONCURRENCY` blocks in flight (so about
      ``(UPLOAD_CONCURRENCY + 1) * BLOCK_SIZE`` bytes of memory), then the block list is committed.
      No temporary file. If the stream fails, nothing is committed: no blob is created (an
      existing blob keeps its old content) and the uncommitted blocks expire server-side.

Location, credentials, transport and the SDK's retries: ``drivers.azure.connection``. Every
operation runs through ``Driver._call`` (``drivers.calls``; Argo has no retry policy of its own
for Azure, so one attempt), every failure an ``ArtifactError`` from
:meth:`AzureDriver._translate`, with SAS tokens and keys redacted from its message.
"""

from __future__ import annotations

import io
import os
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, ClassVar

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

from drivers.azure.connection import (
    BLOCK_SIZE,
    STREAM_BUFFER,
    Connection,
    is_credential_failure,
)
from drivers.azure.streams import DownloadReader, UploadSource
from drivers.base import REFERENCE_BASE, Driver
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Unauthorized,
    Unimplemented,
    error_for,
    is_cert_failure,
)
from drivers.core.model import Artifact, AzureArtifact
from drivers.core.secrets import SecretSource, redact
from drivers.local_files import regular_files

#: Blocks uploaded in parallel (by ``save`` and ``save_stream``).
UPLOAD_CONCURRENCY = 2
#: Parallel range requests of ``load`` (which writes to a seekable local file).
DOWNLOAD_CONCURRENCY = 2


def directory_prefix(blob: str) -> str:
    """The prefix of the blobs inside ``blob`` as a directory: ``blob/``, or "" for the root."""
    if not blob:
        return ""
    return blob if blob.endswith("/") else blob + "/"


class AzureDriver(Driver):
    """Azure Blob Storage through azure-storage-blob; see the module docstring for semantics."""

    kind: ClassVar[str] = "azure"
    capabilities: ClassVar[frozenset[Capability]] = REFERENCE_BASE | frozenset(
        {
            Capability.AUTH_STATIC_KEYS,
            Capability.AUTH_SAS,
            Capability.MULTIPART_UPLOAD,
        }
    )

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        location = artifact.azure
        if location is None:
            raise BadRequest(f"azure: artifact {artifact.name!r} has no azure location")
        self.connection = Connection(location, secrets, context)
        if location.endpoint and location.container:
            self.connection.client(location)  # configuration errors surface now

    # ============================================================== the seven methods

    def load(self, artifact: Artifact, path: str) -> None:
        location = _location(artifact)
        client = self.connection.client(location)
        blob = location.blob

        def run() -> None:
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

        self._call("load", self._what("loading", location), run)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        location = _location(artifact)
        client = self.connection.client(location)
        blob = location.blob
        what = self._what("opening a stream of", location)
        directory = Unimplemented(
            f"azure: open_stream of blob {blob!r} in container {location.container!r} at "
            f"{location.endpoint}: it is a directory; Directory Stream capability currently "
            "unimplemented for Azure (load it instead)"
        )
        if not blob:
            raise directory

        def run() -> Any:
            try:
                downloader = client.get_blob_client(blob).download_blob(max_concurrency=1)
            except ResourceNotFoundError as exc:
                if _error_code(exc) == "BlobNotFound" and self._has_children(client, blob):
                    raise directory from None
                raise
            if downloader.size == 0 and self._has_children(client, blob):
                raise directory
            return downloader

        downloader = self._call("open_stream", what, run)
        raw = DownloadReader(downloader.chunks(), what, self._translate)
        return io.BufferedReader(raw, buffer_size=STREAM_BUFFER)  # type: ignore[return-value]

    def save(self, path: str, artifact: Artifact) -> None:
        location = _location(artifact)
        client = self.connection.client(location)
        source = Path(path)
        if source.is_dir():
            prefix = directory_prefix(location.blob)
            for file, relative in regular_files(source):
                name = prefix + relative
                self._call(
                    "save",
                    self._what("saving", location, name),
                    lambda file=file, name=name: self._upload_file(client, file, name),
                )
            return
        if not source.is_file():
            raise BadRequest(f"azure: cannot save {path}: no such file or directory")
        if not location.blob:
            raise BadRequest(f"azure.blob: required to save the file {path}")
        self._call(
            "save",
            self._what("saving", location),
            lambda: self._upload_file(client, source, location.blob),
        )

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        location = _location(artifact)
        client = self.connection.client(location)
        if not location.blob:
            raise BadRequest("azure.blob: required to save a stream")
        source = UploadSource(stream)

        def run() -> None:
            try:
                blob = client.get_blob_client(location.blob)
                # A stream that ends within the first block is one Put Blob of known length.
                # This also avoids an SDK defect: a parallel block upload of a stream of unknown
                # length that yields no block at all spins forever (azure-storage-blob 12.31,
                # _shared/uploads.py _parallel_uploads).
                head = source.read_head(BLOCK_SIZE)
                if len(head) < BLOCK_SIZE:
                    blob.upload_blob(head, length=len(head), overwrite=True)
                else:
                    blob.upload_blob(source, overwrite=True, max_concurrency=UPLOAD_CONCURRENCY)
            except Exception as exc:
                if source.error is not exc:
                    raise
                # The caller's stream failed, not the service: the message says so.
                err = self._translate(exc, self._what("reading the stream to upload to", location))
                raise err from err.__cause__

        self._call("save_stream", self._what("uploading", location), run)

    def delete(self, artifact: Artifact) -> None:
        location = _location(artifact)
        if not location.blob:
            raise BadRequest(
                f"azure.blob: empty; refusing to delete every blob of container "
                f"{location.container!r}"
            )
        client = self.connection.client(location)

        def run() -> None:
            names = self._names_under(client, directory_prefix(location.blob), files_only=False)
            for name in [*names, location.blob]:  # the exact blob (a marker) last, as Argo
                try:
                    client.delete_blob(name, delete_snapshots="include")
                except ResourceNotFoundError as exc:
                    if _error_code(exc) != "BlobNotFound":
                        raise

        self._call("delete", self._what("deleting", location), run)

    def list_objects(self, artifact: Artifact) -> list[str]:
        location = _location(artifact)
        client = self.connection.client(location)
        return self._call(
            "list_objects",
            self._what("listing", location),
            lambda: self._names_under(client, directory_prefix(location.blob), files_only=True),
        )

    def is_directory(self, artifact: Artifact) -> bool:
        location = _location(artifact)
        client = self.connection.client(location)
        return self._call(
            "is_directory",
            self._what("probing", location),
            lambda: self._has_children(client, location.blob),
        )

    def close(self) -> None:
        self.connection.close()

    # ================================================================== helpers

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        """The ``ArtifactError`` for ``exc`` (without ``__cause__`` if it had to be redacted)."""
        if isinstance(exc, ArtifactError):
            return exc
        if self.connection.use_sdk_creds and is_credential_failure(exc):
            return Unauthorized(
                f"azure: useSDKCreds is set but DefaultAzureCredential could not get a token "
                f"{what}: give the pod an Azure identity (workload identity, a managed identity, "
                "or the AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET environment "
                f"variables), or use accountKeySecret with useSDKCreds: false (cause: {exc})",
                cause=exc,
            )
        err = super()._translate(exc, what)
        if is_cert_failure(exc):
            verify = self.connection.verify
            trusted = verify if isinstance(verify, str) else "the default trust store"
            err = error_for(
                err.code,
                f"azure: TLS certificate verification failed {what}: the server certificate is "
                f"not signed by a CA in {trusted}; Argo has no caSecret for Azure, so add the "
                "CA to the pod's trust store (DriverContext.ca_bundle) or fix the server "
                f"certificate (cause: {exc})",
                transient=False,
                cause=exc,
            )
        cleaned = redact(err.message, self.connection.secrets())
        if cleaned != err.message:
            # The SDK's own text may carry the SAS in a URL: keep neither it nor its cause.
            return error_for(err.code, cleaned, transient=err.transient)
        return err

    @staticmethod
    def _what(verb: str, location: AzureArtifact, blob: str | None = None) -> str:
        name = location.blob if blob is None else blob
        return f"{verb} blob {name!r} in container {location.container!r} at {location.endpoint}"

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

    def _upload_file(self, client: ContainerClient, file: Path, name: str) -> None:
        with open(file, "rb") as handle:
            client.get_blob_client(name).upload_blob(
                handle,
                length=os.fstat(handle.fileno()).st_size,
                overwrite=True,
                max_concurrency=UPLOAD_CONCURRENCY,
            )


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
