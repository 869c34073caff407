"""The container launcher: every server kind runs as a container and proves what it proves natively.

The tests that take `docker_host` need a Docker engine: `DOCKER_HOST`'s, the system's, or the
kit's own dockerd (Debian's docker.io, started as root). Where none can be had they SKIP saying
why, and are an ERROR instead when `ARTCONF_REQUIRE` names `containers` (as `make test` does).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emulators import containers, engine, images
from emulators.endpoint import Endpoint
from emulators.fleet import Fleet
from emulators.sessions import new_session_dir
from tests.inner import REPO, emulators_up, kit_env, pytest_argv, wait_for, write_project
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


def labelled(host: str, label: str, value: str | None) -> list[str]:
    return [c.name for c in containers.labelled(host, label, value)]


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
        theirs = [
            c.name
            for c in containers.labelled(docker_host, containers.LABEL_OWNER)
            if c.labels[containers.LABEL_OWNER].split("-")[0] == str(proc.pid)
        ]
        assert len(theirs) == 1 and owner != str(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert theirs[0] in labelled(docker_host, containers.LABEL_OWNER, None)  # left behind
    removed = containers.reap_orphans(docker_host)
    assert theirs[0] in removed
    assert theirs[0] not in labelled(docker_host, containers.LABEL_OWNER, None)


def test_ctrl_c_on_artconf_run_leaves_no_container(docker_host, tmp_path):
    argv = [
        sys.executable, "-m", "conformance.cli", "run",
        "--artconf-launcher", "containers",
        "--backends", "minio,fake-gcs", "--tls", "off", "-n", "2",
        "--reports", str(tmp_path / "reports"), "--run-id", "r1",
    ]  # fmt: skip
    run = Command(argv, kit_env(tmp_path / "state"))

    def theirs() -> list[str]:
        found = []
        for c in containers.labelled(docker_host, containers.LABEL_OWNER):
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


def test_emulators_up_status_down_with_containers(docker_host, tmp_path):
    """`up` outlives its process: its containers survive the sweep until `down` removes them."""
    env = kit_env(tmp_path / "state", ARTCONF_SESSIONS_DIR=str(tmp_path / "sessions"))
    endpoints = emulators_up(env, "--launcher", "containers", "--only", "fake-gcs")
    endpoint = Endpoint.from_dict({"name": "fake-gcs", **endpoints["fake-gcs"]})
    assert endpoint.launcher == "containers"
    session = Path(endpoint.log).parent.parent.name
    assert len(labelled(docker_host, containers.LABEL_SESSION, session)) == 1
    assert containers.reap_orphans(docker_host) == []  # its owner, `up`, is gone: handed over
    gcs_roundtrip(endpoint)
    cli = [sys.executable, "-m", "conformance.cli", "emulators"]
    status = subprocess.run([*cli, "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 0 and "fake-gcs" in status.stdout and "running" in status.stdout
    down = subprocess.run([*cli, "down"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert labelled(docker_host, containers.LABEL_SESSION, session) == []
    assert not (tmp_path / "sessions" / session).exists()


@pytest.fixture
def official_layout(docker_host):
    """A local image laid out as fake-gcs-server's official one (`/bin/fake-gcs-server`), as
    if pulled: the override path runs without a registry."""
    from emulators import tools

    ref = "artconf-test/fake-gcs-server:official-layout"
    members = images.complete(
        [
            *images._base_members(),
            images._copied(str(tools.binary("fake-gcs")), "/bin/fake-gcs-server"),
        ]
    )
    cli = [engine.docker_cli(), "-H", docker_host]
    importer = subprocess.Popen([*cli, "import", "-", ref], stdin=subprocess.PIPE)
    images.write_tar(members, importer.stdin)
    importer.stdin.close()
    assert importer.wait(timeout=120) == 0
    yield ref
    subprocess.run([*cli, "rmi", ref], capture_output=True, check=False)


def test_an_official_image_replaces_the_local_one(official_layout, monkeypatch):
    monkeypatch.setenv("ARTCONF_IMAGE_FAKE_GCS", official_layout)
    with Fleet(new_session_dir("containers-test"), launcher="containers") as fleet:
        endpoint = fleet.start_one("fake-gcs", "fake-gcs", False)
        assert endpoint.version == official_layout  # not the kit's pin
        wrapped = fleet.started["fake-gcs"].running.container.get_wrapped_container()
        assert wrapped.attrs["Config"]["Image"] == official_layout
        assert wrapped.attrs["Config"]["Entrypoint"] == ["/bin/fake-gcs-server"]
        gcs_roundtrip(endpoint)


def test_an_official_image_that_cannot_be_pulled_says_so(docker_host, monkeypatch):
    monkeypatch.setenv("ARTCONF_IMAGE_FAKE_GCS", "registry.invalid/nothing:1")
    with Fleet(new_session_dir("containers-test"), launcher="containers") as fleet:
        fleet.start([("fake-gcs", "fake-gcs", False)])
    why = fleet.errors["fake-gcs"]
    assert "cannot pull registry.invalid/nothing:1 (ARTCONF_IMAGE_FAKE_GCS)" in why, why


def test_an_unknown_launcher_in_the_environment_is_a_usage_error(tmp_path):
    project = write_project(tmp_path / "p", "def test_x():\n    pass\n")
    env = kit_env(tmp_path / "state", ARTCONF_LAUNCHER="bogus")
    run = subprocess.run(pytest_argv(project), env=env, capture_output=True, text=True)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "ARTCONF_LAUNCHER: launcher must be one of native, containers, not 'bogus'" in (
        run.stderr
    )
    assert "Traceback" not in run.stderr
