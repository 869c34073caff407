"""Argo's plugin client as a driver: any plugin, in any language, behind the seven methods.

It does what Argo's `workflow/artifacts/plugin` driver does (spec 1.4): wait for the socket
(once a second, up to 120 s), wait for the connection to be ready (the connection timeout,
default 5 s), send the artifact with only its own fields and its plugin location, and turn
every failure into Argo's text, `plugin <n> load failed: <error>`. SaveStream asks
GetCapabilities first; UNIMPLEMENTED means Argo's fallback, a temp file and Save.

Two things are the kit's, not Argo's: a location of another type (the matrix's S3, GCS, Azure
locations) is sent as the kit's configuration YAML (`drivers.plugin.configuration`) with its
secrets inline; and the error code of a failed call is read from the trailing metadata the
kit's plugins send (`drivers.plugin.wire`), since Argo's text alone loses it.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import grpc

from drivers.core.errors import ArtifactError, Internal
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from drivers.plugin import artifact_pb2 as pb
from drivers.plugin import artifact_pb2_grpc as pb_grpc
from drivers.plugin import configuration, wire

#: Argo's waits (spec 1.4): the socket is polled once a second for 120 s; the connection must
#: be ready within the connection timeout (the artifact's, else 5 s).
SOCKET_WAIT_SECONDS = 120
DEFAULT_CONNECTION_TIMEOUT = 5.0


class PluginError(Internal):
    """A plugin that could not be reached or answered outside the protocol (ERR_INTERNAL)."""


def go_status(error: grpc.RpcError) -> str:
    """A gRPC failure as grpc-go prints it (`rpc error: code = Unavailable desc = ...`),
    which is what Argo's client wraps into its messages."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    name = "Canceled" if code is grpc.StatusCode.CANCELLED else code.name.title().replace("_", "")
    details = error.details() if hasattr(error, "details") else str(error)
    return f"rpc error: code = {name} desc = {details}"


