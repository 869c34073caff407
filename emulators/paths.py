"""Where the kit keeps what lives outside the repository: tools, server state, scratch."""

from __future__ import annotations

import os
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
