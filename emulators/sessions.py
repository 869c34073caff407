"""Per-session working directories (TLS files, data, logs) under the cache's `sessions/`.

A session directory lives as long as its servers: whoever stops them removes it (`Fleet.close`,
`emulators down`). What may stay behind, by rule:

- everything, when asked (`--artconf-keep-data`, `ARTCONF_KEEP_DATA=1`);
- only `logs/` (small; the data directories are the big part), when the session failed;
- whatever a killed run left: the reaper that stops its servers reduces it to `logs/`
  (`after_reaping`), `_prune` removes old ones when a new session starts, and `artconf clean`
  removes them on demand. None of them touches a session that is still live.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

from emulators.paths import sessions_dir
from emulators.processes import ProcessRecord, is_same_process, load_records, reap_orphans

KEEP_SESSIONS = 10  # the backstop keeps the newest ten leftovers ...
MIN_AGE_SECONDS = 3600  # ... and never prunes one younger than this
KEEP_DATA_ENV = "ARTCONF_KEEP_DATA"
NAME_TIME_FORMAT = "%Y%m%d-%H%M%S"

Keep = Literal["all", "logs", "none"]


def new_session_dir(label: str) -> Path:
    """A fresh directory under the cache; old leftovers beyond the last ten are pruned."""
    base = sessions_dir()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{time.strftime(NAME_TIME_FORMAT)}-{label}-{os.getpid()}"
    for attempt in itertools.count():
        path = base / (f"{name}.{attempt}" if attempt else name)  # twice in one second
        try:
            path.mkdir(mode=0o700)
            break
        except FileExistsError:
            continue
    _prune(base)
    return path


def keep_data_requested() -> bool:
    """`ARTCONF_KEEP_DATA=1` (or true/yes): keep every session directory for reading."""
    return os.environ.get(KEEP_DATA_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def finish_session(root: Path, keep: Keep) -> Path | None:
    """Remove a stopped session's directory, or the part not kept; return what is kept.

    Refuses (keeps everything) while a recorded server still runs from it: its files are in use.
    """
    if not root.exists():
        return None
    if keep == "all" or root.resolve() in _server_sessions():
        return root
    for outside in linked_temp_dirs(root):
        _remove(outside)
    logs = root / "logs"
    if keep == "logs" and logs.is_dir() and any(logs.iterdir()):
        for child in root.iterdir():
            if child != logs:
                _remove(child)
        return logs
    _remove(root)
    return None


def reap_orphans_and_data() -> list[ProcessRecord]:
    """`processes.reap_orphans`, then `after_reaping` on what it stopped; then the containers
    of killed runs and the kit's Docker engine once nobody holds a lease on it."""
    reaped = reap_orphans()
    after_reaping(reaped)
    _reap_containers()
    return reaped


def _reap_containers() -> None:
    from emulators import engine  # light; the container modules load only when it runs

    if not engine.running():
        return
    from emulators import containers

    with contextlib.suppress(engine.EngineError, OSError):
        containers.reap_orphans(engine.our_host())
    engine.reap()


def after_reaping(reaped: list[ProcessRecord]) -> list[Path]:
    """Reduce the sessions of reaped servers (their run was killed) to their logs.

    Returns the `logs/` directories left; `artconf clean` removes them.
    """
    roots = {Path(r.exit_file).resolve().parent.parent for r in reaped if r.exit_file}
    kept = []
    for root in sorted(roots):
        if root.is_dir() and root not in live_sessions(root.parent):
            logs = finish_session(root, "logs")
            if logs is not None:
                kept.append(logs)
    return kept


def linked_temp_dirs(root: Path) -> list[Path]:
    """The kit's directories in the temp dir that a session's servers link from their
    instance directories: a root kit's sshd serves from one, because another user must reach
    it. Its server removes it on stop; these are what a killed server left behind."""
    temp = {Path(tempfile.gettempdir()).resolve(), Path("/tmp").resolve()}
    found = []
    for link in root.glob("*/*"):
        if not link.is_symlink():
            continue
        target = Path(os.path.realpath(link))
        top = next((p for p in (target, *target.parents) if p.parent in temp), None)
        if top is not None and top.name.startswith("artconf-") and top.is_dir():
            found.append(top)
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# --- what is live ------------------------------------------------------------------------


def _server_sessions() -> set[Path]:
    """Session directories that a running server still uses (its exit file lives there)."""
    live = set()
    for record in load_records():
        if record.exit_file and is_same_process(record.pid, record.create_time):
            live.add(Path(record.exit_file).resolve().parent.parent)
    return live


def _creator_alive(path: Path) -> bool:
    """The process that made `path` (`<time>-<label>-<pid>[.n]`) still runs: it may start servers.

    Covers what the records cannot show: a pytest run between two lazy starts, or a run whose
    records sit in another `ARTCONF_STATE_DIR`. A recycled PID started after the directory.
    """
    try:
        pid = int(path.name.rsplit("-", 1)[1].split(".")[0])
        made = time.mktime(time.strptime(path.name[:15], NAME_TIME_FORMAT))
        started = psutil.Process(pid).create_time()
    except (IndexError, ValueError, psutil.Error):
        return False
    return started <= made + 1


def live_sessions(base: Path | None = None) -> set[Path]:
    """Session directories under `base` whose servers, or whose creator, still run."""
    base = base or sessions_dir()
    live = {p for p in _server_sessions() if p.parent == base.resolve()}
    if base.is_dir():
        live |= {p.resolve() for p in base.iterdir() if _creator_alive(p)}
    return live


# --- leftovers ---------------------------------------------------------------------------


@dataclass
class Leftover:
    path: Path
    age_seconds: float
    size_bytes: int
    live: bool


def leftovers(base: Path | None = None) -> list[Leftover]:
    """Every session directory under `base`, oldest first, with its age, size and liveness."""
    base = base or sessions_dir()
    if not base.is_dir():
        return []
    live = live_sessions(base)
    now = time.time()
    found = [
        Leftover(p, now - last_activity(p), disk_usage(p), p.resolve() in live)
        for p in base.iterdir()
        if p.is_dir()
    ]
    return sorted(found, key=lambda s: -s.age_seconds)


def last_activity(path: Path) -> float:
    """Newest mtime of the directory, its entries and its log files (logs grow in place)."""
    paths = [path]
    for folder in (path, path / "logs"):
        with contextlib.suppress(OSError):  # not a directory, or removed meanwhile
            paths += list(folder.iterdir())
    times = []
    for p in paths:
        with contextlib.suppress(OSError):
            times.append(p.lstat().st_mtime)
    return max(times, default=0.0)


def disk_usage(path: Path) -> int:
    """Bytes on disk under `path`, like `du` (allocated blocks, symlinks not followed)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            with contextlib.suppress(OSError):
                stat = os.lstat(os.path.join(dirpath, name))
                total += getattr(stat, "st_blocks", 0) * 512 or stat.st_size
    return total


def remove_leftover(path: Path) -> bool:
    """Remove a leftover unless it became live since it was listed; True when removed."""
    if path.resolve() in live_sessions(path.parent):
        return False
    _remove(path)
    return True


def _prune(base: Path) -> None:
    """Backstop for runs that were killed: old, non-live leftovers beyond the newest ten."""
    sessions = sorted(base.iterdir(), key=last_activity)
    candidates = sessions[:-KEEP_SESSIONS]
    if not candidates:
        return
    live = live_sessions(base)
    now = time.time()
    for old in candidates:
        if old.resolve() in live or now - last_activity(old) < MIN_AGE_SECONDS:
            continue
        _remove(old)
