"""Where the kit keeps what lives outside the repository: tools, server state, scratch.

Everything sits under one cache directory shared by clones and CI runs:

- `tools/`: the pinned servers (`artconf tools install`); never removed by the kit.
- `sessions/`: one directory per run of servers (TLS files, data, logs), removed when the run
  ends (see `emulators/sessions.py`); `artconf clean` removes what a killed run left.
- `state/`: records of running servers (global, so any checkout can reap orphans) and, under
  `state/up/`, one directory per checkout for `artconf emulators up`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


def cache_root() -> Path:
    """`${XDG_CACHE_HOME:-$HOME/.cache}/artifact-conformance`, shared by clones and CI runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "artifact-conformance"


def tools_dir() -> Path:
    """Pinned servers built or downloaded by `artconf tools install`."""
    return Path(os.environ.get("ARTCONF_TOOLS_DIR") or cache_root() / "tools")


def state_dir() -> Path:
    """Records of running servers, so a later command can find, stop or reap them."""
    path = Path(os.environ.get("ARTCONF_STATE_DIR") or cache_root() / "state")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def sessions_dir() -> Path:
    """Per-run server directories (data, TLS files, logs); `ARTCONF_SESSIONS_DIR` overrides."""
    return Path(os.environ.get("ARTCONF_SESSIONS_DIR") or cache_root() / "sessions")


def kit_root() -> Path:
    """The checkout this kit runs from (an editable install points here)."""
    return Path(__file__).resolve().parents[1]


def up_state_dir(override: str | Path | None = None) -> Path:
    """Where `artconf emulators up/status/down` keep their state for this checkout.

    `--state-dir` (the override), else `ARTCONF_UP_STATE_DIR`, else `state/up/<name>-<hash>`
    of the kit's checkout: `down` in one clone must not stop the servers of another.
    """
    chosen = override or os.environ.get("ARTCONF_UP_STATE_DIR")
    path = Path(chosen) if chosen else state_dir() / "up" / checkout_id(kit_root())
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def checkout_id(root: Path) -> str:
    """`main-1a2b3c4d5e6f`: readable, and unique per resolved path."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", root.name)[:40] or "root"
    return f"{name}-{digest}"
