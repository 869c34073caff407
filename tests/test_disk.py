"""No disk left behind: session directories go when their servers stop (issue 10, item 4), and
`emulators up` keeps one state per checkout (item 8)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from conformance.commands.clean import parse_duration
from emulators import paths, sessions
from emulators.fleet import UsageError
from tests.inner import (
    alive,
    disk_env,
    emulators_up,
    pytest_argv,
    tree_bytes,
    wait_for,
    write_project,
)

MB = 10**6

WRITING_TESTS = """
    import json
    import os
    from pathlib import Path

    from conformance.kinds.s3 import client as s3_client

    def test_writes(artconf_server, artconf_private_server):
        for key in ("minio", "moto"):
            s3 = s3_client(artconf_server(key))
            s3.create_bucket(Bucket="disk")
            s3.put_object(Bucket="disk", Key="blob", Body=os.urandom(4 * 2**20))
        session = Path(artconf_server("minio").log).parents[1]
        private = Path(artconf_private_server("fake-gcs").log).parents[1]
        size = sum(p.stat().st_size for p in session.rglob("*") if p.is_file())
        out = {"session": str(session), "private": str(private), "bytes_during": size}
        Path(os.environ["INNER_OUT"]).write_text(json.dumps(out))
        assert os.environ.get("INNER_FAIL") != "1", "failing on purpose"
"""

SLOW_TEST = """
    import os
    import time
    from pathlib import Path

    from conformance.kinds.s3 import client as s3_client

    def test_slow(artconf_server):
        endpoint = artconf_server("minio")
        s3_client(endpoint).put_object  # a client, so the run is a real one
        out = Path(os.environ["INNER_OUT"])
        out.with_suffix(".tmp").write_text(str(Path(endpoint.log).parents[1]))
        out.with_suffix(".tmp").replace(out)
        time.sleep(120)
