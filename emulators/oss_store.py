"""The OSS stand-in's buckets: object bytes on disk under the instance's data directory.

Each object's bytes are one file (named by a counter, never by the key, so any key is
storable); the index of keys, ETags, sizes and part counts, open multipart uploads and
lifecycle documents is kept in memory under one lock, for the lifetime of the server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

#: OSS's smallest part (all but the last): 100 KiB.
MIN_PART_SIZE = 100 * 1024


@dataclass
class Object:
    key: str
    path: Path
    size: int
    etag: str  # as OSS sends it: upper-case hex, quoted; `-<n>` after a multipart upload
    modified: dt.datetime
    content_type: str = "application/octet-stream"
    parts: int = 0  # 0: a simple PUT


@dataclass
class Upload:
    upload_id: str
    key: str
    started: dt.datetime
    parts: dict[int, tuple[Path, int, str]] = field(default_factory=dict)  # n: path, size, md5


@dataclass
class Bucket:
    name: str
    created: dt.datetime
    objects: dict[str, Object] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    lifecycle: bytes | None = None


class StoreError(Exception):
    """An OSS error the handler answers with: status, code, message."""

    def __init__(self, status: int, code: str, message: str, **extra: str):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class Store:
    def __init__(self, root: Path):
        self.root = root
        self.files = root / "objects"
        self.files.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.buckets: dict[str, Bucket] = {}
        self._names = itertools.count()

    def new_file(self) -> Path:
        """A fresh path for bytes being received (renamed into place by nothing: kept)."""
        return self.files / f"{next(self._names):08d}-{uuid.uuid4().hex[:8]}"

    # --------------------------------------------------------------------- buckets

    def bucket(self, name: str) -> Bucket:
        bucket = self.buckets.get(name)
        if bucket is None:
            raise StoreError(
                404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=name
            )
        return bucket

    def create_bucket(self, name: str) -> None:
        with self.lock:
            if name in self.buckets:
                raise StoreError(
                    409,
                    "BucketAlreadyExists",
                    "The requested bucket name is not available. The bucket namespace is shared "
                    "by all users of the system. Please select a different name and try again.",
                    BucketName=name,
                )
            self.buckets[name] = Bucket(name, _now())

    def delete_bucket(self, name: str) -> None:
        with self.lock:
            bucket = self.bucket(name)
            if bucket.objects or bucket.uploads:
                raise StoreError(
                    409,
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty.",
                    BucketName=name,
                )
            del self.buckets[name]

    # --------------------------------------------------------------------- objects

    def put(self, bucket: str, key: str, path: Path, md5: bytes, content_type: str) -> Object:
        size = path.stat().st_size
        obj = Object(key, path, size, _etag(md5), _now(), content_type or _default_type())
        self._replace(bucket, obj)
        return obj

    def _replace(self, bucket: str, obj: Object) -> None:
        with self.lock:
            found = self.bucket(bucket)
            old = found.objects.get(obj.key)
            found.objects[obj.key] = obj
        if old is not None and old.path != obj.path:
            old.path.unlink(missing_ok=True)

    def get(self, bucket: str, key: str) -> Object:
        with self.lock:
            obj = self.bucket(bucket).objects.get(key)
        if obj is None:
            raise StoreError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return obj

    def delete(self, bucket: str, key: str) -> None:
        with self.lock:
            obj = self.bucket(bucket).objects.pop(key, None)
        if obj is not None:
            obj.path.unlink(missing_ok=True)

    def listing(self, bucket: str) -> list[Object]:
        with self.lock:
            return sorted(self.bucket(bucket).objects.values(), key=lambda o: o.key)

    # --------------------------------------------------------------------- multipart

    def initiate(self, bucket: str, key: str) -> str:
        upload_id = uuid.uuid4().hex.upper()
        with self.lock:
            self.bucket(bucket).uploads[upload_id] = Upload(upload_id, key, _now())
        return upload_id

    def upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        with self.lock:
            upload = self.bucket(bucket).uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise StoreError(
                404,
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the "
                "upload may have been aborted or completed.",
                UploadId=upload_id,
            )
        return upload

    def put_part(self, upload: Upload, number: int, path: Path, md5: bytes) -> str:
        with self.lock:
            old = upload.parts.get(number)
            upload.parts[number] = (path, path.stat().st_size, md5.hex())
        if old is not None:
            old[0].unlink(missing_ok=True)
        return _etag(md5)

    def complete(
        self, bucket: str, upload: Upload, listed: list[tuple[int, str]], content_type: str
    ) -> Object:
        """The object made of the `listed` (number, ETag) parts, in order, as OSS checks them."""
        numbers = [n for n, _ in listed]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise StoreError(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts list must be specified in "
                "order by part number.",
                UploadId=upload.upload_id,
            )
        chosen = []
        for index, (number, etag) in enumerate(listed):
            part = upload.parts.get(number)
            if part is None or etag.strip('"').upper() != part[2].upper():
                raise StoreError(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not be found or the specified "
                    "entity tag might not have matched the part's entity tag.",
                    UploadId=upload.upload_id,
                    PartNumber=str(number),
                )
            if part[1] < MIN_PART_SIZE and index < len(listed) - 1:
                raise StoreError(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size.",
                    PartNumber=str(number),
                )
            chosen.append(part)
        target = self.new_file()
        whole = hashlib.md5(usedforsecurity=False)
        with target.open("wb") as out:
            for path, _, md5 in chosen:
                whole.update(bytes.fromhex(md5))
                with path.open("rb") as source:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
        etag = f'"{whole.hexdigest().upper()}-{len(chosen)}"'
        obj = Object(
            upload.key,
            target,
            target.stat().st_size,
            etag,
            _now(),
            content_type or _default_type(),
            parts=len(chosen),
        )
        self._replace(bucket, obj)
        self.abort(bucket, upload)
        return obj

    def abort(self, bucket: str, upload: Upload) -> None:
        with self.lock:
            self.bucket(bucket).uploads.pop(upload.upload_id, None)
        for path, _, _ in upload.parts.values():
            path.unlink(missing_ok=True)

    def uploads(self, bucket: str) -> list[Upload]:
        with self.lock:
            return sorted(self.bucket(bucket).uploads.values(), key=lambda u: (u.key, u.started))


def _etag(md5: bytes) -> str:
    return f'"{md5.hex().upper()}"'


def _default_type() -> str:
    return "application/octet-stream"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def remove_quietly(path: Path) -> None:
    """Drop a received body that did not become an object or part."""
    path.unlink(missing_ok=True)
