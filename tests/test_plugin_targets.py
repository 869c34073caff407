"""Plugin targets (`plugin:SOCKET`, `plugin-exec:COMMAND`): declarations, the matrix through a
plugin, and bad plugins that must end in a clear error, never a hang (issue 13)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import grpc
import pytest

from conformance import plugin_targets
from conformance.capabilities import argo_capabilities
from conformance.matrix import cells
from conformance.targets import TargetError, parse_target
from drivers.core.context import DriverContext
from drivers.core.errors import Code
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from drivers.plugin.client import PluginDriver, PluginError
from tests.matrix_runs import failing_cells, run_matrix, verified_cells
from tests.test_reference_matrix import expected_cells

SERVE = "plugin-exec:artconf plugin serve"
MEMORY = f"{SERVE} --target python:tests.memory_driver:make"


def artifact(key: str):
    return parse_artifact(
        {"name": "a", "s3": {"endpoint": "127.0.0.1:1", "bucket": "b", "key": key}}
    )


# ------------------------------------------------------------------ declarations


def test_the_kits_own_plugin_is_declared_as_the_drivers_it_serves():
    reference = parse_target("reference")
    served = parse_target(SERVE)
    try:
        assert set(served.kinds) == {
            "s3",
            "gcs",
            "azure",
            "http",
            "artifactory",
            "raw",
            "git",
            "hdfs",
            "oss",
        }
        for kind in served.kinds:
            assert served.capabilities(kind) == reference.capabilities(kind)
        assert served.deviations == frozenset()
    finally:
        plugin_targets.close_target(served)
    only = parse_target(f"{SERVE} --driver gcs")
    assert only.kinds == ("gcs",)


def test_a_declaration_file_beside_the_socket_wins_over_argos_set(tmp_path):
    path = tmp_path / "mine" / "socket"
    path.parent.mkdir()
    bare = parse_target(f"plugin:{path}")
    assert bare.declared is None and bare.capabilities("s3") == argo_capabilities("s3")
    (path.parent / "artconf-plugin.yaml").write_text("kinds: [s3]\ncapabilities: [load, save]\n")
    declared = parse_target(f"plugin:{path}")
    assert declared.kinds == ("s3",)
    assert {c.value for c in declared.capabilities("s3")} == {"load", "save"}
    assert "artconf-plugin.yaml" in declared.declared_by
    (path.parent / "artconf-plugin.yaml").write_text("kinds: [s3]\nfeatures: [x]\n")
    with pytest.raises(TargetError, match=r"unknown field\(s\) \['features'\]"):
        parse_target(f"plugin:{path}")


def test_a_declaration_given_on_the_command_line_wins(tmp_path, monkeypatch):
    path = tmp_path / "mine" / "socket"
    path.parent.mkdir()
    (path.parent / "artconf-plugin.yaml").write_text("kinds: [s3]\ncapabilities: [load]\n")
    given = tmp_path / "given.yaml"
    given.write_text("kinds: [gcs]\ncapabilities: {gcs: [save]}\n")
    monkeypatch.setenv(plugin_targets.DECLARATION_ENV, str(given))
    target = parse_target(f"plugin:{path}")
    assert target.kinds == ("gcs",) and {c.value for c in target.capabilities("gcs")} == {"save"}
    missing = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--target", f"plugin:{path}",
         "--declaration", str(tmp_path / "absent.yaml")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 2
    assert "--declaration" in missing.stderr and "no such file" in missing.stderr


def test_a_command_that_is_not_there_is_refused_at_once():
    with pytest.raises(TargetError, match="not an executable on PATH"):
        parse_target("plugin-exec:/nowhere/my-plugin --flag")
    with pytest.raises(TargetError, match="plugin-exec:COMMAND"):
        parse_target("plugin-exec:")


# ------------------------------------------------------------------ bad plugins


def _driver(factory):
    return factory(artifact(""), MemorySecretSource({}), DriverContext(ca_bundle=None))


def test_a_socket_never_created_fails_with_argos_message(monkeypatch):
    monkeypatch.setenv(plugin_targets.SOCKET_WAIT_ENV, "2")
    factory = plugin_targets.exec_factory(
        [sys.executable, "-c", "import time; time.sleep(60)"], "sleepy"
    )
    try:
        with pytest.raises(PluginError) as failed:
            _driver(factory)
    finally:
        factory.processes.close()
    assert "plugin sleepy expected unix socket at" in str(failed.value)
    assert "but it does not exist after waiting for 2 seconds" in str(failed.value)


def test_a_plugin_that_exits_at_start_is_reported_at_once_with_its_output(monkeypatch):
    monkeypatch.setenv(plugin_targets.SOCKET_WAIT_ENV, "120")
    script = "import sys; print('config missing: PLUGIN_TOKEN'); sys.exit(4)"
    factory = plugin_targets.exec_factory([sys.executable, "-c", script], "broken")
    try:
        with pytest.raises(PluginError) as failed:
            _driver(factory)
    finally:
        factory.processes.close()
    message = str(failed.value)
    assert "plugin broken exited before creating its socket" in message
    assert "exit 4" in message and "config missing: PLUGIN_TOKEN" in message


def test_a_plugin_crashing_mid_stream_fails_the_read_and_the_next_case_gets_a_new_one(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("MEMORY_DRIVER_ROOT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    target = parse_target(MEMORY)
    try:
        driver = _driver(target.new_driver)
        stream = driver.open_stream(artifact("crash-mid-stream"))
        assert stream.read(4) == b"half"
        with pytest.raises(Exception) as failed:
            stream.read()
        assert failed.value.code is Code.INTERNAL
        assert "plugin artconf stream receive failed: rpc error: code = " in str(failed.value)
        assert "the plugin process ended (exit 3)" in str(failed.value)
        (tmp_path / "after.txt").write_bytes(b"fresh process")
        again = _driver(target.new_driver)
        assert again.open_stream(artifact("after.txt")).read() == b"fresh process"
    finally:
        plugin_targets.close_target(target)


def _garbage_listener(path: Path) -> threading.Thread:
    """Something on the socket that answers every connection with bytes that are not HTTP/2."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    listener.settimeout(10)

    def answer():
        try:
            while True:
                conn, _ = listener.accept()
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nthis is not gRPC\r\n")
                conn.close()
        except OSError:
            listener.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