"""


def artconf(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance.cli", *args]


def run_inner(tmp_path: Path, source: str, *args: str, **env: str):
    root = write_project(tmp_path / "proj", source)
    out = tmp_path / "out.json"
    result = subprocess.run(
        pytest_argv(root, "--artconf-servers", "minio,moto", "--artconf-tls", "off", *args),
        env=disk_env(tmp_path, INNER_OUT=str(out), **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.exists(), result.stdout + result.stderr
    return result, json.loads(out.read_text())


# --- a pytest session removes its server data -------------------------------------------


def test_passing_session_leaves_nothing(tmp_path):
    result, out = run_inner(tmp_path, WRITING_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert out["bytes_during"] > 4 * MB, "MinIO keeps its objects in the session directory"
    assert not Path(out["session"]).exists()
    assert not Path(out["private"]).exists()
    assert list((tmp_path / "sessions").iterdir()) == []
    assert "kept in" not in result.stdout


def test_failing_session_keeps_only_logs(tmp_path):
    result, out = run_inner(tmp_path, WRITING_TESTS, INNER_FAIL="1")
    assert result.returncode == 1, result.stdout + result.stderr
    for root in (Path(out["session"]), Path(out["private"])):
        assert [p.name for p in root.iterdir()] == ["logs"]
        assert list((root / "logs").glob("*.log"))
    assert tree_bytes(tmp_path / "sessions") < 1 * MB
    assert f"server logs kept in {out['session']}/logs" in result.stdout


@pytest.mark.parametrize(
    "args, env",
    [(["--artconf-keep-data"], {}), ([], {"ARTCONF_KEEP_DATA": "1"})],
    ids=["option", "env"],
)
def test_keep_data_keeps_everything(tmp_path, args, env):
    result, out = run_inner(tmp_path, WRITING_TESTS, *args, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    session = Path(out["session"])
    assert {"minio", "moto", "logs"} <= {p.name for p in session.iterdir()}
    assert tree_bytes(session) > 4 * MB
    assert Path(out["private"]).exists()
    assert f"server data (kept on request) kept in {session}" in result.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_session_leaves_nothing(tmp_path, signum):
    root = write_project(tmp_path / "proj", SLOW_TEST)
    out = tmp_path / "out.txt"
    proc = subprocess.Popen(
        pytest_argv(root, "--artconf-servers", "minio,fake-gcs", "--artconf-tls", "off"),
        env=disk_env(tmp_path, INNER_OUT=str(out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(out.exists, 120, "the inner test to start")
        session = Path(out.read_text())
        assert (session / "minio").is_dir()
        proc.send_signal(signum)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0, output
    assert not session.exists(), output.decode(errors="replace")
    assert list((tmp_path / "sessions").iterdir()) == []


# --- the CLI's fleets -------------------------------------------------------------------


def test_probe_doctor_and_a_failing_run_leave_nothing(tmp_path):
    """`make report` is `emulators probe` then `artconf run`: neither may leave a session."""
    env = disk_env(tmp_path)
    reports = tmp_path / "reports"
    failing_run = artconf(
        "run",
        "--target",
        "python:tests.test_canary:truncating_driver",
        "--backends",
        "fake-gcs",
        "--tls",
        "off",
        "-n",
        "0",
        "-k",
        "test_open_stream_reads_what_save_wrote or test_open_stream_of_missing_key",
        "--reports",
        str(reports),
    )
    for argv, code in (
        (artconf("emulators", "probe", "--only", "fake-gcs,kube", "--tls", "both"), 0),
        (artconf("doctor", "--only", "fake-gcs"), 0),
        (failing_run, 1),  # its failing cases' logs go to the run directory instead
    ):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == code, result.stdout + result.stderr
        assert list((tmp_path / "sessions").iterdir()) == [], argv
    assert list((reports / "latest" / "logs").glob("*.log"))


def _up(env: dict[str, str], *args: str) -> dict:
    return emulators_up(env, "--only", "fake-gcs,kube", *args)


def _server_procs(endpoints: dict) -> list[psutil.Process]:
    return [psutil.Process(e["pid"]) for e in endpoints.values()]


def _session_of(endpoints: dict) -> Path:
    return Path(next(iter(endpoints.values()))["log"]).parents[1]


def test_two_checkouts_keep_separate_up_states(tmp_path):
    """`--state-dir` (A) and `ARTCONF_UP_STATE_DIR` (B): two checkouts' worth of `up`."""
    env = disk_env(tmp_path)
    env_b = {**env, "ARTCONF_UP_STATE_DIR": str(tmp_path / "b")}
    a = _up(env, "--state-dir", str(tmp_path / "a"))
    try:
        b = _up(env_b)  # before: "servers started by `artconf emulators up` are still running"
        procs_a, procs_b = _server_procs(a), _server_procs(b)
        session_a, session_b = _session_of(a), _session_of(b)
        assert session_a != session_b

        status = subprocess.run(
            artconf("emulators", "status", "--state-dir", str(tmp_path / "a")),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0 and str(a["kube"]["pid"]) in status.stdout
        assert str(b["kube"]["pid"]) not in status.stdout

        down_a = subprocess.run(
            artconf("emulators", "down", "--state-dir", str(tmp_path / "a")),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert down_a.stdout.strip() == "stopped fake-gcs, kube", down_a.stderr
        wait_for(lambda: not alive(procs_a), 10, "A's servers to stop")
        assert len(alive(procs_b)) == 2, "`down` in A stopped B's servers"
        assert not session_a.exists() and session_b.exists()
    finally:
        down_b = subprocess.run(
            artconf("emulators", "down"), env=env_b, capture_output=True, text=True, timeout=60
        )
    assert down_b.stdout.strip() == "stopped fake-gcs, kube", down_b.stderr
    wait_for(lambda: not alive(procs_b), 10, "B's servers to stop")
    assert list((tmp_path / "sessions").iterdir()) == []


def test_up_state_is_per_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTCONF_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("ARTCONF_UP_STATE_DIR", raising=False)
    monkeypatch.setattr(paths, "kit_root", lambda: tmp_path / "clone-a")
    a = paths.up_state_dir()
    assert a == paths.up_state_dir(), "stable for one checkout"
    monkeypatch.setattr(paths, "kit_root", lambda: tmp_path / "clone-b")
    b = paths.up_state_dir()
    assert a != b and a.parent == b.parent == tmp_path / "state" / "up"
    assert a.name.startswith("clone-a-") and b.name.startswith("clone-b-")
    monkeypatch.setenv("ARTCONF_UP_STATE_DIR", str(tmp_path / "env"))
    assert paths.up_state_dir() == tmp_path / "env"
    assert paths.up_state_dir(tmp_path / "option") == tmp_path / "option"


# --- artconf clean ----------------------------------------------------------------------


def _leftover(base: Path, name: str, age_seconds: float, size: int) -> Path:
    """A session directory as a killed run leaves it, last touched `age_seconds` ago."""
    path = base / name
    (path / "minio" / "data").mkdir(parents=True)
    (path / "logs").mkdir()
    (path / "minio" / "data" / "part.1").write_bytes(os.urandom(size))
    (path / "logs" / "minio.log").write_text("a log line\n")
    _age(path, age_seconds)
    return path


def _age(path: Path, age_seconds: float) -> None:
    when = time.time() - age_seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when, when), follow_symlinks=False)


