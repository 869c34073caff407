"""The git servers (emulators/git_servers.py) serve the session's repositories
(emulators/git_repos.py) to a real `git clone` over smart HTTP (anonymous, basic auth, TLS),
git:// and SSH (a key and a known host, git-shell only); each refuses what it must, and a
stopped server leaves no process and nothing in the temp directory.

The servers are this module's own (a Fleet, as `emulators up` starts them), so the tests run
whatever `ARTCONF_REQUIRE` names. git runs with no config of the machine's, no credential
helper but the test's, no terminal prompt and a timeout: nothing here prompts or hangs.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import requests

from emulators import git_repos, git_servers, tools
from emulators.endpoint import REDACTED, Endpoint
from emulators.fleet import SERVERS, Fleet
from emulators.nginx import SIGNATURE_HEADER
from emulators.pytest_plugin import required_servers
from emulators.server import Instance
from emulators.sessions import new_session_dir

KEYS = [
    ("git-http", "git-http", False),
    ("git-http-tls", "git-http", True),
    ("git-daemon", "git-daemon", False),
    ("git-ssh", "git-ssh", False),
]
#: Reads the basic-auth password from the environment: never on a command line.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && '
    'printf "username=%s\\npassword=%s\\n" "$ARTCONF_GIT_USER" "$ARTCONF_GIT_PASSWORD"; }; f'
)
GIT_TIMEOUT = 120


def _check_installed(kinds: set[str]) -> None:
    """A server whose programs are missing: a skip naming the fix, or an ERROR if required."""
    for kind in sorted(kinds):
        try:
            tools.binary(SERVERS[kind].tool)
        except tools.ToolError as exc:
            if kind in required_servers():
                pytest.fail(f"server {kind} is required but not installed: {exc}")
            pytest.skip(f"server {kind} is not installed: {exc}")


def _start(fleet: Fleet, keys: list[tuple[str, str, bool]]) -> dict[str, Endpoint]:
    _check_installed({kind for _, kind, _ in keys})
    fleet.start(keys)
    if fleet.errors:
        pytest.fail(f"git servers failed to start: {fleet.errors}", pytrace=False)
    return fleet.endpoints()


@pytest.fixture(scope="module")
def endpoints() -> Iterator[dict[str, Endpoint]]:
    fleet = Fleet(new_session_dir("git-servers"))
    try:
        yield _start(fleet, KEYS)
    finally:
        fleet.close()


@pytest.fixture(scope="module")
def truth(endpoints) -> dict:
    """What the repositories hold, as git reads them on the server's disk."""
    return git_repos.describe(Path(endpoints["git-daemon"].credentials["repos_dir"]))


# --- git, as a client that never prompts ---------------------------------------------------


@dataclass
class Transport:
    """How a client reaches one server's repositories: a URL prefix, git config, environment."""

    base: str  # `<base><name>.git` is a repository
    config: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"{self.base}{name}.git"


