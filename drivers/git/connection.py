"""How the Git driver reaches a repository: credentials, trust, SSH, and the ``git`` processes.

What Argo's factory and driver (v4.0.5 ``workflow/artifacts/artifacts.go``, ``git/git.go``)
take, read when the driver is built:

* ``sshPrivateKeySecret``, else ``usernameSecret``/``passwordSecret`` (each read if named,
  used verbatim): go-git's ``PublicKeys`` with the user of :func:`get_user`, else its
  ``BasicAuth`` when either value is non-empty. The key is parsed first, before anything else
  happens (an unusable key fails the load at once, whatever the URL).
* A key with an ``http(s)`` URL, or a username/password with an SSH URL, is go-git's
  ``invalid auth method``; ``file`` and ``git`` URLs ignore credentials.
* SSH without a key uses an agent (``SSH_AUTH_SOCK``) as go-git does; without one either the
  load fails as go-git's does ("error creating SSH agent").
* ``insecureIgnoreHostKey`` applies only with a key (Argo sets the host-key callback in that
  branch alone). Otherwise the host key must be in go-git's known_hosts files: the
  ``SSH_KNOWN_HOSTS`` list (``DriverContext.ssh_known_hosts``), else ``~/.ssh/known_hosts`` and
  ``/etc/ssh/ssh_known_hosts``, those that exist.
* ``insecureSkipTLS`` skips certificate verification of the repository, not of its
  submodules (Argo does not pass it to the submodule update).

How ``git`` is run, so that it never prompts, hangs, or reads anything of the user's:

* A clean environment: ``PATH``, the proxy variables (loopback addresses never proxied, as
  Go), a private ``HOME``, ``GIT_CONFIG_GLOBAL=/dev/null``, ``GIT_CONFIG_NOSYSTEM=1``,
  ``GIT_TERMINAL_PROMPT=0``, empty ``GIT_ASKPASS``/``SSH_ASKPASS``, ``credential.helper`` empty,
  no hooks, no background gc; ``stdin`` is ``/dev/null`` and each process leads a new session
  (no terminal to prompt on), killed with its children when the time is up.
* HTTP credentials are sent on every request as go-git sends them (preemptive basic auth),
  through ``http.extraHeader`` in a 0600 config file of a private 0700 directory that
  ``include.path`` names (``GIT_CONFIG_COUNT`` entries): never in argv, the environment or a
  message. The trust store is ``DriverContext.ca_bundle`` and nothing else (``GIT_SSL_CAINFO``,
  and an empty ``GIT_SSL_CAPATH`` in place of curl's built-in directory).
* SSH goes through :func:`ssh_command`: OpenSSH with no config file, batch mode, only the
  key given (a 0600 file in the private directory), strict host-key checking against the
  known_hosts files, a connect timeout and keep-alives.
* Only the transports go-git has are allowed (``GIT_ALLOW_PROTOCOL``): http, https, ssh, git,
  and file when the repository itself is local (git refuses file submodules of a remote
  repository; go-git does not: deviation ``git-local-submodules-of-remote-repos-refused``).
* Time: ``ARTIFACT_GIT_CONNECT_TIMEOUT`` (default 30s) for SSH connections, and
  ``ARTIFACT_GIT_TIMEOUT`` (default 30m) for a whole load, Go durations read from
  ``DriverContext.settings``; Argo has neither (deviation ``git-operation-timeout``).

The private directory is removed when the operation ends, whatever happens.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest, Internal
from drivers.core.model import GitArtifact
from drivers.core.retry import parse_go_duration
from drivers.core.secrets import SecretSource, SecretValue, read_selector, redact

log = logging.getLogger(__name__)

TIMEOUT_SETTING = "ARTIFACT_GIT_TIMEOUT"
CONNECT_TIMEOUT_SETTING = "ARTIFACT_GIT_CONNECT_TIMEOUT"
DEFAULT_TIMEOUT = 30 * 60.0
DEFAULT_CONNECT_TIMEOUT = 30.0
#: The prefix of the private directory each operation writes its key and config into.
PRIVATE_PREFIX = "git-"
#: Argo's ``GetUser``: the user of an SSH URL, default ``git``.
SSH_URL_USER = re.compile(r"^(ssh://)?([^/:]*?)@[^@]+$")
DEFAULT_SSH_USER = "git"
#: go-git's transports (``plumbing/transport/client``).
TRANSPORTS = ("http", "https", "ssh", "git", "file")
INVALID_AUTH_METHOD = "invalid auth method"
NO_SSH_AGENT = 'error creating SSH agent: "SSH agent requested but SSH_AUTH_SOCK not-specified"'
NO_KNOWN_HOSTS = (
    "cannot create known hosts callback: unable to find any valid known_hosts file, "
    "set SSH_KNOWN_HOSTS env variable"
)

# go-git's internal/url: a URL with a scheme, and the scp-like form user@host:path.
_SCHEME = re.compile(r"^([^:]+)://")
_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[^@]+)@)?(?P<host>[^:\s]+):(?:(?P<port>[0-9]{1,5}):)?(?P<path>[^\\].*)$",
    re.DOTALL,
)
_PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
)
_LOOPBACK = "localhost,127.0.0.1,::1"
# Configuration every git process of the driver gets (command-line scope, never argv).
_BASE_CONFIG: tuple[tuple[str, str], ...] = (
    ("credential.helper", ""),
    ("core.askPass", ""),
    ("core.hooksPath", os.devnull),
    ("core.fsmonitor", "false"),
    ("core.logAllRefUpdates", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("advice.detachedHead", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("submodule.recurse", "false"),
    ("init.templateDir", ""),
)


def get_user(url: str) -> str:
    """Argo's ``GetUser``: the user of ``user@host:path`` or ``ssh://user@host/path``, else
    ``git``. It wins over a user the URL spells otherwise (go-git's ``PublicKeys.User``)."""
    match = SSH_URL_USER.match(url)
    return match.group(2) if match else DEFAULT_SSH_USER


def transport_of(url: str) -> str:
    """The transport go-git's ``NewEndpoint`` picks: ``ssh`` for an scp-like address,
    ``file`` for a path, else the URL's scheme (lower case)."""
    scheme = _SCHEME.match(url)
    if scheme is None:
        return "ssh" if _SCP_LIKE.match(url) else "file"
    return scheme.group(1).lower()


def safe_url(url: str) -> str:
    """``url`` without the password of its userinfo, for messages (the user stays)."""
    scheme = _SCHEME.match(url)
    if scheme is not None:
        start = scheme.end()
        end = len(url)
        for stop in "/?#":
            found = url.find(stop, start)
            if found != -1:
                end = min(end, found)
        authority = url[start:end]
        if "@" in authority:
            userinfo, _, host = authority.rpartition("@")
            user = userinfo.split(":", 1)[0]
            return f"{url[:start]}{user}@{host}{url[end:]}"
        return url
    scp = _SCP_LIKE.match(url)
    if scp is not None and scp.group("user") and ":" in scp.group("user"):
        return url.replace(scp.group("user"), scp.group("user").split(":", 1)[0], 1)
    return url


_USERINFO_IN_TEXT = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s'\"@]*@")
#: Shorter secrets are not searched for in git's messages: git never sees them (they are in
#: a header or a key file), and "p" would garble every word with a p in it.
MIN_REDACTED = 4


def _userinfo_removed(text: str) -> str:
    return _USERINFO_IN_TEXT.sub(r"\1", text)


def scrub(text: str, secrets: list[SecretValue]) -> str:
    """Text from git with every URL's userinfo removed and every secret redacted."""
    return redact(
        _userinfo_removed(text), [s for s in secrets if len(s.reveal().strip()) >= MIN_REDACTED]
    )


def setting_seconds(settings: Mapping[str, str], name: str, default: float) -> float:
    """A Go duration from the settings (``"90s"``, ``"1h"``); a bad one keeps the default."""
    raw = settings.get(name, "")
    if not raw:
        return default
    try:
        seconds = parse_go_duration(raw)
    except ValueError as exc:
        log.warning("ignoring %s=%r: %s", name, raw, exc)
        return default
    if seconds <= 0:
        log.warning("ignoring %s=%r: it must be positive", name, raw)
        return default
    return seconds


def known_hosts_files(context: DriverContext) -> list[str]:
    """go-git's known_hosts files: ``SSH_KNOWN_HOSTS``'s list, else its two defaults; only
    those that exist (none at all: go-git refuses to connect)."""
    if context.ssh_known_hosts:
        candidates = context.ssh_known_hosts.split(os.pathsep)
    else:
        candidates = [
            os.path.join(os.path.expanduser("~"), ".ssh", "known_hosts"),
            "/etc/ssh/ssh_known_hosts",
        ]
    return [path for path in candidates if path and os.path.exists(path)]


def ssh_command(
    *,
    user: str,
    key_file: str | None,
    known_hosts: list[str],
    insecure_ignore_host_key: bool,
    connect_timeout: float,
) -> str:
    """The ``GIT_SSH_COMMAND`` (a shell command line) that connects as go-git would.

    ``user`` always wins over a user in the URL, as go-git's ``PublicKeys.User`` does. Without
    a key only an agent (``SSH_AUTH_SOCK``) is tried, as go-git's default. Host keys are checked
    strictly against ``known_hosts`` (none: every host is unknown) unless
    ``insecure_ignore_host_key``.
    """
    options = [
        "BatchMode=yes",
        f"User={user}",
        f"ConnectTimeout={max(1, round(connect_timeout))}",
        "ServerAliveInterval=15",
        "ServerAliveCountMax=4",
        "PreferredAuthentications=publickey",
        "PasswordAuthentication=no",
        "KbdInteractiveAuthentication=no",
        "ControlMaster=no",
        "ControlPath=none",
        "ProxyCommand=none",
        "ForwardAgent=no",
        "RequestTTY=no",
        "CheckHostIP=no",
        "UpdateHostKeys=no",
        "GlobalKnownHostsFile=/dev/null",
    ]
    if key_file is not None:
        options += [
            "IdentitiesOnly=yes",
            f"IdentityFile={_ssh_quote(key_file)}",
            "IdentityAgent=none",
        ]
    else:
        options += ["IdentityFile=none"]
    if insecure_ignore_host_key:
        options += ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]
    else:
        files = " ".join(_ssh_quote(path) for path in known_hosts) or "/dev/null"
        options += ["StrictHostKeyChecking=yes", f"UserKnownHostsFile={files}"]
    argv = ["ssh", "-F", "/dev/null"]
    for option in options:
        argv += ["-o", option]
    return " ".join(shlex.quote(arg) for arg in argv)