def _clean(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        artconf("clean", *args), env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result


def test_clean_removes_leftovers_but_never_live_ones(tmp_path):
    env = disk_env(tmp_path)
    base = tmp_path / "sessions"
    base.mkdir()
    old = _leftover(base, "20200101-000000-pytest-999999999", 3 * 86400, 2 * MB)
    recent = _leftover(base, "20200101-000001-probe-999999998", 3600, 1 * MB)
    live_endpoints = _up(env, "--only", "fake-gcs")  # its directory is live: servers run
    try:
        live = _session_of(live_endpoints)
        _age(live, 10 * 86400)

        dry = _clean(env, "--dry-run")
        assert f"would remove {old} (2.0 MB)" in dry.stdout
        assert f"would remove {recent} (1.0 MB)" in dry.stdout
        assert "would free 3.0 MB" in dry.stdout
        assert old.exists() and recent.exists() and live.exists()

        older = _clean(env, "--older-than", "2d")
        assert older.stdout.splitlines() == [f"removed {old} (2.0 MB)", f"freed 2.0 MB in {base}"]
        assert not old.exists() and recent.exists()
        assert f"kept {live}" in older.stderr

        rest = _clean(env)
        assert f"removed {recent} (1.0 MB)" in rest.stdout
        assert not recent.exists() and live.exists()
    finally:
        subprocess.run(artconf("emulators", "down"), env=env, capture_output=True, timeout=60)
    assert list(base.iterdir()) == [], "`down` removes the session of `up`"


def test_clean_rejects_a_bad_duration(tmp_path):
    result = subprocess.run(
        artconf("clean", "--older-than", "soon"),
        env=disk_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "artconf: error: --older-than 'soon': write a number and a unit, e.g. 30m, 1h, 2d"
    ]


def test_parse_duration():
    assert [parse_duration(t) for t in ("90s", "30m", "1h", "2d", "1.5h")] == [
        90,
        1800,
        3600,
        172800,
        5400,
    ]
    with pytest.raises(UsageError):
        parse_duration("2 weeks")


# --- the rules, without servers ---------------------------------------------------------


@pytest.fixture
def session_root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ARTCONF_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ARTCONF_SESSIONS_DIR", str(tmp_path / "sessions"))
    root = sessions.new_session_dir("unit")
    for part in ("tls/ca.pem", "minio/data/part.1", "logs/minio.log"):
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        (root / part).write_text(part)
    return root


def test_finish_session_rules(session_root):
    assert sessions.finish_session(session_root, "all") == session_root
    assert (session_root / "minio" / "data" / "part.1").exists()
    assert sessions.finish_session(session_root, "logs") == session_root / "logs"
    assert [p.name for p in session_root.iterdir()] == ["logs"]
    assert sessions.finish_session(session_root, "none") is None
    assert not session_root.exists()


def test_finish_session_removes_what_a_killed_sshd_left_in_the_temp_dir(session_root):
    """A root kit's git-ssh serves from a temp directory linked from its instance (another
    user must reach it); a killed supervisor leaves it, and the session's end removes it."""
    outside = Path(tempfile.mkdtemp(prefix="artconf-git-"))
    try:
        (outside / "repos").mkdir()
        (session_root / "git-ssh").mkdir()
        (session_root / "git-ssh" / "repos").symlink_to(outside / "repos")
        assert sessions.linked_temp_dirs(session_root) == [outside]
        assert sessions.finish_session(session_root, "logs") == session_root / "logs"
        assert not outside.exists()
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_finish_session_without_logs_keeps_nothing(session_root):
    for log in (session_root / "logs").iterdir():
        log.unlink()
    assert sessions.finish_session(session_root, "logs") is None
    assert not session_root.exists()


def test_a_session_is_live_while_its_creator_runs(session_root):
    assert session_root.resolve() in sessions.live_sessions(session_root.parent)
    dead = session_root.parent / "20200101-000000-pytest-999999999"
    dead.mkdir()
    assert dead.resolve() not in sessions.live_sessions(session_root.parent)


def test_prune_removes_old_leftovers_beyond_the_newest_ten(session_root):
    base = session_root.parent
    old = [_leftover(base, f"20200101-00000{i}-pytest-999999999", 7200, 10) for i in range(3)]
    young = [_leftover(base, f"20200101-0001{i:02d}-pytest-999999999", 60, 10) for i in range(12)]
    newest = sessions.new_session_dir("unit")  # 17 in all: the 7 oldest are candidates
    left = set(base.iterdir())
    assert not left & set(old), "leftovers older than an hour beyond the newest ten go"
    assert left == {*young, session_root, newest}, "younger than an hour: kept"
