"""The Docker engine behind the container launcher: one that runs already, or the kit's own.

`DOCKER_HOST`, when set, names the engine to use; else a system engine answering on
`/var/run/docker.sock` is used; the kit never starts or stops either. Otherwise the kit (as
root) starts Debian's `dockerd` with its own data-root, exec-root, pidfile, config file and
socket under `<cache>/engine/`, and with every switch that would touch the machine's network
turned off: no iptables rules, no bridge, no IP forwarding sysctl, no masquerading. Containers
then run with host networking and bind 127.0.0.1 like the native servers.

Who stops the kit's engine: every holder (a fleet, a test session) takes a lease (a file naming
its process's PID and start time); releasing the last live lease stops the engine, so a run
leaves no daemon behind, and a run killed outright is cleaned up by the next `release`/`reap`.
The data-root stays: it holds the built images, which are tools (rebuilt only when a pin
changes), not server data.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
from filelock import FileLock

from emulators.paths import cache_root
from emulators.processes import is_same_process, process_create_time

#: Never let dockerd change the machine's network: no iptables chains, no docker0 bridge, no
#: `net.ipv4.ip_forward=1` (dockerd sets it by default even with --bridge=none), no NAT.
NETWORK_FLAGS = (
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
    "--bridge=none",
)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
INSTALL_HINT = "apt-get install -y --no-install-recommends docker.io"
SYSTEM_HOST = "unix:///var/run/docker.sock"
DETACHED = "detached-"  # the name prefix of a lease held by `emulators up`'s servers


class EngineError(RuntimeError):
    """No engine could be had; the message says why and what to do."""


@dataclass
class Engine:
    host: str  # the DOCKER_HOST value, e.g. unix:///root/.cache/artifact-conformance/engine/...
    version: str
    ours: bool  # the kit's own dockerd (False: DOCKER_HOST's, never stopped by the kit)
    start_seconds: float = 0.0  # 0 when it was running already
    lease: Path | None = None  # ours: the lease this holder drops with `release`


def engine_dir() -> Path:
    return Path(os.environ.get("ARTCONF_ENGINE_DIR") or cache_root() / "engine")


def our_host() -> str:
    return f"unix://{engine_dir() / 'docker.sock'}"


def docker_cli() -> str | None:
    return shutil.which("docker")


def dockerd_binary() -> str | None:
    return shutil.which("dockerd") or next(
        (p for p in ("/usr/sbin/dockerd", "/usr/bin/dockerd") if Path(p).exists()), None
    )


def server_version(host: str, timeout: float = 5.0) -> tuple[str | None, str]:
    """(version, "") when an engine answers on `host`, else (None, why not)."""
    cli = docker_cli()
    if cli is None:
        return None, f"the docker CLI is not installed ({INSTALL_HINT})"
    try:
        result = subprocess.run(
            [cli, "-H", host, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"`docker version` on {host} did not answer within {timeout:.0f} s"
    if result.returncode == 0 and result.stdout.strip():
        return result.stdout.strip(), ""
    lines = (result.stderr or result.stdout).strip().splitlines()
    return None, lines[-1] if lines else f"`docker version` exited with {result.returncode}"


# --- leases ------------------------------------------------------------------------------


def _new_lease() -> Path:
    """`<pid>-<start time>-<n>`: one per holder, a process may hold several (a fleet, a test)."""
    me = os.getpid()
    name = f"{me}-{process_create_time(me) or 0:.3f}-{uuid.uuid4().hex[:8]}"
    return engine_dir() / "leases" / name


def _live_leases() -> list[Path]:
    """Leases whose process still runs, and detached ones; dead holders' files are removed."""
    folder = engine_dir() / "leases"
    live = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.name.startswith(DETACHED):
            live.append(path)  # `emulators up`: held until `emulators down`
            continue
        pid, _, rest = path.name.partition("-")
        created = rest.partition("-")[0]
        try:
            alive = is_same_process(int(pid), float(created))
        except ValueError:
            alive = False
        if alive:
            live.append(path)
        else:
            path.unlink(missing_ok=True)
    return live


def _lock() -> FileLock:
    engine_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    return FileLock(str(engine_dir() / ".lock"))


def _users_engine() -> tuple[str | None, str | None, str]:
    """(host, version, why) of an engine the user runs: DOCKER_HOST's, else the system's."""
    env_host = os.environ.get("DOCKER_HOST")
    if env_host:
        version, why = server_version(env_host)
        return env_host, version, f"DOCKER_HOST={env_host} does not answer: {why}"
    if Path(SYSTEM_HOST.removeprefix("unix://")).exists():
        version, _ = server_version(SYSTEM_HOST)
        if version:
            return SYSTEM_HOST, version, ""
    return None, None, ""


def acquire(timeout: float = START_TIMEOUT) -> Engine:
    """An engine that answers, started by the kit when none does (the caller then holds a
    lease on it, to give back with `release`)."""
    host, version, why = _users_engine()
    if host is not None:
        if not version:
            raise EngineError(why)
        return Engine(host, version, ours=False)
    with _lock():
        version, _ = server_version(our_host())
        began = time.monotonic()
        if not version:
            version = _start(timeout)
        lease = _new_lease()
        lease.parent.mkdir(exist_ok=True)
        lease.touch()
        waited = time.monotonic() - began
    started = waited if waited > 0.5 else 0.0
    return Engine(our_host(), version, ours=True, start_seconds=started, lease=lease)


