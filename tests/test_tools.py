"""`artconf tools install`: pinned, idempotent, locked, and one clear line when it cannot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from emulators import tools

FAKE_NPM = """#!/bin/sh
# Stands in for npm: counts its calls, takes a while, and lays out what `npm ci` would.
echo call >> "$NPM_CALLS"
sleep 1
mkdir -p node_modules/.bin node_modules/azurite
printf '#!/bin/sh\\n' > node_modules/.bin/azurite-blob
chmod +x node_modules/.bin/azurite-blob
echo '{"version": "3.35.0"}' > node_modules/azurite/package.json
"""


def _bin_dir(tmp_path: Path, **scripts: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return bin_dir


def _artconf(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tools_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTCONF_TOOLS_DIR", str(tmp_path / "tools"))
    return {**os.environ, "ARTCONF_TOOLS_DIR": str(tmp_path / "tools")}


def test_missing_npm_is_one_line_and_leaves_nothing(tmp_path, tools_env):
    node = _bin_dir(tmp_path, node="#!/bin/sh\nexit 0\n")
    env = {**tools_env, "PATH": str(node)}  # no npm anywhere on PATH
    result = _artconf(env, "tools", "install", "--only", "azurite")
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("artconf:")]
    assert error_lines == [error_lines[0]] and "npm not found on PATH" in error_lines[0]
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "tools").glob("azurite/*"))


def test_missing_go_is_one_line(tmp_path, tools_env):
    env = {**tools_env, "PATH": str(_bin_dir(tmp_path))}
    result = _artconf(env, "tools", "install", "--only", "minio")
    assert result.returncode == 1
    assert "artconf: error: go not found on PATH" in result.stderr
    assert "Traceback" not in result.stderr


def test_failing_build_names_the_step_and_its_log(tmp_path, tools_env):
    fake_go = (
        "#!/bin/sh\n"
        "[ \"$1\" = install ] && { echo 'compile: out of memory' >&2; exit 2; }\n"
        "exit 0\n"
    )
    env = {**tools_env, "PATH": f"{_bin_dir(tmp_path, go=fake_go)}:/usr/bin:/bin"}
    result = _artconf(env, "tools", "install", "--only", "minio")
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(
        f"artconf: error: go install {tools.MINIO_MODULE}@{tools.MINIO_VERSION} failed (exit 2)"
    )
    assert "compile: out of memory" in line and "minio-build.log" in line
    assert not (tmp_path / "tools" / "go" / "bin" / "minio").exists()


def test_concurrent_installs_run_the_installer_once(tmp_path, tools_env, monkeypatch):
    calls = tmp_path / "npm-calls"
    bin_dir = _bin_dir(tmp_path, npm=FAKE_NPM, node="#!/bin/sh\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("NPM_CALLS", str(calls))
    results: list[list[tools.Installed]] = []
    threads = [
        threading.Thread(target=lambda: results.append(tools.install(["azurite"], lambda _: None)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls.read_text().count("call") == 1  # the second waited for the lock, then reused
    assert [r[0].version for r in results] == ["3.35.0", "3.35.0"]
    assert Path(results[1][0].path).exists()
    manifest = json.loads((tmp_path / "tools" / "manifest.json").read_text())
    assert manifest["azurite"]["version"] == "3.35.0"
    again = tools.install(["azurite"], lambda _: None)
    assert calls.read_text().count("call") == 1 and not again[0].fresh


def test_binary_of_a_tool_not_installed_says_how(tmp_path, tools_env):
    with pytest.raises(tools.ToolError, match=r"run `artconf tools install --only minio`"):
        tools.binary("minio")


def test_go_module_version_reads_build_info():
    binary = tools.binary("minio")  # installed by the bootstrap
    assert tools.go_module_version(binary) == tools.MINIO_VERSION


def test_python_tools_are_this_environments_whatever_the_manifest_says(tmp_path, tools_env):
    """Two clones share one tool cache: the manifest names the venv that installed last."""
    (tmp_path / "tools").mkdir()
    other = tmp_path / "other-clone" / ".venv" / "bin" / "python"
    other.parent.mkdir(parents=True)
    other.write_text("")
    entry = {"path": str(other), "version": "0"}
    (tmp_path / "tools" / "manifest.json").write_text(json.dumps({"moto": entry, "kube": entry}))
    assert tools.binary("moto") == tools.binary("kube") == Path(sys.executable)


def test_missing_nginx_names_the_one_command(tools_env, monkeypatch):
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    monkeypatch.setattr(tools.os, "access", lambda path, mode: False)
    with pytest.raises(tools.ToolError) as missing:
        tools.binary("nginx")
    assert tools.NGINX_INSTALL in str(missing.value)
    assert "apt-get install -y --no-install-recommends nginx" in tools.NGINX_INSTALL
    # the bootstrap (make webserver, without root) prints the same command
    assert tools.NGINX_INSTALL in (Path(__file__).parents[1] / "Makefile").read_text()


def test_nginx_is_the_systems_with_its_version(tmp_path, tools_env, monkeypatch):
    fake = _bin_dir(tmp_path, nginx="#!/bin/sh\necho 'nginx version: nginx/9.8.7' >&2\n")
    monkeypatch.setattr(tools.shutil, "which", lambda name: str(fake / name))
    assert tools.binary("nginx") == fake / "nginx"
    assert tools.version("nginx") == "9.8.7"


def test_the_bootstrap_without_nginx_or_root_names_the_command(tmp_path):
    """`make test` with nginx missing and no root stops at the bootstrap with one command."""
    fake_id = _bin_dir(tmp_path, id="#!/bin/sh\necho 1000\n")  # not root
    env = {**os.environ, "PATH": f"{fake_id}:{os.environ['PATH']}"}
    repo = Path(__file__).parents[1]
    result = subprocess.run(
        ["make", "-s", "-C", str(repo), "webserver", "NGINX="],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"run '{tools.NGINX_INSTALL}'" in result.stdout
