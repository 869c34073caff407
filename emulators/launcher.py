"""Start one server process and know when it is really ready.

A server runs in its own session (so a terminal's Ctrl-C reaches only the kit, which then stops
it in order) under a one-line `sh` wrapper that writes the server's exit code to a file: a
detached server killed from outside can then be reported as dead *with* its exit code. Readiness
is a protocol probe, never "the port is open". A start that fails or times out raises
`ServerStartError` carrying the tail of the server's log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from emulators.processes import ProcessRecord, process_create_time, stop_record

BIND_ATTEMPTS = 3
BIND_FAILURE_MARKERS = ("already in use", "eaddrinuse", "bind: ")
# The wrapper waits for one line on stdin before it starts the server: the kit writes it only
# once the process record is on disk, so a kit killed in between leaves no unrecorded server
# (EOF on the pipe: the wrapper exits and nothing starts).
_WRAPPER = 'read -r _ || exit 0; exec 0</dev/null; "$@"; echo $? > "$ARTCONF_EXIT_FILE"'


#: Set by `ctrl_c_noted`'s handler. A KeyboardInterrupt raised while a finaliser runs (the
#: garbage collector fires inside a probe's HTTP set-up) is printed as "Exception ignored" and
#: lost; the wait loops check this flag, so one Ctrl-C always stops a start.
_CTRL_C = threading.Event()


@contextlib.contextmanager
def ctrl_c_noted() -> Iterator[None]:
    """While servers start on the main thread: a Ctrl-C is also noted in a flag."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield  # a worker thread, or someone else's handler: theirs decides
        return

    def handler(signum: int, frame: object) -> None:
        _CTRL_C.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _CTRL_C.clear()


class StartCancelled(RuntimeError):
    """Start-up was interrupted (Ctrl-C elsewhere); the half-started server was stopped."""


