"""No orphans: every server a run or `emulators up` starts is stopped, whatever ends it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import psutil
import pytest

from tests.inner import (
    alive,
    disk_env,
    emulators_up,
    kit_env,
    pytest_argv,
    server_descendants,
    wait_for,
    write_project,
)

SLOW_INNER_TESTS = """
    import time

    def test_a(artconf_server):
        artconf_server("fake-gcs")
        time.sleep(120)

    def test_b(artconf_server):
        artconf_server("moto")
        time.sleep(120)
"""


def artconf(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance.cli", *args]


def test_sigint_to_xdist_run_stops_its_servers(tmp_path):
    root = write_project(tmp_path / "proj", SLOW_INNER_TESTS)
    env = disk_env(tmp_path)
    proc = subprocess.Popen(
        pytest_argv(root, "-n", "2", "--artconf-servers", "fake-gcs,moto", "--artconf-tls", "off"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        servers = wait_for(
            lambda: len(server_descendants(proc.pid)) >= 2 and server_descendants(proc.pid),
            60,
            "the run's servers",
        )
        wait_for(lambda: len(psutil.Process(proc.pid).children()) >= 3, 60, "xdist workers")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert servers
    wait_for(lambda: not alive(servers), 10, "servers to exit")
    assert b"KeyboardInterrupt" in out or proc.returncode != 0
    assert list((tmp_path / "sessions").iterdir()) == [], "the session directory is removed"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_up_leaves_nothing(tmp_path, signum):
    env = disk_env(tmp_path)
    proc = subprocess.Popen(
        artconf("emulators", "up", "--tls", "both"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        servers = wait_for(lambda: server_descendants(proc.pid), 60, "servers of `up`")
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert b"every server this command started was stopped" in err and b"Traceback" not in err
    assert not alive(servers)
    assert not list((tmp_path / "state").rglob("up.json"))
    assert list((tmp_path / "sessions").iterdir()) == []


def test_sigkill_of_up_is_reaped_by_next_status(tmp_path):
    env = disk_env(tmp_path)
    proc = subprocess.Popen(
        artconf("emulators", "up", "--only", "minio,fake-gcs"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    servers = wait_for(lambda: server_descendants(proc.pid), 60, "servers of `up`")
    proc.kill()
    proc.wait()
    assert alive(servers), "the servers outlive a SIGKILLed `up` until something reaps them"
    status = subprocess.run(
        artconf("emulators", "status"), env=env, capture_output=True, text=True, timeout=60
    )
    assert "reaped" in status.stderr
    wait_for(lambda: not alive(servers), 10, "reaped servers to exit")
    (session,) = (tmp_path / "sessions").iterdir()
    assert [p.name for p in session.iterdir()] == ["logs"], "the reaper keeps only the logs"


def test_up_status_down_with_tls(tmp_path):
    env = disk_env(tmp_path)
    up = subprocess.run(
        artconf("emulators", "up", "--tls", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        assert up.returncode == 0, up.stderr
        endpoints = json.loads(up.stdout)
        assert sorted(endpoints) == [
            "azurite-tls",
            "fake-gcs-tls",
            "git-http-tls",
            "kube-tls",
            "minio-tls",
            "moto-tls",
            "nginx-mtls-tls",
            "nginx-tls",
            "oss-tls",
        ]
        pids = [endpoints[k]["pid"] for k in endpoints]
        for endpoint in endpoints.values():
            assert endpoint["url"].startswith("https://127.0.0.1:")
            _answers_tls(endpoint["url"], endpoint["ca_bundle"])

        again = subprocess.run(
            artconf("emulators", "up"), env=env, capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 1
        assert "still running" in again.stderr and "Traceback" not in again.stderr

        status = subprocess.run(
            artconf("emulators", "status"), env=env, capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0 and status.stdout.count("running") == len(endpoints)
        for endpoint in endpoints.values():
            for value in endpoint["credentials"].values():
                if len(value) > 12:  # secrets, not identifiers like the account name
                    assert value not in status.stdout
    finally:
        down = subprocess.run(
            artconf("emulators", "down"), env=env, capture_output=True, text=True, timeout=60
        )
    assert down.returncode == 0
    wait_for(
        lambda: (
            not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
        ),
        10,
        "servers to stop",
    )
    assert list((tmp_path / "sessions").iterdir()) == [], "`down` removes the session directory"


def _answers_tls(url: str, ca_bundle: str) -> None:
    import requests

    with requests.Session() as session:
        session.trust_env = False
        response = session.get(url + "/", verify=ca_bundle, timeout=10)
    assert response.status_code < 600  # a TLS handshake with our CA and an HTTP answer


LOOPBACK = {"127.0.0.1", "::1"}


def test_servers_listen_only_on_loopback(artconf_server):
    """127.0.0.1 for every server; MinIO also adds ::1 by design (see emulators/minio.py)."""
    for key in ("minio", "minio-tls", "moto", "azurite", "fake-gcs", "fake-gcs-tls"):
        endpoint = artconf_server(key)
        proc = psutil.Process(endpoint.pid)
        listening = [
            c
            for p in [proc, *proc.children(recursive=True)]
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening, f"{key} listens nowhere?"
        addresses = {c.laddr.ip for c in listening}
        assert "127.0.0.1" in addresses and addresses <= LOOPBACK, (key, listening)
        if endpoint.server != "minio":
            assert addresses == {"127.0.0.1"}, (key, listening)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (("emulators", "up", "--only", "nosuch"), "unknown server(s) nosuch"),
        (("tools", "install", "--only", "nosuch"), "unknown tool(s) nosuch"),
    ],
)
def test_bad_names_are_one_line(tmp_path, argv, needle):
    result = subprocess.run(
        artconf(*argv), env=kit_env(tmp_path / "state"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode in (1, 2)
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_server_killed_from_outside_shows_dead_with_exit_code(tmp_path):
    env = disk_env(tmp_path)
    endpoints = emulators_up(env, "--only", "fake-gcs")
    try:
        server = psutil.Process(endpoints["fake-gcs"]["pid"])
        server.send_signal(signal.SIGKILL)
        wait_for(lambda: not alive([server]), 10, "the server to die")

        def status():
            return subprocess.run(
                artconf("emulators", "status"), env=env, capture_output=True, text=True
            )

        # the wrapper writes the exit code a moment after the server dies
        result = wait_for(
            lambda: (r := status()).returncode == 1 and "137" in r.stdout and r,
            10,
            "status to show the exit code",
        )
        assert "dead (exit code 137)" in result.stdout
    finally:
        subprocess.run(artconf("emulators", "down"), env=env, capture_output=True, timeout=60)


def test_doctor_reports_each_server(tmp_path):
    ok = subprocess.run(
        artconf("doctor", "--only", "fake-gcs,moto"),
        env=disk_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "fake-gcs   ok: v1.54.0" in ok.stdout and "moto       ok:" in ok.stdout
    missing = subprocess.run(
        artconf("doctor", "--only", "minio"),
        env=disk_env(tmp_path, ARTCONF_TOOLS_DIR=str(tmp_path / "none")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1
    assert "minio      not installed: minio is not installed: run `artconf tools install" in (
        missing.stdout
    )
    assert list((tmp_path / "sessions").iterdir()) == []