def _ssh_quote(path: str) -> str:
    """A path as one word of an ssh_config value: ``%`` doubled (ssh expands ``%d`` ...),
    double quotes when it needs them."""
    path = path.replace("%", "%%")
    if re.fullmatch(r"[\w@%+=:,./-]+", path):
        return path
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_value(value: str) -> str:
    """``value`` quoted for a git config file."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


# ------------------------------------------------------------------------------ credentials


@dataclass(frozen=True)
class Credentials:
    """What Argo's factory reads for a Git location, verbatim."""

    username: SecretValue = field(default_factory=lambda: SecretValue(""))
    password: SecretValue = field(default_factory=lambda: SecretValue(""))
    ssh_key: SecretValue = field(default_factory=lambda: SecretValue(""))

    @classmethod
    def read(cls, git: GitArtifact, secrets: SecretSource) -> Credentials:
        def value(selector, name: str) -> SecretValue:
            return read_selector(secrets, selector, field=f"git.{name}") or SecretValue("")

        return cls(
            username=value(git.username_secret, "usernameSecret"),
            password=value(git.password_secret, "passwordSecret"),
            ssh_key=value(git.ssh_private_key_secret, "sshPrivateKeySecret"),
        )

    @property
    def method(self) -> str:
        """Argo's ``auth()``: ``ssh`` (a key), ``basic`` (either value set) or ``""``."""
        if self.ssh_key:
            return "ssh"
        if self.username or self.password:
            return "basic"
        return ""

    def values(self) -> list[SecretValue]:
        """The values no message may show. git never learns the username (it is only in the
        header), so it is not searched for: a short one would garble every message."""
        found = [v for v in (self.password, self.ssh_key) if v.reveal().strip()]
        if self.method == "basic":
            found.append(SecretValue(self.basic_header()))
        return found

    def basic_header(self) -> str:
        """Go's ``SetBasicAuth`` value."""
        pair = self.username.reveal_bytes() + b":" + self.password.reveal_bytes()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def check_method(self, url: str) -> None:
        """go-git's transports refuse an auth method of the other kind, and SSH without a key
        needs an agent."""
        transport = transport_of(url)
        if (self.method == "ssh" and transport in ("http", "https")) or (
            self.method == "basic" and transport == "ssh"
        ):
            raise AuthMethodMismatch(INVALID_AUTH_METHOD)
        if transport == "ssh" and self.method == "" and not os.environ.get("SSH_AUTH_SOCK"):
            raise NoSSHAgent(NO_SSH_AGENT)


