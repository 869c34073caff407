"""The OSS reference driver, on alibabacloud-oss-v2 (spec 1.2, 1.3 "OSS", 2.4, 6.4, 6.5, 6.6, 7.3).

Argo's semantics (``workflow/artifacts/oss/oss.go``, v4.0.5), with the deviations of
``drivers/core/deviations.yaml`` (ids ``oss-*``):

* ``load``: the object named ``key``; on ``NoSuchKey`` a directory probe (one object or common
  prefix under ``key/``), and a directory is downloaded (marker keys ending in ``/`` become
  local directories, as Argo). Neither: ERR_NOT_FOUND at once (``oss-missing-key-not-found``;
  Argo retries the original error to exhaustion).
* ``save``: ``createBucketIfNotPresent`` (Argo's ListBuckets existence check, then PutBucket),
  ``lifecycleRule`` (one rule, ID sha256(key), prefix key: expiration, IA transition and
  multipart abort), then a file: one PUT up to the multipart threshold (5 GiB, Argo's
  ``maxObjectSize``), above it ``ceil(size / threshold) + 1`` equal parts; a directory: its
  regular files under ``key/``, without Argo's ``<dir>/`` markers (``oss-save-directory-no-
  markers``).
* ``save_stream``: Argo's tmp -> Save: the stream copied to a private file, then saved.
* ``open_stream``: native (GetObject's body); a directory is ERR_NOT_IMPLEMENTED, a missing key
  ERR_NOT_FOUND (``oss-open-stream-directory``: Argo's test reads the wrong error variable).
* ``delete``: the object ``key`` and everything under ``key/`` (``oss-directory-delete-tree``);
  missing is a success, as OSS answers.
* ``list_objects``: the full keys under ``key/`` without folder markers, all pages; ``[]`` for
  a plain file, ERR_NOT_FOUND when there is neither (``oss-list-objects-s3-semantics``; Argo
  lists the raw prefix, siblings and markers included).
* ``is_directory``: whether anything exists under ``key/``.

Transport and credentials: ``drivers.oss.connection``. Every operation runs through
``Driver._call``: Argo's OSS backoff, every failure an ``ArtifactError`` naming OSS's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shutil
from typing import Any, BinaryIO, ClassVar

import alibabacloud_oss_v2 as oss
from alibabacloud_oss_v2 import exceptions as oss_errors

from drivers.base import REFERENCE_BASE, Driver
from drivers.calls import TranslatedStream
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Internal,
    NotFound,
    Unimplemented,
    classify,
    error_for,
    from_exception,
)
from drivers.core.model import Artifact, OSSArtifact
from drivers.core.model.base import go_path_clean
from drivers.core.secrets import SecretSource
from drivers.local_files import regular_files
from drivers.oss.connection import Connection

#: Argo's maxObjectSize: a simple PUT up to this many bytes, multipart above (spec 6.6).
MULTIPART_THRESHOLD = 5 * 1024 * 1024 * 1024
#: A kit setting lowering that threshold (deviation oss-upload-part-size-setting; Argo has none).
THRESHOLD_SETTING = "ARTIFACT_OSS_MULTIPART_THRESHOLD_MIB"
DIRECTORY_STREAM_UNIMPLEMENTED = "Directory Stream capability currently unimplemented for OSS"
LIFECYCLE_ORDER = "markInfrequentAccessAfterDays cannot be large than markDeletionAfterDays"
_DELETE_BATCH = 1000
_CHUNK = 1 << 20


class OSSDriver(Driver):
    """Argo's OSS driver semantics with our deviations; see the module docstring."""

    kind: ClassVar[str] = "oss"
    capabilities: ClassVar[frozenset[Capability]] = REFERENCE_BASE | frozenset(
        {
            Capability.AUTH_STATIC_KEYS,
            Capability.AUTH_SESSION_TOKEN,
            Capability.CREATE_BUCKET,
            Capability.MULTIPART_UPLOAD,
            Capability.LIFECYCLE_RULE,
        }
    )

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        if artifact.oss is None:
            raise BadRequest(f"artifact {artifact.name!r} has no oss location")
        self.connection = Connection(artifact.oss, secrets, context)

    def __repr__(self) -> str:
        return f"OSSDriver(endpoint={self.connection.endpoint!r})"

    # ============================================================== the seven methods

    def load(self, artifact: Artifact, path: str) -> None:
        bucket, key = self._location(artifact)

        def attempt() -> None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            try:
                self._download(bucket, key, path)
                return
            except oss_errors.OperationError as exc:
                if _code(exc) != "NoSuchKey":
                    raise
            if not self._probe(bucket, key):
                raise self._no_such_key(bucket, key)
            os.makedirs(path, exist_ok=True)
            try:
                for name in self._names(bucket, key + "/"):
                    target = os.path.join(path, _relative(name, key))
                    if name.endswith("/"):  # a folder marker: a directory, as Argo makes it
                        os.makedirs(target, exist_ok=True)
                        continue
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    self._download(bucket, name, target)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)  # no half directory left behind
                raise

        self._call("load", f"loading {self._where(bucket, key)} to {path}", attempt)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        bucket, key = self._location(artifact)
        what = f"streaming {self._where(bucket, key)}"

        def attempt() -> BinaryIO:
            try:
                result = self._client.get_object(oss.GetObjectRequest(bucket=bucket, key=key))
            except oss_errors.OperationError as exc:
                if _code(exc) != "NoSuchKey":
                    raise
                if self._probe(bucket, key):
                    raise Unimplemented(
                        f"{DIRECTORY_STREAM_UNIMPLEMENTED} ({self._where(bucket, key)} is a "
                        "directory); load it instead"
                    ) from None
                raise self._no_such_key(bucket, key) from None
            return TranslatedStream(_Body(result.body), what, self._translate)

        return self._call("open_stream", what, attempt)

    def save(self, path: str, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)
        files = _files(path, key)
        location = _oss(artifact)

        def attempt() -> None:
            self._prepare_bucket(bucket, location)
            for source, name in files:
                self._put_file(bucket, name, source)

        self._call("save", f"saving {path} to {self._where(bucket, key)}", attempt)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)
        what = f"saving a stream to {self._where(bucket, key)}"
        location = _oss(artifact)
        self.context.temp_dir.mkdir(parents=True, exist_ok=True)
        buffer = self.context.temp_dir / f"artconf-oss-stream-{os.urandom(8).hex()}"
        try:
            try:
                with buffer.open("wb") as out:
                    os.chmod(buffer, 0o600)
                    while chunk := stream.read(_CHUNK):
                        out.write(chunk)
            except Exception as exc:
                raise Internal(
                    f"oss: reading the input stream failed while {what}; nothing was uploaded "
                    f"(cause: {exc!r})",
                    cause=exc,
                ) from exc

            def attempt() -> None:
                self._prepare_bucket(bucket, location)
                self._put_file(bucket, key, str(buffer))

            self._call("save_stream", what, attempt)
        finally:
            buffer.unlink(missing_ok=True)

    def delete(self, artifact: Artifact) -> None:
        bucket, key = self._location(artifact)

        def attempt() -> None:
            self._client.delete_object(oss.DeleteObjectRequest(bucket=bucket, key=key))
            names = list(self._names(bucket, key + "/"))
            for start in range(0, len(names), _DELETE_BATCH):
                batch = [oss.DeleteObject(key=n) for n in names[start : start + _DELETE_BATCH]]
                self._client.delete_multiple_objects(
                    oss.DeleteMultipleObjectsRequest(bucket=bucket, objects=batch, quiet=True)
                )

        self._call("delete", f"deleting {self._where(bucket, key)}", attempt)

    def list_objects(self, artifact: Artifact) -> list[str]:
        bucket, key = self._location(artifact)

        def attempt() -> list[str]:
            names = list(self._names(bucket, key + "/", v2=True))
            if names:
                return [n for n in names if not n.endswith("/")]
            if self._exists(bucket, key):
                return []  # a plain file has nothing inside it
            raise NotFound(
                f"no key found of name {key} (bucket {bucket!r} has no object named {key!r} "
                f"and none under {key}/)"
            )

        return self._call("list_objects", f"listing {self._where(bucket, key)}", attempt)

    def is_directory(self, artifact: Artifact) -> bool:
        bucket, key = self._location(artifact)
        return self._call(
            "is_directory",
            f"probing {self._where(bucket, key)}",
            lambda: self._probe(bucket, key),
        )

    def close(self) -> None:
        self.connection.close()

    # ================================================================== helpers

    @property
    def _client(self) -> oss.Client:
        return self.connection.client

    def _location(self, artifact: Artifact) -> tuple[str, str]:
        location = _oss(artifact)
        if not location.bucket:
            raise BadRequest(f"oss: artifact {artifact.name!r} has no bucket; set oss.bucket")
        key = location.key.rstrip("/")
        if not key or go_path_clean(key) in (".", "/"):
            raise BadRequest(
                f"oss: artifact {artifact.name!r} has no usable key ({location.key!r}): it "
                "would name the whole bucket; set oss.key to an object name or prefix"
            )
        return location.bucket, key

    def _where(self, bucket: str, key: str) -> str:
        return f"key {key!r} in bucket {bucket!r} at {self.connection.endpoint}"

    def _no_such_key(self, bucket: str, key: str) -> NotFound:
        return NotFound(
            f"oss: NoSuchKey: bucket {bucket!r} has no object named {key!r} and none under "
            f"{key}/; check the key, or mark the artifact optional"
        )

    def _download(self, bucket: str, key: str, path: str) -> None:
        result = self._client.get_object(oss.GetObjectRequest(bucket=bucket, key=key))
        try:
            with open(path, "wb") as out:
                for chunk in result.body.iter_bytes(block_size=_CHUNK):
                    out.write(chunk)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(path)  # no half-written artifact
            raise
        finally:
            result.body.close()

    def _probe(self, bucket: str, key: str) -> bool:
        """Argo's IsOssDirectory: one object or common prefix under ``key/``."""
        page = self._client.list_objects(
            oss.ListObjectsRequest(bucket=bucket, prefix=key + "/", max_keys=1)
        )
        return bool(page.contents or page.common_prefixes)

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self._client.head_object(oss.HeadObjectRequest(bucket=bucket, key=key))
        except oss_errors.OperationError as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    def _names(self, bucket: str, prefix: str, *, v2: bool = False) -> Any:
        """Every key under ``prefix``, all pages (v1 markers as Argo's directory listing, v2
        continuation tokens as its ListObjects)."""
        if v2:
            pages = self._client.list_objects_v2_paginator(limit=1000).iter_page(
                oss.ListObjectsV2Request(bucket=bucket, prefix=prefix)
            )
        else:
            pages = self._client.list_objects_paginator(limit=1000).iter_page(
                oss.ListObjectsRequest(bucket=bucket, prefix=prefix)
            )
        for page in pages:
            for item in page.contents or []:
                yield item.key

    def _prepare_bucket(self, bucket: str, location: OSSArtifact) -> None:
        if location.create_bucket_if_not_present and not self._bucket_exists(bucket):
            try:
                self._client.put_bucket(oss.PutBucketRequest(bucket=bucket))
            except oss_errors.OperationError as exc:
                if _code(exc) not in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
                    raise  # else another writer created it first: fine
        if location.lifecycle_rule is not None:
            self._set_lifecycle(bucket, location)

    def _bucket_exists(self, bucket: str) -> bool:
        # Argo's Go SDK IsBucketExist: ListBuckets with the name as prefix, one entry.
        page = self._client.list_buckets(oss.ListBucketsRequest(prefix=bucket, max_keys=1))
        return any(b.name == bucket for b in page.buckets or [])

    def _set_lifecycle(self, bucket: str, location: OSSArtifact) -> None:
        rule = lifecycle_rule(location)
        if rule is None:
            return
        self._client.put_bucket_lifecycle(
            oss.PutBucketLifecycleRequest(
                bucket=bucket,
                lifecycle_configuration=oss.LifecycleConfiguration(rules=[rule]),
            )
        )

    def _threshold(self) -> int:
        value = self.context.settings.get(THRESHOLD_SETTING, "")
        if not value:
            return MULTIPART_THRESHOLD
        try:
            mib = int(value)
        except ValueError:
            mib = 0
        if mib < 1:
            raise BadRequest(f"oss: {THRESHOLD_SETTING}={value!r} is not a positive integer")
        return mib * 1024 * 1024

    def _put_file(self, bucket: str, key: str, path: str) -> None:
        size = os.path.getsize(path)
        threshold = self._threshold()
        if size <= threshold:
            with open(path, "rb") as body:
                self._client.put_object(oss.PutObjectRequest(bucket=bucket, key=key, body=body))
            return
        self._multipart(bucket, key, path, size, math.ceil(size / threshold) + 1)

    def _multipart(self, bucket: str, key: str, path: str, size: int, count: int) -> None:
        """Argo's split (SplitFileByPartNum): ``count`` parts of ``size // count`` bytes, the
        last one taking the rest; aborted on any failure so no upload is left open."""
        client = self._client
        started = client.initiate_multipart_upload(
            oss.InitiateMultipartUploadRequest(bucket=bucket, key=key)
        )
        upload_id = started.upload_id
        try:
            parts = []
            each = size // count
            with open(path, "rb") as source:
                for number in range(1, count + 1):
                    length = each if number < count else size - each * (count - 1)
                    data = source.read(length)
                    answer = client.upload_part(
                        oss.UploadPartRequest(
                            bucket=bucket,
                            key=key,
                            upload_id=upload_id,
                            part_number=number,
                            body=data,
                        )
                    )
                    parts.append(oss.UploadPart(part_number=number, etag=answer.etag))
            client.complete_multipart_upload(
                oss.CompleteMultipartUploadRequest(
                    bucket=bucket,
                    key=key,
                    upload_id=upload_id,
                    complete_multipart_upload=oss.CompleteMultipartUpload(parts=parts),
                )
            )
        except BaseException:
            with contextlib.suppress(Exception):
                client.abort_multipart_upload(
                    oss.AbortMultipartUploadRequest(bucket=bucket, key=key, upload_id=upload_id)
                )
            raise

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        """OSS's error code decides (spec 6.5 OSS table); the message names the code, the
        status and OSS's message, never a request header (the token may be one)."""
        inner = _unwrap(exc)
        if isinstance(inner, oss_errors.ServiceError):
            code, transient = classify(
                self.kind,
                status=inner.status_code,
                code=inner.code,
                message=inner.message,
                env=self.context.settings,
            )
            return error_for(
                code,
                f"oss: {inner.code} (HTTP {inner.status_code}) while {what}: {inner.message}",
                transient=transient,
                cause=inner,
            )
        if isinstance(exc, oss_errors.OperationError) and inner is not exc:
            error = from_exception(self.kind, inner, what, env=self.context.settings)
            return self._naming_trust(error, inner, what)
        return self._naming_trust(super()._translate(exc, what), exc, what)


