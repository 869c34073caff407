"""The reference S3 driver (spec 1.3 "Per-driver semantics: S3", 2.1, 6), on boto3.

Connection settings (endpoint, trust, credentials, region, encryption) come from the artifact
the driver is built with, as Argo's ``NewDriver`` does; each call's artifact gives the bucket,
the key and ``createBucketIfNotPresent``. Every operation runs through ``Driver._call``
(``drivers.calls``): retried per ``drivers.core.retry.policy_for``, every failure an
``ArtifactError`` from :meth:`S3Driver._translate`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from drivers.base import REFERENCE_BASE, Driver
from drivers.calls import TranslatedStream
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import ArtifactError, BadRequest, NotFound, Unauthorized, Unimplemented
from drivers.core.model import Artifact, S3Artifact, go_path_clean, go_path_join
from drivers.core.secrets import SecretSource, SecretValue, read_selector
from drivers.local_files import regular_files
from drivers.s3 import transfer
from drivers.s3.connection import Connection
from drivers.s3.ssec import derive_sse_c_key, kms_context_header, sse_c_arguments
from drivers.s3.streams import FullReads

log = logging.getLogger(__name__)

DIRECTORY_STREAM_UNIMPLEMENTED = "Directory Stream capability currently unimplemented for S3"
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_BUCKET_EXISTS_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_DELETE_BATCH = 1000


def dir_prefix(key: str) -> str:
    """``clean(key) + "/"``; an empty key (or ``/``) is the whole bucket, prefix ""."""
    cleaned = go_path_clean(key)
    return "" if cleaned in (".", "/") else cleaned + "/"


class S3Driver(Driver):
    """Argo's S3 artifact driver. ``boto_session`` is public so callers can hook its events."""

    kind: ClassVar[str] = "s3"
    capabilities: ClassVar[frozenset[Capability]] = REFERENCE_BASE | frozenset(
        {
            Capability.ADDRESSING_PATH,
            Capability.ADDRESSING_VIRTUAL_HOSTED,
            Capability.AUTH_STATIC_KEYS,
            Capability.AUTH_SESSION_TOKEN,
            Capability.AUTH_ASSUME_ROLE,
            Capability.AUTH_WEB_IDENTITY,
            Capability.CREATE_BUCKET,
            Capability.CREATE_BUCKET_OBJECT_LOCKING,
            Capability.REGION_DISCOVERY,
            Capability.ENCRYPTION_SSE_S3,
            Capability.ENCRYPTION_SSE_KMS,
            Capability.ENCRYPTION_SSE_C,
            Capability.MULTIPART_UPLOAD,
        }
    )

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        self.s3 = _location(artifact)
        self.connection = Connection(self.s3, secrets, context)
        self.boto_session = self.connection.boto_session
        enc = self.s3.encryption_options
        self._encryption = enc if enc is not None and enc.enable_encryption else None
        self._sse_c_password: SecretValue | None = None
        if self._encryption is not None:
            self._sse_c_password = read_selector(
                secrets,
                self._encryption.server_side_customer_key_secret,
                field="s3.encryptionOptions.serverSideCustomerKeySecret",
            )
        self._sse_c_keys: dict[tuple[str, str], bytes] = {}

    # ================================================================== the seven methods

    def load(self, artifact: Artifact, path: str) -> None:
        bucket, key = self._bucket_key(artifact)

        def run() -> None:
            missing: ClientError | None = None
            # A key ending in "/" can only be a folder marker: go straight to the directory.
            if key and not key.endswith("/"):
                try:
                    self._download(bucket, key, path)
                    return
                except ClientError as exc:
                    if _code(exc) not in _MISSING_KEY_CODES:
                        raise
                    missing = exc
            if not self._is_directory(bucket, key):
                if missing is not None:
                    raise missing
                raise NotFound(f"s3: no key found of name {key!r} in bucket {bucket!r}")
            self._download_directory(bucket, key, path)

        self._call("load", self._what("loading", bucket, key), run)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        bucket, key = self._bucket_key(artifact)

        def run() -> BinaryIO:
            try:
                answer = self._client(bucket).get_object(
                    Bucket=bucket, Key=key, **self._read_args(bucket, key)
                )
            except ClientError as exc:
                if _code(exc) in _MISSING_KEY_CODES and self._is_directory(bucket, key):
                    raise Unimplemented(DIRECTORY_STREAM_UNIMPLEMENTED) from None
                raise
            return TranslatedStream(
                answer["Body"], self._what("streaming", bucket, key), self._translate
            )

        if not key:
            raise Unimplemented(DIRECTORY_STREAM_UNIMPLEMENTED)
        return self._call("open_stream", self._what("opening", bucket, key), run)

    def save(self, path: str, artifact: Artifact) -> None:
        bucket, key = self._bucket_key(artifact)
        local = Path(path)
        if not local.exists():
            raise BadRequest(f"s3: cannot save {path!r}: no such file or directory")
        if not key:
            raise BadRequest(f"s3: cannot save {path!r} to bucket {bucket!r}: the key is empty")
        create = _location(artifact).create_bucket_if_not_present

        def run() -> None:
            if create is not None:
                self._create_bucket(bucket, create.object_locking)
            if local.is_dir():
                for file, rel in regular_files(local):
                    self._upload_file(bucket, go_path_join(key, rel), file)
            else:
                self._upload_file(bucket, key, local)

        self._call("save", self._what("saving", bucket, key), run)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        """Upload straight from ``stream`` (multipart, bounded memory, no temporary file).

        Never retried (the stream may be partly consumed). A failure mid-stream aborts the
        multipart upload, so neither an object nor an open upload is left behind.
        """
        bucket, key = self._bucket_key(artifact)
        if not key:
            raise BadRequest(f"s3: cannot save a stream to bucket {bucket!r}: the key is empty")
        create = _location(artifact).create_bucket_if_not_present

        def run() -> None:
            if create is not None:
                self._create_bucket(bucket, create.object_locking)
            self._client(bucket).upload_fileobj(
                FullReads(stream),
                bucket,
                key,
                ExtraArgs=self._write_args(bucket, key),
                Config=transfer.stream_upload_config(self.context.settings),
            )

        self._call("save_stream", self._what("saving a stream to", bucket, key), run)

    def delete(self, artifact: Artifact) -> None:
        """Delete the object ``key`` and everything under ``key/`` (deviation
        ``s3-directory-delete-without-trailing-slash``); a missing key is a success."""
        bucket, key = self._bucket_key(artifact)
        prefix = dir_prefix(key)
        if not prefix:
            raise BadRequest(
                f"s3: refusing to delete key {key!r}: it names the whole bucket {bucket!r}"
            )

        def run() -> None:
            client = self._client(bucket)
            client.delete_object(Bucket=bucket, Key=key)
            batch: list[dict[str, str]] = []
            for name in self._list(bucket, prefix):
                batch.append({"Key": name})
                if len(batch) == _DELETE_BATCH:
                    self._delete_batch(bucket, batch)
                    batch = []
            if batch:
                self._delete_batch(bucket, batch)

        self._call("delete", self._what("deleting", bucket, key), run)

    def list_objects(self, artifact: Artifact) -> list[str]:
        bucket, key = self._bucket_key(artifact)

        def run() -> list[str]:
            names = [n for n in self._list(bucket, dir_prefix(key)) if not n.endswith("/")]
            if names:
                return names
            if key:
                try:
                    self._client(bucket).head_object(
                        Bucket=bucket, Key=key, **self._read_args(bucket, key)
                    )
                    return []
                except ClientError as exc:
                    if _code(exc) not in _MISSING_KEY_CODES:
                        raise
            raise NotFound(f"no key found of name {key}")

        return self._call("list_objects", self._what("listing", bucket, key), run)

    def is_directory(self, artifact: Artifact) -> bool:
        bucket, key = self._bucket_key(artifact)
        return self._call(
            "is_directory",
            self._what("probing", bucket, key),
            lambda: self._is_directory(bucket, key),
        )

    def close(self) -> None:
        self.connection.close()

    # ================================================================== helpers

    def bucket_region(self, bucket: str) -> str:
        """The region requests to ``bucket`` are signed for (``region``, else discovered)."""
        return self._call(
            "is_directory",
            f"finding the region of bucket {bucket!r} at {self.connection.url}",
            lambda: self.connection.region_for(bucket),
        )

    def _client(self, bucket: str) -> Any:
        return self.connection.client(self.connection.region_for(bucket), bucket)

    def _bucket_key(self, artifact: Artifact) -> tuple[str, str]:
        s3 = _location(artifact)
        if not s3.bucket:
            raise BadRequest(f"s3.bucket: required for artifact {artifact.name!r}")
        return s3.bucket, s3.key

    def _what(self, verb: str, bucket: str, key: str) -> str:
        return f"{verb} key {key!r} in bucket {bucket!r} at {self.connection.url}"

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        """botocore's own failures before any request (no credentials, a bad parameter), else
        the shared classification."""
        if isinstance(exc, NoCredentialsError):
            return Unauthorized(f"s3: no credentials {what}: {exc}", cause=exc)
        if isinstance(exc, BotoCoreError) and type(exc).__name__ == "ParamValidationError":
            return BadRequest(f"s3: invalid request {what}: {exc}", cause=exc)
        return super()._translate(exc, what)

    def _on_transient(self) -> None:
        # Argo builds a new client, with fresh credentials, for every attempt.
        self.connection.reset()

    # ------------------------------------------------------------------ encryption (2.1)

    def _sse_c(self, bucket: str, key: str) -> dict[str, Any]:
        if self._sse_c_password is None:
            return {}
        ident = (bucket, key)
        if ident not in self._sse_c_keys:
            password = self._sse_c_password.reveal_bytes()
            self._sse_c_keys[ident] = derive_sse_c_key(password, bucket, key)
        return sse_c_arguments(self._sse_c_keys[ident])

    def _read_args(self, bucket: str, key: str) -> dict[str, Any]:
        """GET and HEAD carry only SSE-C headers (minio-go sends SSE-S3/KMS on writes only)."""
        return self._sse_c(bucket, key)

    def _write_args(self, bucket: str, key: str) -> dict[str, Any]:
        enc = self._encryption
        if enc is None:
            return {}
        if self._sse_c_password is not None:
            return self._sse_c(bucket, key)
        if enc.kms_key_id:
            args: dict[str, Any] = {
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": enc.kms_key_id,
            }
            if enc.kms_encryption_context:
                args["SSEKMSEncryptionContext"] = kms_context_header(enc.kms_encryption_context)
            return args
        return {"ServerSideEncryption": "AES256"}

    # ------------------------------------------------------------------ operations

    def _is_directory(self, bucket: str, key: str) -> bool:
        answer = self._client(bucket).list_objects_v2(
            Bucket=bucket, Prefix=dir_prefix(key), Delimiter="/", MaxKeys=1
        )
        return bool(answer.get("Contents") or answer.get("CommonPrefixes"))

    def _list(self, bucket: str, prefix: str) -> Iterator[str]:
        paginator = self._client(bucket).get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def _download(self, bucket: str, key: str, path: str | Path) -> None:
        """GET to ``path`` in 1 MiB chunks (parents created); a partial file is removed."""
        answer = self._client(bucket).get_object(
            Bucket=bucket, Key=key, **self._read_args(bucket, key)
        )
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = answer["Body"]
        try:
            with open(target, "wb") as handle:
                for chunk in body.iter_chunks(transfer.DOWNLOAD_CHUNK):
                    handle.write(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        finally:
            body.close()

    def _download_directory(self, bucket: str, key: str, path: str) -> None:
        prefix = dir_prefix(key)
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        for name in self._list(bucket, prefix):
            parts = [p for p in name[len(prefix) :].split("/") if p not in ("", ".")]
            if ".." in parts:
                raise BadRequest(
                    f"s3: object {name!r} in bucket {bucket!r} would be written outside "
                    f"{path!r} ('..' in its key); refusing to load it"
                )
            if not parts:
                continue
            target = root.joinpath(*parts)
            if name.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
            else:
                self._download(bucket, name, target)

    def _upload_file(self, bucket: str, key: str, file: Path) -> None:
        size = file.stat().st_size
        self._client(bucket).upload_file(
            str(file),
            bucket,
            key,
            ExtraArgs=self._write_args(bucket, key),
            Config=transfer.file_upload_config(self.context.settings, size),
        )

    def _delete_batch(self, bucket: str, batch: list[dict[str, str]]) -> None:
        answer = self._client(bucket).delete_objects(
            Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
        )
        errors = answer.get("Errors") or []
        if errors:
            first = errors[0]
            raise ClientError(
                {"Error": {"Code": first.get("Code"), "Message": first.get("Message")}},
                f"DeleteObjects ({len(errors)} of {len(batch)} failed, first {first.get('Key')!r})",
            )

    def _create_bucket(self, bucket: str, object_locking: bool) -> None:
        """MakeBucket on every save (spec 1.3); an existing bucket is fine."""
        region = self.connection.region_for_create(bucket)
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        if object_locking:
            kwargs["ObjectLockEnabledForBucket"] = True
        client = self.connection.client(region, bucket)
        try:
            client.create_bucket(**kwargs)
        except ClientError as exc:
            if _code(exc) in _BUCKET_EXISTS_CODES:
                return
            raise
        enc = self._encryption
        if enc is not None:
            # Argo sets a default bucket encryption on a bucket it creates: KMS or SSE-S3.
            rule: dict[str, Any] = {"SSEAlgorithm": "AES256"}
            if enc.kms_key_id:
                rule = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": enc.kms_key_id}
            client.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": rule}]
                },
            )


def _location(artifact: Artifact) -> S3Artifact:
    if artifact.s3 is None:
        raise BadRequest(f"artifact {artifact.name!r} has no s3 location")
    return artifact.s3


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
