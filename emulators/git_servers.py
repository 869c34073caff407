"""Three real git servers for the Git input-artifact driver (issue 17), each on 127.0.0.1.

- `git-http` (plain and TLS): git's own smart-HTTP server, `git http-backend`, run by Debian's
  fcgiwrap behind Debian's nginx with a generated configuration. `/git/<name>.git` is
  anonymous, `/auth/<name>.git` takes basic auth (user `artconf`, a random password); both
  serve the same repositories, for fetching only: `info/refs?service=git-upload-pack` and
  `git-upload-pack`, no dumb HTTP and no push.
- `git-daemon` (plain): `git daemon`, the git:// protocol; no authentication, read only.
- `git-ssh` (plain: SSH brings its own encryption, there is no TLS mode): Debian's sshd with a
  host key and one authorized client key made per start. It runs as a non-root user, which is
  the only user it can log in: the kit's own, or `artconf-git` (login shell git-shell) when
  the kit runs as root. Every login runs git-shell, so only git's own commands run.

Each serves the repositories of `emulators/git_repos.py`. Its supervisor,
`python -m emulators.git_servers <http|daemon|ssh> ... DIR`, builds them fresh under the
instance directory's `repos/`, then runs the server's processes as its children, all in the
one process group the launcher records and stops (git-daemon's supervisor becomes
`git daemon` itself). Everything a server writes is under the instance directory but for what
must live elsewhere, in a private temporary directory the supervisor removes when it stops:
fcgiwrap's socket when the instance path is too long for a Unix socket address, and, when the
kit runs as root, all that `artconf-git`'s sshd reads (its configuration, its keys, the
repositories, linked from the instance's `repos`), since the instance directory under root's
home is out of that user's reach.

A probe recognises its own instance: `probe.git` carries the ref
`refs/artconf/server/<instance name>`, which every readiness probe must read through the
server's own protocol; nginx also adds `X-Artconf-Server` to every answer (as emulators/nginx.py).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import psutil
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from emulators import git_repos, tools
from emulators.endpoint import Endpoint
from emulators.launcher import Command
from emulators.nginx import SIGNATURE_HEADER, config_head, htpasswd_line
from emulators.server import Instance, Server, probe_get, random_secret

GIT_PATH, AUTH_PATH = "/git", "/auth"  # the anonymous and the basic-auth prefixes
HTTP_USER = "artconf"
ADVERTISEMENT = "application/x-git-upload-pack-advertisement"
PROBE_TIMEOUT = 5.0  # seconds for one `git ls-remote` of a probe
#: Prefix of the private temporary directories (a test checks that none is left behind).
TEMP_PREFIX = "artconf-git-"
#: Placeholders in the kit-rendered configurations, filled in by the supervisor: the socket
#: path (known once it has chosen where the socket fits) and where sshd serves from.
FCGI_SOCKET = "@FCGI_SOCKET@"
SSH_ROOT = "@SSH_ROOT@"
SOCKET_NAME = "fcgiwrap.sock"
MAX_SOCKET_PATH = 107  # bytes: sun_path holds 108 with the final NUL
SUPERVISE_INTERVAL = 0.2  # seconds between the supervisor's looks at its children
FCGI_CHILDREN = 4  # concurrent git-http-backend requests (parallel test workers share a server)
#: The server-side files of git-ssh, written by the kit under `<instance>/ssh/`.
SSH_SERVER_FILES = ("host_key", "authorized_keys")


def signature_ref(name: str) -> str:
    """The ref in `probe.git` that tells one instance's repositories from any other's."""
    return f"refs/artconf/server/{name}"


def repos_dir(instance: Instance) -> Path:
    """The instance's repositories (for a root kit's sshd, the link resolved to the copy it
    serves: the path a client names in an SSH URL)."""
    return (instance.workdir / "repos").resolve()


@cache
def _git_core() -> Path:
    """git's exec path, where `git-http-backend` lives (/usr/lib/git-core on Debian)."""
    return Path(git_repos.git("--exec-path"))


