"""The local side of saving a directory: which files every driver uploads, and in what order."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path


def regular_files(root: str | Path) -> Iterator[tuple[Path, str]]:
    """Each regular file under ``root`` with its ``/``-separated relative path, sorted.

    As in Argo, symlinks (to files or directories) are neither followed nor uploaded, and empty
    directories are skipped: only regular files become objects.
    """
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            file = Path(directory, name)
            if stat.S_ISREG(os.lstat(file).st_mode):
                yield file, file.relative_to(root).as_posix()
