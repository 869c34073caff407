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

Transport and credentials: ``drivers.gcs.connection``. Every operation runs through
``Driver._call`` (``drivers.calls``): Argo's GCS backoff, every failure an ``ArtifactError``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, BinaryIO, ClassVar

from google.api_core import exceptions as gexc
from google.cloud import storage

from drivers.base import REFERENCE_BASE, Driver
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    NotFound,
    Unimplemented,
    error_for,
)
from drivers.core.model import Artifact
from drivers.core.model.base import go_path_clean
from drivers.core.secrets import SecretSource
from drivers.gcs.connection import Connection
from drivers.gcs.streams import CHUNK_SIZE, RANGE_RETRY, FullReads, ObjectStream
from drivers.local_files import regular_files

#: (connect, read) seconds for every request.
TIMEOUT: tuple[float, float] = (10.0, 120.0)


class GCSDriver(Driver):
    """Argo's GCS driver semantics with our deviations; see the module docstring."""

    kind: ClassVar[str] = "gcs"
    capabilities: ClassVar[frozenset[Capability]] = REFERENCE_BASE | frozenset(
        {
            Capability.AUTH_SERVICE_ACCOUNT_KEY,
        }
    )

    chunk_size: ClassVar[int] = CHUNK_SIZE
    timeout: ClassVar[tuple[float, float]] = TIMEOUT

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        if artifact.gcs is None:
            raise BadRequest(f"artifact {artifact.name!r} has no gcs location")
        self.connection = Connection(artifact.gcs.service_account_key_secret, secrets, context)

    # ============================================================== the seven methods

    def load(self, artifact: Artifact, path: str) -> None:
        bucket, key = self._location(artifact)

        def attempt() -> None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            try:
                self._blob(bucket, key).download_to_filename(path, retry=None, timeout=self.timeout)
                return
            except gexc.NotFound:
                pass  # no file of that name (the SDK removed what it had opened): a directory?
            except BaseException:
                # The SDK opens the file before the first byte arrives and keeps it on other
                # failures (a refused TLS handshake): no half-written artifact is left behind.
                with contextlib.suppress(OSError):
                    os.remove(path)
                raise
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
                blob = self._bucket(bucket).blob(listed.name, generation=listed.generation)
                blob.download_to_filename(target, retry=None, timeout=self.timeout)

        self._call("load", f"loading {self._where(bucket, key)} to {path}", attempt)

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
            blob = self._bucket(bucket).blob(key, generation=found.generation)
            reader = blob.open(
                "rb", chunk_size=self.chunk_size, retry=RANGE_RETRY, timeout=self.timeout
            )
            return ObjectStream(reader, what, self._translate)

        return self._call("open_stream", what, attempt)

    def save(self, path: str, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)
        what = f"saving {path} to {self._where(bucket, key)}"
        if os.path.isdir(path):
            files = [(str(full), f"{key}/{rel}") for full, rel in regular_files(path)]
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

        self._call("save", what, attempt)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)
        what = f"saving a stream to {self._where(bucket, key)}"
        source = FullReads(stream)

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

        self._call("save_stream", what, attempt)  # never retried: the stream is consumed

    def delete(self, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)

        def attempt() -> None:
            names = [blob.name for blob in self._list(bucket, key + "/")]
            for name in [key, *names]:
                with contextlib.suppress(gexc.NotFound):  # already gone: idempotent
                    self._bucket(bucket).delete_blob(name, retry=None, timeout=self.timeout)

        self._call("delete", f"deleting {self._where(bucket, key)}", attempt)

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

        return self._call("list_objects", f"listing {self._where(bucket, key)}", attempt)

    def is_directory(self, artifact: Artifact) -> bool:
        bucket, key = self._location(artifact)
        return self._call(
            "is_directory",
            f"probing {self._where(bucket, key)}",
            lambda: bool(self._list(bucket, key + "/", max_results=1)),
        )

    def close(self) -> None:
        self.connection.close()

    # ================================================================== helpers

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
        return f"key {key!r} in bucket {bucket!r} at {self.connection.endpoint}"

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        """The shared classification; a certificate failure names the trust store in use."""
        return self._naming_trust(super()._translate(exc, what), exc, what)

    def _bucket(self, name: str) -> storage.Bucket:
        return self.connection.client.bucket(name)

    def _blob(self, bucket: str, name: str, *, upload: bool = False) -> storage.Blob:
        # Only uploads get a chunk size: on a download it would turn one streamed GET into
        # ranged requests, which an empty object cannot satisfy (416).
        return self._bucket(bucket).blob(name, chunk_size=self.chunk_size if upload else None)

    def _list(self, bucket: str, prefix: str, *, max_results: int | None = None) -> list[Any]:
        return list(
            self.connection.client.list_blobs(
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


def _relative(name: str, key: str) -> str:
    """The local relative path of object ``name`` under ``key/``; refuses to leave the tree."""
    rel = go_path_clean(name[len(key) + 1 :].lstrip("/"))
    if rel in (".", "") or rel == ".." or rel.startswith("../"):
        raise BadRequest(
            f"gcs: object {name!r} would be written outside the artifact directory; "
            "rename the object"
        )
    return rel