def _private(path: Path, text: str) -> None:
    """Write a file only its owner reads: keys, password hashes."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def _ls_remote(url: str, env: dict[str, str] | None = None) -> str:
    """`git ls-remote <url>`'s output, or "" when it fails; it never prompts or hangs."""
    try:
        result = subprocess.run(
            ["git", "-c", "credential.helper=", "ls-remote", url],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={**git_repos.git_env(), **(env or {})},
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ""
    return result.stdout if result.returncode == 0 else ""


# --- SSH keys ------------------------------------------------------------------------------


def new_private_key() -> str:
    """A fresh Ed25519 key as OpenSSH's private key text (what `ssh-keygen -t ed25519` writes)."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def public_key(private_key: str) -> str:
    """`ssh-ed25519 AAAA...`: the public half of an OpenSSH private key text."""
    key = serialization.load_ssh_private_key(private_key.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def known_hosts_line(port: int, host_public_key: str) -> str:
    return f"[127.0.0.1]:{port} {host_public_key}"


def ssh_command(key: Path, known_hosts: Path) -> str:
    """A `GIT_SSH_COMMAND` that offers only `key`, trusts only the hosts in `known_hosts`,
    and never prompts: no user config, no agent, batch mode."""
    return shlex.join(
        [
            "ssh",
            "-F", os.devnull,
            "-i", str(key),
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", f"GlobalKnownHostsFile={os.devnull}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=5",
        ]
    )  # fmt: skip


# --- git-http: nginx + fcgiwrap + git http-backend -----------------------------------------


def render_nginx_config(instance: Instance, port: int) -> str:
    """The whole nginx.conf of one git-http instance (fcgiwrap's socket as a placeholder)."""
    here = instance.workdir
    tls = instance.tls
    listen = f"listen 127.0.0.1:{port}{' ssl' if tls else ''};"
    ssl = f"ssl_certificate {tls.server_cert}; ssl_certificate_key {tls.server_key};" if tls else ""
    prefixes = f"(?:{GIT_PATH}|{AUTH_PATH})"
    # git http-backend reads the CGI variables; nginx adds the request headers as HTTP_*
    # (HTTP_GIT_PROTOCOL: protocol v2, HTTP_CONTENT_ENCODING: a gzipped request).
    backend = f"""auth_basic $git_realm; auth_basic_user_file {here / "git.htpasswd"};
      fastcgi_pass unix:{FCGI_SOCKET};
      fastcgi_param SCRIPT_FILENAME {_git_core() / "git-http-backend"};
      fastcgi_param GIT_PROJECT_ROOT {repos_dir(instance)};
      fastcgi_param GIT_HTTP_EXPORT_ALL 1;
      fastcgi_param GIT_CONFIG_NOSYSTEM 1;
      fastcgi_param GIT_CONFIG_GLOBAL /dev/null;
      fastcgi_param PATH_INFO $git_path;
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param REMOTE_USER $remote_user;
      fastcgi_param REMOTE_ADDR $remote_addr;
      fastcgi_param SERVER_PROTOCOL $server_protocol;
      fastcgi_param GATEWAY_INTERFACE CGI/1.1;"""
    return (
        config_head(instance, "emulators/git_servers.py")
        + f"""  # Basic auth under {AUTH_PATH}/ only ("off" switches it off).
  map $uri $git_realm {{ ~^{AUTH_PATH}/ "artconf git"; default off; }}
  server {{
    {listen}
    {ssl}
    location = /artconf-ready {{ return 204; }}
    # Smart HTTP, fetch only: the ref advertisement of upload-pack, then upload-pack itself.
    location ~ ^{prefixes}(?<git_path>/[^/]+\\.git/info/refs)$ {{
      limit_except GET {{ deny all; }}
      if ($arg_service != "git-upload-pack") {{ return 403; }}
      {backend}
    }}
    location ~ ^{prefixes}(?<git_path>/[^/]+\\.git/git-upload-pack)$ {{
      limit_except POST {{ deny all; }}
      {backend}
    }}
    location / {{ return 404; }}
  }}
}}
"""
    )


class GitHttp(Server):
    kind = "git-http"
    tool = "fcgiwrap"
    profile = "git-http"
    start_timeout = 30.0

    def credentials(self) -> dict[str, str]:
        return {"user": HTTP_USER, "password": random_secret()}

    def command(self, instance: Instance, port: int) -> Command:
        here = instance.workdir
        (here / "tmp").mkdir(parents=True, exist_ok=True)
        creds = instance.credentials
        _private(here / "git.htpasswd", htpasswd_line(creds["user"], creds["password"]))
        (here / "nginx.conf.in").write_text(render_nginx_config(instance, port))
        argv = [
            sys.executable, "-m", "emulators.git_servers", "http",
            "--nginx", str(tools.binary("nginx")),
            "--fcgiwrap", str(tools.binary("fcgiwrap")),
            "--name", instance.name,
            str(here),
        ]  # fmt: skip
        return Command(argv, cwd=here)

    def probe(self, instance: Instance, port: int) -> bool:
        ready = probe_get(instance, port, "/artconf-ready")
        if ready.status_code != 204 or ready.headers.get(SIGNATURE_HEADER) != instance.name:
            return False
        refs = probe_get(instance, port, f"{GIT_PATH}/probe.git/info/refs?service=git-upload-pack")
        return (
            refs.status_code == 200
            and refs.headers.get("Content-Type") == ADVERTISEMENT
            and signature_ref(instance.name).encode() in refs.content
        )

    def endpoint(self, instance: Instance, port: int) -> Endpoint:
        endpoint = super().endpoint(instance, port)
        endpoint.credentials.update(
            repos_dir=str(repos_dir(instance)), git_path=GIT_PATH, auth_path=AUTH_PATH
        )
        return endpoint

    def version(self) -> str:
        return (
            f"git {tools.version('git')} http-backend, nginx {tools.version('nginx')}, "
            f"fcgiwrap {tools.version('fcgiwrap')}"
        )


# --- git-daemon ----------------------------------------------------------------------------


class GitDaemon(Server):
    kind = "git-daemon"
    tool = "git"
    profile = "git-daemon"
    start_timeout = 30.0
    modes = (False,)  # git:// has no TLS

    def command(self, instance: Instance, port: int) -> Command:
        argv = [
            sys.executable, "-m", "emulators.git_servers", "daemon",
            "--git", str(tools.binary("git")),
            "--port", str(port),
            "--name", instance.name,
            str(instance.workdir),
        ]  # fmt: skip
        return Command(argv, cwd=instance.workdir)

    def probe(self, instance: Instance, port: int) -> bool:
        return signature_ref(instance.name) in _ls_remote(f"git://127.0.0.1:{port}/probe.git")

    def endpoint(self, instance: Instance, port: int) -> Endpoint:
        endpoint = super().endpoint(instance, port)
        endpoint.url = f"git://127.0.0.1:{port}"
        endpoint.credentials["repos_dir"] = str(repos_dir(instance))
        return endpoint

    def version(self) -> str:
        return f"git {tools.version('git')} daemon"


# --- git-ssh: sshd as a non-root user, every login forced to git-shell ---------------------


def render_sshd_config(instance: Instance, port: int, user: str) -> str:
    """The sshd_config of one git-ssh instance (where it serves from as a placeholder)."""
    ssh = f"{SSH_ROOT}/ssh"
    # sshd runs every command as `<login shell> -c <command>`. A login shell that is git-shell
    # restricts the login by itself (a forced command would reach it as a command git-shell
    # refuses); any other shell is made to run git-shell on the client's command.
    shell = Path(pwd.getpwnam(user).pw_shell or "/bin/sh")
    git_shell = shutil.which("git-shell") or "/usr/bin/git-shell"
    forced = (
        "" if shell.name == "git-shell" else f'ForceCommand {git_shell} -c "$SSH_ORIGINAL_COMMAND"'
    )
    return f"""# Generated by emulators/git_servers.py for {instance.name}; rewritten at each start.
ListenAddress 127.0.0.1:{port}
HostKey {ssh}/host_key
PidFile {ssh}/sshd.pid
AuthorizedKeysFile {ssh}/authorized_keys
AllowUsers {user}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin no
UsePAM no
# The files are the kit's, under a directory of its own: no checks of home directories.
StrictModes no
DisableForwarding yes
PermitTTY no
PermitUserRC no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
UseDNS no
# git on the server reads no user or system config but the kit's.
SetEnv GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL={ssh}/gitconfig
# The client asks for protocol v2 in GIT_PROTOCOL (`ssh -o SendEnv`); else it speaks v0.
AcceptEnv GIT_PROTOCOL
{forced}
"""


class GitSsh(Server):
    kind = "git-ssh"
    tool = "sshd"
    profile = "git-ssh"
    start_timeout = 30.0
    modes = (False,)  # SSH encrypts by itself: one mode, which the kit calls plain

    def credentials(self) -> dict[str, str]:
        return {
            "user": tools.git_ssh_user(),
            "ssh_private_key": new_private_key(),
            "wrong_ssh_private_key": new_private_key(),  # never authorized
        }

    def command(self, instance: Instance, port: int) -> Command:
        ssh = instance.workdir / "ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        creds = instance.credentials
        host_key = new_private_key()
        _private(ssh / "host_key", host_key)
        # `restrict`: no forwarding, no pty, no ~/.ssh/rc, whatever the configuration says.
        client = public_key(creds["ssh_private_key"])
        _private(ssh / "authorized_keys", f"restrict {client} artconf-client\n")
        _private(ssh / "client_key", creds["ssh_private_key"])  # the probe's
        (ssh / "known_hosts").write_text(known_hosts_line(port, public_key(host_key)) + "\n")
        (ssh / "sshd_config.in").write_text(render_sshd_config(instance, port, creds["user"]))
        argv = [
            sys.executable, "-m", "emulators.git_servers", "ssh",
            "--sshd", str(tools.binary("sshd")),  # absolute: sshd re-executes itself
            "--user", creds["user"],
            "--name", instance.name,
            str(instance.workdir),
        ]  # fmt: skip
        return Command(argv, cwd=instance.workdir)

    def probe(self, instance: Instance, port: int) -> bool:
        ssh = instance.workdir / "ssh"
        user = instance.credentials["user"]
        url = f"ssh://{user}@127.0.0.1:{port}{repos_dir(instance)}/probe.git"
        env = {"GIT_SSH_COMMAND": ssh_command(ssh / "client_key", ssh / "known_hosts")}
        return signature_ref(instance.name) in _ls_remote(url, env)

    def endpoint(self, instance: Instance, port: int) -> Endpoint:
        endpoint = super().endpoint(instance, port)
        endpoint.url = f"ssh://{instance.credentials['user']}@127.0.0.1:{port}"
        known_hosts = (instance.workdir / "ssh" / "known_hosts").read_text().strip()
        endpoint.credentials.update(known_hosts=known_hosts, repos_dir=str(repos_dir(instance)))
        return endpoint

    def version(self) -> str:
        return f"OpenSSH {tools.version('sshd')}, git-shell {tools.version('git')}"


# --- python -m emulators.git_servers: build the repositories, run the server ---------------


class _Signals:
    """SIGTERM and SIGINT ask the supervisor to stop.

    Installed first thing: a stop asked for while the repositories are built is noted rather
    than fatal, so what the supervisor made is still removed. The handler only sets a flag:
    anything taking a lock (a threading.Event) can deadlock when the signal lands while the
    main thread holds that same lock."""

    def __init__(self) -> None:
        self.stop = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, signum: int, frame: object) -> None:
        self.stop = True


def _adopt_orphans() -> None:
    """Become the reaper of this process's orphaned descendants (Linux's child subreaper).

    sshd moves each connection's process into a session of its own, out of the launcher's
    process group: should the listener end first, that process is re-parented here rather
    than to init, and `_stop_descendants` still finds it."""
    pr_set_child_subreaper = 36
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _stop_descendants(grace: float = 3.0) -> None:
    """SIGTERM every process under this one, then SIGKILL whatever outlives `grace` seconds."""
    procs = psutil.Process().children(recursive=True)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            print(f"[git_servers] {proc.name()} ({proc.pid}) outlived SIGTERM", file=sys.stderr)
            proc.kill()
    psutil.wait_procs(alive, timeout=grace)


def _reap_adopted(children: list[subprocess.Popen]) -> None:
    """Collect the adopted orphans that ended (their parent is this process now): sshd's
    session processes outlive their connection process, one per connection."""
    ours = {child.pid for child in children}
    for proc in psutil.Process().children():
        if proc.pid not in ours:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)  # a running one stays as it is


