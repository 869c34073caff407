"""`make_buggy_driver`: the minio driver with four planted bugs, one per capability.

Each is a classic mistake against Argo's semantics that the kit must catch, once, with the
contract it breaks:

    load          a missing key raises ValueError instead of ERR_NOT_FOUND, so an optional
                  input cannot be skipped (spec 1.5, 11.7)
    list_objects  folder markers (`out/`, `out/sub/`) are listed as if they were files (1.3)
    delete        deleting a key that does not exist fails, so artifact GC cannot be
                  retried (spec 7.3)
    is_directory  the prefix is the raw key, without "/": siblings such as `outx` or a
                  plain file `out` make `out` a directory (spec 1.3)

Do not copy this file; copy `driver.py`.
"""

from __future__ import annotations

from typing import Any

from drivers.core.errors import NotFound
from minio_driver.driver import CAPABILITIES, MinioDriver, dir_prefix


class BuggyMinioDriver(MinioDriver):
    def load(self, artifact: Any, path: str) -> None:
        try:
            super().load(artifact, path)
        except NotFound:
            raise ValueError("object not found") from None  # BUG: not an ArtifactError

    def list_objects(self, artifact: Any) -> list[str]:
        bucket, key = self._bucket_key(artifact)
        what = self._what("listing", bucket, key)
        return self._call(what, lambda: list(self._list(bucket, dir_prefix(key))))  # BUG: markers

    def delete(self, artifact: Any) -> None:
        bucket, key = self._bucket_key(artifact)
        what = self._what("deleting", bucket, key)
        missing = not key.endswith("/") and not self._exists(bucket, key, what)
        if missing and not self._call(what, lambda: self._any_under(bucket, dir_prefix(key))):
            raise NotFound("s3: the object to delete does not exist")  # BUG: GC must retry
        super().delete(artifact)

    def is_directory(self, artifact: Any) -> bool:
        bucket, key = self._bucket_key(artifact)
        what = self._what("probing", bucket, key)
        return self._call(what, lambda: self._any_under(bucket, key))  # BUG: no "/" appended


def make_buggy_driver(artifact: Any, secrets: Any, context: Any) -> BuggyMinioDriver:
    return BuggyMinioDriver(artifact, secrets, context)


make_buggy_driver.kinds = ["s3"]
make_buggy_driver.capabilities = CAPABILITIES
