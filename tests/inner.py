"""Run a small pytest project in a subprocess, to test what a whole run does (signals, sharing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent


def write_project(root: Path, test_source: str) -> Path:
    """A project with one test module; the server harness is loaded with `-p`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "test_inner.py").write_text(textwrap.dedent(test_source))
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def pytest_argv(root: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "emulators.pytest_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--basetemp={root / '.basetemp'}",  # inside the outer test's tmp_path, not /tmp
        str(root),
        *args,
    ]


def kit_env(state_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ARTCONF_STATE_DIR": str(state_dir),
        # Inner runs keep their server data (and the logs of failing runs) beside their state,
        # never in the user's cache.
        "ARTCONF_SESSIONS_DIR": str(state_dir.parent / "sessions"),
        "PYTHONPATH": str(REPO),
    }
    env.pop("ARTCONF_REQUIRE", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(extra)
    return env


def server_descendants(pid: int) -> list[psutil.Process]:
    """Descendant processes that are storage servers (not pytest workers or wrappers)."""
    names = ("minio", "moto.server", "azurite", "fake-gcs-server")
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if child.name() != "sh" and any(n in cmd for n in names):
            found.append(child)
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    result = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                result.append(p)
        except psutil.Error:
            pass
    return result


def disk_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """`kit_env` whose session directories also go under `tmp_path`, to be measured there."""
    return kit_env(tmp_path / "state", ARTCONF_SESSIONS_DIR=str(tmp_path / "sessions"), **extra)


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (0 when it does not exist)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def emulators_up(env: dict[str, str], *args: str) -> dict:
    """`artconf emulators up ARGS --json` in `env`; its endpoints (asserts that it started)."""
    up = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "emulators", "up", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stderr
    return json.loads(up.stdout)