def _supervise(children: list[subprocess.Popen], signals: _Signals) -> int:
    """Wait for a stop request, or for a child to end (the server is then broken)."""
    while not signals.stop and all(child.poll() is None for child in children):
        time.sleep(SUPERVISE_INTERVAL)
        _reap_adopted(children)
    if signals.stop:
        return 0
    ended = next(child.returncode for child in children if child.returncode is not None)
    return ended or 1


def _server_env() -> dict[str, str]:
    """The servers' environment: nothing of the kit's, no user or system git config."""
    return git_repos.git_env()


def _build(repos: Path, name: str) -> None:
    git_repos.build_repositories(repos)
    git_repos.git("update-ref", signature_ref(name), "HEAD", git_dir=repos / "probe.git")


def _searchable_by_all(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


def _private_tempdir(cleanup: contextlib.ExitStack) -> Path:
    """A fresh mode-0700 directory in a world-searchable temp dir, removed on exit."""
    base = tempfile.gettempdir()
    if not _searchable_by_all(Path(base)):  # another user must be able to reach it
        base = "/tmp"
    path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=base))
    cleanup.callback(shutil.rmtree, path, ignore_errors=True)
    return path


def _socket_path(here: Path, cleanup: contextlib.ExitStack) -> Path:
    """Where fcgiwrap listens: in the instance directory when the path fits in a Unix socket
    address, else in a private temporary directory. Never on a TCP port: fcgiwrap runs
    whatever program a request names, so only the kit's own user may reach it."""
    path = here / SOCKET_NAME
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        path = _private_tempdir(cleanup) / SOCKET_NAME
    path.unlink(missing_ok=True)
    return path


