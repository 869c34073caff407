"""The plugin protocol both ways (spec 1.4): the kit's server and Argo's client semantics.

Both ends are the kit's here, over a real unix socket and real gRPC, with a driver that keeps
objects in a directory (tests/memory_driver.py): what is checked is the wire (frames, error
text and codes, SaveStream and its fallback, the socket's life), not a storage server. The
matrix through a plugin, Argo's own client against the server and bad plugins as processes are
in tests/test_plugin_targets.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest, Code, NotFound
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from drivers.plugin import artifact_pb2 as pb
from drivers.plugin import configuration, server, wire
from drivers.plugin.client import PluginDriver, PluginError
from tests.memory_driver import MemoryDriver

REPO = Path(__file__).resolve().parent.parent
SECRETS = {"creds": {"accessKey": "AKIA-PLUGIN-TEST", "secretKey": "s3cr3t-plugin-value"}}
MIB = 1024 * 1024


def artifact(key: str, **extra):
    return parse_artifact(
        {
            "name": "art",
            "s3": {
                "endpoint": "127.0.0.1:1",
                "bucket": "b",
                "key": key,
                "accessKeySecret": {"name": "creds", "key": "accessKey"},
                "secretKeySecret": {"name": "creds", "key": "secretKey"},
            },
            **extra,
        }
    )


class Seen:
    """The factory's calls: what the server handed each driver."""

    def __init__(self, root: Path):
        self.root = root
        self.calls: list[tuple] = []
        self.drivers: list[MemoryDriver] = []

    def __call__(self, art, secrets, context):
        self.calls.append((art, secrets, context))
        driver = MemoryDriver(self.root)
        self.drivers.append(driver)
        return driver


@pytest.fixture
def plugin(tmp_path):
    """A kit server on a socket in a directory that does not exist yet, and a client."""
    root = tmp_path / "objects"
    root.mkdir()
    seen = Seen(root)
    path = tmp_path / "plugins" / "mem" / "socket"
    running = server.start(path, seen, context=DriverContext(ca_bundle=None))
    driver = PluginDriver("mem", path, MemorySecretSource(SECRETS))
    yield driver, seen
    driver.close()
    running.stop(grace=None).wait()