def git(*args: str, transport: Transport | None = None, cwd: Path | None = None):
    """Run git with only the transport's config and environment; the completed process."""
    config = ["-c", "credential.helper="]  # none of the machine's helpers
    env = git_repos.git_env()
    if transport is not None:
        config += [arg for item in transport.config for arg in ("-c", item)]
        env.update(transport.env)
    return subprocess.run(
        ["git", *config, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args[-3:]} failed: {result.stderr}"
    return result.stdout.strip()


def basic_auth(user: str, password: str) -> tuple[list[str], dict[str, str]]:
    """The test's credential helper and what it answers, through the environment."""
    config = ["credential.helper=", f"credential.helper={CREDENTIAL_HELPER}"]
    return config, {"ARTCONF_GIT_USER": user, "ARTCONF_GIT_PASSWORD": password}


def http(endpoint: Endpoint, *, auth: str | None = None) -> Transport:
    """Smart HTTP: the anonymous tree, or with `auth` (a password) the basic-auth tree."""
    creds = endpoint.credentials
    env = {"GIT_SSL_CAINFO": endpoint.ca_bundle} if endpoint.tls else {}
    if auth is None:
        return Transport(f"{endpoint.url}{creds['git_path']}/", env=env)
    config, secret = basic_auth(creds["user"], auth)
    return Transport(f"{endpoint.url}{creds['auth_path']}/", config, {**env, **secret})


def daemon(endpoint: Endpoint) -> Transport:
    return Transport(f"{endpoint.url}/")


def ssh(endpoint: Endpoint, files: Path, *, key: str | None = None, known_hosts: str | None = None):
    """SSH with `key` (default: the authorized one) trusting `known_hosts` (default: the
    server's own line), both written under `files`."""
    creds = endpoint.credentials
    files.mkdir(parents=True, exist_ok=True)
    key_file, hosts_file = files / "key", files / "known_hosts"
    key_file.write_text(creds["ssh_private_key"] if key is None else key)
    key_file.chmod(0o600)
    hosts_file.write_text(creds["known_hosts"] + "\n" if known_hosts is None else known_hosts)
    command = git_servers.ssh_command(key_file, hosts_file)
    return Transport(f"{endpoint.url}{creds['repos_dir']}/", env={"GIT_SSH_COMMAND": command})


TRANSPORTS = ["http", "http-auth", "https", "https-auth", "git", "ssh"]


def transport_for(name: str, endpoints: dict[str, Endpoint], files: Path) -> Transport:
    if name.startswith("http"):
        endpoint = endpoints["git-http-tls" if name.startswith("https") else "git-http"]
        return http(endpoint, auth=endpoint.credentials["password"] if "auth" in name else None)
    if name == "git":
        return daemon(endpoints["git-daemon"])
    return ssh(endpoints["git-ssh"], files)


# --- the repositories ----------------------------------------------------------------------


def test_the_repositories_are_deterministic_and_as_described(tmp_path):
    git_repos.build_repositories(tmp_path / "a")
    git_repos.build_repositories(tmp_path / "b")
    facts = git_repos.describe(tmp_path / "a")
    assert git_repos.describe(tmp_path / "b") == facts, "two builds differ"
    main = facts["main"]
    assert len(main["master"]) == git_repos.MASTER_COMMITS == 6
    assert main["feature_base"] == main["master"][2]
    assert main["tags"] == {"v-light": main["master"][1], "v1.0": main["master"][3]}
    assert main["annotated_tag_object"] not in main["master"]  # a tag object, not a commit
    assert main["pull"] not in main["master"] and main["pull"] != main["feature"]
    big = main["big_file"]
    assert big["commit"] == main["master"][4] and big["size"] == 8 * 1024 * 1024
    assert big["sha256"] == hashlib.sha256(git_repos.big_file_bytes()).hexdigest()
    assert facts["with-sub"]["submodule"] == {
        "path": "libs/sub",
        "url": "../sub.git",
        "commit": facts["sub"]["head"],
    }
    assert len(facts["sub"]["master"]) == 2 and facts["empty"]["refs"] == []
    branches = git(
        "--git-dir", str(tmp_path / "a" / "main.git"), "branch", "--contains", big["commit"]
    )
    assert ok(branches).split() == ["*", "master"], "only master has the big file"


# --- clones over every transport -----------------------------------------------------------


@pytest.mark.parametrize("name", TRANSPORTS)
def test_a_clone_gets_master(name, endpoints, truth, tmp_path):
    transport = transport_for(name, endpoints, tmp_path / "client")
    out = tmp_path / "main"
    ok(git("clone", "--quiet", transport.url("main"), str(out), transport=transport))
    assert ok(git("-C", str(out), "rev-parse", "HEAD")) == truth["main"]["head"]
    big = (out / "big.bin").read_bytes()
    assert hashlib.sha256(big).hexdigest() == truth["main"]["big_file"]["sha256"]
    assert (out / "README.md").read_text() == "version 6\n"


@pytest.mark.parametrize("name", TRANSPORTS)
def test_a_recursive_clone_gets_the_submodule_by_its_relative_url(name, endpoints, truth, tmp_path):
    transport = transport_for(name, endpoints, tmp_path / "client")
    out = tmp_path / "with-sub"
    url = transport.url("with-sub")
    ok(git("clone", "--quiet", "--recurse-submodules", url, str(out), transport=transport))
    submodule = out / "libs" / "sub"
    assert (
        ok(git("-C", str(submodule), "rev-parse", "HEAD"))
        == truth["with-sub"]["submodule"]["commit"]
    )
    assert (submodule / "sub.txt").read_text() == "sub 2\n"
    assert (out / "top.txt").is_file()


@pytest.mark.parametrize("name", ["https-auth", "git", "ssh"])
def test_every_ref_is_advertised(name, endpoints, truth, tmp_path):
    """The pull ref only an extra refspec fetches, the tags, the branches."""
    transport = transport_for(name, endpoints, tmp_path / "client")
    listed = ok(git("ls-remote", transport.url("main"), transport=transport))
    refs = {ref: sha for sha, ref in (line.split("\t") for line in listed.splitlines())}
    main = truth["main"]
    assert refs["refs/heads/master"] == main["head"]
    assert refs["refs/heads/feature"] == main["feature"]
    assert refs["refs/pull/7/head"] == main["pull"]
    assert refs["refs/tags/v-light"] == main["tags"]["v-light"]
    assert refs["refs/tags/v1.0"] == main["annotated_tag_object"]
    assert refs["refs/tags/v1.0^{}"] == main["tags"]["v1.0"]
    out = tmp_path / "pull"
    ok(git("init", "--quiet", str(out)))
    fetch = ("fetch", "--quiet", transport.url("main"), "refs/pull/7/head:refs/pull/7/head")
    ok(git("-C", str(out), *fetch, transport=transport))
    assert ok(git("-C", str(out), "rev-parse", "refs/pull/7/head")) == main["pull"]


@pytest.mark.parametrize("name", ["http", "git", "ssh"])
def test_every_transport_speaks_protocol_v2(name, endpoints, tmp_path):
    """As Git hosts do (over SSH the client asks for it in GIT_PROTOCOL, which sshd accepts)."""
    transport = transport_for(name, endpoints, tmp_path / "client")
    transport.env["GIT_TRACE_PACKET"] = "1"
    listed = git(
        "-c", "protocol.version=2", "ls-remote", transport.url("probe"), transport=transport
    )
    assert listed.returncode == 0 and "< version 2" in listed.stderr, listed.stderr[-2000:]


def test_ssh_connections_leave_no_zombie(endpoints, tmp_path):
    """sshd's session processes, adopted by the supervisor once their parent ends, are reaped."""
    transport = ssh(endpoints["git-ssh"], tmp_path)
    for _ in range(3):
        ok(git("ls-remote", transport.url("probe"), transport=transport))
    supervisor = psutil.Process(endpoints["git-ssh"].pid)

    def zombies() -> list[psutil.Process]:
        return [p for p in supervisor.children() if p.status() == psutil.STATUS_ZOMBIE]

    deadline = time.monotonic() + 5
    while zombies() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert zombies() == []


def test_the_empty_repository_clones_empty(endpoints, tmp_path):
    transport = daemon(endpoints["git-daemon"])
    result = git("clone", transport.url("empty"), str(tmp_path / "empty"), transport=transport)
    assert result.returncode == 0 and "empty repository" in result.stderr


# --- what the servers refuse ---------------------------------------------------------------


def _session(endpoint: Endpoint) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = endpoint.ca_bundle or True
    return s


@pytest.mark.parametrize("key", ["git-http", "git-http-tls"])
def test_smart_http_answers_fetches_only(key, endpoints):
    endpoint = endpoints[key]
    creds = endpoint.credentials
    refs = "/main.git/info/refs?service=git-upload-pack"
    with _session(endpoint) as s:
        ready = s.get(f"{endpoint.url}/artconf-ready")
        assert ready.status_code == 204 and ready.headers[SIGNATURE_HEADER] == key
        anonymous = s.get(f"{endpoint.url}/git{refs}")
        assert anonymous.status_code == 200
        assert anonymous.headers["Content-Type"] == git_servers.ADVERTISEMENT
        assert s.get(f"{endpoint.url}/auth{refs}").status_code == 401
        wrong = (creds["user"], "not-" + creds["password"])
        assert s.get(f"{endpoint.url}/auth{refs}", auth=wrong).status_code == 401
        right = (creds["user"], creds["password"])
        assert s.get(f"{endpoint.url}/auth{refs}", auth=right).status_code == 200
        push = "/main.git/info/refs?service=git-receive-pack"
        assert s.get(f"{endpoint.url}/auth{push}", auth=right).status_code == 403
        assert s.get(f"{endpoint.url}/git/main.git/info/refs").status_code == 403  # dumb HTTP
        assert s.get(f"{endpoint.url}/git/main.git/HEAD").status_code == 404
        assert s.post(f"{endpoint.url}/git/main.git/git-receive-pack").status_code == 404


def test_http_auth_with_a_wrong_password_is_refused(endpoints, tmp_path):
    endpoint = endpoints["git-http"]
    transport = http(endpoint, auth="not-" + endpoint.credentials["password"])
    result = git("clone", transport.url("main"), str(tmp_path / "x"), transport=transport)
    assert result.returncode != 0 and "Authentication failed" in result.stderr
    anonymous = http(endpoint)
    result = git("clone", anonymous.url("main").replace("/git/", "/auth/"), str(tmp_path / "y"))
    assert result.returncode != 0, "the basic-auth tree let an anonymous client in"


def test_https_needs_the_session_ca(endpoints, tmp_path):
    transport = http(endpoints["git-http-tls"])
    transport.env.pop("GIT_SSL_CAINFO")
    result = git("ls-remote", transport.url("main"), transport=transport)
    assert result.returncode != 0 and "certificate" in result.stderr.lower()


def test_ssh_with_a_wrong_key_is_refused(endpoints, tmp_path):
    endpoint = endpoints["git-ssh"]
    transport = ssh(endpoint, tmp_path, key=endpoint.credentials["wrong_ssh_private_key"])
    result = git("ls-remote", transport.url("main"), transport=transport)
    assert result.returncode != 0 and "Permission denied (publickey)" in result.stderr


def test_ssh_to_an_unknown_host_is_refused(endpoints, tmp_path):
    transport = ssh(endpoints["git-ssh"], tmp_path, known_hosts="")
    result = git("ls-remote", transport.url("main"), transport=transport)
    assert result.returncode != 0 and "Host key verification failed" in result.stderr


def test_ssh_runs_git_and_nothing_else(endpoints, tmp_path):
    endpoint = endpoints["git-ssh"]
    transport = ssh(endpoint, tmp_path)
    command = transport.env["GIT_SSH_COMMAND"].split()
    target = f"{endpoint.credentials['user']}@127.0.0.1"
    for shell_command in (["echo", "hi"], ["sh", "-c", "'echo hi'"]):
        result = subprocess.run(
            [*command, "-p", str(endpoint.port), target, *shell_command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
        assert result.returncode != 0 and "hi" not in result.stdout.split(), result
    # ... while git's own command answers (the refs of upload-pack, then EOF ends it)
    upload = f"git-upload-pack '{endpoint.credentials['repos_dir']}/probe.git'"
    result = subprocess.run(
        [*command, "-p", str(endpoint.port), target, upload],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    assert b"refs/heads/master" in result.stdout


def test_the_secrets_are_redacted(endpoints):
    shown = {key: e.to_dict()["credentials"] for key, e in endpoints.items()}
    assert shown["git-http"]["password"] == REDACTED
    assert shown["git-ssh"]["ssh_private_key"] == REDACTED
    assert shown["git-ssh"]["wrong_ssh_private_key"] == REDACTED
    assert shown["git-ssh"]["known_hosts"].startswith(f"[127.0.0.1]:{endpoints['git-ssh'].port} ")
    assert all(Path(c["repos_dir"]).is_absolute() for c in shown.values())


# --- set-up and tear-down ------------------------------------------------------------------


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{git_servers.TEMP_PREFIX}*")}


def test_a_stopped_server_leaves_no_process_and_no_temp_files(tmp_path):
    # A directory deep enough that fcgiwrap's socket cannot live in it: a temporary one then.
    root = tmp_path / ("d" * 60)
    before = _leftovers()
    fleet = Fleet(root)
    try:
        endpoints = _start(fleet, KEYS)
        assert len(str(root / "git-http-tls" / git_servers.SOCKET_NAME)) > 107
        assert _leftovers() - before, "no private temporary directory was used"
        short = f"unix:{tempfile.gettempdir()}/{git_servers.TEMP_PREFIX}"
        assert short in (root / "git-http-tls" / "nginx.conf").read_text()
        pids = set()
        for started in fleet.started.values():
            leader = psutil.Process(started.running.pid)
            pids |= {leader.pid, *(p.pid for p in leader.children(recursive=True))}
        assert len(pids) >= 4 + 3  # a supervisor each, nginx's master and worker, fcgiwrap
        logs = "".join(p.read_text(errors="replace") for p in (root / "logs").glob("*.log"))
        for endpoint in endpoints.values():
            for name in ("password", "ssh_private_key", "wrong_ssh_private_key"):
                if name in endpoint.credentials:
                    assert endpoint.credentials[name] not in logs, f"{name} in a server log"
    finally:
        fleet.close()
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert alive == [], f"processes left: {alive}"
    assert _leftovers() - before == set(), "a private temporary directory was left"
    assert not root.exists()


def test_root_without_the_ssh_user_names_the_one_command(monkeypatch):
    monkeypatch.setattr(tools.os, "geteuid", lambda: 0)

    def missing(name: str):
        raise KeyError(name)

    monkeypatch.setattr(tools.pwd, "getpwnam", missing)
    with pytest.raises(tools.ToolError) as refused:
        git_servers.GitSsh().credentials()
    assert tools.GIT_SSH_USER_ADD in str(refused.value)
    assert (
        "useradd --system --no-create-home --home-dir / --shell /usr/bin/git-shell artconf-git"
        in str(refused.value)
    )


def test_the_bootstrap_without_the_programs_or_root_names_the_command(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "id").write_text("#!/bin/sh\necho 1000\n")  # not root
    (fake / "id").chmod(0o755)
    result = subprocess.run(
        ["make", "-s", "-C", str(Path(__file__).parents[1]), "gitservers", "SSHD=", "FCGIWRAP="],
        env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"run '{tools.GIT_SERVERS_INSTALL}'" in result.stdout


def test_the_configs_write_nowhere_but_the_instance(tmp_path):
    instance = Instance("g", tmp_path, None)
    conf = git_servers.render_nginx_config(instance, 1234)
    assert "listen 127.0.0.1:1234;" in conf and f"unix:{git_servers.FCGI_SOCKET};" in conf
    directives = "\n".join(line for line in conf.splitlines() if not line.startswith("user "))
    paths = re.findall(r"\b(?:pid|lock_file|\w+_temp_path|auth_basic_user_file) (\S+);", directives)
    assert len(paths) == 9, conf
    assert all(p.startswith(f"{tmp_path}/") for p in paths), paths
    me = pwd.getpwuid(os.getuid())
    user = me.pw_name
    sshd = git_servers.render_sshd_config(instance, 1234, user)
    # Every command runs through the login shell: git-shell restricts by itself, else forced.
    forced = 'git-shell -c "$SSH_ORIGINAL_COMMAND"' in sshd and "\nForceCommand " in sshd
    assert forced == (Path(me.pw_shell).name != "git-shell"), sshd
    assert "ListenAddress 127.0.0.1:1234" in sshd and f"AllowUsers {user}" in sshd
    for word in ("HostKey", "PidFile", "AuthorizedKeysFile"):
        assert f"\n{word} {git_servers.SSH_ROOT}/ssh/" in sshd
    for setting in ("UsePAM no", "PasswordAuthentication no", "PermitTTY no"):
        assert setting in sshd