def test_a_socket_that_speaks_garbage_times_out_like_argo(tmp_path):
    path = tmp_path / "socket"
    _garbage_listener(path)
    with pytest.raises(PluginError, match=r"timeout waiting for plugin junk connection to become"):
        PluginDriver("junk", path, connection_timeout=2)


def test_frames_that_are_not_open_stream_responses_fail_the_read(tmp_path):
    def garbage(request, context):
        yield b"\xff\xff\xff\xff garbage frame"

    handler = grpc.method_handlers_generic_handler(
        "artifact.ArtifactService",
        {
            "OpenStream": grpc.unary_stream_rpc_method_handler(
                garbage, request_deserializer=None, response_serializer=None
            )
        },
    )
    server = grpc.server(__import__("concurrent.futures").futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers((handler,))
    path = tmp_path / "socket"
    server.add_insecure_port(f"unix:{path}")
    server.start()
    try:
        driver = PluginDriver("junk", path)
        with pytest.raises(PluginError, match=r"plugin junk stream receive failed: rpc error"):
            driver.open_stream(artifact("k")).read()
        driver.close()
    finally:
        server.stop(None).wait()


def test_a_killed_run_leaves_no_plugin_behind(tmp_path):
    """The plugin dies with the process that started it, even when that one is SIGKILLed."""
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from conformance import plugin_targets
        f = plugin_targets.exec_factory([sys.executable, "-c", "import time; time.sleep(300)"], "p")
        process, _, _ = f.processes.process_for(plugin_targets.DriverContext(ca_bundle=None))
        print(process.pid, flush=True)
        time.sleep(300)
        """
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # what the killed run leaves stays in tmp_path
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    for _ in range(50):
        if not Path(f"/proc/{child}").exists() or _zombie(child):
            break
        threading.Event().wait(0.1)
    assert not Path(f"/proc/{child}").exists() or _zombie(child), "the plugin outlived its run"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


# ------------------------------------------------------------------ the matrix through a plugin


def test_the_matrix_through_the_kits_plugin_verifies_what_the_reference_does(
    tmp_path, artconf_server
):
    """Acceptance: `artconf run --target plugin-exec:"artconf plugin serve"` gives the same
    verified cells as the reference (every backend, both modes)."""
    result, records = run_matrix(artconf_server, tmp_path, target=SERVE, backends=None)
    assert records, result.stdout[-3000:] + result.stderr[-3000:]
    assert failing_cells(records) == set(), result.stdout[-5000:]
    assert result.returncode == 0, result.stderr[-3000:]
    table = cells(records)
    verified = verified_cells(records)
    unprovable = set(plugin_targets.UNPROVABLE)
    storage = {cell for cell in expected_cells() if cell[0] != "resolution"}
    assert verified == {c for c in storage if c[1] not in unprovable}, {
        "missing": sorted(storage - verified),
        "extra": sorted(verified - storage),
    }
    # What the kit cannot watch through a plugin is said so, never verified nor failed; a kind
    # without the capability at all (Azure has no addressing style) stays unsupported-by-driver.
    provable = {(d, c, col) for d, c, col in storage if c in unprovable}
    keys = zip(table.driver, table.capability, table.column, strict=True)
    watched = table[[key in provable for key in keys]]
    assert len(watched) == len(provable), watched
    assert set(watched.state) == {"unsupported-by-backend"}, watched
    others = table[table.capability.isin(unprovable)].drop(watched.index)
    assert set(others.state) <= {"unsupported-by-driver"}, others
    reasons = {r.reason for r in records if (r.driver, r.capability) in {p[:2] for p in provable}}
    assert reasons and all("cannot prove" in r and "plugin" in r for r in reasons), reasons


def test_a_go_plugin_from_outside_runs_with_nothing_but_its_command(tmp_path, artconf_server):
    """Acceptance: a plugin in another language, outside the repository (the argo-go program's
    own server mode, built into the tool cache), runs through `plugin-exec:` given only its
    command: no declaration, so Argo's set for each kind it serves. It is Argo, declaring no
    deviation: it may fail only the cases a deviation row says Argo fails."""
    from drivers.plugin import argo_go

    binary = argo_go.binary()
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target=f"plugin-exec:{binary}",
        backends=("minio",),
        tls="off",
        k="test_roundtrip or test_streaming",
        shared_servers=True,
    )
    assert records, result.stdout[-3000:] + result.stderr[-3000:]
    assert {r.driver for r in records} == {"s3"}
    assert sum(r.outcome == "pass" for r in records) > 20
    failing = {r.case for r in records if r.outcome in ("fail", "xpass", "infra-error")}
    with_rows = {"test_roundtrip::test_save_above_part_size_is_multipart"}
    assert failing <= with_rows, failing - with_rows