def test_every_method_round_trips_bytes(plugin, tmp_path):
    driver, seen = plugin
    data = os.urandom(5 * MIB + 3)  # several OpenStream frames of 2 MiB
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    driver.save(str(source), artifact("dir/a.bin"))
    driver.load(artifact("dir/a.bin"), str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == data
    with driver.open_stream(artifact("dir/a.bin")) as stream:
        assert stream.read() == data
    driver.save_stream(io.BytesIO(data[: 3 * MIB]), artifact("dir/b.bin"))
    assert (seen.root / "dir/b.bin").read_bytes() == data[: 3 * MIB]
    assert driver.list_objects(artifact("dir/")) == ["dir/a.bin", "dir/b.bin"]
    assert driver.is_directory(artifact("dir")) is True
    assert driver.is_directory(artifact("dir/a.bin")) is False
    driver.delete(artifact("dir/a.bin"))
    assert not (seen.root / "dir/a.bin").exists()
    assert all(d.closed for d in seen.drivers), "the server closes each request's driver"


def test_the_server_gets_the_location_key_and_inline_secrets(plugin, tmp_path):
    driver, seen = plugin
    (tmp_path / "f").write_bytes(b"x")
    driver.save(str(tmp_path / "f"), artifact("k/f.txt", mode=0o640, optional=True))
    got, secrets, _ = seen.calls[-1]
    assert got.s3.key == "k/f.txt" and got.s3.bucket == "b" and got.s3.endpoint == "127.0.0.1:1"
    assert got.mode == 0o640 and got.optional is True and got.name == "art"
    assert secrets.get("creds", "secretKey").reveal() == "s3cr3t-plugin-value"


def test_a_failure_keeps_its_code_and_reads_as_argos_message(plugin, tmp_path):
    driver, _ = plugin
    with pytest.raises(NotFound) as failed:
        driver.load(artifact("absent"), str(tmp_path / "out"))
    assert str(failed.value) == "plugin mem load failed: no such key absent"
    assert failed.value.transient is False
    with pytest.raises(NotFound, match=r"^plugin mem stream error: no such key absent$"):
        driver.open_stream(artifact("absent"))


def test_a_non_artifact_error_is_internal_with_its_type(plugin, tmp_path):
    driver, _ = plugin
    with pytest.raises(Exception) as failed:
        driver.list_objects(artifact("raise-value-error"))
    assert failed.value.code is Code.INTERNAL
    assert "plugin mem list objects failed: ValueError: planted" in str(failed.value)


def test_a_failing_reader_aborts_save_stream_and_stores_nothing(plugin):
    driver, seen = plugin

    class Broken(io.RawIOBase):
        calls = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.calls += 1
            if self.calls > 2:
                raise OSError("the reader broke")
            buffer[: len(buffer)] = b"z" * len(buffer)
            return len(buffer)

    with pytest.raises(Exception) as failed:
        driver.save_stream(io.BufferedReader(Broken()), artifact("half.bin"))
    assert failed.value.code is Code.INTERNAL
    assert "save stream failed to read artifact content: the reader broke" in str(failed.value)
    assert isinstance(failed.value.__cause__, OSError)
    time.sleep(0.2)  # the server sees the cancellation after the client
    assert not (seen.root / "half.bin").exists()


class NoCapabilities(server.Servicer):
    """A plugin from before GetCapabilities (Argo v4.0.x): gRPC answers UNIMPLEMENTED."""

    def GetCapabilities(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown method GetCapabilities")


def test_without_get_capabilities_save_stream_falls_back_to_a_temp_file(tmp_path, monkeypatch):
    root = tmp_path / "objects"
    root.mkdir()
    seen = Seen(root)
    path = tmp_path / "socket"
    running = server.start(path, seen, context=DriverContext(), servicer=NoCapabilities)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    driver = PluginDriver("old", path, MemorySecretSource(SECRETS))
    try:
        assert driver.supports_save_stream() is False
        driver.save_stream(io.BytesIO(b"buffered"), artifact("up.bin"))
    finally:
        driver.close()
        running.stop(grace=None).wait()
    assert (root / "up.bin").read_bytes() == b"buffered"
    saved_from = seen.calls[-1]
    assert saved_from[0].s3.key == "up.bin"
    assert list(temp.iterdir()) == [], "the fallback's temp file is removed"


def test_save_stream_frames_need_the_artifact_first(plugin):
    driver, _ = plugin
    frames = iter([pb.SaveStreamArtifactRequest(chunk=b"no artifact first")])
    response, call = driver.stub.SaveStream.with_call(frames)
    assert not response.success and "first frame must carry output_artifact" in response.error
    assert dict(call.trailing_metadata())[wire.ERROR_CODE] == "ERR_BAD_REQUEST"


def test_a_configuration_that_is_not_a_location_is_a_bad_request(plugin, tmp_path):
    driver, _ = plugin
    bad = pb.Artifact(
        name="a", plugin=pb.PluginArtifact(name="mem", configuration="[1, 2", key="k")
    )
    response, call = driver.stub.Load.with_call(
        pb.LoadArtifactRequest(input_artifact=bad, path="x")
    )
    assert not response.success and "not YAML" in response.error
    assert dict(call.trailing_metadata())[wire.ERROR_CODE] == "ERR_BAD_REQUEST"


def test_get_capabilities_reports_save_stream(plugin):
    driver, _ = plugin
    assert driver.supports_save_stream() is True


def test_the_configuration_round_trips_without_the_key():
    art = artifact("a/b.txt")
    text, key = configuration.encode(art, MemorySecretSource(SECRETS))
    assert key == "a/b.txt" and "a/b.txt" not in text
    location, secrets = configuration.decode(text, key)
    assert location.s3.key == "a/b.txt" and location.s3.bucket == "b"
    assert secrets.get("creds", "accessKey").reveal() == "AKIA-PLUGIN-TEST"
    with pytest.raises(BadRequest, match="exactly one location"):
        configuration.decode("secrets: {}\n", "k")


# ------------------------------------------------------------------ the serving process


def _serve(socket_path: Path, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEMORY_DRIVER_ROOT": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "plugin", "serve", str(socket_path),
         "--target", "python:tests.memory_driver:make"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_exits_0_on_sigterm_and_removes_its_socket(tmp_path, signum):
    path = tmp_path / "not" / "yet" / "socket"  # the directory is created before bind
    process = _serve(path, tmp_path)
    try:
        PluginDriver("mem", path, socket_wait=30).close()
        process.send_signal(signum)
        assert process.wait(timeout=15) == 0, process.stderr.read().decode()
    finally:
        process.kill()
    assert not path.exists()


def test_a_request_still_running_does_not_hold_the_exit(tmp_path):
    """Argo waits for exit 0 after SIGTERM: a hung request gets the grace, then is dropped."""
    path = tmp_path / "socket"
    process = _serve(path, tmp_path)
    driver = PluginDriver("mem", path, socket_wait=30)
    try:
        ended: list[BaseException] = []

        def load_hung():
            try:
                driver.load(artifact("hang"), str(tmp_path / "never"))
            except PluginError as exc:
                ended.append(exc)

        hung = threading.Thread(target=load_hung, daemon=True)
        hung.start()
        time.sleep(1)  # the request is in the server
        process.terminate()
        assert process.wait(timeout=20) == 0
        hung.join(timeout=10)
        assert ended, "the client was not told its request ended"
        assert "plugin mem load failed: rpc error: code = " in str(ended[0])
    finally:
        process.kill()
        driver.close()
    assert not path.exists()


def test_serve_replaces_a_stale_socket_and_refuses_a_regular_file(tmp_path):
    path = tmp_path / "socket"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # a socket file nobody listens on, as a killed plugin leaves
    process = _serve(path, tmp_path)
    try:
        PluginDriver("mem", path, socket_wait=30).close()
    finally:
        process.terminate()
        process.wait(timeout=15)
    path.write_text("not a socket")
    process = _serve(path, tmp_path)
    assert process.wait(timeout=30) == 1
    assert "exists and is not a socket" in process.stderr.read().decode()
    assert path.read_text() == "not a socket"


def test_the_committed_stubs_are_what_grpc_tools_makes_of_the_proto(tmp_path):
    """The generated code is committed; regenerating it from artifact.proto changes nothing
    (run the protoc line below from the repository root after editing the proto)."""
    from grpc_tools import protoc

    proto = "drivers/plugin/artifact.proto"
    out = f"{tmp_path}"
    args = ["protoc", f"-I{REPO}", f"--python_out={out}", f"--pyi_out={out}"]
    assert protoc.main([*args, f"--grpc_python_out={out}", str(REPO / proto)]) == 0
    for name in ("artifact_pb2.py", "artifact_pb2.pyi", "artifact_pb2_grpc.py"):
        fresh = (tmp_path / "drivers" / "plugin" / name).read_text()
        committed = (REPO / "drivers" / "plugin" / name).read_text()
        assert committed == fresh, f"drivers/plugin/{name} is stale: regenerate it"


def test_the_plugin_image_is_built_from_files_that_exist_and_serves_as_argo_starts_it():
    """deploy/plugin/Dockerfile (no engine runs here to build it): what it copies exists, and
    its ENTRYPOINT alone is the command, since Argo appends the socket path to it and ignores
    CMD (workflowpod.go artifactContainer)."""
    text = (REPO / "deploy" / "plugin" / "Dockerfile").read_text()
    copied = [s for line in re.findall(r"^COPY (.+)$", text, re.M) for s in line.split()[:-1]]
    assert copied and all((REPO / name).exists() for name in copied), copied
    entrypoint = re.findall(r"^ENTRYPOINT (.+)$", text, re.M)
    assert [json.loads(e) for e in entrypoint] == [["artconf", "plugin", "serve"]]
    assert not re.search(r"^CMD ", text, re.M)


def test_url_and_raw_locations_round_trip_through_the_configuration():
    from drivers.core.model import parse_artifact

    url = "https://127.0.0.1:8443/dav/c/with%20space/a.tgz?x=1"
    http = parse_artifact({"name": "h", "http": {"url": url}})
    text, key = configuration.encode(http, None)
    assert key == "/dav/c/with space/a.tgz"  # the URL's path: what Argo calls its key
    assert configuration.decode(text, key)[0].http.url == url  # exactly, escapes and query kept
    moved = configuration.decode(text, "/dav/c/other.tgz")[0]
    assert moved.http.url == "https://127.0.0.1:8443/dav/c/other.tgz?x=1"
    raw = parse_artifact({"name": "r", "raw": {"data": "inline"}})
    text, key = configuration.encode(raw, None)
    assert key == "" and configuration.decode(text, key)[0].raw.data == "inline"


class _Call:
    """A gRPC servicer context that only says whether the call is alive."""

    def __init__(self, active: bool):
        self.active = active

    def is_active(self) -> bool:
        return self.active


@pytest.mark.parametrize("cancelled", [False, True])
def test_save_stream_end_is_believed_only_on_a_live_call(cancelled):
    """gRPC Python may show a client's cancellation as a plain end of stream: a cancelled call
    must fail the driver's read, never end it (else a truncated object replaces the old one)."""
    frames = iter([pb.SaveStreamArtifactRequest(chunk=b"abc")])
    chunks = io.BufferedReader(server._Chunks(frames, _Call(active=not cancelled)))
    assert chunks.read(3) == b"abc"
    if cancelled:
        with pytest.raises(server.Internal, match="cancelled the stream"):
            chunks.read()
    else:
        assert chunks.read() == b""
