"""The process launcher: readiness, failures with the log tail, bind retries, clean stops."""

from __future__ import annotations

import sys
import threading

import psutil
import pytest

from emulators import launcher
from emulators.launcher import Command, ServerStartError, StartCancelled
from emulators.processes import load_records

HTTP_SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]


def _http_ready(port: int) -> bool:
    import requests

    with requests.Session() as session:
        session.trust_env = False
        return session.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200


@pytest.fixture(autouse=True)
def _own_state(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTCONF_STATE_DIR", str(tmp_path / "state"))


def test_ready_by_probe_then_stopped(tmp_path):
    running = launcher.start(
        "web", lambda p: Command([*HTTP_SERVER, str(p)]), _http_ready, log_dir=tmp_path
    )
    pid = running.pid
    assert psutil.Process(pid).cmdline()[-1] == str(running.port)
    assert [r.pid for r in load_records()] == [pid]
    running.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert load_records() == []


def test_exit_before_ready_carries_log_tail_and_code(tmp_path):
    crash = Command(["sh", "-c", "echo 'fatal: the disk is on fire' >&2; exit 3"])
    with pytest.raises(ServerStartError) as err:
        launcher.start("crashy", lambda p: crash, _http_ready, log_dir=tmp_path)
    message = str(err.value)
    assert "crashy: exited with code 3 before it was ready" in message
    assert "fatal: the disk is on fire" in message
    assert load_records() == []


def test_timeout_names_the_limit_and_stops_the_process(tmp_path):
    spawned = []

    def command(port: int) -> Command:
        return Command(["sh", "-c", "echo still warming up; exec sleep 60"])

    def never_ready(port: int) -> bool:
        spawned.extend(load_records())
        return False

    with pytest.raises(ServerStartError) as err:
        launcher.start("slow", command, never_ready, log_dir=tmp_path, timeout=0.5)
    assert "not ready after 0 s" in str(err.value) or "not ready after 1 s" in str(err.value)
    assert "still warming up" in str(err.value)
    assert spawned and not any(
        psutil.pid_exists(r.pid) and psutil.Process(r.pid).status() != "zombie" for r in spawned
    )


def test_bind_failure_retries_on_a_new_port(tmp_path):
    ports = []

    def command(port: int) -> Command:
        ports.append(port)
        if len(ports) == 1:
            return Command(
                [
                    "sh",
                    "-c",
                    f"echo 'listen tcp 127.0.0.1:{port}: bind: address already in use'; exit 1",
                ]
            )
        return Command([*HTTP_SERVER, str(port)])

    running = launcher.start("web", command, _http_ready, log_dir=tmp_path)
    try:
        assert len(ports) == 2 and running.port == ports[1]
        assert "retrying on a new port" in running.log.read_text()
    finally:
        running.stop()


def test_bind_failure_gives_up_after_three_ports(tmp_path):
    taken = Command(["sh", "-c", "echo 'bind: address already in use'; exit 1"])
    with pytest.raises(ServerStartError, match="could not bind a port after 3 attempts"):
        launcher.start("web", lambda p: taken, _http_ready, log_dir=tmp_path)


def test_cancel_stops_a_starting_server(tmp_path):
    cancel = threading.Event()
    seen = []

    def probe(port: int) -> bool:
        seen.extend(load_records())
        cancel.set()
        return False

    with pytest.raises(StartCancelled):
        launcher.start(
            "slow", lambda p: Command(["sleep", "60"]), probe, log_dir=tmp_path, cancel=cancel
        )
    assert seen and load_records() == []


def test_wrapper_starts_nothing_when_its_owner_dies_before_the_record(tmp_path):
    """The server starts only after the go line: a kit killed between spawning and saving the
    process record (EOF on the wrapper's stdin) leaves no unrecorded server behind."""
    import subprocess

    marker = tmp_path / "started"
    wrapper = subprocess.Popen(
        ["sh", "-c", launcher._WRAPPER, "sh", "touch", str(marker)],
        stdin=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "ARTCONF_EXIT_FILE": str(tmp_path / "exit")},
    )
    wrapper.stdin.close()  # what the kernel does when the owner is SIGKILLed
    assert wrapper.wait(timeout=10) == 0
    assert not marker.exists()

    released = subprocess.Popen(
        ["sh", "-c", launcher._WRAPPER, "sh", "touch", str(marker)],
        stdin=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "ARTCONF_EXIT_FILE": str(tmp_path / "exit")},
    )
    released.communicate(b"go\n", timeout=10)
    assert marker.exists(), "the go line starts the server"


class _SignalsInItsFinaliser:
    """Delivers Ctrl-C while its finaliser runs: Python prints that KeyboardInterrupt as
    "Exception ignored" and drops it (what the garbage collector did inside a probe)."""

    def __del__(self) -> None:
        import os
        import signal
        import time

        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, inside the finaliser


def test_a_ctrl_c_lost_in_a_finaliser_still_stops_the_start(tmp_path):
    probes = []

    def probe(port: int) -> bool:
        probes.append(port)
        _SignalsInItsFinaliser()  # dropped at once: its finaliser swallows the interrupt
        return False

    with launcher.ctrl_c_noted(), pytest.raises(KeyboardInterrupt):
        launcher.start("slow", lambda p: Command(["sleep", "60"]), probe, log_dir=tmp_path)
    assert len(probes) == 1  # stopped at the next turn of the wait, not at the timeout
    assert load_records() == []
