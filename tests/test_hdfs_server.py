"""The HDFS server (emulators/hdfs.py): Hadoop's MiniDFSCluster starts on the kit's loopback
port, is ready only once its own signature reads back over RPC, keeps its data in the instance
directory, and stops, or dies, without leaving a JVM, a data directory or a file in /tmp.

A server this module needs that fails to start is an ERROR, never a skip.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from emulators import tools
from emulators.fleet import SERVERS, Fleet
from emulators.hdfs import SIGNATURE_PATH, USER
from emulators.server import Instance

KEY = ("hdfs", "hdfs", False)


def _start(root: Path) -> Fleet:
    try:
        tools.binary("hdfs")
    except tools.ToolError as exc:
        pytest.fail(f"the hdfs server is needed but not installed: {exc}", pytrace=False)
    fleet = Fleet(root)
    fleet.start([KEY])
    if fleet.errors:
        fleet.close()
        pytest.fail(f"the hdfs server failed to start: {fleet.errors}", pytrace=False)
    return fleet


def _jvm_tree(fleet: Fleet) -> set[int]:
    leader = psutil.Process(fleet.started["hdfs"].running.pid)
    return {leader.pid, *(p.pid for p in leader.children(recursive=True))}


def _alive(pids: set[int]) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]


def _tmp_entries() -> set[str]:
    """The temp directory's entries a JVM could have written: the kit's own (`artconf-*`),
    pytest's and Python's (`tmp*`) come and go with the tests running beside this one."""
    ours = ("artconf-", "pytest-", "tmp")
    return {n for n in os.listdir(tempfile.gettempdir()) if not n.startswith(ours)}


def test_ready_server_proves_its_signature_and_stops_clean(tmp_path):
    before = _tmp_entries()
    root = tmp_path / "session"
    fleet = _start(root)
    try:
        started = fleet.started["hdfs"]
        endpoint = started.endpoint
        server = SERVERS["hdfs"]
        instance = Instance("hdfs", root / "hdfs", None, dict(endpoint.credentials))
        assert endpoint.url == f"hdfs://127.0.0.1:{endpoint.port}"
        assert endpoint.credentials["user"] == USER
        # The probe reads the instance's nonce back; another nonce is not this server.
        assert server.probe(instance, endpoint.port)
        other = dataclasses.replace(instance, credentials={**endpoint.credentials, "nonce": "x"})
        assert not server.probe(other, endpoint.port)
        data = root / "hdfs" / "data"
        assert any(data.rglob("VERSION")), f"no NameNode or DataNode storage under {data}"
        # Every listener of the JVM is on loopback.
        pids = _jvm_tree(fleet)
        listening = [
            c.laddr
            for p in pids
            for c in psutil.Process(p).net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN
        ]
        assert endpoint.port in {a.port for a in listening}
        assert {a.ip for a in listening} <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening
        assert SIGNATURE_PATH.startswith("/.artconf/")
    finally:
        fleet.close()
    assert _alive(pids) == [], f"processes left after stop: {_alive(pids)}"
    assert not (root / "hdfs").exists(), "the instance's data directory was left"
    assert _tmp_entries() - before == set(), "files left in the temp directory"


def test_killed_server_leaves_no_jvm(tmp_path):
    root = tmp_path / "session"
    fleet = _start(root)
    try:
        pids = _jvm_tree(fleet)
        java = [p for p in pids if "java" in psutil.Process(p).name()]
        assert java, f"no JVM among {pids}"
        os.kill(java[0], signal.SIGKILL)  # the JVM dies; no shutdown hook runs
        deadline = time.monotonic() + 10
        while java[0] in _alive(pids) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        fleet.close()
    assert _alive(pids) == [], f"processes left after a kill: {_alive(pids)}"


def test_the_bootstrap_without_a_jdk_or_root_names_the_command(tmp_path):
    """`make java` on a machine without javac, run by a user: the one command, and a failure."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "id").write_text("#!/bin/sh\necho 1000\n")  # not root
    (fake / "id").chmod(0o755)
    result = subprocess.run(
        ["make", "-s", "-C", str(Path(__file__).parents[1]), "java"],
        env={**os.environ, "PATH": str(fake)},  # no javac on this PATH
        capture_output=True,
        text=True,
        timeout=60,
        executable=shutil.which("make"),
    )
    assert result.returncode != 0
    assert f"run 'sudo apt-get update && {tools.JDK_INSTALL}'" in result.stdout
