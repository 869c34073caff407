"""Servers for a pytest run, started once and shared by every xdist worker.

The controlling process starts the servers (in parallel) in `pytest_configure`, hands their
endpoints to the workers through `workerinput`, and stops them in `pytest_unconfigure`, also on
Ctrl-C and SIGTERM. Tests ask for a server with the `artconf_server` fixture:

    def test_roundtrip(artconf_server):
        endpoint = artconf_server("minio-tls")

Which servers start: those named by `--artconf-servers` or `ARTCONF_REQUIRE`; with neither, a
plain (non-xdist) run starts a server on first use, and an xdist run starts every installed one.
A server named in `ARTCONF_REQUIRE` that is missing or fails to start makes each test that asks
for it an ERROR carrying the server's log tail; any other missing server is a SKIP naming the
install command. `--artconf-launcher containers` (or `ARTCONF_LAUNCHER=containers`) runs
every server with an image as a container on a Docker engine instead of a native process
(`emulators/containers.py`). `--artconf-endpoints FILE` (the `emulators up --json` format)
uses servers that are already running instead of starting any.

The servers' session directories (data, TLS files, logs) are removed once they are stopped. A
run with failing tests keeps only their `logs/` (unless `--artconf-run-dir` took copies of the
failing cases' logs already); `--artconf-keep-data` or `ARTCONF_KEEP_DATA=1` keeps everything.
The terminal summary names what was kept.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from emulators import tools
from emulators.endpoint import Endpoint, load_endpoints
from emulators.errors import UsageError
from emulators.fleet import (
    LAUNCHERS,
    SERVERS,
    Fleet,
    instance_keys,
    parse_launcher,
    parse_servers,
    split_key,
)
from emulators.launcher import ServerStartError
from emulators.sessions import keep_data_requested, new_session_dir, reap_orphans_and_data

_WORKER_KEY = "artconf_servers"


class ServerUnavailable(pytest.fail.Exception):
    """A server a test asked for is not running in this run: not installed (and required),
    failed to start, or not started. Raised by `artconf_server` as a failure (an ERROR in
    set-up); the matrix reads it as an infra-error, by type rather than by its text."""

    def __init__(self, key: str, reason: str):
        super().__init__(reason, pytrace=False)
        self.key = key
        self.reason = reason


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def add_options(parser: pytest.Parser) -> None:
    """Register the server options once (the conformance plugin calls this too)."""
    group = parser.getgroup("artconf-servers", "artifact-conformance storage servers")
    if any("--artconf-servers" in option.names() for option in group.options):
        return
    group.addoption(
        "--artconf-servers",
        default=None,
        help=f"servers to start once for the run, comma-separated ({', '.join(SERVERS)})",
    )
    group.addoption(
        "--artconf-tls",
        default="both",
        choices=("off", "on", "both"),
        help="modes to start them in (default both; TLS keys end in -tls)",
    )
    group.addoption(
        "--artconf-launcher",
        default=None,
        choices=LAUNCHERS,
        help="how servers run: native processes (default) or containers on a Docker engine, "
        "the kit's own dockerd when none answers (also ARTCONF_LAUNCHER)",
    )
    group.addoption(
        "--artconf-endpoints",
        default=None,
        metavar="FILE",
        help="use running servers from an `artconf emulators up --json` file",
    )
    group.addoption(
        "--artconf-keep-data",
        action="store_true",
        default=False,
        help="keep the servers' session directories (data, logs) after the run; also "
        "ARTCONF_KEEP_DATA=1 (default: removed; a failing run keeps only the logs)",
    )


#: In `ARTCONF_REQUIRE` beside server names: the container lane must run (no engine: ERROR).
REQUIRE_CONTAINERS = "containers"


def _required() -> list[str]:
    return [n.strip() for n in os.environ.get("ARTCONF_REQUIRE", "").split(",") if n.strip()]


def required_servers() -> list[str]:
    names = [n for n in _required() if n != REQUIRE_CONTAINERS]
    return parse_servers(names) if names else []


def containers_required() -> bool:
    """`containers` in `ARTCONF_REQUIRE`: a container lane that cannot run is an ERROR."""
    return REQUIRE_CONTAINERS in _required()


class ServerPool:
    """The run's servers: endpoints by key, start errors by key, and (controller) the fleet."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.endpoints: dict[str, Endpoint] = {}
        self.errors: dict[str, str] = {}
        self.fleet: Fleet | None = None
        self.lazy = False
        self.tls_mode = config.getoption("artconf_tls")
        self.keep_data = config.getoption("artconf_keep_data") or keep_data_requested()
        try:
            self.launcher = parse_launcher(config.getoption("artconf_launcher"))
        except UsageError as exc:  # ARTCONF_LAUNCHER: the option itself has its choices
            raise pytest.UsageError(f"ARTCONF_LAUNCHER: {exc}") from None
        self.failed = False  # set at session finish: tests failed
        self.kept: list[Path] = []  # session directory parts kept by private fleets

    # controller side
    def start(self) -> None:
        endpoints_file = self.config.getoption("artconf_endpoints")
        if endpoints_file:
            self.endpoints = load_endpoints(endpoints_file)
            return
        requested = sorted(
            set(required_servers()) | set(_requested(self.config)), key=list(SERVERS).index
        )
        if not requested and not _xdist_active(self.config):
            self.lazy = True
            return
        if not requested:
            requested = [k for k in SERVERS if _installed(k)]
        self._start(instance_keys(requested, self.tls_mode))

    def _start(self, keys: list[tuple[str, str, bool]]) -> None:
        if self.fleet is None:
            reap_orphans_and_data()  # a killed run's servers, and its data
            self.fleet = Fleet(
                new_session_dir("pytest"), keep_data=self.keep_data, launcher=self.launcher
            )
            _stop_on_sigterm()
        self.fleet.start([k for k in keys if k[0] not in self.endpoints])
        self.endpoints.update(self.fleet.endpoints())
        self.errors.update(self.fleet.errors)

    def stop(self) -> None:
        """Stop the servers, then remove their session directory but what is kept."""
        if self.fleet is not None:
            self.fleet.close(failed=self.keeps_logs())

    def keeps_logs(self) -> bool:
        """Failing tests keep the logs, unless the run directory holds copies of them already."""
        return self.failed and not _logs_copied(self.config)

    def to_be_kept(self) -> list[Path]:
        """What stays on disk after the run (the fleet's part is predicted before it stops)."""
        kept = list(self.kept)
        if self.fleet is not None and self.fleet.root.exists():
            keep = self.fleet.retention(self.keeps_logs())
            logs = self.fleet.root / "logs"
            if keep == "all":
                kept.append(self.fleet.root)
            elif keep == "logs" and logs.is_dir() and any(logs.iterdir()):
                kept.append(logs)
        return kept

    # worker side
    def to_workerinput(self) -> str:
        return json.dumps(
            {
                "endpoints": {k: e.to_dict(redact=False) for k, e in self.endpoints.items()},
                "errors": self.errors,
            }
        )

    def load_workerinput(self, text: str) -> None:
        data = json.loads(text)
        self.endpoints = {k: Endpoint.from_dict(v) for k, v in data["endpoints"].items()}
        self.errors = data["errors"]

    # test side
    def get(self, key: str) -> Endpoint:
        kind, tls = split_key(key)
        if kind not in SERVERS:
            raise pytest.UsageError(
                f"unknown server {key!r}; choose from {', '.join(SERVERS)} (+ -tls)"
            )
        if key in self.endpoints:
            return self.endpoints[key]
        required = kind in required_servers()
        if key not in self.errors and not _installed(kind):
            fix = f"run `artconf tools install --only {SERVERS[kind].tool}`"
            if required:
                raise ServerUnavailable(key, f"server {kind} is required but not installed: {fix}")
            pytest.skip(f"server {kind} is not installed: {fix}")
        if key not in self.errors and self.lazy:
            self._start([(key, kind, tls)])
            if key in self.endpoints:
                return self.endpoints[key]
        if key in self.errors:
            raise ServerUnavailable(key, f"server {key} failed to start: {self.errors[key]}")
        raise ServerUnavailable(
            key,
            f"server {key} was not started in this run (started: "
            f"{', '.join(self.endpoints) or 'none'}); pass --artconf-servers {kind}",
        )


