"""A server that is down or dies makes its cases infra-errors, never driver failures."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import psutil
import pytest

from conformance.liveness import Liveness, ServerDown
from conformance.records import read_records
from emulators.endpoint import Endpoint
from tests.inner import emulators_up, kit_env, server_descendants, wait_for
from tests.watch import Command, wait_for_cases


def fake_endpoint(pid: int, port: int = 1) -> Endpoint:
    return Endpoint(
        name="minio", server="minio", url="", host="127.0.0.1", port=port, tls=False, pid=pid
    )


def test_a_running_case_is_interrupted_when_its_server_dies():
    """No retry storm: the case stops as soon as the watchdog sees the process gone."""
    server = subprocess.Popen(["sleep", "300"])
    liveness = Liveness()
    endpoint = fake_endpoint(server.pid)
    threading.Timer(0.5, server.kill).start()
    try:
        expected = f"server minio is down \\(pid {server.pid} exited"
        with pytest.raises(ServerDown, match=expected), liveness.watching(endpoint):
            for _ in range(600):  # a driver waiting out its retries: 60 s unless interrupted
                time.sleep(0.1)
    finally:
        server.kill()
        server.wait()
        liveness.close()
    assert "minio" in liveness.dead


def test_a_dead_server_stays_dead_and_a_live_one_is_not_signalled():
    live = subprocess.Popen(["sleep", "300"])
    try:
        liveness = Liveness()
        with liveness.watching(fake_endpoint(live.pid)):
            time.sleep(1)  # several polls of a live process: nothing raised
        assert liveness.check(fake_endpoint(live.pid)) is None
        liveness.close()
    finally:
        live.kill()
        live.wait()
    assert liveness.check(fake_endpoint(live.pid)) is not None
    assert liveness.dead["minio"].startswith("server minio is down")


def test_a_live_process_that_refuses_connections_is_down_for_its_cases():
    liveness = Liveness()
    me = psutil.Process().pid
    with_port = fake_endpoint(me, port=1)  # nothing listens on port 1
    assert liveness.check(with_port) is None  # the cheap check: the process lives
    assert "refuses connections" in liveness.check(with_port, connect=True)


def artconf_run(tmp_path, *args: str) -> Command:
    return Command(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "run",
            "--target",
            "reference",
            "-n",
            "2",
            "--backends",
            "minio",
            "--tls",
            "off",
            "--reports",
            str(tmp_path / "reports"),
            "--run-id",
            "r",
            *args,
        ],
        kit_env(tmp_path / "state"),
    )


def minio_outcomes(tmp_path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in read_records(tmp_path / "reports" / "r" / "records.jsonl"):
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    return counts


def test_a_server_dead_before_the_first_case_makes_every_case_an_infra_error(tmp_path):
    env = kit_env(tmp_path / "state")
    endpoints = emulators_up(env, "--only", "minio", "--tls", "off")
    try:
        (tmp_path / "ep.json").write_text(json.dumps(endpoints))
        psutil.Process(endpoints["minio"]["pid"]).kill()
        run = artconf_run(tmp_path, "--endpoints", str(tmp_path / "ep.json"))
        code, _, err = run.wait(timeout=300)
    finally:
        subprocess.run(
            [sys.executable, "-m", "conformance.cli", "emulators", "down"], env=env, timeout=60
        )
    assert code == 1, err
    counts = minio_outcomes(tmp_path)
    assert counts.get("infra-error", 0) > 100, counts  # every case that was not a declared skip
    assert set(counts) <= {"infra-error", "skip"}, counts


def minio_process(pid: int) -> psutil.Process | None:
    return next((p for p in server_descendants(pid) if p.name() == "minio"), None)


def test_a_server_killed_mid_run_fails_no_case(tmp_path):
    run = artconf_run(tmp_path)
    minio = wait_for(lambda: minio_process(run.proc.pid), 120, "the run's MinIO")
    wait_for_cases(run.output)  # some cases pass first
    minio.kill()
    code, _, err = run.wait(timeout=300)
    assert code == 1, err
    counts = minio_outcomes(tmp_path)
    assert counts.get("fail", 0) == 0 and counts.get("xpass", 0) == 0, counts
    assert counts.get("pass", 0) > 0 and counts.get("infra-error", 0) > 0, counts