class ServerStartError(RuntimeError):
    """A server did not become ready. The message ends with the tail of its log."""

    def __init__(self, name: str, reason: str, log: Path | None):
        tail = log_tail(log) if log else ""
        message = f"{name}: {reason}"
        if log:
            message += f" (log: {log})"
        if tail:
            message += "\n--- last lines of the server log ---\n" + tail
        super().__init__(message)
        self.name = name
        self.reason = reason
        self.log = log


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (a later bind may still lose a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass
class Running:
    """A started server process."""

    name: str
    port: int
    record: ProcessRecord
    log: Path
    popen: subprocess.Popen | None
    start_seconds: float

    @property
    def pid(self) -> int:
        return self.record.pid

    def alive(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            return False
        try:
            proc = psutil.Process(self.record.pid)
            return proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def rss_bytes(self) -> int:
        """Resident memory of the server and its children."""
        try:
            proc = psutil.Process(self.record.pid)
            procs = [proc, *proc.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.Error:
            return 0

    def stop(self) -> None:
        stop_record(self.record)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=5)


def _spawn(
    name: str, command: Command, log: Path, exit_file: Path
) -> tuple[subprocess.Popen, ProcessRecord]:
    env = {**os.environ, **command.env, "ARTCONF_EXIT_FILE": str(exit_file)}
    exit_file.unlink(missing_ok=True)
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            ["sh", "-c", _WRAPPER, "sh", *command.argv],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=command.cwd,
            start_new_session=True,
        )
    owner = os.getpid()
    leader_time = process_create_time(popen.pid) or 0.0
    record = ProcessRecord(
        name=name,
        pgid=popen.pid,
        leader_create_time=leader_time,
        pid=popen.pid,
        create_time=leader_time,
        owner_pid=owner,
        owner_create_time=process_create_time(owner),
        exit_file=str(exit_file),
    )
    record.save()  # before the server starts: a SIGKILL from here on leaves a record to reap
    _release(popen)
    record.pid = _wait_for_child(popen)
    record.create_time = process_create_time(record.pid) or leader_time
    record.save()
    return popen, record


def _release(popen: subprocess.Popen) -> None:
    """Let the wrapper start the server (see `_WRAPPER`)."""
    with contextlib.suppress(OSError):  # a wrapper that already died shows as a failed start
        popen.stdin.write(b"go\n")
        popen.stdin.close()


def _wait_for_child(popen: subprocess.Popen, timeout: float = 5.0) -> int:
    """The wrapper forks the server at once; find its PID (fall back to the wrapper's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(popen.pid).children()
            if children:
                return children[0].pid
        if popen.poll() is not None:
            break
        time.sleep(0.005)
    return popen.pid


def start(
    name: str,
    make_command: Callable[[int], Command],
    probe: Callable[[int], bool],
    *,
    log_dir: Path,
    timeout: float = 60.0,
    cancel: threading.Event | None = None,
) -> Running:
    """Start `name` on a free port, retrying on a new port after a bind failure.

    `make_command(port)` builds the command line; `probe(port)` returns True once the server
    answers its own protocol (it may raise or return False while it is not ready yet).
    """
    log = fresh_log(log_dir, name)

    def spawn(port: int) -> Running:
        popen, record = _spawn(name, make_command(port), log, log_dir / f"{name}.exit")
        return Running(name, port, record, log, popen, 0.0)

    return start_ready(
        name, spawn, probe, log=log, timeout=timeout, cancel=cancel,
        exit_code=lambda running: exit_code(running.record),
    )  # fmt: skip


def fresh_log(log_dir: Path, name: str) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    log.unlink(missing_ok=True)
    return log


def start_ready(
    name: str,
    spawn: Callable[[int], Any],
    probe: Callable[[int], bool],
    *,
    log: Path,
    timeout: float,
    cancel: threading.Event | None,
    exit_code: Callable[[Any], object],
) -> Any:
    """`spawn(port)` a server (a process or a container, with `alive()`, `stop()` and
    `start_seconds`) until `probe` says it is ready, on a new port after a bind failure; a
    failed start is stopped and raised as `ServerStartError` with `exit_code(server)`."""
    for attempt in range(1, BIND_ATTEMPTS + 1):
        if cancel is not None and cancel.is_set():
            raise StartCancelled(name)
        port = free_port()
        began = time.monotonic()
        running = spawn(port)
        try:
            outcome = wait_ready(running, probe, began + timeout, cancel)
        except BaseException:
            running.stop()  # Ctrl-C or a probe bug while starting: leave nothing behind
            raise
        if outcome == "ready":
            running.start_seconds = time.monotonic() - began
            return running
        running.stop()
        if outcome == "bind" and attempt < BIND_ATTEMPTS:
            with open(log, "a") as out:
                out.write(f"\n[artconf] port {port} was taken; retrying on a new port\n")
            continue
        if outcome == "cancelled":
            raise StartCancelled(name)
        reason = {
            "timeout": f"not ready after {timeout:.0f} s",
            "exited": f"exited with code {exit_code(running)} before it was ready",
            "bind": f"could not bind a port after {BIND_ATTEMPTS} attempts",
        }[outcome]
        raise ServerStartError(name, reason, log)
    raise AssertionError("unreachable")


def exit_code(record: ProcessRecord) -> int | None:
    """The server's exit code, as its wrapper wrote it (None while running or if killed too)."""
    try:
        return int(Path(record.exit_file).read_text().strip())
    except (OSError, ValueError):
        return None


def wait_ready(
    running: Running,
    probe: Callable[[int], bool],
    deadline: float,
    cancel: threading.Event | None,
) -> str:
    delay = 0.02
    while time.monotonic() < deadline:
        if _CTRL_C.is_set():
            raise KeyboardInterrupt  # the first one was lost in a finaliser
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if not running.alive():
            popen = getattr(running, "popen", None)  # a container has none
            if popen is not None:  # let the wrapper record the exit code first
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(timeout=2)
            text = log_tail(running.log, 50).lower()
            return "bind" if any(m in text for m in BIND_FAILURE_MARKERS) else "exited"
        try:
            if probe(running.port):
                return "ready"
        except Exception:
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
    return "timeout"
