"""Broken driver variants: the reference driver with exactly one behaviour broken.

Each factory is a `python:` target (`python:tests.broken.ops:<name>`); tests/test_broken_ops.py
runs the conformance matrix against it and checks that the suites catch the breakage in the
right cell and in no other. The variants are plausible bugs, not sabotage for its own sake:

    stream_truncated_at_1mib       open_stream stops after 1 MiB (a single-chunk read)
    directory_delete_leaves_objects delete removes the object named key only (Argo's GCS)
    delete_removes_sibling_prefix  a directory delete lists the raw prefix (Argo's Azure)
    delete_does_nothing            delete reports success and removes nothing
    save_skips_empty_file          save of a 0-byte file uploads nothing
    list_includes_folder_markers   list_objects keeps `.../` marker objects
    save_stream_leaks_temp_file    save_stream buffers to a temp file it never removes
    save_uses_base_name_key        save drops the key's directories (os.path.basename)
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from drivers import new_driver
from drivers.core.context import DriverContext
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from drivers.factory import FACTORY_ORDER
from tests.broken import Forwarding

MIB = 1024 * 1024


def _reference_capabilities() -> dict[str, frozenset[str]]:
    """What the reference drivers declare, so a variant is measured on the same cells."""
    import importlib

    declared = {}
    for kind, spec in FACTORY_ORDER.items():
        if spec:
            module, cls = spec.split(":")
            driver_class = getattr(importlib.import_module(module), cls)
            declared[kind] = frozenset(c.value for c in driver_class.capabilities)
    return declared


class Wrapped(Forwarding):
    """Forwards every driver method to the reference driver; subclasses break one."""

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(new_driver(artifact, secrets, context))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _key(artifact: Artifact) -> str:
    return artifact.get_key()


def _with_key(artifact: Artifact, key: str) -> Artifact:
    changed = artifact.model_copy(deep=True)
    changed.set_key(key)
    return changed


def variant(cls: type[Wrapped]) -> Callable[[Artifact, SecretSource, DriverContext], Wrapped]:
    """A `python:` target factory for `cls`, declaring the reference capabilities."""

    def factory(artifact: Artifact, secrets: SecretSource, context: DriverContext) -> Wrapped:
        return cls(artifact, secrets, context)

    factory.__doc__ = cls.__doc__
    factory.capabilities = _reference_capabilities()  # type: ignore[attr-defined]
    return factory


# --- streaming ------------------------------------------------------------------------------


class _Truncated(io.RawIOBase):
    def __init__(self, inner: BinaryIO, limit: int):
        super().__init__()
        self._inner = inner
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._inner.read(min(len(buffer), self._left))
        size = len(data)
        buffer[:size] = data
        self._left -= size
        return size

    def close(self) -> None:
        self._inner.close()
        super().close()


class StreamTruncatedAt1MiB(Wrapped):
    """(c) open_stream stops after 1 MiB, as if only the first chunk were ever read."""

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        stream = self.inner.open_stream(artifact)
        return io.BufferedReader(_Truncated(stream, MIB))  # type: ignore[return-value]


LEAK_PREFIX = "broken-upload-"


class SaveStreamLeaksTempFile(Wrapped):
    """save_stream buffers the stream to a temp file (Argo's fallback) and never removes it.

    The file goes where tempfile puts it (TMPDIR): the suite's no-temp-file cases look for it
    there, and a test running this variant points TMPDIR at a directory it owns, so that what
    the other cases leak is removed with that directory.
    """

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        fd, name = tempfile.mkstemp(prefix=LEAK_PREFIX)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out)
        self.inner.save(name, artifact)


# --- delete ---------------------------------------------------------------------------------


class DirectoryDeleteLeavesObjects(Wrapped):
    """(b) delete removes the object named key only: a directory's objects stay (Argo's GCS)."""

    def delete(self, artifact: Artifact) -> None:
        if self.inner.is_directory(artifact):
            return  # no single object of that name: "success", and everything stays
        self.inner.delete(artifact)


class DeleteRemovesSiblingPrefix(Wrapped):
    """(d) a directory delete lists the raw prefix `key` (no "/"), so `out-2/...` goes too
    (Argo's Azure driver). Uses the S3 reference driver's own listing."""

    def delete(self, artifact: Artifact) -> None:
        if not self.inner.is_directory(artifact):
            self.inner.delete(artifact)
            return
        bucket, key = self.inner._bucket_key(artifact)
        for name in list(self.inner._list(bucket, key.rstrip("/"))):
            self.inner.delete(_with_key(artifact, name))
        self.inner.delete(artifact)


class DeleteDoesNothing(Wrapped):
    """delete returns at once, as if the objects were gone: a GC pod reports success, the
    finalizer goes, and everything stays on the server."""

    def delete(self, artifact: Artifact) -> None:
        return None


# --- roundtrip, directories, keys -------------------------------------------------------------


class SaveSkipsEmptyFile(Wrapped):
    """save of a 0-byte file returns without uploading ("nothing to upload")."""

    def save(self, path: str, artifact: Artifact) -> None:
        local = Path(path)
        if local.is_file() and local.stat().st_size == 0:
            return
        self.inner.save(path, artifact)


class ListIncludesFolderMarkers(Wrapped):
    """list_objects returns the `.../` folder marker objects with the files (S3 listing)."""

    def list_objects(self, artifact: Artifact) -> list[str]:
        names = self.inner.list_objects(artifact)
        bucket, key = self.inner._bucket_key(artifact)
        prefix = key.rstrip("/") + "/"
        return [*names, *(n for n in self.inner._list(bucket, prefix) if n.endswith("/"))]


class SaveUsesBaseNameKey(Wrapped):
    """save writes a file to the key's last segment only (`os.path.basename(key)`)."""

    def save(self, path: str, artifact: Artifact) -> None:
        key = _key(artifact)
        if Path(path).is_file() and "/" in key.strip("/"):
            artifact = _with_key(artifact, os.path.basename(key.rstrip("/")))
        self.inner.save(path, artifact)


stream_truncated_at_1mib = variant(StreamTruncatedAt1MiB)
save_stream_leaks_temp_file = variant(SaveStreamLeaksTempFile)
directory_delete_leaves_objects = variant(DirectoryDeleteLeavesObjects)
delete_removes_sibling_prefix = variant(DeleteRemovesSiblingPrefix)
delete_does_nothing = variant(DeleteDoesNothing)
save_skips_empty_file = variant(SaveSkipsEmptyFile)
list_includes_folder_markers = variant(ListIncludesFolderMarkers)
save_uses_base_name_key = variant(SaveUsesBaseNameKey)


def _differential(cls: type[Wrapped]) -> Callable[[Artifact, SecretSource, DriverContext], Wrapped]:
    """`variant(cls)` that also asks for the differential lane (tests/test_differential.py)."""
    factory = variant(cls)
    factory.kinds = ["s3"]  # type: ignore[attr-defined]
    factory.differential = True  # type: ignore[attr-defined]
    return factory


#: The reference itself, compared with the reference: the lane must find no difference.
unchanged_in_the_lane = _differential(Wrapped)
list_includes_folder_markers_in_the_lane = _differential(ListIncludesFolderMarkers)
