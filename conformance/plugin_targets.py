"""Targets that are Argo artifact plugins, in any language (spec 1.4).

    plugin:SOCKET          a plugin already listening on SOCKET
    plugin-exec:COMMAND    the kit starts COMMAND SOCKET itself, as Argo does, and stops it
    argo-go                Argo's own S3, GCS and Azure drivers (v4.0.5) served over the
                           protocol by the kit's Go program (drivers/plugin/argo-go)

Every call goes through Argo's client semantics (`drivers.plugin.client`). A case's pod
environment (its trusted CA, a GCS endpoint, Argo's retry settings) reaches a plugin the only
way it reaches one in a pod: the plugin process's environment. So `plugin-exec:` starts one
process per distinct environment, on first use; `plugin:SOCKET` has the environment its owner
gave it. The retry clock of a case (`DriverContext.sleep`) cannot cross a process boundary:
through a plugin, "not retried" is checked by the error's flag alone.

What a plugin supports comes from, in order: `artconf run --declaration FILE` (for plain
pytest, ARTCONF_DECLARATION);
a file `artconf-plugin.yaml` beside the plugin's executable (plugin-exec) or its socket
(plugin:); for the kit's own `artconf plugin serve`, the declaration of the drivers it serves;
else Argo's own set for each kind (spec 1.3). A declaration file holds `kinds`, `capabilities`
(names, or a mapping kind -> names) and `deviations`, as a Python factory's attributes do.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from drivers.core.context import SETTINGS_PREFIXES, DriverContext
from drivers.plugin import environment
from drivers.plugin.client import SOCKET_WAIT_SECONDS, PluginDriver

#: What the kit observes inside its own process, so cannot see a plugin do.
UNPROVABLE = {
    "addressing_path": "the cases watch the host names the driver looks up in the kit's own "
    "process, and a plugin resolves names in its own",
    "addressing_virtual_hosted": "the cases resolve <bucket>.localhost names in the kit's own "
    "process only (a plugin cannot resolve them here), and watch the lookups there",
}
#: The pod environment a case sets for the SDKs' default credential chains (monkeypatched in
#: the kit's process): a plugin process gets it too, as a pod's sidecar would.
SDK_CHAIN_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_", "ALIBABA_CLOUD_")

DECLARATION_FILE = "artconf-plugin.yaml"
DECLARATION_ENV = "ARTCONF_DECLARATION"
#: How long to wait for a plugin's socket (Argo: 120 s); tests set it shorter.
SOCKET_WAIT_ENV = "ARTCONF_PLUGIN_SOCKET_WAIT"
#: Variables a pod's environment would not have from the host: the kit sets each explicitly.
_HOST_ONLY = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE", environment.GCS_ENDPOINT)


def socket_wait() -> float:
    value = os.environ.get(SOCKET_WAIT_ENV, "")
    try:
        return float(value) if value else SOCKET_WAIT_SECONDS
    except ValueError:
        raise ValueError(f"{SOCKET_WAIT_ENV}={value!r}: write a number of seconds") from None


def plugin_env(context: DriverContext) -> dict[str, str]:
    """The variables that carry `context` and the SDK chains' environment to a plugin process
    (its temp dir aside: each process has its own)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(SDK_CHAIN_PREFIXES)}
    env.update(environment.environment_for(context))
    env.pop("TMPDIR", None)
    return env


