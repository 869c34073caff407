"""A driver that keeps objects in a directory on disk, for the plugin protocol's own tests.

It stands in for storage where the test is about the wire, not a server: both ends of the
protocol are the kit's, so bytes, errors and codes can be checked exactly. A few keys plant a
misbehaving plugin:

    crash-mid-stream    open_stream yields one chunk, then the process exits (exit 3)
    raise-value-error   every method raises ValueError (not an ArtifactError)
    hang                load never returns (for a minute)

The directory is $MEMORY_DRIVER_ROOT (a plugin process) or the one `make` was given.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

from drivers.core.errors import NotFound

ROOT = "MEMORY_DRIVER_ROOT"


class MemoryDriver:
    def __init__(self, root: Path):
        self.root = root
        self.closed = False

    def _path(self, artifact) -> Path:
        key = artifact.s3.key
        if key == "raise-value-error":
            raise ValueError("planted: not an ArtifactError")
        return self.root / key

    def load(self, artifact, path: str) -> None:
        source = self._path(artifact)
        if artifact.s3.key == "hang":
            time.sleep(60)
        if not source.exists():
            raise NotFound(f"no such key {artifact.s3.key}")
        shutil.copyfile(source, path)

    def open_stream(self, artifact):
        source = self._path(artifact)
        if artifact.s3.key == "crash-mid-stream":
            return _Crashing()
        if not source.exists():
            raise NotFound(f"no such key {artifact.s3.key}")
        return open(source, "rb")

    def save(self, path: str, artifact) -> None:
        target = self._path(artifact)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)

    def save_stream(self, stream, artifact) -> None:
        target = self._path(artifact)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = stream.read()  # all or nothing: a failed stream writes no object
        target.write_bytes(data)

    def delete(self, artifact) -> None:
        self._path(artifact).unlink(missing_ok=True)

    def list_objects(self, artifact) -> list[str]:
        self._path(artifact)
        prefix = artifact.s3.key
        keys = (str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix))

    def is_directory(self, artifact) -> bool:
        return self._path(artifact).is_dir()

    def close(self) -> None:
        self.closed = True


class _Crashing(io.RawIOBase):
    """One chunk, then the whole plugin process dies, as a crashing plugin does."""

    def __init__(self):
        self.sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.sent:
            os._exit(3)
        self.sent = True
        buffer[:4] = b"half"
        return 4


def make(artifact, secrets, context) -> MemoryDriver:
    return MemoryDriver(Path(os.environ[ROOT]))


make.kinds = ["s3"]
