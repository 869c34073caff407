"""The Docker engine's lifecycle: leases decide when the kit's own dockerd stops.

These tests replace the daemon with a stand-in (what `docker version` answers, what starting and
stopping do), so they run everywhere; the container lane (tests/test_containers.py) runs the
real engine.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from emulators import engine


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    """A stand-in dockerd in a private engine directory; records starts and stops."""
    monkeypatch.setenv("ARTCONF_ENGINE_DIR", str(tmp_path / "engine"))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "SYSTEM_HOST", f"unix://{tmp_path / 'no-system.sock'}")
    state = {"running": False, "starts": 0, "stops": 0}

    def version(host, timeout=5.0):
        return ("20.10.24", "") if state["running"] else (None, "not running")

    def start(timeout):
        state["running"], state["starts"] = True, state["starts"] + 1
        return "20.10.24"

    def stop():
        state["running"], state["stops"] = False, state["stops"] + 1

    monkeypatch.setattr(engine, "server_version", version)
    monkeypatch.setattr(engine, "_start", start)
    monkeypatch.setattr(engine, "_stop", stop)
    monkeypatch.setattr(engine, "_pid", lambda: 4242 if state["running"] else None)
    return state


def test_the_last_lease_stops_the_engine_and_not_before(daemon):
    fleet = engine.acquire()
    tests = engine.acquire()  # a second holder in the same process
    assert daemon["starts"] == 1 and fleet.ours and fleet.lease != tests.lease
    assert engine.release(fleet) is False
    assert daemon["running"]
    assert engine.release(tests) is True
    assert daemon["stops"] == 1 and not daemon["running"]


def test_a_lease_whose_process_died_does_not_keep_the_engine(daemon):
    held = engine.acquire()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (held.lease.parent / f"{dead.stdout.strip()}-1.000-deadbeef").touch()
    assert engine.release(held) is True


def test_reap_stops_an_engine_nobody_holds(daemon, tmp_path):
    held = engine.acquire()
    assert engine.reap() is False  # a live lease: a run is using it
    held.lease.unlink()  # as if its process had been killed
    (tmp_path / "engine" / "dockerd.pid").write_text("4242")
    assert engine.reap() is True and daemon["stops"] == 1


def test_a_users_engine_is_used_and_never_stopped(daemon, monkeypatch):
    daemon["running"] = True
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    held = engine.acquire()
    assert (held.host, held.ours, held.lease) == ("tcp://127.0.0.1:2375", False, None)
    assert engine.release(held) is False
    assert daemon == {"running": True, "starts": 0, "stops": 0}


def test_a_users_engine_that_does_not_answer_is_an_error_naming_it(daemon, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(engine.EngineError, match="DOCKER_HOST=unix:///nonexistent"):
        engine.acquire()
    works, how = engine.availability()
    assert not works and "DOCKER_HOST=unix:///nonexistent/docker.sock does not answer" in how


def test_the_kits_dockerd_never_touches_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTCONF_ENGINE_DIR", str(tmp_path / "engine"))
    (tmp_path / "engine").mkdir()
    monkeypatch.setattr(engine, "dockerd_binary", lambda: "/usr/sbin/dockerd")
    monkeypatch.setattr(engine, "docker_cli", lambda: "/usr/bin/docker")
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    seen = []

    def popen(argv, **kwargs):
        seen.append(argv)
        raise OSError("not started in this test")

    monkeypatch.setattr(engine.subprocess, "Popen", popen)
    with pytest.raises(OSError):
        engine._start(1.0)
    argv = seen[0]
    for flag in engine.NETWORK_FLAGS:
        assert flag in argv
    assert argv[argv.index("--data-root") + 1] == str(tmp_path / "engine" / "data")
    assert argv[argv.index("--config-file") + 1] == str(tmp_path / "engine" / "daemon.json")


def test_without_root_the_kit_says_to_set_docker_host(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTCONF_ENGINE_DIR", str(tmp_path / "engine"))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "SYSTEM_HOST", f"unix://{tmp_path / 'no-system.sock'}")
    monkeypatch.setattr(engine, "dockerd_binary", lambda: "/usr/sbin/dockerd")
    monkeypatch.setattr(engine, "docker_cli", lambda: "/usr/bin/docker")
    monkeypatch.setattr(engine, "server_version", lambda host, timeout=5.0: (None, "no"))
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    works, how = engine.availability()
    assert not works and "needs root" in how and "DOCKER_HOST" in how
    with pytest.raises(engine.EngineError, match="needs root"):
        engine.acquire()


def test_a_container_run_without_an_engine_is_a_start_error_saying_why(tmp_path, monkeypatch):
    from emulators.fleet import Fleet

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with Fleet(tmp_path / "session", launcher="containers") as fleet:
        fleet.start([("fake-gcs", "fake-gcs", False)])
    assert list(fleet.errors) == ["fake-gcs"]
    assert (
        "no Docker engine: DOCKER_HOST=unix:///nonexistent/docker.sock does not answer"
        in (fleet.errors["fake-gcs"])
    )
