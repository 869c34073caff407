"""Is a case's server alive? Decided from the server process, never from an error's text.

A case that fails while its server is down is an infra-error, not the driver's fault. A server
found dead stays dead for the rest of the run (a process does not come back), so its remaining
cases end at once instead of each waiting out a driver's retries. A case already running when
its server dies is interrupted: a watchdog thread polls the server while a case phase runs and,
when it dies, signals the main thread, whose handler raises `ServerDown` inside the case.

The signal is only ever acted on inside a case phase (setup, call, teardown): the handler
raises only while a phase is armed, and phases are armed inside pytest's own call wrapper, which
turns any exception into a failed report.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from emulators.endpoint import Endpoint

POLL_SECONDS = 0.25
CONNECT_TIMEOUT = 2.0
_SIGNAL = signal.SIGUSR1


class ServerDown(BaseException):
    """Raised inside a running case whose server died.

    A BaseException, like KeyboardInterrupt, so that a driver's `except Exception` (or a retry
    loop) cannot swallow it and wait on a server that will never answer.
    """


def process_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def accepts_connections(endpoint: Endpoint) -> bool:
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=CONNECT_TIMEOUT):
            return True
    except OSError:
        return False


def exit_text(endpoint: Endpoint) -> str:
    """`, exit code N` when the launcher's wrapper recorded how the server ended."""
    if not endpoint.log:
        return ""
    with contextlib.suppress(OSError, ValueError):
        code = int(Path(endpoint.log).with_suffix(".exit").read_text().strip())
        return f", exit code {code}"
    return ""


def down_reason(endpoint: Endpoint, *, connect: bool) -> str | None:
    """Why the server is down, or None when it is up.

    With a known PID the process decides (cheap, for polling); `connect` also requires the port
    to accept a connection (a live process that refuses connections is down for its cases).
    """
    if endpoint.pid and not process_alive(endpoint.pid):
        return f"server {endpoint.name} is down (pid {endpoint.pid} exited{exit_text(endpoint)})"
    if (connect or not endpoint.pid) and not accepts_connections(endpoint):
        return f"server {endpoint.name} refuses connections on {endpoint.host}:{endpoint.port}"
    return None


class Liveness:
    """The run's verdicts on its servers, in this process; a dead server stays dead."""

    def __init__(self) -> None:
        self.dead: dict[str, str] = {}  # server key -> reason
        self._lock = threading.RLock()  # re-entered by the signal handler on the main thread
        self._armed: str | None = None  # the key whose phase is running, if any
        self._fired = False
        self._watchdog: threading.Thread | None = None
        self._endpoint: Endpoint | None = None
        self._stop = threading.Event()
        self._previous_handler: Callable | int | None = None

    def check(self, endpoint: Endpoint, *, connect: bool = False) -> str | None:
        """The reason the server is down (remembered), or None."""
        if endpoint.name in self.dead:
            return self.dead[endpoint.name]
        reason = down_reason(endpoint, connect=connect)
        if reason is not None:
            with self._lock:
                self.dead.setdefault(endpoint.name, reason)
        return reason

    # --- interrupting a running case -----------------------------------------------------
    @contextlib.contextmanager
    def watching(self, endpoint: Endpoint | None) -> Iterator[None]:
        """Arm the watchdog for one case phase on `endpoint` (no-op off the main thread)."""
        if endpoint is None or threading.current_thread() is not threading.main_thread():
            yield
            return
        self._install()
        with self._lock:
            self._endpoint, self._armed, self._fired = endpoint, endpoint.name, False
        try:
            yield
        finally:
            with self._lock:
                self._endpoint, self._armed = None, None

    def _install(self) -> None:
        if self._watchdog is not None:
            return
        self._previous_handler = signal.signal(_SIGNAL, self._on_signal)
        self._watchdog = threading.Thread(target=self._poll, name="artconf-liveness", daemon=True)
        self._watchdog.start()

    def close(self) -> None:
        if self._watchdog is None:
            return
        self._stop.set()
        self._watchdog.join(timeout=2 * POLL_SECONDS)
        signal.signal(_SIGNAL, self._previous_handler or signal.SIG_DFL)
        self._watchdog = None

    def _poll(self) -> None:
        main = threading.main_thread().ident
        while not self._stop.wait(POLL_SECONDS):
            with self._lock:
                endpoint = None if self._fired else self._endpoint
            if endpoint is None or self.check(endpoint) is None:
                continue
            with self._lock:
                if self._armed != endpoint.name or self._fired:
                    continue
                self._fired = True
            signal.pthread_kill(main, _SIGNAL)

    def _on_signal(self, signum: int, frame: object) -> None:
        # Runs in the main thread; raise only inside the phase the watchdog fired for.
        with self._lock:
            key = self._armed if self._fired else None
        if key is not None:
            raise ServerDown(self.dead.get(key, f"server {key} is down"))


class CaseWatch:
    """The pytest hooks that arm the watchdog around each phase of a case.

    Wrappers around the whole phase (fixtures included: they talk to the server too), inside
    pytest's call wrapper, so a `ServerDown` raised anywhere in them becomes a failed report.
    """

    def __init__(self, liveness: Liveness, endpoint_of: Callable[[pytest.Item], Endpoint | None]):
        self.liveness = liveness
        self.endpoint_of = endpoint_of

    def _phase(self, item: pytest.Item) -> Iterator[None]:
        with self.liveness.watching(self.endpoint_of(item)):
            yield

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        return (yield from self._phase(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        return (yield from self._phase(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        return (yield from self._phase(item))