class _Body:
    """GetObject's streamed body as ``read(n)``/``close()``."""

    def __init__(self, body: Any):
        self._body = body
        self._chunks = body.iter_bytes(block_size=_CHUNK)
        self._pending = b""

    def read(self, size: int | None = None) -> bytes:
        if size is None:
            rest = self._pending + b"".join(self._chunks)
            self._pending = b""
            return rest
        while len(self._pending) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._pending += chunk
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def close(self) -> None:
        self._body.close()


def lifecycle_rule(location: OSSArtifact) -> oss.LifecycleRule | None:
    """Argo's setBucketLifecycleRule (spec 2.4): None when both day counts are 0."""
    rule = location.lifecycle_rule
    if rule is None:
        return None
    ia, deletion = rule.mark_infrequent_access_after_days, rule.mark_deletion_after_days
    if ia == 0 and deletion == 0:
        return None
    if ia > deletion:
        raise BadRequest(
            f"oss: {LIFECYCLE_ORDER} (lifecycleRule: {ia} > {deletion}); lower "
            "markInfrequentAccessAfterDays or raise markDeletionAfterDays"
        )
    return oss.LifecycleRule(
        id=hashlib.sha256(location.key.encode()).hexdigest(),
        prefix=location.key,
        status="Enabled",
        expiration=oss.LifecycleRuleExpiration(days=deletion),
        transitions=[oss.LifecycleRuleTransition(days=ia, storage_class="IA")],
        abort_multipart_upload=oss.LifecycleRuleAbortMultipartUpload(days=deletion),
    )


