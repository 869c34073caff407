"""A deliberately broken HDFS driver for the suites: it wraps the reference driver and accepts
directories both ways instead of refusing them (Argo's HDFS driver copies single files only),
so the kit's own tests can check that the suite notices, and notices nothing else.

Use as a target: `artconf run --target python:tests.broken.hdfs:accepts_directories`.
"""

from __future__ import annotations

import os
from pathlib import Path

from drivers import new_driver
from drivers.core.context import DriverContext
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from drivers.hdfs import HDFSDriver
from drivers.hdfs.connection import as_user
from tests.broken import Forwarding, declaring


class _AcceptsDirectories(Forwarding):
    """A local directory is saved file by file under the path; a stored one loaded as a tree."""

    def save(self, path: str, artifact: Artifact) -> None:
        if not os.path.isdir(path):
            self.inner.save(path, artifact)
            return
        for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
            copy = artifact.model_copy(deep=True)
            copy.hdfs.path = f"{artifact.hdfs.path}/{file.relative_to(path).as_posix()}"
            self.inner.save(str(file), copy)

    def load(self, artifact: Artifact, path: str) -> None:
        root = artifact.hdfs.path.rstrip("/")
        with as_user(self.inner.user):
            fs = self.inner._hdfs()
            try:
                directory = fs.get_file_info(root).isdir
            except FileNotFoundError:
                directory = False  # the reference says NOT_FOUND, as it should
            if directory:
                for status in fs.list_status(root, recursive=True):
                    if status.isdir:
                        continue
                    target = Path(path) / status.path[len(root) + 1 :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with fs.read(status.path) as remote:
                        target.write_bytes(remote.readall())
        if not directory:
            self.inner.load(artifact, path)


@declaring(HDFSDriver)
def accepts_directories(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Saves and loads directories instead of refusing them."""
    return _AcceptsDirectories(new_driver(artifact, secrets, context))