class AuthMethodMismatch(Exception):
    """go-git's ``transport.ErrInvalidAuthMethod``."""


class NoSSHAgent(Exception):
    """go-git's default SSH auth (no key given) without an agent to ask."""


# ------------------------------------------------------------------------------ running git


# What git's and ssh's messages say went wrong (:func:`failure_kind`), checked in this order.
_HOST_KEY = (
    "host key verification failed",
    "remote host identification has changed",
)
_UNAUTHORIZED = (
    "could not read username",
    "could not read password",
    "authentication failed",
    "returned error: 401",
    "permission denied (publickey",
    "permission denied, please try again",
    "too many authentication failures",
    "invalid username or password",
    "http basic: access denied",
)
_FORBIDDEN = ("returned error: 403",)
_NOT_FOUND = re.compile(
    r"repository '[^']*' not found|repository not found|returned error: 404|does not appear "
    r"to be a git repository|no such repository|repository not exported|couldn't find remote "
    r"ref|remote branch \S+ not found"
)
_CERTIFICATE = (
    "server certificate verification failed",
    "ssl certificate problem",
    "certificate verify failed",
)
# Network failures in curl's and ssh's words (the kit's table has Go's and Python's).
_NETWORK = (
    "could not resolve host",
    "could not resolve hostname",
    "connection timed out",
    "connection refused",
    "failed to connect",
    "couldn't connect to server",
    "the remote end hung up unexpectedly",
    "early eof",
    "rpc failed",
    "returned error: 5",
)