def _oss(artifact: Artifact) -> OSSArtifact:
    if artifact.oss is None:
        raise BadRequest(f"artifact {artifact.name!r} has no oss location")
    return artifact.oss


def _files(path: str, key: str) -> list[tuple[str, str]]:
    if os.path.isdir(path):
        return [(str(full), f"{key}/{rel}") for full, rel in regular_files(path)]
    if os.path.isfile(path):
        return [(path, key)]
    if os.path.lexists(path):
        raise BadRequest(f"oss: cannot save {path}: not a regular file or a directory")
    raise BadRequest(f"oss: cannot save {path}: no such file or directory")


def _unwrap(exc: BaseException) -> BaseException:
    """The SDK's innermost error: OperationError -> ServiceError, or the transport's."""
    seen = 0
    while hasattr(exc, "unwrap") and seen < 4:
        inner = exc.unwrap()
        if inner is None or inner is exc:
            break
        exc, seen = inner, seen + 1
    return exc


def _code(exc: BaseException) -> str:
    inner = _unwrap(exc)
    return inner.code if isinstance(inner, oss_errors.ServiceError) else ""


def _status(exc: BaseException) -> int:
    inner = _unwrap(exc)
    return inner.status_code if isinstance(inner, oss_errors.ServiceError) else 0


def _relative(name: str, key: str) -> str:
    """The local relative path of object ``name`` under ``key/``; refuses to leave the tree."""
    rel = go_path_clean(name[len(key) + 1 :].lstrip("/"))
    if rel == ".." or rel.startswith("../"):
        raise BadRequest(
            f"oss: object {name!r} would be written outside the artifact directory; "
            "rename the object"
        )
    return "" if rel == "." else rel
