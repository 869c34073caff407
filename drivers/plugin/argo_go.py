"""The `argo-go` program: Argo's own drivers served as a plugin, and Argo's own plugin client.

`drivers/plugin/argo-go/` is a small Go module built against Argo Workflows' Go module
(`ARGO_VERSION`). `argo-go SOCKET` serves Argo's S3, GCS and Azure drivers over Argo's plugin
gRPC protocol, reading the kit's `plugin.configuration` (see `configuration.py`); `argo-go
client SOCKET ...` drives a plugin with Argo's `workflow/artifacts/plugin` client and prints
a JSON report. `binary()` builds it once per source digest into the kit's tool cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from emulators.paths import tools_dir
from emulators.tools import ToolError, _go_env, _run

SOURCE_DIR = Path(__file__).parent / "argo-go"
ARGO_VERSION = "v4.0.5"
NAME = "argo-go"


def source_digest() -> str:
    """The first 16 hex digits of the sha256 of the program's Go sources, go.mod and go.sum.

    Test files are left out: they do not change the binary.
    """
    files = sorted(
        p
        for p in SOURCE_DIR.iterdir()
        if p.name in ("go.mod", "go.sum") or (p.suffix == ".go" and not p.name.endswith("_test.go"))
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def binary(progress: Callable[[str], None] | None = None) -> Path:
    """The built `argo-go` executable, built now if the cache has none for these sources."""
    home = tools_dir() / NAME
    target = home / source_digest() / NAME
    if target.exists():
        return target
    go = shutil.which("go")
    if not go:
        raise ToolError(
            "go not found on PATH: install Go 1.25.7 or newer (Argo "
            f"{ARGO_VERSION}'s go.mod requires it; Debian's golang-go is too old) to build {NAME}"
        )
    home.mkdir(parents=True, exist_ok=True)
    with FileLock(str(home / ".build.lock")):
        if target.exists():  # another process built it while we waited
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{NAME}.{os.getpid()}.partial")
        if progress:
            progress(f"building {NAME} against Argo {ARGO_VERSION} (cold: minutes) ...")
        began = time.monotonic()
        try:
            _run(
                [go, "build", "-trimpath", "-o", str(partial), "."],
                what=f"go build of {NAME} (Argo {ARGO_VERSION})",
                env=_go_env(tools_dir()),
                cwd=SOURCE_DIR,
                log=home / "build.log",
            )
            partial.replace(target)  # atomic: no half-written binary under the final name
        finally:
            partial.unlink(missing_ok=True)
        for old in home.iterdir():  # builds of earlier sources (about 100 MB each)
            if old.is_dir() and old != target.parent:
                shutil.rmtree(old, ignore_errors=True)
        if progress:
            progress(f"  {NAME} ready in {time.monotonic() - began:.1f} s ({target})")
    return target