def _die_with_parent() -> None:
    """In the child: SIGTERM when the process that started it dies (even by SIGKILL), so a
    killed run leaves no plugin behind."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class PluginProcesses:
    """`plugin-exec:`: COMMAND started once per distinct environment, stopped by `close`."""

    def __init__(self, argv: list[str], name: str):
        self.argv = argv
        self.name = name
        self.root: Path | None = None
        self.started: dict[tuple, tuple[subprocess.Popen, Path, Path]] = {}
        self.lock = threading.Lock()
        atexit.register(self.close)

    def _root(self) -> Path:
        if self.root is None:
            # Short: a unix socket path holds at most 107 bytes.
            self.root = Path(tempfile.mkdtemp(prefix="artconf-plugins-"))
        return self.root

    def process_for(self, context: DriverContext) -> tuple[subprocess.Popen, Path, Path]:
        """(process, socket, log) serving `context`'s environment; started when new or dead."""
        extra = plugin_env(context)
        key = tuple(sorted(extra.items()))
        with self.lock:
            known = self.started.get(key)
            if known and known[0].poll() is None:
                return known
            index = len(self.started) + (1 if known else 0)
            directory = self._root() / f"{self.name}-{index}"
            socket = directory / "socket"
            tmp = directory / "tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            log = directory / "plugin.log"
            env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
            for name in _HOST_ONLY:
                env.pop(name, None)
            env.update(extra, TMPDIR=str(tmp))
            with open(log, "ab") as out:
                process = subprocess.Popen(
                    [*self.argv, str(socket)],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
            self.started[key] = (process, socket, log)
            return self.started[key]

    def close(self) -> None:
        with self.lock:
            try:
                for process, _, _ in self.started.values():
                    if process.poll() is None:
                        process.terminate()
                for process, _, _ in self.started.values():
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            finally:  # the sockets, logs and temp files go whatever happened above
                self.started.clear()
                if self.root is not None:
                    shutil.rmtree(self.root, ignore_errors=True)
                    self.root = None


def log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def exit_note(process: subprocess.Popen, log: Path, grace: float = 0.0) -> str:
    """Why a plugin process is gone ("" while it runs). After a failed call, ``grace`` seconds
    let a dying process finish exiting: its socket closes before the kernel reaps it."""
    try:
        code = process.wait(timeout=grace) if grace else process.poll()
    except subprocess.TimeoutExpired:
        code = None
    if code is None:
        return ""
    how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
    tail = log_tail(log)
    return f"the plugin process ended ({how}){': ' + tail if tail else ''} [log: {log}]"


# ------------------------------------------------------------------ factories


def exec_factory(argv: list[str], name: str):
    processes = PluginProcesses(argv, name)

    def factory(artifact, secrets, context: DriverContext) -> PluginDriver:
        process, socket, log = processes.process_for(context)
        return PluginDriver(
            name,
            socket,
            secrets,
            socket_wait=socket_wait(),
            alive=lambda: exit_note(process, log),
            describe_failure=lambda: exit_note(process, log, grace=2.0),
        )

    factory.processes = processes  # type: ignore[attr-defined]
    return factory


def socket_factory(path: Path, name: str):
    def factory(artifact, secrets, context: DriverContext) -> PluginDriver:
        return PluginDriver(name, path, secrets, socket_wait=socket_wait())

    return factory


# ------------------------------------------------------------------ declarations


def read_declaration(path: Path) -> dict[str, Any]:
    from conformance.targets import TargetError

    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TargetError(f"declaration {path}: cannot be read: {exc}") from None
    if not isinstance(document, Mapping):
        raise TargetError(f"declaration {path}: expected a mapping with kinds/capabilities")
    unknown = sorted(set(document) - {"kinds", "capabilities", "deviations", "differential"})
    if unknown:
        raise TargetError(
            f"declaration {path}: unknown field(s) {unknown}; "
            "use kinds, capabilities, deviations and differential"
        )
    return dict(document)


def _own_serve_declaration(argv: list[str]) -> dict[str, Any] | None:
    """The declaration of the kit's own `artconf plugin serve [--driver K | --target T]`."""
    if len(argv) < 3 or Path(argv[0]).name != "artconf" or argv[1:3] != ["plugin", "serve"]:
        return None
    from conformance.targets import parse_target

    options = dict(zip(argv[3::2], argv[4::2], strict=False))
    served = parse_target(options.get("--target", "reference"))
    kinds = served.kinds
    if served.name == "reference":
        kinds = tuple(k for k in served.declared if k != "resolution")  # type: ignore[union-attr]
    if "--driver" in options:
        kinds = (options["--driver"],)
    declared = served.declared
    if isinstance(declared, Mapping):
        declared = {k: v for k, v in declared.items() if kinds is None or k in kinds}
    return {"kinds": kinds, "capabilities": declared, "deviations": sorted(served.deviations)}


def declaration_for(beside: Path | None, argv: list[str] | None) -> tuple[dict, str]:
    """(declaration, where it came from); an empty declaration means Argo's set."""
    explicit = os.environ.get(DECLARATION_ENV)
    if explicit:
        return read_declaration(Path(explicit)), explicit
    if beside is not None and (beside / DECLARATION_FILE).is_file():
        path = beside / DECLARATION_FILE
        return read_declaration(path), str(path)
    own = _own_serve_declaration(argv or [])
    if own is not None:
        return own, "the drivers `artconf plugin serve` serves"
    return {}, "Argo's set for each kind"


# ------------------------------------------------------------------ parsing


def parse_plugin_target(text: str):
    """The Target for a `plugin:`, `plugin-exec:` or `argo-go` target string."""
    from conformance.targets import TargetError

    if text == "argo-go":
        from drivers.plugin import argo_go
        from emulators.tools import ToolError

        try:  # a cold build takes minutes: say so
            binary = argo_go.binary(lambda line: print(f"artconf: {line}", file=sys.stderr))
        except ToolError as exc:
            raise TargetError(f"target argo-go: {exc}") from None
        factory = exec_factory([str(binary)], "argo-go")
        return _target(text, factory, argo_go_declaration(), "Argo's own drivers")
    if text.startswith("plugin-exec:"):
        command = text.removeprefix("plugin-exec:").strip()
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise TargetError(f"target {text!r}: {exc}") from None
        if not argv:
            raise TargetError(
                f"target {text!r}: write plugin-exec:COMMAND (started as COMMAND SOCKET)"
            )
        executable = shutil.which(argv[0])
        if executable is None and argv[0] == "artconf":  # the kit's own, from its environment
            executable = shutil.which("artconf", path=str(Path(sys.executable).parent))
        if executable is None:
            raise TargetError(
                f"target {text!r}: {argv[0]!r} is not an executable on PATH or a path to one"
            )
        argv[0] = executable  # the same program whatever PATH the plugin process gets
        name = Path(executable).name
        beside = Path(executable).resolve().parent
        declaration, source = declaration_for(beside, argv)
        return _target(text, exec_factory(argv, name), declaration, source)
    if text.startswith("plugin:"):
        where = text.removeprefix("plugin:").strip()
        if not where:
            raise TargetError(f"target {text!r}: write plugin:SOCKET (a unix socket path)")
        path = Path(where).expanduser()
        # Argo's layout is /tmp/artifact-plugins/<name>/socket: the directory names the plugin.
        name = path.parent.name if path.name == "socket" and path.parent.name else path.stem
        declaration, source = declaration_for(path.parent, None)
        return _target(text, socket_factory(path.absolute(), name), declaration, source)
    return None


def argo_go_declaration() -> dict[str, Any]:
    """Argo's drivers support Argo's set, and do every deviation of their kinds the Argo way."""
    from drivers.core.deviations import deviations

    kinds = ("s3", "gcs", "azure")
    ids = sorted(d.id for d in deviations() if d.driver in kinds)
    return {"kinds": kinds, "deviations": ids, "differential": True}


def _target(text: str, factory, declaration: dict, source: str):
    from conformance.targets import Target, TargetError, _declared, _kinds

    where = f"{text} (declared by {source})"
    declared = _declared(declaration.get("capabilities"), f"{where} capabilities")
    kinds = _kinds(declaration.get("kinds"), f"{where} kinds")
    if kinds is None and isinstance(declared, Mapping):
        kinds = tuple(declared)
    deviation_ids = frozenset(declaration.get("deviations") or ())
    from drivers.core.deviations import deviations as registry

    unknown = sorted(deviation_ids - {d.id for d in registry()})
    if unknown:
        raise TargetError(f"{where}: unknown deviation id(s) {unknown}")
    return Target(
        text,
        factory,
        declared,
        deviation_ids,
        kinds,
        declared_by=source,
        unprovable=UNPROVABLE,
        differential=bool(declaration.get("differential", False)),
    )


def close_target(target: Any) -> None:
    """Stop the plugin processes a target started (nothing for other targets)."""
    processes = getattr(getattr(target, "factory", None), "processes", None)
    if processes is not None:
        processes.close()
