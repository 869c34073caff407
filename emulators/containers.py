"""Start one server as a container and know when it is really ready: the container launcher.

The container runs the *same* command the native launcher would (`Server.command`): its argv[0]
becomes the image's interpreter or binary (`images.Image.argv`), the session directory is
bind-mounted at the same path (data, TLS files), the network is the host's, so the same port,
probe, set-up and `Endpoint` apply unchanged and both launchers prove the same things.

testcontainers-python creates and removes the containers. Its Ryuk reaper stays off (Ryuk is
an image from a registry this machine cannot reach), so cleanup is the kit's: `stop()` on every
exit path, a sweep by session label when a fleet closes (a Ctrl-C between create and start
leaves a container testcontainers never handed back), and a sweep by owner label of containers
whose kit process died outright (`reap_orphans`). The server inside is also a process of this
machine, so it gets a process record like a native server's: the same reaper stops it, and
`emulators up` hands it over the same way. A container of `up` is labelled detached: swept only
once its server has stopped (an `up` killed before the hand-over has its server reaped first).

The container's output is followed into the same log file a native server writes, and its exit
code into the same `.exit` file, so liveness checks and failure reports read them alike.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from emulators import images
from emulators.engine import EngineError
from emulators.launcher import Command, ServerStartError, fresh_log, start_ready
from emulators.processes import ProcessRecord, is_same_process, process_create_time

LABEL_SESSION = "artconf.session"  # the fleet's session directory name
LABEL_OWNER = "artconf.owner"  # "<pid>-<start time>" of the kit process that started it
LABEL_SERVER = "artconf.server"  # the server key, e.g. minio-tls
LABEL_DETACHED = "artconf.detached"  # started by `emulators up`: outlives its owner
_ENV_LOCK = threading.Lock()
_BUILD_LOCKS: dict[str, threading.Lock] = {}
# (kind, host, official ref) -> tag, once per process: the recipe digest walks thousands of
# files (moto's closure)
_TAGS: dict[tuple[str, str, str], str] = {}


def owner_label() -> str:
    me = os.getpid()
    return f"{me}-{process_create_time(me) or 0:.3f}"


def docker_client(host: str):
    """A docker SDK client for `host` (the one testcontainers would build)."""
    import docker

    return docker.DockerClient(base_url=host, timeout=30)


@dataclass
class ContainerRunning:
    """A started server container; the interface of `launcher.Running`."""

    name: str
    port: int
    log: Path
    container: object  # testcontainers' DockerContainer
    server_pid: int  # the server as the host sees it: liveness and memory read it
    record: ProcessRecord
    start_seconds: float = 0.0
    _follower: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.server_pid

    def alive(self) -> bool:
        try:
            return psutil.Process(self.server_pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def rss_bytes(self) -> int:
        try:
            proc = psutil.Process(self.server_pid)
            return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        except psutil.Error:
            return 0

    def stop(self) -> None:
        # testcontainers' stop removes the container (force, with its anonymous volumes).
        with contextlib.suppress(Exception):
            self.container.stop()
        if self._follower is not None:
            self._follower.join(timeout=5)
        self.record.forget()


def start(
    name: str,
    make_command: Callable[[int], Command],
    probe: Callable[[int], bool],
    *,
    kind: str,
    host: str,
    session: Path,
    log_dir: Path,
    timeout: float = 60.0,
    cancel: threading.Event | None = None,
    detached: bool = False,
) -> ContainerRunning:
    """Start server `name` (of `kind`) in a container on the engine at `host`.

    As `launcher.start`: a free port, retried on a bind failure; ready when `probe(port)`
    says so; on failure the container is removed and `ServerStartError` carries its log.
    """
    image = images.official(kind) or images.IMAGES.get(kind)
    if image is None:
        why = f"no container image for {kind}; use the native launcher"
        raise ServerStartError(name, why, None)
    with _BUILD_LOCKS.setdefault(kind, threading.Lock()):
        key = (kind, host, getattr(image, "ref", ""))
        if key not in _TAGS:
            try:
                _TAGS[key] = _image_on(host, image)
            except EngineError as exc:  # a build or a pull failed: this server cannot start
                raise ServerStartError(name, str(exc), None) from None
        tag = _TAGS[key]
    log = fresh_log(log_dir, name)

    def spawn(port: int) -> ContainerRunning:
        command = make_command(port)
        return _run(name, tag, image, command, host, session, log, port, detached)

    return start_ready(
        name, spawn, probe, log=log, timeout=timeout, cancel=cancel,
        exit_code=lambda running: _exit_code(running.log),
    )  # fmt: skip


def _image_on(host: str, image: images.Image | images.Official) -> str:
    """Pull the official image, or build the local one (then drop the kit's stale images)."""
    if isinstance(image, images.Official):
        images.pull(host, image)
        return image.ref
    built = images.ensure(image.kind, host)
    if built.fresh:
        with contextlib.suppress(EngineError):
            images.remove_stale(host)  # an old pin's image: nothing will run it again
    return built.tag


def _run(
    name: str,
    tag: str,
    image: images.Image | images.Official,
    command: Command,
    host: str,
    session: Path,
    log: Path,
    port: int,
    detached: bool,
) -> ContainerRunning:
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import DockerContainer

    testcontainers_config.ryuk_disabled = True  # its image lives in a registry
    argv = image.argv(command.argv)
    labels = {LABEL_SESSION: session.name, LABEL_OWNER: owner_label(), LABEL_SERVER: name}
    if detached:
        labels[LABEL_DETACHED] = "1"
    with _ENV_LOCK:
        # testcontainers reads DOCKER_HOST from the environment and writes it back: keep the
        # kit's own engine out of the environment, where it would pass for the user's.
        saved = os.environ.get("DOCKER_HOST")
        os.environ["DOCKER_HOST"] = host
        try:
            container = DockerContainer(
                tag,
                command=argv[1:],
                env={**image.env(), **command.env},
                name=f"artconf-{session.name}-{name}"[:120],
                volumes=[(str(session), str(session), "rw")],
                entrypoint=argv[0],
                network_mode="host",
                labels=labels,
                user=f"{os.getuid()}:{os.getgid()}",
                working_dir=str(command.cwd or session),
            )
        finally:
            if saved is None:
                os.environ.pop("DOCKER_HOST", None)
            else:
                os.environ["DOCKER_HOST"] = saved
    try:
        container.start()
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        pid = int(wrapped.attrs["State"]["Pid"])
    except Exception as exc:
        with contextlib.suppress(Exception):
            container.stop()
        raise ServerStartError(name, f"container did not start: {exc}", None) from exc
    running = ContainerRunning(name, port, log, container, pid, _record(name, pid, log))
    running._follower = threading.Thread(
        target=_follow, args=(wrapped, log), name=f"logs-{name}", daemon=True
    )
    running._follower.start()
    return running


def _record(name: str, pid: int, log: Path) -> ProcessRecord:
    """The container's server as a process record (its own group leader, PID 1 inside)."""
    created = process_create_time(pid) or 0.0
    me = os.getpid()
    record = ProcessRecord(
        name=name,
        pgid=pid,
        leader_create_time=created,
        pid=pid,
        create_time=created,
        owner_pid=me,
        owner_create_time=process_create_time(me),
        exit_file=str(log.with_suffix(".exit")),
    )
    record.save()
    return record


def _follow(container, log: Path) -> None:
    """Copy the container's output into its log file as it comes; then its exit code."""
    with contextlib.suppress(Exception), open(log, "ab") as out:
        for chunk in container.logs(stream=True, follow=True):
            out.write(chunk)
            out.flush()
    with contextlib.suppress(Exception):
        code = container.wait(timeout=5)["StatusCode"]
        log.with_suffix(".exit").write_text(f"{code}\n")


def _exit_code(log: Path) -> str:
    for _ in range(20):  # the follower writes it once the stream ends
        with contextlib.suppress(OSError):
            return log.with_suffix(".exit").read_text().strip()
        time.sleep(0.05)
    return "unknown"


# --- sweeping ----------------------------------------------------------------------------


def labelled(host: str, label: str, value: str | None = None) -> list:
    """Every container, running or not, carrying `label` (with `value`)."""
    selector = f"{label}={value}" if value is not None else label
    try:
        # Other runs remove their containers meanwhile: one gone between the listing and its
        # inspection is no error (ignore_removed), it is simply not there.
        return docker_client(host).containers.list(
            all=True, filters={"label": selector}, ignore_removed=True
        )
    except Exception as exc:
        raise EngineError(f"cannot list containers on {host}: {exc}") from exc


def remove_labelled(host: str, label: str, value: str | None = None) -> list[str]:
    """Remove every container carrying `label` (with `value`); the names removed."""
    removed = []
    for container in labelled(host, label, value):
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)
            removed.append(container.name)
    return removed


def reap_orphans(host: str) -> list[str]:
    """Remove containers whose kit process died without removing them (SIGKILL); those of
    `emulators up` only once their server has stopped (`down`, or the process reaper)."""
    removed = []
    for container in labelled(host, LABEL_OWNER):
        pid, _, created = container.labels.get(LABEL_OWNER, "").partition("-")
        try:
            alive = is_same_process(int(pid), float(created))
        except ValueError:
            alive = False
        serving = container.attrs.get("State", {}).get("Running", False)
        if not alive and not (container.labels.get(LABEL_DETACHED) and serving):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
                removed.append(container.name)
    return removed