def failure_kind(stderr: str) -> str:
    """What a failed git process's stderr says: ``host_key``, ``unauthorized``,
    ``forbidden``, ``not_found``, ``certificate``, ``network``, ``local_refused`` (a file
    submodule of a remote repository) or ``other``."""
    lowered = stderr.lower()
    if any(mark in lowered for mark in _HOST_KEY):
        return "host_key"
    if any(mark in lowered for mark in _UNAUTHORIZED):
        return "unauthorized"
    if any(mark in lowered for mark in _FORBIDDEN):
        return "forbidden"
    if _NOT_FOUND.search(lowered):
        return "not_found"
    if any(mark in lowered for mark in _CERTIFICATE):
        return "certificate"
    if any(mark in lowered for mark in _NETWORK):
        return "network"
    if "transport 'file' not allowed" in lowered:
        return "local_refused"
    return "other"


class GitFailure(Exception):
    """A ``git`` process that failed: ``detail`` is its stderr's last lines, scrubbed of
    secrets, ``kind`` what :func:`failure_kind` read in them before scrubbing."""

    def __init__(
        self,
        command: str,
        detail: str,
        *,
        kind: str = "other",
        returncode: int = -1,
        timed_out: bool = False,
    ) -> None:
        super().__init__(detail)
        self.command = command
        self.detail = detail
        self.kind = kind
        self.returncode = returncode
        self.timed_out = timed_out


