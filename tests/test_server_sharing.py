"""Under pytest: one set of servers per run shared by xdist workers; required means ERROR."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.inner import emulators_up, kit_env, pytest_argv, write_project

RECORD_PIDS = """
    import json, os, pathlib

    def _record(artconf_server, name):
        out = pathlib.Path(os.environ["PIDS_DIR"]) / name
        out.write_text(json.dumps({"pid": artconf_server("fake-gcs").pid,
                                   "worker": os.environ.get("PYTEST_XDIST_WORKER")}))

    def test_one(artconf_server): _record(artconf_server, "one")
    def test_two(artconf_server): _record(artconf_server, "two")
    def test_three(artconf_server): _record(artconf_server, "three")
    def test_four(artconf_server): _record(artconf_server, "four")
"""

NEEDS_MINIO = """
    import pytest

    @pytest.fixture
    def minio(artconf_server):
        return artconf_server("minio")

    def test_uses_minio(minio):
        assert minio.url
"""


def _run(root, env, *args):
    return subprocess.run(
        pytest_argv(root, *args), env=env, capture_output=True, text=True, timeout=300
    )


def test_xdist_workers_share_one_server(tmp_path):
    root = write_project(tmp_path / "proj", RECORD_PIDS)
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    env = kit_env(tmp_path / "state", PIDS_DIR=str(pids_dir))
    result = _run(root, env, "-n", "2", "--artconf-servers", "fake-gcs", "--artconf-tls", "off")
    assert result.returncode == 0, result.stdout + result.stderr
    seen = [json.loads(p.read_text()) for p in pids_dir.iterdir()]
    assert len(seen) == 4
    assert len({s["pid"] for s in seen}) == 1, seen  # one server for the whole run
    assert {s["worker"] for s in seen} <= {"gw0", "gw1"}


def test_endpoints_file_reuses_running_servers(tmp_path):
    state = tmp_path / "state"
    env = kit_env(state)
    endpoints = emulators_up(env, "--only", "fake-gcs")
    try:
        endpoints_file = tmp_path / "endpoints.json"
        endpoints_file.write_text(json.dumps(endpoints))
        pid = endpoints["fake-gcs"]["pid"]
        root = write_project(tmp_path / "proj", RECORD_PIDS)
        pids_dir = tmp_path / "pids"
        pids_dir.mkdir()
        result = _run(
            root, {**env, "PIDS_DIR": str(pids_dir)}, "--artconf-endpoints", str(endpoints_file)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert {json.loads(p.read_text())["pid"] for p in pids_dir.iterdir()} == {pid}
    finally:
        subprocess.run(
            [sys.executable, "-m", "conformance.cli", "emulators", "down"],
            env=env,
            capture_output=True,
            timeout=60,
        )


def test_required_server_missing_is_an_error_not_a_skip(tmp_path):
    root = write_project(tmp_path / "proj", NEEDS_MINIO)
    env = kit_env(
        tmp_path / "state", ARTCONF_TOOLS_DIR=str(tmp_path / "no-tools"), ARTCONF_REQUIRE="minio"
    )
    result = _run(root, env, "--artconf-tls", "off")
    assert result.returncode == 1
    assert "1 error" in result.stdout and "skipped" not in result.stdout
    assert "minio is not installed: run `artconf tools install --only minio`" in result.stdout


def test_missing_optional_server_is_a_skip_naming_the_fix(tmp_path):
    root = write_project(tmp_path / "proj", NEEDS_MINIO)
    env = kit_env(tmp_path / "state", ARTCONF_TOOLS_DIR=str(tmp_path / "no-tools"))
    result = _run(root, env, "-rs")
    assert result.returncode == 0
    assert "1 skipped" in result.stdout
    assert "artconf tools install --only minio" in result.stdout


def test_required_server_that_fails_to_start_is_an_error_with_its_log(tmp_path):
    # A tool cache whose `minio` is a script that dies at once with a recognisable message.
    tools_dir = tmp_path / "tools"
    (tools_dir / "bin").mkdir(parents=True)
    fake = tools_dir / "bin" / "minio"
    fake.write_text("#!/bin/sh\necho 'FATAL Unable to start: drive is read-only' >&2\nexit 1\n")
    fake.chmod(0o755)
    (tools_dir / "manifest.json").write_text(
        json.dumps({"minio": {"version": "x", "path": str(fake)}})
    )
    root = write_project(tmp_path / "proj", NEEDS_MINIO)
    env = kit_env(tmp_path / "state", ARTCONF_TOOLS_DIR=str(tools_dir), ARTCONF_REQUIRE="minio")
    result = _run(root, env, "--artconf-tls", "off")
    assert result.returncode == 1
    assert "1 error" in result.stdout
    assert "exited with code 1 before it was ready" in result.stdout
    assert "drive is read-only" in result.stdout
