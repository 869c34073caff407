"""Any driver served as an Argo artifact plugin: the server half of the protocol (spec 1.4).

    serve("/tmp/artifact-plugins/artconf/socket", factory)

Argo starts a plugin with its socket path as the only argument, talks plaintext gRPC to it and
stops it with SIGTERM, after which it must exit 0. Each request carries the artifact's own
fields and `plugin{configuration, key}`: the configuration is the kit's YAML
(`drivers.plugin.configuration`) naming the real location, and the pod environment reaches the
process as variables (`drivers.plugin.environment`). Every request gets a fresh driver, closed
when the request ends, so requests share nothing but the process.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from drivers.core.context import DriverContext
from drivers.core.errors import ArtifactError, BadRequest, Internal
from drivers.core.model import Artifact, parse_artifact
from drivers.core.secrets import DirectorySecretSource, SecretSource
from drivers.plugin import artifact_pb2 as pb
from drivers.plugin import artifact_pb2_grpc as pb_grpc
from drivers.plugin import configuration, environment, wire

log = logging.getLogger(__name__)

Factory = Callable[[Artifact, SecretSource, DriverContext], Any]

#: Where secrets are read from when the configuration carries none inline (mounted Secrets).
SECRETS_DIR = "ARTCONF_PLUGIN_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/etc/artifact-plugin/secrets"
#: Concurrent requests one process serves (each holds a thread while it moves bytes).
MAX_WORKERS = 64


class Servicer(pb_grpc.ArtifactServiceServicer):
    """The eight RPCs over `factory(artifact, secrets, context)`."""

    def __init__(self, factory: Factory, context: DriverContext, secrets_dir: str | Path):
        self.factory = factory
        self.context = context
        self.secrets_dir = Path(secrets_dir)

    # -------------------------------------------------------------- requests -> driver calls
    def _artifact(self, message: pb.Artifact) -> tuple[Artifact, SecretSource]:
        if not message.HasField("plugin"):
            raise BadRequest("the request's artifact has no plugin location")
        location, inline = configuration.decode(message.plugin.configuration, message.plugin.key)
        artifact = configuration.with_location(
            parse_artifact(wire.artifact_fields(message)), location
        )
        return artifact, inline or DirectorySecretSource(self.secrets_dir)

    def _run(self, message: pb.Artifact, call: Callable[[Any, Artifact], Any]) -> Any:
        artifact, secrets = self._artifact(message)
        driver = self.factory(artifact, secrets, self.context)
        try:
            return call(driver, artifact)
        finally:
            _close(driver)

    def _failed(self, context: grpc.ServicerContext, exc: BaseException) -> str:
        """The error text of a failed request; its code and flag go into the trailers."""
        error = exc if isinstance(exc, ArtifactError) else Internal(f"{type(exc).__name__}: {exc}")
        if not isinstance(exc, ArtifactError):
            log.exception("request failed with an error that is not an ArtifactError")
        context.set_trailing_metadata(wire.error_metadata(error))
        return str(error)

    def Load(self, request, context):  # gRPC names the methods
        try:
            self._run(request.input_artifact, lambda d, a: d.load(a, request.path))
        except Exception as exc:
            return pb.LoadArtifactResponse(success=False, error=self._failed(context, exc))
        return pb.LoadArtifactResponse(success=True)

    def OpenStream(self, request, context):
        try:
            artifact, secrets = self._artifact(request.artifact)
            driver = self.factory(artifact, secrets, self.context)
        except Exception as exc:
            yield pb.OpenStreamResponse(error=self._failed(context, exc))
            return
        try:
            stream = driver.open_stream(artifact)
            try:
                while chunk := stream.read(wire.CHUNK):
                    yield pb.OpenStreamResponse(data=chunk)
            finally:
                stream.close()
        except Exception as exc:
            yield pb.OpenStreamResponse(error=self._failed(context, exc))
            return
        finally:
            _close(driver)
        yield pb.OpenStreamResponse(is_end=True)

    def Save(self, request, context):
        try:
            self._run(request.output_artifact, lambda d, a: d.save(request.path, a))
        except Exception as exc:
            return pb.SaveArtifactResponse(success=False, error=self._failed(context, exc))
        return pb.SaveArtifactResponse(success=True)

    def SaveStream(self, request_iterator, context):
        try:
            first = next(request_iterator, None)
            if first is None or not first.HasField("output_artifact"):
                raise BadRequest("SaveStream: the first frame must carry output_artifact only")
            chunks = _Chunks(request_iterator, context)
            self._run(first.output_artifact, lambda d, a: d.save_stream(chunks, a))
        except Exception as exc:
            return pb.SaveArtifactResponse(success=False, error=self._failed(context, exc))
        return pb.SaveArtifactResponse(success=True)

    def Delete(self, request, context):
        try:
            self._run(request.artifact, lambda d, a: d.delete(a))
        except Exception as exc:
            return pb.DeleteArtifactResponse(success=False, error=self._failed(context, exc))
        return pb.DeleteArtifactResponse(success=True)

    def ListObjects(self, request, context):
        try:
            objects = self._run(request.artifact, lambda d, a: d.list_objects(a))
        except Exception as exc:
            return pb.ListObjectsResponse(error=self._failed(context, exc))
        return pb.ListObjectsResponse(objects=list(objects))

    def IsDirectory(self, request, context):
        try:
            answer = self._run(request.artifact, lambda d, a: d.is_directory(a))
        except Exception as exc:
            return pb.IsDirectoryResponse(error=self._failed(context, exc))
        return pb.IsDirectoryResponse(is_directory=bool(answer))

    def GetCapabilities(self, request, context):
        return pb.GetCapabilitiesResponse(supports_save_stream=True)


#: How long the end of a SaveStream waits for a cancellation racing it (see `_Chunks`).
END_SETTLE_SECONDS = 0.05


class _Chunks(io.RawIOBase):
    """SaveStream's chunk frames as the readable stream a driver's save_stream takes.

    gRPC Python reports a client's cancellation (its reader failed midway) either as an error
    or, when the empty receive is seen before the cancellation, as a plain end of stream. A
    driver that took that for the end would store a truncated object over an older one, so the
    end is believed only once the call is still alive a moment later (Go's server tells the
    two apart itself: Recv returns the cancellation, never io.EOF).
    """

    def __init__(self, frames: Iterator[pb.SaveStreamArtifactRequest], context: Any = None):
        self._frames = frames
        self._context = context
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _check_not_cancelled(self) -> None:
        if self._context is None:
            return
        deadline = time.monotonic() + END_SETTLE_SECONDS
        while self._context.is_active():
            if time.monotonic() >= deadline:
                return
            time.sleep(0.005)
        raise Internal("SaveStream: the client cancelled the stream before its end")

    def readinto(self, target) -> int:
        while not self._buffer:
            frame = next(self._frames, None)
            if frame is None:
                self._check_not_cancelled()
                return 0
            if frame.HasField("output_artifact"):
                raise BadRequest("SaveStream: only the first frame may carry output_artifact")
            self._buffer = memoryview(frame.chunk)
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _close(driver: Any) -> None:
    close = getattr(driver, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            log.exception("closing the driver failed")


def prepare_socket(path: Path) -> None:
    """Create the socket's directory (before bind: Argo issue #16784) and remove a stale
    socket; refuse to replace anything that is not a socket."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise BadRequest(f"{path} exists and is not a socket: choose another socket path")
    path.unlink()