class Session:
    """The private directory, environment and deadline of one driver operation."""

    def __init__(
        self,
        *,
        url: str,
        credentials: Credentials,
        context: DriverContext,
        insecure_skip_tls: bool,
        insecure_ignore_host_key: bool,
    ) -> None:
        self.url = url
        self.credentials = credentials
        self.context = context
        self.insecure_skip_tls = insecure_skip_tls
        self.insecure_ignore_host_key = insecure_ignore_host_key and credentials.method == "ssh"
        self.timeout = setting_seconds(context.settings, TIMEOUT_SETTING, DEFAULT_TIMEOUT)
        self.connect_timeout = setting_seconds(
            context.settings, CONNECT_TIMEOUT_SETTING, DEFAULT_CONNECT_TIMEOUT
        )
        self.deadline = time.monotonic() + self.timeout
        self.known_hosts = known_hosts_files(context)
        self.private: Path | None = None
        self.git = shutil.which("git")
        self._env: dict[str, str] = {}
        self._processes: set[subprocess.Popen] = set()

    # ---------------------------------------------------------------- set-up and tear-down

    def __enter__(self) -> Session:
        if self.git is None:
            raise Internal("git: the git executable was not found on PATH")
        directory = Path(self.context.temp_dir)
        directory.mkdir(parents=True, exist_ok=True)
        self.private = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX, dir=directory))
        try:
            self._env = self._environment(self.private)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for process in list(self._processes):
            _kill(process)
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
            self.private = None

    def _private_file(self, name: str, data: bytes) -> str:
        assert self.private is not None
        path = self.private / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        return str(path)

    def _environment(self, private: Path) -> dict[str, str]:
        home = private / "home"
        home.mkdir(mode=0o700)
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "LANG": "C",
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "SSH_ASKPASS_REQUIRE": "never",
            "GIT_SSH_VARIANT": "ssh",
            "GIT_ALLOW_PROTOCOL": ":".join(
                p for p in TRANSPORTS if p != "file" or transport_of(self.url) == "file"
            ),
        }
        env.update(_proxies(os.environ))
        if self.context.ca_bundle:
            # The bundle and nothing else: an empty CA directory replaces curl's built-in one.
            env["GIT_SSL_CAINFO"] = str(self.context.ca_bundle)
            (private / "capath").mkdir(mode=0o700)
            env["GIT_SSL_CAPATH"] = str(private / "capath")
        if self.insecure_skip_tls:
            env["GIT_SSL_NO_VERIFY"] = "1"
        key_file = None
        if self.credentials.method == "ssh":
            key_file = self._private_file("id_key", _openssh_key(self.credentials.ssh_key))
        elif os.environ.get("SSH_AUTH_SOCK"):
            env["SSH_AUTH_SOCK"] = os.environ["SSH_AUTH_SOCK"]  # go-git's default: the agent
        env["GIT_SSH_COMMAND"] = ssh_command(
            user=get_user(self.url),
            key_file=key_file,
            known_hosts=self.known_hosts,
            insecure_ignore_host_key=self.insecure_ignore_host_key,
            connect_timeout=self.connect_timeout,
        )
        config = list(_BASE_CONFIG)
        if self.credentials.method == "basic":
            header = f"[http]\n\textraHeader = Authorization: {self.credentials.basic_header()}\n"
            config.append(("include.path", self._private_file("auth.config", header.encode())))
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def check_key(self) -> None:
        """go-git's ``ssh.ParsePrivateKey`` of Argo's ``auth()``: an unusable key is refused
        before anything else (``ssh-keygen -y`` reads it as OpenSSH will)."""
        if self.credentials.method != "ssh" or self.private is None:
            return
        key_file = str(self.private / "id_key")
        try:
            done = subprocess.run(
                ["ssh-keygen", "-y", "-P", "", "-f", key_file],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env={"PATH": self._env["PATH"], "HOME": self._env["HOME"], "LC_ALL": "C"},
                timeout=max(1.0, min(30.0, self.remaining())),
                start_new_session=True,
            )
        except FileNotFoundError:
            raise Internal("git: ssh-keygen was not found on PATH to read the SSH key") from None
        except subprocess.TimeoutExpired:
            raise Internal(
                "git: ssh-keygen timed out reading the SSH key", transient=True
            ) from None
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").replace(key_file, "the key").strip()
            raise BadRequest(
                "git.sshPrivateKeySecret: the SSH private key cannot be used: "
                f"{self.scrub(reason) or 'unreadable key'} (it must be an unencrypted PEM or "
                "OpenSSH private key)"
            )

    # ---------------------------------------------------------------- running

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def environment(self, *, submodules: bool = False) -> dict[str, str]:
        env = dict(self._env)
        if submodules:
            env.pop("GIT_SSL_NO_VERIFY", None)  # Argo's submodule update has no InsecureSkipTLS
        return env

    def scrub(self, text: str) -> str:
        return scrub(text, self.credentials.values())

    def run(
        self, args: list[str], *, cwd: str | Path | None = None, submodules: bool = False
    ) -> str:
        """``git args`` to its end (stdout); :class:`GitFailure` if it fails or runs out of time."""
        command = " ".join(["git", *args[:2]])
        remaining = self.remaining()
        if remaining <= 0:
            raise GitFailure(command, self._timeout_detail(), timed_out=True)
        assert self.git is not None
        process = subprocess.Popen(
            [self.git, *args],
            cwd=cwd,
            env=self.environment(submodules=submodules),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._processes.add(process)
        try:
            out, err = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise GitFailure(command, self._timeout_detail(), timed_out=True) from None
        except BaseException:
            _kill(process)
            raise
        finally:
            self._processes.discard(process)
        if process.returncode != 0:
            text = _userinfo_removed(err.decode("utf-8", "replace"))
            raise GitFailure(
                command,
                self._detail(text),
                kind=failure_kind(text),
                returncode=process.returncode,
            )
        return out.decode("utf-8", "surrogateescape")

    @contextlib.contextmanager
    def batch(self, args: list[str], *, cwd: str | Path) -> Iterator[subprocess.Popen]:
        """A long-running ``git`` with pipes (``cat-file --batch``), killed at the end."""
        assert self.git is not None
        process = subprocess.Popen(
            [self.git, *args],
            cwd=cwd,
            env=self.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._processes.add(process)
        try:
            yield process
        finally:
            self._processes.discard(process)
            _kill(process)

    def _detail(self, stderr: str) -> str:
        lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines()]
        kept = [line for line in lines if line and not line.lower().startswith("hint:")]
        return self.scrub("; ".join(kept[-6:]))[-2000:] or "no message"

    def _timeout_detail(self) -> str:
        return (
            f"timed out after {self.timeout:g}s ({TIMEOUT_SETTING}); the server may be "
            "unreachable or too slow"
        )


def _kill(process: subprocess.Popen) -> None:
    """End ``process`` and the processes it started (its own session)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    with contextlib.suppress(Exception):
        process.wait(timeout=10)


def _openssh_key(key: SecretValue) -> bytes:
    """The key as OpenSSH reads it: LF line ends and a final newline (go-git needs neither)."""
    data = key.reveal_bytes().replace(b"\r\n", b"\n")
    return data if data.endswith(b"\n") else data + b"\n"


def _proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """The proxy variables as Go's ``ProxyFromEnvironment`` reads them, spelt for curl."""
    env = {name: environ[name] for name in _PROXY_VARIABLES if environ.get(name)}
    if environ.get("HTTP_PROXY") and "http_proxy" not in env:
        env["http_proxy"] = environ["HTTP_PROXY"]  # curl reads only the lower-case one
    if any(name in env for name in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy")):
        existing = env.get("no_proxy") or env.get("NO_PROXY") or ""
        env["no_proxy"] = ",".join(p for p in (existing, _LOOPBACK) if p)
        env.pop("NO_PROXY", None)
    return env
