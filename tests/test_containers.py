"""The container launcher: every server kind runs as a container and proves what it proves natively.

These tests need a Docker engine: `DOCKER_HOST`'s, or the kit's own dockerd (Debian's docker.io,
started as root). Where none can be had they SKIP saying why, and are an ERROR instead when
`ARTCONF_REQUIRE` names `containers` (as `make test` does).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from emulators import containers, images
from emulators.fleet import Fleet
from emulators.sessions import new_session_dir
from tests.inner import REPO, kit_env, wait_for
from tests.matrix_runs import failing_cells, run_matrix, verified_cells
from tests.test_reference_matrix import expected_cells
from tests.test_server_roundtrip import azure_roundtrip, gcs_roundtrip, s3_roundtrip
from tests.watch import Command, wait_for_cases

ROUNDTRIPS = {
    "minio": s3_roundtrip,
    "moto": s3_roundtrip,
    "azurite": azure_roundtrip,
    "fake-gcs": gcs_roundtrip,
}


def labelled(host: str, label: str, value: str) -> list[str]:
    client = containers.docker_client(host)
    return [c.name for c in client.containers.list(all=True, filters={"label": f"{label}={value}"})]


@pytest.mark.parametrize("kind", sorted(ROUNDTRIPS))
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_each_server_runs_as_a_container_and_leaves_nothing(docker_host, kind, tls):
    root = new_session_dir("containers-test")
    with Fleet(root, launcher="containers") as fleet:
        key = kind + ("-tls" if tls else "")
        endpoint = fleet.start_one(key, kind, tls)
        assert endpoint.launcher == "containers"
        names = labelled(docker_host, containers.LABEL_SESSION, root.name)
        assert names == [f"artconf-{root.name}-{key}"], names
        image = containers.docker_client(docker_host).containers.get(names[0]).image.tags
        assert image == [images.IMAGES[kind].tag()]
        ROUNDTRIPS[kind](endpoint)  # the same bytes back, through the real client
        running = fleet.started[key].running
        assert running.alive() and running.rss_bytes() > 0
        log = running.log
    assert labelled(docker_host, containers.LABEL_SESSION, root.name) == []
    assert not root.exists()
    assert not log.exists()


def test_a_server_that_dies_reports_its_exit_code(docker_host):
    with Fleet(new_session_dir("containers-test"), launcher="containers") as fleet:
        fleet.start_one("fake-gcs", "fake-gcs", False)
        running = fleet.started["fake-gcs"].running
        running.container.get_wrapped_container().kill(signal="SIGKILL")
        wait_for(lambda: not running.alive(), 10, "the container's server to die")
        exit_file = running.log.with_suffix(".exit")
        wait_for(exit_file.exists, 10, "the exit code to be recorded")
        assert exit_file.read_text().strip() == "137"


def test_a_killed_kit_leaves_containers_the_next_run_removes(docker_host, tmp_path):
    """SIGKILL skips every cleanup: the owner label lets the next kit command find them."""
    script = (
        "from emulators.fleet import Fleet; from emulators.sessions import new_session_dir; "
        "import time; f = Fleet(new_session_dir('killed'), launcher='containers'); "
        "f.start_one('fake-gcs', 'fake-gcs', False); print('READY', flush=True); time.sleep(300)"
    )
    env = kit_env(tmp_path / "state", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        owner = containers.owner_label().split("-")[0]  # ours, not the child's
        client = containers.docker_client(docker_host)
        theirs = [
            c.name
            for c in client.containers.list(filters={"label": containers.LABEL_OWNER})
            if c.labels[containers.LABEL_OWNER].split("-")[0] == str(proc.pid)
        ]
        assert len(theirs) == 1 and owner != str(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert theirs[0] in [c.name for c in client.containers.list(all=True)]  # left behind
    removed = containers.reap_orphans(docker_host)
    assert theirs[0] in removed
    assert theirs[0] not in [c.name for c in client.containers.list(all=True)]


def test_ctrl_c_on_artconf_run_leaves_no_container(docker_host, tmp_path):
    argv = [
        sys.executable, "-m", "conformance.cli", "run",
        "--artconf-launcher", "containers",
        "--backends", "minio,fake-gcs", "--tls", "off", "-n", "2",
        "--reports", str(tmp_path / "reports"), "--run-id", "r1",
    ]  # fmt: skip
    run = Command(argv, kit_env(tmp_path / "state"))
    client = containers.docker_client(docker_host)

    def theirs() -> list[str]:
        found = []
        for c in client.containers.list(all=True, filters={"label": containers.LABEL_OWNER}):
            pid = int(c.labels[containers.LABEL_OWNER].split("-")[0])
            if pid != os.getpid() and pid in run.tree.seen:
                found.append(c.name)
        return found

    wait_for_cases(run.output)
    seen = wait_for(theirs, 30, "the run's containers")
    assert {n.rsplit("-", 1)[-1] for n in seen} >= {"minio", "gcs"}, seen  # the shared fleet's
    code, _, err = run.interrupt(signal.SIGINT)
    assert code == 128 + signal.SIGINT, err
    assert "Traceback" not in err
    assert theirs() == []  # the shared fleet's and any private server's (a region, a domain)
    meta = json.loads((tmp_path / "reports" / "r1" / "run.json").read_text())
    assert meta["partial"] is True


def test_the_matrix_in_containers_verifies_what_native_verifies(docker_host, tmp_path):
    """The full default matrix, every server in a container: the same expected cells."""
    result, records = run_matrix(
        None, tmp_path, backends=None, tls="both", env={"ARTCONF_LAUNCHER": "containers"}
    )
    assert records, result.stdout[-3000:] + result.stderr[-3000:]
    assert failing_cells(records) == set(), result.stdout[-5000:]
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    in_containers = {k for k, v in meta["servers"].items() if v.endswith("(container)")}
    assert in_containers == {f"{kind}{mode}" for kind in ROUNDTRIPS for mode in ("", "-tls")}, meta[
        "servers"
    ]
    missing = sorted(expected_cells() - verified_cells(records))
    assert missing == [], f"verified natively, not in containers: {missing}"


def test_doctor_says_which_launcher_works(docker_host, tmp_path):
    env = kit_env(tmp_path / "state")
    argv = [sys.executable, "-m", "conformance.cli", "doctor", "--only", "fake-gcs"]
    doctor = subprocess.run(
        [*argv, "--launcher", "containers"], env=env, capture_output=True, text=True, timeout=120
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    assert "launcher containers: ok: the servers above started as containers" in lines[-1]
    assert lines[-2] == "launcher native: ok: needs no engine (not tried here)"


def test_require_names_the_container_lane_beside_servers(monkeypatch):
    from emulators.pytest_plugin import containers_required, required_servers

    monkeypatch.setenv("ARTCONF_REQUIRE", "minio, containers,kube")
    assert required_servers() == ["minio", "kube"] and containers_required()
    monkeypatch.setenv("ARTCONF_REQUIRE", "minio")
    assert not containers_required()