def start(
    socket_path: str | Path,
    factory: Factory,
    *,
    context: DriverContext | None = None,
    servicer: type[Servicer] = Servicer,
    max_workers: int = MAX_WORKERS,
) -> grpc.Server:
    """A started server of `factory`'s drivers on `socket_path` (stop it with `.stop`)."""
    path = Path(socket_path).absolute()
    prepare_socket(path)
    context = context or environment.context_from()
    secrets_dir = os.environ.get(SECRETS_DIR, DEFAULT_SECRETS_DIR)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
    pb_grpc.add_ArtifactServiceServicer_to_server(servicer(factory, context, secrets_dir), server)
    server.add_insecure_port(f"unix:{path}")
    server.start()
    return server


def serve(
    socket_path: str | Path,
    factory: Factory,
    *,
    ready: Callable[[], None] | None = None,
    max_workers: int = MAX_WORKERS,
) -> int:
    """Serve `factory`'s drivers on `socket_path` until SIGTERM or SIGINT; returns 0.

    Runs in the main thread (it installs the signal handlers). The socket is removed on exit.
    """
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    server = start(socket_path, factory, max_workers=max_workers)
    try:
        if ready:
            ready()
        stop.wait()
    finally:
        # Requests in flight get 2 s, then their clients see them cancelled; a handler still
        # running is left to the caller (`artconf plugin serve` exits without waiting for it).
        server.stop(grace=2).wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        Path(socket_path).absolute().unlink(missing_ok=True)
    return 0
