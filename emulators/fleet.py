"""Start a set of servers in parallel, in plain and/or TLS mode, and stop them all.

`Fleet` owns one session directory (TLS material, data, logs). Servers start in parallel
threads, as native processes (`launcher`) or as containers (`containers`, on a Docker engine
the fleet holds a lease on until it stops). Ctrl-C during start-up cancels the rest and stops
whatever had started, so nothing is left half-started. `close()` (also leaving a `with`
block) stops the servers and then removes the directory, keeping its logs after a failure and
everything with `ARTCONF_KEEP_DATA=1`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulators import containers, engine, launcher
from emulators.azurite import Azurite
from emulators.endpoint import Endpoint
from emulators.errors import UsageError as UsageError  # re-exported: its old home
from emulators.fake_gcs import FakeGcs
from emulators.git_servers import GitDaemon, GitHttp, GitSsh
from emulators.hdfs import MiniHdfs
from emulators.kube import KubeApi
from emulators.launcher import Running, ServerStartError, StartCancelled
from emulators.minio import MinIO
from emulators.moto import Moto
from emulators.nginx import Nginx, NginxMtls
from emulators.oss import Oss
from emulators.server import Instance, Server, fixed_secrets
from emulators.sessions import Keep, finish_session, keep_data_requested
from emulators.tls import TlsMaterial, make_tls_material
from emulators.tools import ToolError

_INSTANCES = (MinIO(), Moto(), Azurite(), FakeGcs(), Nginx(), NginxMtls(), KubeApi())
_GIT = (GitHttp(), GitDaemon(), GitSsh())  # the Git driver's (issue 17)
_OSS = (Oss(),)  # the OSS driver's stand-in (issue 18)
_HDFS = (MiniHdfs(),)  # Hadoop's MiniDFSCluster for the HDFS driver (issue 18)
SERVERS: dict[str, Server] = {s.kind: s for s in (*_INSTANCES, *_GIT, *_HDFS, *_OSS)}
TLS_MODES = ("off", "on", "both")
LAUNCHERS = ("native", "containers")
LAUNCHER_ENV = "ARTCONF_LAUNCHER"


def parse_launcher(value: str | None) -> str:
    """`native` (the default) or `containers`; `ARTCONF_LAUNCHER` when not given."""
    chosen = (value or os.environ.get(LAUNCHER_ENV) or "native").strip()
    if chosen not in LAUNCHERS:
        raise UsageError(f"launcher must be one of {', '.join(LAUNCHERS)}, not {chosen!r}")
    return chosen


def parse_servers(value: str | list[str] | None) -> list[str]:
    """`minio,moto` -> ["minio", "moto"]; empty means every server."""
    if value is None or value == "" or value == []:
        return list(SERVERS)
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip() for n in items if n.strip()]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        raise UsageError(
            f"unknown server(s) {', '.join(unknown)}; choose from {', '.join(SERVERS)}"
        )
    return names


def instance_keys(kinds: list[str], tls: str) -> list[tuple[str, str, bool]]:
    """(key, kind, tls) for each server and mode it has; TLS keys are suffixed `-tls`."""
    if tls not in TLS_MODES:
        raise UsageError(f"--tls must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    modes = {"off": [False], "on": [True], "both": [False, True]}[tls]
    return [(f"{k}-tls" if t else k, k, t) for k in kinds for t in modes if t in SERVERS[k].modes]


def split_key(key: str) -> tuple[str, bool]:
    """`minio-tls` -> ("minio", True)."""
    return (key[:-4], True) if key.endswith("-tls") else (key, False)


@dataclass
class Started:
    endpoint: Endpoint
    running: Running | containers.ContainerRunning


class Fleet:
    """The servers of one session, started under `root`."""

    def __init__(
        self,
        root: Path,
        *,
        keep_data: bool | None = None,
        launcher: str | None = None,
        detached: bool = False,
    ):
        self.root = root
        self.keep_data = keep_data_requested() if keep_data is None else keep_data
        self.launcher = parse_launcher(launcher)
        self.detached = detached  # its servers will outlive it (`emulators up`)
        self._engine: engine.Engine | None = None
        self.started: dict[str, Started] = {}
        self.errors: dict[str, str] = {}
        self._tls: TlsMaterial | None = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()

    @property
    def tls(self) -> TlsMaterial:
        with self._lock:
            if self._tls is None:
                self._tls = make_tls_material(self.root / "tls")
            return self._tls

    def start(
        self,
        keys: list[tuple[str, str, bool]],
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        """Start every (key, kind, tls) in parallel; failures land in `errors`, not raised."""
        if any(tls for _, _, tls in keys):
            _ = self.tls  # made once, before the threads race for it
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(keys)))
        futures: dict[concurrent.futures.Future[Started], str] = {}
        try:
            for key, kind, tls in keys:
                futures[pool.submit(self._start_one, key, kind, tls)] = key
            for future in concurrent.futures.as_completed(futures):
                key = futures[future]
                try:
                    self.started[key] = future.result()
                    s = self.started[key]
                    progress(f"{key}: ready at {s.endpoint.url} in {s.running.start_seconds:.2f} s")
                except (ServerStartError, ToolError, OSError) as exc:
                    self.errors[key] = str(exc)
                    progress(f"{key}: FAILED: {str(exc).splitlines()[0]}")
                except StartCancelled:
                    pass
        except BaseException:
            self._cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for future in futures:
                if future.done() and not future.cancelled() and future.exception() is None:
                    self.started[futures[future]] = future.result()
            self.stop()
            raise
        pool.shutdown(wait=True)

    def start_one(
        self,
        key: str,
        kind: str,
        tls: bool,
        env: dict[str, str] | None = None,
        *,
        on_disk: bool = False,
    ) -> Endpoint:
        """Start one more server, e.g. with extra settings; raises if it cannot start."""
        with launcher.ctrl_c_noted():  # the probe runs on this thread
            self.started[key] = self._start_one(key, kind, tls, env, on_disk=on_disk)
        return self.started[key].endpoint

    def _start_one(
        self,
        key: str,
        kind: str,
        tls: bool,
        env: dict[str, str] | None = None,
        *,
        on_disk: bool = False,
    ) -> Started:
        server = SERVERS[kind]
        instance = Instance(
            name=key,
            workdir=self.root / key,
            tls=self.tls if tls else None,
            credentials={**server.credentials(), **fixed_secrets(kind)},
            env=dict(env or {}),
            on_disk=on_disk,
        )
        instance.workdir.mkdir(parents=True, exist_ok=True)

        def command(port: int) -> launcher.Command:
            built = server.command(instance, port)
            built.env.update(instance.env)
            return built

        def probe(port: int) -> bool:
            return server.probe(instance, port)

        how = dict(log_dir=self.root / "logs", timeout=server.start_timeout, cancel=self._cancel)
        if self.runs_in_container(kind):
            try:
                host = self._engine_host()
            except engine.EngineError as exc:  # every container start fails alike, and says why
                raise ServerStartError(key, f"no Docker engine: {exc}", None) from None
            running = containers.start(
                key, command, probe, kind=kind, host=host, session=self.root,
                detached=self.detached, **how,
            )  # fmt: skip
        else:
            running = launcher.start(key, command, probe, **how)
        try:
            server.after_ready(instance, running.port)
        except Exception as exc:
            running.stop()
            raise ServerStartError(key, f"set-up after start failed: {exc}", running.log) from exc
        endpoint = server.endpoint(instance, running.port)
        endpoint.log = str(running.log)
        endpoint.pid = running.pid
        in_container = isinstance(running, containers.ContainerRunning)
        endpoint.launcher = "containers" if in_container else "native"
        chosen = containers.images.official(kind) if in_container else None
        if chosen is not None:  # not the kit's pin: whatever that image holds
            endpoint.version = chosen.ref
        return Started(endpoint, running)

    def runs_in_container(self, kind: str) -> bool:
        """Under the container launcher, every server with an image (the kube stand-in, a
        piece of the kit rather than a storage server, has none and stays native)."""
        return self.launcher == "containers" and kind in containers.images.IMAGES

    def _engine_host(self) -> str:
        with self._lock:
            if self._engine is None:
                self._engine = engine.acquire()
                with contextlib.suppress(engine.EngineError):  # never a reason not to start
                    containers.reap_orphans(self._engine.host)  # what a killed run left
            return self._engine.host

    def detach_engine(self) -> engine.Engine | None:
        """Hand the fleet's lease on its engine to servers that outlive it (`emulators up`)."""
        with self._lock:
            held, self._engine = self._engine, None
        return engine.detach(held) if held is not None else None

    def endpoints(self) -> dict[str, Endpoint]:
        return {key: s.endpoint for key, s in sorted(self.started.items())}

    def stop(self) -> None:
        """Stop every started server (idempotent); the session directory stays."""
        started, self.started = self.started, {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
            list(pool.map(lambda s: s.running.stop(), started.values()))
        if self._engine is not None:
            held, self._engine = self._engine, None
            try:  # a container created by a start that Ctrl-C cut short was never handed back
                containers.remove_labelled(held.host, containers.LABEL_SESSION, self.root.name)
            finally:
                engine.release(held)

    def retention(self, failed: bool = False) -> Keep:
        """What of the session directory to keep: all if asked, logs after a failure, else none."""
        if self.keep_data:
            return "all"
        return "logs" if failed or self.errors else "none"

    def close(self, *, failed: bool = False) -> Path | None:
        """Stop the servers, then remove the session directory but what `retention` keeps.

        Returns the kept path (the root, or its `logs/`), or None when nothing is left.
        """
        self.stop()  # first: a server must never lose files it still has open
        return finish_session(self.root, self.retention(failed))

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # An error keeps the logs; Ctrl-C (not an Exception) is no failure of the servers.
        failed = exc_type is not None and issubclass(exc_type, Exception)
        kept = self.close(failed=failed)
        if kept is not None:
            print(f"artconf: server {_what(kept)} kept in {kept}", file=sys.stderr, flush=True)


def _what(kept: Path) -> str:
    return "logs" if kept.name == "logs" else "data"
