"""Per-session working directories (TLS files, data, logs), kept for reading after a run."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from emulators.paths import cache_root

KEEP_SESSIONS = 10


def new_session_dir(label: str) -> Path:
    """A fresh directory under the cache; the oldest beyond the last ten are pruned."""
    base = cache_root() / "sessions"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{os.getpid()}"
    path.mkdir(mode=0o700)
    _prune(base)
    return path


def _prune(base: Path) -> None:
    sessions = sorted(base.iterdir(), key=lambda p: p.stat().st_mtime)
    for old in sessions[:-KEEP_SESSIONS]:
        shutil.rmtree(old, ignore_errors=True)