def wait_for_socket(
    name: str,
    path: Path,
    *,
    seconds: float = SOCKET_WAIT_SECONDS,
    alive: Callable[[], str] | None = None,
) -> None:
    """Poll for the socket once a second, as Argo does; `alive` (when given) says why the
    process that should create it has gone, so a dead plugin fails at once, not after 120 s."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise PluginError(
                f"plugin {name} cannot stat unix socket at {str(path)!r}: {exc}"
            ) from exc
        else:
            if not stat.S_ISSOCK(mode):
                raise PluginError(f"plugin {name}: {str(path)!r} exists but is not a unix socket")
            return
        gone = alive() if alive else ""
        if gone:
            raise PluginError(f"plugin {name} exited before creating its socket: {gone}")
        if time.monotonic() >= deadline:
            raise PluginError(
                f"plugin {name} expected unix socket at {str(path)!r} but it does not exist "
                f"after waiting for {seconds:g} seconds"
            )
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def connect(name: str, path: Path, timeout: float = DEFAULT_CONNECTION_TIMEOUT) -> grpc.Channel:
    """A ready channel to the socket, or Argo's timeout error."""
    channel = grpc.insecure_channel(f"unix:{path}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        channel.close()
        raise PluginError(
            f"timeout waiting for plugin {name} connection to become ready (socket={str(path)!r})"
        ) from None
    return channel


class PluginDriver:
    """The seven methods as gRPC calls to one plugin (one channel, closed by `close`)."""

    def __init__(
        self,
        name: str,
        socket_path: str | Path,
        secrets: SecretSource | None = None,
        *,
        connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
        socket_wait: float = SOCKET_WAIT_SECONDS,
        alive: Callable[[], str] | None = None,
        describe_failure: Callable[[], str] | None = None,
    ):
        self.name = name
        self.secrets = secrets
        self.path = Path(socket_path)
        self.describe_failure = describe_failure or (lambda: "")
        wait_for_socket(name, self.path, seconds=socket_wait, alive=alive)
        self.channel = connect(name, self.path, connection_timeout)
        self.stub = pb_grpc.ArtifactServiceStub(self.channel)

    # -------------------------------------------------------------- the artifact on the wire
    def _wire(self, artifact: Artifact) -> pb.Artifact:
        plugin = artifact.plugin
        if plugin is not None:  # an Argo plugin artifact: sent as Argo sends it
            message = wire.to_wire(artifact, plugin.configuration, plugin.key, plugin.name)
            message.plugin.connection_timeout_seconds = plugin.connection_timeout_seconds
            return message
        text, key = configuration.encode(artifact, self.secrets)
        return wire.to_wire(artifact, text, key, self.name)

    def _rpc_failure(self, what: str, error: grpc.RpcError) -> PluginError:
        message = f"plugin {self.name} {what}: {go_status(error)}"
        why = self.describe_failure()
        return PluginError(f"{message} ({why})" if why else message)

    def _unary(self, method, request, what: str):
        try:
            return method.with_call(request)
        except grpc.RpcError as exc:
            raise self._rpc_failure(what, exc) from None

    def _check(self, failed: bool, error: str, call, what: str) -> None:
        if failed:
            raise wire.error_from(f"plugin {self.name} {what}: {error}", call.trailing_metadata())

    # -------------------------------------------------------------- the seven methods
    def load(self, artifact: Artifact, path: str) -> None:
        request = pb.LoadArtifactRequest(input_artifact=self._wire(artifact), path=path)
        response, call = self._unary(self.stub.Load, request, "load failed")
        self._check(not response.success, response.error, call, "load failed")

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        request = pb.OpenStreamRequest(artifact=self._wire(artifact))
        reader = _FrameReader(self, self.stub.OpenStream(request))
        reader.peek()  # a failure of the first frame is raised here, where a caller expects it
        return io.BufferedReader(reader, buffer_size=wire.CHUNK)

    def save(self, path: str, artifact: Artifact) -> None:
        request = pb.SaveArtifactRequest(path=path, output_artifact=self._wire(artifact))
        response, call = self._unary(self.stub.Save, request, "save failed")
        self._check(not response.success, response.error, call, "save failed")

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        if not self.supports_save_stream():
            self._save_via_temp_file(stream, artifact)
            return
        read_failure: list[BaseException] = []

        def frames():
            yield pb.SaveStreamArtifactRequest(output_artifact=self._wire(artifact))
            while True:
                try:
                    chunk = stream.read(wire.CHUNK)
                except BaseException as exc:
                    read_failure.append(exc)
                    raise  # gRPC cancels the call: the plugin must not store a short object
                if not chunk:
                    return
                yield pb.SaveStreamArtifactRequest(chunk=chunk)

        try:
            response, call = self.stub.SaveStream.with_call(frames())
        except grpc.RpcError as exc:
            if read_failure:
                raise Internal(
                    f"plugin {self.name} save stream failed to read artifact content: "
                    f"{read_failure[0]}",
                    cause=read_failure[0],
                ) from read_failure[0]
            raise self._rpc_failure("save stream failed", exc) from None
        self._check(not response.success, response.error, call, "save stream failed")

    def delete(self, artifact: Artifact) -> None:
        request = pb.DeleteArtifactRequest(artifact=self._wire(artifact))
        response, call = self._unary(self.stub.Delete, request, "delete failed")
        self._check(not response.success, response.error, call, "delete failed")

    def list_objects(self, artifact: Artifact) -> list[str]:
        request = pb.ListObjectsRequest(artifact=self._wire(artifact))
        response, call = self._unary(self.stub.ListObjects, request, "list objects failed")
        self._check(bool(response.error), response.error, call, "list objects failed")
        return list(response.objects)

    def is_directory(self, artifact: Artifact) -> bool:
        request = pb.IsDirectoryRequest(artifact=self._wire(artifact))
        what = "is directory check failed"
        response, call = self._unary(self.stub.IsDirectory, request, what)
        self._check(bool(response.error), response.error, call, what)
        return response.is_directory

    def close(self) -> None:
        self.channel.close()

    # -------------------------------------------------------------- SaveStream's two paths
    def supports_save_stream(self) -> bool:
        """GetCapabilities; UNIMPLEMENTED (a plugin that predates it) is False, as in Argo."""
        try:
            response = self.stub.GetCapabilities(pb.GetCapabilitiesRequest())
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.UNIMPLEMENTED:
                return False
            raise self._rpc_failure("get capabilities failed", exc) from None
        return response.supports_save_stream

    def _save_via_temp_file(self, stream: BinaryIO, artifact: Artifact) -> None:
        """Argo's fallback (`common.SaveStreamViaTempFile`): buffer to a temp file, Save it,
        remove it whatever happens."""
        handle, name = tempfile.mkstemp(prefix="plugin-upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    shutil.copyfileobj(stream, out, wire.CHUNK)
                except ArtifactError:
                    raise
                except Exception as exc:
                    raise Internal(
                        f"plugin {self.name} save stream failed to read artifact content: {exc}",
                        cause=exc,
                    ) from exc
            self.save(name, artifact)
        finally:
            Path(name).unlink(missing_ok=True)


class _FrameReader(io.RawIOBase):
    """OpenStream's frames as a readable stream: data until `is_end` or the end of the call;
    an `error` frame or a broken call raises Argo's message."""

    def __init__(self, driver: PluginDriver, responses):
        self.driver = driver
        self.responses = responses
        self.buffer = memoryview(b"")
        self.ended = False

    def readable(self) -> bool:
        return True

    def peek(self) -> None:
        self._fill()

    def _fill(self) -> None:
        name = self.driver.name
        while not self.buffer and not self.ended:
            try:
                frame = next(self.responses)
            except StopIteration:
                self.ended = True
                return
            except grpc.RpcError as exc:
                self.ended = True
                raise self.driver._rpc_failure("stream receive failed", exc) from None
            if frame.error:
                self.ended = True
                metadata = self.responses.trailing_metadata()
                raise wire.error_from(f"plugin {name} stream error: {frame.error}", metadata)
            if frame.is_end:
                self.ended = True
                self.responses.cancel()  # frames after is_end are never read
                return
            self.buffer = memoryview(frame.data)

    def readinto(self, target) -> int:
        self._fill()
        n = min(len(target), len(self.buffer))
        target[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self.responses.cancel()
        super().close()