def _serve_http(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> list[subprocess.Popen]:
    here = args.directory
    _build(here / "repos", args.name)
    path = _socket_path(here, cleanup)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(64)
        # FastCGI's convention (as spawn-fcgi does it): the listening socket is fd 0. Bound
        # here, it accepts before nginx starts: no race between the two.
        fcgiwrap = subprocess.Popen(
            [args.fcgiwrap, "-f", "-c", str(FCGI_CHILDREN)],
            stdin=listener.fileno(),
            env=_server_env(),
        )
    config = (here / "nginx.conf.in").read_text().replace(FCGI_SOCKET, str(path))
    (here / "nginx.conf").write_text(config)
    nginx = subprocess.Popen(
        [args.nginx, "-p", str(here), "-c", str(here / "nginx.conf"), "-e", "stderr"]
    )
    return [fcgiwrap, nginx]


def _give_to(tree: Path, login: pwd.struct_passwd) -> None:
    for parent, dirs, files in os.walk(tree):
        os.lchown(parent, login.pw_uid, login.pw_gid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(parent, name), login.pw_uid, login.pw_gid)


def _serve_ssh(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> list[subprocess.Popen]:
    here = args.directory
    login = pwd.getpwnam(args.user)
    as_other = login.pw_uid != os.geteuid()  # root kit: sshd runs as artconf-git
    link = here / "repos"
    if link.is_symlink():  # left by an earlier attempt (a port that was taken)
        link.unlink()
    serve = _private_tempdir(cleanup) if as_other else here
    _build(serve / "repos", args.name)
    if as_other:
        link.symlink_to(serve / "repos")
        (serve / "ssh").mkdir()
        for name in SSH_SERVER_FILES:
            shutil.copy(here / "ssh" / name, serve / "ssh" / name)
    config = (here / "ssh" / "sshd_config.in").read_text().replace(SSH_ROOT, str(serve))
    (serve / "ssh" / "sshd_config").write_text(config)
    # The kit's own containers are created by the kit's user: with sshd as another user,
    # git's ownership check would refuse them. The server serves nothing but these.
    (serve / "ssh" / "gitconfig").write_text("[safe]\n\tdirectory = *\n")
    if as_other:
        _give_to(serve, login)
    # As another user: its own group and no supplementary groups (root's would stay).
    become = {"user": login.pw_uid, "group": login.pw_gid, "extra_groups": []}
    sshd = subprocess.Popen(
        [args.sshd, "-D", "-e", "-f", str(serve / "ssh" / "sshd_config")],
        env=_server_env(),
        cwd=serve,
        **(become if as_other else {}),
    )
    return [sshd]


_SERVE: dict[str, Callable[[argparse.Namespace, contextlib.ExitStack], list[subprocess.Popen]]] = {
    "http": _serve_http,
    "ssh": _serve_ssh,
}


def _exec_daemon(args: argparse.Namespace, signals: _Signals) -> int:
    """Build, then become `git daemon` (its connection processes stay in this group)."""
    repos = args.directory / "repos"
    _build(repos, args.name)
    if signals.stop:
        return 0
    argv = [
        args.git, "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={args.port}",
        f"--base-path={repos}", "--export-all", "--informative-errors", "--verbose", str(repos),
    ]  # fmt: skip
    os.execve(args.git, argv, _server_env())
    raise AssertionError("unreachable")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="server", required=True)
    http = sub.add_parser("http", help="nginx + fcgiwrap + git http-backend")
    http.add_argument("--nginx", required=True)
    http.add_argument("--fcgiwrap", required=True)
    daemon = sub.add_parser("daemon", help="git daemon")
    daemon.add_argument("--git", required=True)
    daemon.add_argument("--port", required=True, type=int)
    ssh = sub.add_parser("ssh", help="sshd forced to git-shell")
    ssh.add_argument("--sshd", required=True)
    ssh.add_argument("--user", required=True, help="the user sshd runs as and logs in")
    for each in (http, daemon, ssh):
        each.add_argument("--name", required=True, help="the instance name (the probe's ref)")
        each.add_argument("directory", type=Path, help="the instance directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signals = _Signals()
    if args.server == "daemon":
        return _exec_daemon(args, signals)
    _adopt_orphans()
    with contextlib.ExitStack() as cleanup:  # temporary directories: removed last
        try:
            return _supervise(_SERVE[args.server](args, cleanup), signals)
        finally:
            _stop_descendants()


if __name__ == "__main__":
    sys.exit(main())
