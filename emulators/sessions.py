"""Per-session working directories (TLS files, data, logs), kept for reading after a run."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from emulators.paths import cache_root
from emulators.processes import is_same_process, load_records

KEEP_SESSIONS = 10
MIN_AGE_SECONDS = 3600  # never prune a session younger than this


def new_session_dir(label: str) -> Path:
    """A fresh directory under the cache; old, unused ones beyond the last ten are pruned."""
    base = cache_root() / "sessions"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{os.getpid()}"
    path.mkdir(mode=0o700)
    _prune(base)
    return path


def _live_sessions() -> set[Path]:
    """Session directories that a running server still uses (its exit file lives there)."""
    live = set()
    for record in load_records():
        if record.exit_file and is_same_process(record.pid, record.create_time):
            live.add(Path(record.exit_file).resolve().parent.parent)
    return live


def _prune(base: Path) -> None:
    sessions = sorted(base.iterdir(), key=lambda p: p.stat().st_mtime)
    candidates = sessions[:-KEEP_SESSIONS]
    if not candidates:
        return
    live = _live_sessions()
    now = time.time()
    for old in candidates:
        if old.resolve() in live or now - old.stat().st_mtime < MIN_AGE_SECONDS:
            continue
        shutil.rmtree(old, ignore_errors=True)
