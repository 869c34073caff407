"""The local side of a driver: which files a directory save uploads (and in what order), and
where Argo's LoadToStream puts what it loads."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

#: Argo's ``LoadToStream`` temp path: ``os.TempDir()/wfstream-`` + k8s ``rand.String(32)``.
STREAM_PREFIX = "wfstream-"
_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


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


def stream_temp_path(directory: Path) -> Path:
    """A fresh ``wfstream-<32 random characters>`` path in `directory`, named as Argo's
    ``LoadToStream`` names the file (or clone) it loads before streaming it."""
    return directory / (STREAM_PREFIX + "".join(secrets.choice(_RAND_ALPHABET) for _ in range(32)))