def _requested(config: pytest.Config) -> list[str]:
    value = config.getoption("artconf_servers")
    return parse_servers(value) if value else []


def _installed(kind: str) -> bool:
    try:
        tools.binary(SERVERS[kind].tool)
        return True
    except tools.ToolError:
        return False


def _logs_copied(config: pytest.Config) -> bool:
    # `artconf run` (conformance/session.py) copies failing cases' server logs into its run dir.
    return bool(config.getoption("artconf_run_dir", None))


def _xdist_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) or bool(
        getattr(config.option, "dist", "no") != "no"
    )


_received: list[str] = []  # the signal that interrupted the run, if it was one we handle


def interrupted_by() -> str | None:
    """`SIGTERM` when the run was stopped by SIGTERM (None otherwise, e.g. for Ctrl-C)."""
    return _received[0] if _received else None


def _stop_on_sigterm() -> None:
    """SIGTERM takes the same clean path as Ctrl-C (pytest only handles SIGINT itself)."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def handler(signum: int, frame: object) -> None:
            _received.append(signal.Signals(signum).name)
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, handler)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    pool = ServerPool(config)
    config.stash[_POOL] = pool
    if _is_worker(config):
        pool.load_workerinput(config.workerinput[_WORKER_KEY])
    elif not config.option.collectonly and not config.option.help:
        pool.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pool = session.config.stash.get(_POOL, None)
    if pool is not None:
        pool.failed = session.testsfailed > 0 or exitstatus == pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    pool = config.stash.get(_POOL, None)
    if pool is None or _is_worker(config):
        return
    for path in pool.to_be_kept():
        what = "logs" if path.name == "logs" else "data (kept on request)"
        terminalreporter.write_line(
            f"artconf: server {what} kept in {path}; `artconf clean` removes it"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(_POOL, None)
    if pool is not None and not _is_worker(config):
        pool.stop()  # after the session finished: conformance/session.py has copied its logs
        # xdist has torn its workers down by now; a worker killed on the way (it did not stop
        # in time after Ctrl-C) leaves its private servers to us.
        reap_orphans_and_data()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # xdist: hand the controller's servers to a worker
    node.workerinput[_WORKER_KEY] = node.config.stash[_POOL].to_workerinput()


_POOL = pytest.StashKey[ServerPool]()


@pytest.fixture(scope="session")
def artconf_private_server(request: pytest.FixtureRequest):
    """`artconf_private_server("minio", tls=False, env={...})`: a server of this process's own.

    For cases that need a server configured differently from the shared ones (a region, a
    disk-backed store). Started on first call per (kind, tls, env), stopped at session end.
    """
    pool = request.config.stash[_POOL]
    fleet: Fleet | None = None
    started: dict[tuple, Endpoint] = {}

    def start(kind: str, *, tls: bool = False, env: dict[str, str] | None = None) -> Endpoint:
        nonlocal fleet
        ident = (kind, tls, tuple(sorted((env or {}).items())))
        if ident not in started:
            if fleet is None:
                fleet = Fleet(
                    new_session_dir("private"), keep_data=pool.keep_data, launcher=pool.launcher
                )
            key = f"{kind}-private{len(started)}" + ("-tls" if tls else "")
            try:
                started[ident] = fleet.start_one(key, kind, tls, env)
            except (ServerStartError, tools.ToolError) as exc:
                raise ServerUnavailable(
                    key, f"private server {key} failed to start: {exc}"
                ) from None
        return started[ident]

    yield start
    if fleet is not None:
        # Session teardown: every test of this process has reported by now.
        failed = request.session.testsfailed > 0 and not _logs_copied(request.config)
        kept = fleet.close(failed=failed)
        if kept is not None:
            pool.kept.append(kept)


@pytest.fixture(scope="session")
def artconf_server(request: pytest.FixtureRequest) -> Callable[[str], Endpoint]:
    """`artconf_server("minio-tls")` -> the running server's Endpoint (ERROR or SKIP otherwise)."""
    return request.config.stash[_POOL].get


def server_pool(config: pytest.Config) -> ServerPool | None:
    """The run's servers (endpoints and start errors), for other plugins."""
    return config.stash.get(_POOL, None)