def detach(held: Engine) -> Engine:
    """Turn `held`'s lease into one no process holds (the servers of `emulators up` outlive
    it): only `release` of the returned engine gives it back."""
    if not held.ours or held.lease is None:
        return held
    detached = held.lease.with_name(DETACHED + held.lease.name)
    held.lease.rename(detached)
    return Engine(held.host, held.version, True, held.start_seconds, detached)


def release(held: Engine) -> bool:
    """Drop `held`'s lease; stop the kit's engine when no live lease is left.

    Returns True when the engine was stopped.
    """
    if not held.ours or held.lease is None:
        return False  # DOCKER_HOST's engine is the user's
    with _lock():
        held.lease.unlink(missing_ok=True)
        if _live_leases() or _pid() is None:
            return False
        _stop()
        return True


def reap() -> bool:
    """After a killed run: stop the kit's engine if nobody holds a lease on it any more."""
    if not (engine_dir() / "dockerd.pid").exists():
        return False
    with _lock():
        if _live_leases() or _pid() is None:
            return False
        _stop()
        return True


# --- the kit's dockerd ---------------------------------------------------------------------


def _pid() -> int | None:
    """Our dockerd's PID from its pidfile, if that process is still a dockerd."""
    try:
        pid = int((engine_dir() / "dockerd.pid").read_text().strip())
        if "dockerd" in psutil.Process(pid).name():
            return pid
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def _start(timeout: float) -> str:
    """Start the kit's dockerd (the caller holds the lock); its version once it answers."""
    root = engine_dir()
    dockerd = dockerd_binary()
    if dockerd is None or docker_cli() is None:
        raise EngineError(f"no Docker engine is installed: {INSTALL_HINT} (as root)")
    if os.geteuid() != 0:
        raise EngineError("starting a Docker engine needs root; or set DOCKER_HOST to one")
    _stop()  # a wedged engine of ours (alive, not answering), or what a killed one left
    (root / "daemon.json").write_text("{}\n")  # never read the machine's /etc/docker/daemon.json
    argv = [
        dockerd,
        *NETWORK_FLAGS,
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "dockerd.pid"),
        "--config-file", str(root / "daemon.json"),
        "-H", our_host(),
    ]  # fmt: skip
    log = root / "dockerd.log"
    began = time.monotonic()
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C must not reach the engine
        )
    why = ""
    while time.monotonic() < began + timeout:
        if popen.poll() is not None:
            raise EngineError(f"dockerd exited with code {popen.returncode}: {_tail(log)}")
        version, why = server_version(our_host(), timeout=2)
        if version:
            return version
        time.sleep(0.05)
    _stop()
    raise EngineError(f"dockerd did not answer within {timeout:.0f} s ({why}): {_tail(log)}")


def _stop() -> None:
    """Stop our dockerd (SIGTERM, wait, SIGKILL), its containerd, and any mount left behind."""
    root = engine_dir()
    pid = _pid()
    if pid is not None:
        _terminate(pid)
    # dockerd stops its containerd; after a SIGKILL it cannot, so look for it too.
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        cpid = int((root / "exec" / "containerd" / "containerd.pid").read_text().strip())
        if "containerd" in psutil.Process(cpid).name():
            _terminate(cpid)
    for point in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    (root / "docker.sock").unlink(missing_ok=True)
    (root / "dockerd.pid").unlink(missing_ok=True)


def _terminate(pid: int) -> None:
    try:
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(STOP_TIMEOUT)
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.Error):
            proc.kill()
            proc.wait(5)
    except psutil.Error:
        pass


def mounts_under(root: Path) -> list[str]:
    """Mount points below `root` (overlay layers, netns files, shm) from /proc/self/mounts."""
    prefix = str(root.resolve()) + "/"
    points = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            point = line.split()[1].replace("\\040", " ")
            if point.startswith(prefix):
                points.append(point)
    return points


def running() -> bool:
    """The kit's own dockerd is running (for tests: nothing may be left after a run)."""
    return _pid() is not None


def availability() -> tuple[bool, str]:
    """Can the container launcher work here, and how (or why not, and what to do)?"""
    host, version, why = _users_engine()
    if host is not None:
        return (True, f"engine {version} at {host}") if version else (False, why)
    version, _ = server_version(our_host())
    if version:
        return True, f"the kit's engine {version} is running at {our_host()}"
    if dockerd_binary() is None or docker_cli() is None:
        return False, f"no Docker engine is installed: {INSTALL_HINT} (as root)"
    if os.geteuid() != 0:
        return False, "no engine answers, and starting one needs root: set DOCKER_HOST to one"
    return True, f"the kit starts its own engine ({dockerd_binary()}) when a run needs it"


def _tail(log: Path, lines: int = 5) -> str:
    with contextlib.suppress(OSError):
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    return ""
