"""`drivers.git.GitDriver`: Argo v4.0.5's go-git driver, over repositories built here.

Every repository is made with the `git` binary in `tmp_path` and served over `file://` (a
local repository may have local submodules), or by `git daemon` on a free loopback port (a
remote one, whose local submodules are refused). HTTP and SSH servers are tested elsewhere;
here the SSH command line, the credentials' hiding places and the error mapping are unit
tested.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers import new_driver
from drivers.controller.gc import ERR_DELETE_NOT_SUPPORTED
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import LIST_OBJECTS_NOT_SUPPORTED, ArtifactError, Code
from drivers.core.model import Artifact
from drivers.core.secrets import MemorySecretSource
from drivers.git import GitDriver
from drivers.git.clone import valid_reference_name
from drivers.git.connection import (
    Credentials,
    GitFailure,
    failure_kind,
    get_user,
    known_hosts_files,
    safe_url,
    ssh_command,
    transport_of,
)
from drivers.git.revision import InvalidRevision, new_hash, parse_revision

GIT_ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": os.devnull,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "a",
    "GIT_AUTHOR_EMAIL": "a@example.com",
    "GIT_COMMITTER_NAME": "a",
    "GIT_COMMITTER_EMAIL": "a@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}
PASSWORD = "s3cret-Passw0rd-for-git"
SSH_KEY_TEXT = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nnot really a key\n-----END OPENSSH PRIVATE KEY-----\n"
)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit(repo: Path, name: str, content: str, message: str) -> str:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(content)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def artifact(repo: str, **fields: Any) -> Artifact:
    return Artifact.model_validate({"name": "src", "git": {"repo": repo, **fields}})


def raises(fn: Callable[[], object], code: Code) -> ArtifactError:
    with pytest.raises(ArtifactError) as info:
        fn()
    assert info.value.code is code, info.value
    return info.value


class Clones:
    """Loads into fresh paths, with a private temp dir that must end up empty."""

    def __init__(self, root: Path, secrets: dict | None = None, **context: Any) -> None:
        self.root = root
        self.temp = root / "driver-tmp"
        self.secrets = MemorySecretSource(secrets or {})
        self.context = DriverContext(temp_dir=self.temp, **context)
        self.count = 0

    def driver(self, art: Artifact) -> GitDriver:
        made = new_driver(art, self.secrets, self.context)
        assert isinstance(made, GitDriver)
        return made

    def load(self, art: Artifact, path: Path | None = None) -> Path:
        self.count += 1
        path = path or self.root / f"clone{self.count}"
        with self.driver(art) as driver:
            try:
                driver.load(art, str(path))
            finally:
                assert not self.temp.exists() or not any(self.temp.iterdir()), "temp files left"
        return path


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> dict[str, Any]:
    """main: one -> two (tags light, ann) -> three -> merge of side -> four; branch side;
    refs/pull/7/head on side's commit."""
    repo = tmp_path_factory.mktemp("origin") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    ids = {"one": commit(repo, "f.txt", "1\n", "first commit")}
    ids["two"] = commit(repo, "f.txt", "2\n", "fix the nasty bug")
    git(repo, "tag", "light")
    git(repo, "tag", "-a", "ann", "-m", "annotated")
    git(repo, "checkout", "-q", "-b", "side")
    ids["side"] = commit(repo, "side.txt", "s\n", "side work")
    git(repo, "checkout", "-q", "main")
    ids["three"] = commit(repo, "f.txt", "3\n", "third")
    git(repo, "merge", "-q", "--no-ff", "side", "-m", "merge side")
    ids["merge"] = git(repo, "rev-parse", "HEAD")
    ids["four"] = commit(repo, "f.txt", "4\n", "fourth")
    git(repo, "update-ref", "refs/pull/7/head", ids["side"])
    return {"path": repo, "url": repo.as_uri(), "ids": ids}


@pytest.fixture
def clones(tmp_path) -> Clones:
    return Clones(tmp_path)


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD")


def refs(path: Path) -> list[str]:
    return git(path, "for-each-ref", "--format=%(refname)").splitlines()


# ------------------------------------------------------------------------------ the driver


def test_the_factory_builds_it_with_its_capabilities(origin, clones):
    driver = clones.driver(artifact(origin["url"]))
    assert driver.kind == "git"
    assert GitDriver.capabilities == {
        Capability.CLONE,
        Capability.CLONE_DEPTH,
        Capability.CLONE_REVISION,
        Capability.CLONE_FETCH_REFSPECS,
        Capability.CLONE_SUBMODULES,
        Capability.CLONE_SINGLE_BRANCH,
        Capability.AUTH_BASIC,
        Capability.AUTH_SSH_KEY,
        Capability.SSH_HOST_KEY_CHECK,
        Capability.AUTH_REJECTS_BAD_CREDENTIALS,
        Capability.TLS_CUSTOM_CA,
        Capability.TLS_INSECURE_SKIP_VERIFY,
        Capability.REFUSES_UNSUPPORTED,
    }


def test_a_clone_is_go_gits(origin, clones):
    path = clones.load(artifact(origin["url"]))
    assert (path / "f.txt").read_text() == "4\n" and (path / "side.txt").is_file()
    assert head(path) == origin["ids"]["four"]
    assert git(path, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(path, "config", "remote.origin.url") == origin["url"]
    assert git(path, "config", "remote.origin.fetch") == "+refs/heads/*:refs/remotes/origin/*"
    assert git(path, "config", "branch.main.merge") == "refs/heads/main"
    assert set(refs(path)) == {
        "refs/heads/main",
        "refs/remotes/origin/main",
        "refs/remotes/origin/side",
        "refs/tags/ann",
        "refs/tags/light",
    }  # no refs/remotes/origin/HEAD, no FETCH_HEAD: go-git writes neither
    assert not (path / ".git" / "FETCH_HEAD").exists()


def test_a_plain_path_is_a_local_repository_too(origin, clones):
    assert head(clones.load(artifact(str(origin["path"])))) == origin["ids"]["four"]


def test_depth_one_leaves_one_commit_but_every_branch(origin, clones):
    path = clones.load(artifact(origin["url"], depth=1))
    assert git(path, "rev-list", "--count", "HEAD") == "1"
    assert (path / ".git" / "shallow").is_file()
    assert "refs/remotes/origin/side" in refs(path)  # a depth does not imply a single branch


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        ("full", "two"),
        ("short", "two"),
        ("light", "two"),
        ("ann", "two"),
        ("side", "side"),
        ("origin/side", "side"),
        ("HEAD~1", "merge"),
        ("HEAD^", "merge"),
        ("main~2", "three"),
        ("HEAD~1^2", "side"),
        ("HEAD^{/nasty}", "two"),
        ("ann^{}", "two"),
        ("@~3", "two"),
    ],
)
def test_a_revision_is_checked_out_detached(origin, clones, revision, expected):
    ids = origin["ids"]
    given = {"full": ids["two"], "short": ids["two"][:7]}.get(revision, revision)
    path = clones.load(artifact(origin["url"], revision=given))
    assert head(path) == ids[expected]
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD"  # detached
    assert "refs/heads/side" in refs(path)  # refs/heads/*:refs/heads/* was fetched


def test_a_missing_revision_is_not_found_and_a_bad_one_a_bad_request(origin, clones):
    error = raises(lambda: clones.load(artifact(origin["url"], revision="nope")), Code.NOT_FOUND)
    assert str(error).startswith("failed to get resolve revision: reference not found")
    error = raises(lambda: clones.load(artifact(origin["url"], revision="HEAD~9")), Code.NOT_FOUND)
    assert "failed to get resolve revision: EOF" in str(error)
    error = raises(
        lambda: clones.load(artifact(origin["url"], revision="HEAD^3")), Code.BAD_REQUEST
    )
    assert str(error) == (
        'failed to get resolve revision: Revision invalid : "3" found must be 0, 1 or 2 after "^"'
    )


def test_a_revision_beyond_a_shallow_clone_says_so(origin, clones):
    error = raises(
        lambda: clones.load(artifact(origin["url"], depth=1, revision="HEAD~4")), Code.NOT_FOUND
    )
    assert "object not found" in str(error) and "shallow" in str(error)


def test_fetch_refspecs_are_fetched_after_the_clone(origin, clones):
    path = clones.load(artifact(origin["url"], fetch=["refs/pull/7/head:refs/pull/7/head"]))
    assert git(path, "rev-parse", "refs/pull/7/head") == origin["ids"]["side"]
    assert head(path) == origin["ids"]["four"]
    again = clones.load(artifact(origin["url"], fetch=["+refs/heads/*:refs/remotes/origin/*"]))
    assert head(again) == origin["ids"]["four"]  # "already up-to-date" is no error


def test_fetch_refspecs_are_validated_as_go_git_does(origin, clones):
    error = raises(
        lambda: clones.load(artifact(origin["url"], fetch=["garbage"])), Code.BAD_REQUEST
    )
    assert (
        str(error) == "failed to validate fetch [garbage]: malformed refspec, separators are wrong"
    )
    error = raises(
        lambda: clones.load(artifact(origin["url"], fetch=["refs/x/*:refs/y"])), Code.BAD_REQUEST
    )
    assert "mismatched number of wildcards" in str(error)
    error = raises(
        lambda: clones.load(artifact(origin["url"], fetch=["refs/pull/8/head:refs/pull/8/head"])),
        Code.NOT_FOUND,
    )
    assert str(error).startswith("failed to fetch [refs/pull/8/head:refs/pull/8/head]: ")


def test_single_branch_needs_a_branch(origin, clones, tmp_path):
    target = tmp_path / "never"
    error = raises(
        lambda: clones.load(artifact(origin["url"], singleBranch=True), target), Code.BAD_REQUEST
    )
    assert str(error) == "single branch mode without a branch specified"
    assert not target.exists()


def test_single_branch_clones_one_branch_and_every_tag(origin, clones):
    path = clones.load(artifact(origin["url"], singleBranch=True, branch="side"))
    assert head(path) == origin["ids"]["side"]
    assert git(path, "symbolic-ref", "HEAD") == "refs/heads/side"
    assert os.listdir(path / ".git" / "refs" / "heads") == ["side"]
    assert set(refs(path)) == {
        "refs/heads/side",
        "refs/remotes/origin/side",
        "refs/tags/ann",
        "refs/tags/light",
    }
    assert git(path, "config", "remote.origin.fetch") == "+refs/heads/side:refs/remotes/origin/side"
    tagged = clones.load(artifact(origin["url"], singleBranch=True, branch="side", revision="ann"))
    assert head(tagged) == origin["ids"]["two"]


def test_branch_alone_changes_nothing(origin, clones):
    path = clones.load(artifact(origin["url"], branch="side"))
    assert git(path, "symbolic-ref", "HEAD") == "refs/heads/main"


def test_a_missing_branch_is_not_found_and_the_clone_removed(origin, clones, tmp_path):
    target = tmp_path / "gone"
    error = raises(
        lambda: clones.load(artifact(origin["url"], singleBranch=True, branch="zz"), target),
        Code.NOT_FOUND,
    )
    assert (
        str(error)
        == f'failed to clone "{origin["url"]}": couldn\'t find remote ref "refs/heads/zz"'
    )
    assert not target.exists()


def test_a_missing_repository_cleans_up_as_go_git(clones, tmp_path):
    url = (tmp_path / "nothing-here").as_uri()
    created = tmp_path / "created"
    error = raises(lambda: clones.load(artifact(url), created), Code.NOT_FOUND)
    assert str(error).startswith(f'failed to clone "{url}": repository not found')
    assert not error.transient and not created.exists()
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    raises(lambda: clones.load(artifact(url), empty), Code.NOT_FOUND)
    assert empty.is_dir() and not any(empty.iterdir())  # emptied, not removed


def test_an_empty_repository_is_an_initialised_one(clones, tmp_path):
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    path = clones.load(artifact(bare.as_uri()))
    assert git(path, "config", "remote.origin.url") == bare.as_uri()
    assert git(path, "config", "remote.origin.fetch") == "+refs/heads/*:refs/remotes/origin/*"
    assert git(path, "config", "branch.master.remote") == "origin"
    assert git(path, "symbolic-ref", "HEAD") == "refs/heads/master"
    named = clones.load(artifact(bare.as_uri(), revision="v1"))
    assert git(named, "config", "branch.v1.merge") == "refs/heads/master"
    error = raises(lambda: clones.load(artifact(bare.as_uri(), revision="a~1")), Code.BAD_REQUEST)
    assert str(error) == 'failed to create branch "a~1": invalid reference name'


def test_an_unsupported_scheme_is_refused(clones):
    error = raises(lambda: clones.load(artifact("ftp://example.com/r.git")), Code.BAD_REQUEST)
    assert str(error) == 'failed to clone "ftp://example.com/r.git": unsupported scheme "ftp"'


# ------------------------------------------------------------------------------ submodules


@pytest.fixture(scope="module")
def nested(tmp_path_factory) -> dict[str, Any]:
    """top -> mid (absolute file URL) -> leaf (pinned at its first commit); top -> ../leaf."""
    root = tmp_path_factory.mktemp("nested")
    leaf, mid, top = root / "leaf", root / "mid", root / "top"
    for repo in (leaf, mid, top):
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
    first = commit(leaf, "leaf.txt", "one\n", "leaf one")
    commit(leaf, "leaf.txt", "two\n", "leaf two")
    commit(mid, "mid.txt", "mid\n", "mid")
    git(mid, "submodule", "-q", "add", leaf.as_uri(), "deps/leaf")
    git(mid / "deps" / "leaf", "checkout", "-q", first)
    git(mid, "add", "deps/leaf")
    git(mid, "commit", "-q", "-m", "leaf at one")
    commit(top, "top.txt", "top\n", "top")
    git(top, "submodule", "-q", "add", mid.as_uri(), "mid")
    git(top, "submodule", "-q", "add", "../leaf", "rel-leaf")
    git(top, "commit", "-q", "-m", "submodules")
    return {"root": root, "top": top, "leaf_first": first}


def test_submodules_are_updated_recursively(nested, clones):
    path = clones.load(artifact(nested["top"].as_uri()))
    assert (path / "mid" / "mid.txt").read_text() == "mid\n"
    assert (path / "mid" / "deps" / "leaf" / "leaf.txt").read_text() == "one\n"
    assert head(path / "mid" / "deps" / "leaf") == nested["leaf_first"]
    assert (path / "rel-leaf" / "leaf.txt").read_text() == "two\n"  # ../leaf, as git resolves it


def test_disabled_submodules_stay_empty(nested, clones):
    path = clones.load(artifact(nested["top"].as_uri(), disableSubmodules=True))
    assert (path / "mid").is_dir() and not any((path / "mid").iterdir())


@pytest.fixture(scope="module")
def daemon(nested) -> Iterator[str]:
    """`git daemon` serving the nested repositories: git://127.0.0.1:<port>/<name>."""
    port = _free_port()
    root = nested["root"]
    process = subprocess.Popen(
        [
            *("git", "daemon", f"--base-path={root}", "--export-all", "--reuseaddr"),
            *("--listen=127.0.0.1", f"--port={port}", str(root)),
        ],
        env=GIT_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_port(port)
        yield f"git://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait(timeout=10)


def test_local_submodules_of_a_remote_repository_are_refused(daemon, clones):
    error = raises(lambda: clones.load(artifact(f"{daemon}/top")), Code.BAD_REQUEST)
    assert str(error).startswith("failed to update submodules: a submodule with a local path")
    path = clones.load(artifact(f"{daemon}/top", disableSubmodules=True))
    assert (path / "top.txt").is_file()
    missing = raises(lambda: clones.load(artifact(f"{daemon}/nope")), Code.NOT_FOUND)
    assert "repository not found" in str(missing)


# ------------------------------------------------------------------------------ other methods


def test_save_is_refused_with_argos_text(origin, clones, tmp_path):
    driver = clones.driver(artifact(origin["url"]))
    for call in (
        lambda: driver.save(str(tmp_path), artifact(origin["url"])),
        lambda: driver.save_stream(None, artifact(origin["url"])),  # type: ignore[arg-type]
    ):
        assert str(raises(call, Code.BAD_REQUEST)) == "git output artifacts unsupported"


def test_object_operations_are_refused_with_argos_texts(origin, clones):
    driver = clones.driver(artifact(origin["url"]))
    art = artifact(origin["url"])
    assert str(raises(lambda: driver.delete(art), Code.INTERNAL)) == ERR_DELETE_NOT_SUPPORTED
    assert str(raises(lambda: driver.list_objects(art), Code.INTERNAL)) == (
        LIST_OBJECTS_NOT_SUPPORTED
    )
    assert str(raises(lambda: driver.is_directory(art), Code.NOT_IMPLEMENTED)) == (
        "IsDirectory currently unimplemented for Git"
    )


def test_open_stream_is_argos_load_to_stream_of_a_directory(origin, clones):
    art = artifact(origin["url"])
    with clones.driver(art) as driver:
        stream = driver.open_stream(art)
        error = raises(stream.read, Code.INTERNAL)
        stream.close()
        failed = raises(
            lambda: driver.open_stream(artifact(origin["url"], revision="nope")), Code.NOT_FOUND
        )
    assert str(error).startswith(f"read {clones.temp}/wfstream-") and "is a directory" in str(error)
    assert "reference not found" in str(failed)
    assert not any(clones.temp.iterdir()), "the clone of open_stream was left"


def test_a_missing_secret_fails_when_the_driver_is_built(origin, clones):
    art = artifact(origin["url"], passwordSecret={"name": "nope", "key": "p"})
    error = raises(lambda: clones.driver(art), Code.BAD_REQUEST)
    assert "git.passwordSecret" in str(error)


# ------------------------------------------------------------------------------ credentials


def test_an_unusable_ssh_key_is_refused_first(origin, tmp_path):
    clones = Clones(tmp_path, {"k": {"key": SSH_KEY_TEXT}})
    art = artifact(
        origin["url"], sshPrivateKeySecret={"name": "k", "key": "key"}, singleBranch=True
    )
    target = tmp_path / "never"
    error = raises(lambda: clones.load(art, target), Code.BAD_REQUEST)
    assert str(error).startswith("git.sshPrivateKeySecret: the SSH private key cannot be used")
    assert "not really" not in str(error) and not target.exists()


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory) -> str:
    key = tmp_path_factory.mktemp("key") / "id"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, env=GIT_ENV
    )
    return key.read_text()


def test_an_auth_method_of_the_other_kind_is_invalid(tmp_path, ssh_key):
    clones = Clones(tmp_path, {"s": {"key": ssh_key, "user": "u", "pw": PASSWORD}})
    key = {"sshPrivateKeySecret": {"name": "s", "key": "key"}}
    error = raises(
        lambda: clones.load(artifact("https://127.0.0.1:9/r.git", **key)), Code.BAD_REQUEST
    )
    assert str(error) == 'failed to clone "https://127.0.0.1:9/r.git": invalid auth method'
    basic = {
        "usernameSecret": {"name": "s", "key": "user"},
        "passwordSecret": {"name": "s", "key": "pw"},
    }
    error = raises(lambda: clones.load(artifact("git@127.0.0.1:r.git", **basic)), Code.BAD_REQUEST)
    assert str(error) == 'failed to clone "git@127.0.0.1:r.git": invalid auth method'


def test_http_credentials_never_reach_argv_env_or_messages(tmp_path, monkeypatch):
    """Basic auth goes in a 0600 include file of a private directory, removed afterwards."""
    seen: list[dict[str, Any]] = []
    real_popen = subprocess.Popen

    def recording(args, **kwargs):
        env = kwargs.get("env") or {}
        entry: dict[str, Any] = {"argv": list(args), "env": dict(env)}
        for name, value in env.items():
            if name.startswith("GIT_CONFIG_KEY_") and value == "include.path":
                include = Path(env[name.replace("KEY", "VALUE")])
                entry["include_mode"] = stat.S_IMODE(include.stat().st_mode)
                entry["dir_mode"] = stat.S_IMODE(include.parent.stat().st_mode)
                entry["include"] = include.read_text()
        seen.append(entry)
        return real_popen(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording)
    port = _free_port()  # nothing listens: the clone fails after the credentials are in place
    url = f"http://user:url-pass-1234@127.0.0.1:{port}/r.git"
    clones = Clones(tmp_path, {"s": {"user": "alice", "pw": PASSWORD}})
    art = artifact(
        url,
        usernameSecret={"name": "s", "key": "user"},
        passwordSecret={"name": "s", "key": "pw"},
    )
    error = raises(lambda: clones.load(art), Code.INTERNAL)
    assert error.transient and PASSWORD not in str(error) and "url-pass-1234" not in str(error)
    assert f'"http://user@127.0.0.1:{port}/r.git"' in str(error)
    assert seen
    for entry in seen:
        assert not any(PASSWORD in arg or "url-pass-1234" in arg for arg in entry["argv"])
        assert not any(PASSWORD in value for value in entry["env"].values())
        assert entry["env"]["GIT_TERMINAL_PROMPT"] == "0"
        assert entry["env"]["GIT_CONFIG_GLOBAL"] == os.devnull
        assert entry["env"]["HOME"] != os.environ.get("HOME")
    header = next(entry for entry in seen if "include" in entry)
    assert header["include_mode"] == 0o600 and header["dir_mode"] == 0o700
    assert "extraHeader = Authorization: Basic " in header["include"]
    assert not any(clones.temp.iterdir())


def test_the_users_git_config_is_never_read(origin, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text('[url "file:///nowhere/"]\n\tinsteadOf = file:///\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    assert head(Clones(tmp_path).load(artifact(origin["url"]))) == origin["ids"]["four"]


def test_a_stalled_server_times_out(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        clones = Clones(tmp_path, settings={"ARTIFACT_GIT_TIMEOUT": "1s"})
        started = time.monotonic()
        error = raises(lambda: clones.load(artifact(f"git://127.0.0.1:{port}/r")), Code.INTERNAL)
    assert time.monotonic() - started < 10
    assert error.transient and "timed out after 1s (ARTIFACT_GIT_TIMEOUT)" in str(error)


# ------------------------------------------------------------------------------ pure functions


@pytest.mark.parametrize(
    ("url", "user"),
    [
        ("gitaly@github.com:argoproj/argo-workflows.git", "gitaly"),  # Argo's own test cases
        ("https://github.com/argoproj/argo-workflows.git", "git"),
        ("github.com:argoproj/argo-workflows.git", "git"),
        ("ssh://deploy@example.com:2222/r.git", "deploy"),
        ("ssh://example.com/r.git", "git"),
        ("ssh://alice:pw@example.com/r.git", "git"),  # GetUser's regex takes no ':'
    ],
)
def test_get_user_is_argos(url, user):
    assert get_user(url) == user


def test_the_ssh_command_with_a_key_checks_host_keys_strictly():
    command = ssh_command(
        user="deploy",
        key_file="/tmp/private dir/id_key",
        known_hosts=["/etc/ssh/ssh_known_hosts", "/tmp/a b/known_hosts"],
        insecure_ignore_host_key=False,
        connect_timeout=30,
    )
    argv = shlex.split(command)
    assert argv[:3] == ["ssh", "-F", "/dev/null"]
    options = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-o"]
    for option in (
        "BatchMode=yes",
        "User=deploy",
        "ConnectTimeout=30",
        "IdentitiesOnly=yes",
        'IdentityFile="/tmp/private dir/id_key"',
        "IdentityAgent=none",
        "StrictHostKeyChecking=yes",
        "GlobalKnownHostsFile=/dev/null",
        'UserKnownHostsFile=/etc/ssh/ssh_known_hosts "/tmp/a b/known_hosts"',
        "PasswordAuthentication=no",
    ):
        assert option in options, option


def test_the_ssh_command_without_a_key_uses_only_an_agent_and_may_skip_host_keys():
    argv = shlex.split(
        ssh_command(
            user="git",
            key_file=None,
            known_hosts=[],
            insecure_ignore_host_key=True,
            connect_timeout=5,
        )
    )
    options = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-o"]
    assert "IdentityFile=none" in options and "User=git" in options
    assert "StrictHostKeyChecking=no" in options and "UserKnownHostsFile=/dev/null" in options
    strict = shlex.split(
        ssh_command(
            user="git",
            key_file=None,
            known_hosts=[],
            insecure_ignore_host_key=False,
            connect_timeout=5,
        )
    )
    assert "UserKnownHostsFile=/dev/null" in strict and "StrictHostKeyChecking=yes" in strict


def test_known_hosts_files_are_go_gits(tmp_path, monkeypatch):
    present = tmp_path / "kh"
    present.write_text("")
    listed = f"{tmp_path / 'absent'}{os.pathsep}{present}"
    assert known_hosts_files(DriverContext(ssh_known_hosts=listed)) == [str(present)]
    monkeypatch.setenv("SSH_KNOWN_HOSTS", listed)
    monkeypatch.setenv("ARTIFACT_GIT_TIMEOUT", "5m")
    context = DriverContext.from_environment()
    assert context.ssh_known_hosts == listed and context.settings["ARTIFACT_GIT_TIMEOUT"] == "5m"


def test_urls_lose_their_passwords_in_messages():
    assert safe_url("https://u:p%40ss@host/r.git") == "https://u@host/r.git"
    assert safe_url("https://host/r.git") == "https://host/r.git"
    assert safe_url("ssh://git@host:22/r.git") == "ssh://git@host:22/r.git"
    assert transport_of("git@host:r.git") == "ssh" and transport_of("/srv/r") == "file"
    assert transport_of("HTTPS://host/r") == "https"


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        (
            "fatal: could not read Username for 'https://h': terminal prompts disabled",
            "unauthorized",
        ),
        ("fatal: Authentication failed for 'https://h/r.git/'", "unauthorized"),
        ("git@h: Permission denied (publickey).", "unauthorized"),
        (
            "fatal: unable to access 'https://h/r/': The requested URL returned error: 403",
            "forbidden",
        ),
        ("Host key verification failed.", "host_key"),
        ("fatal: repository 'https://h/r.git/' not found", "not_found"),
        ("ERROR: Repository not found.", "not_found"),
        ("fatal: remote error: access denied or repository not exported: /r", "not_found"),
        ("fatal: couldn't find remote ref refs/heads/x", "not_found"),
        (
            "fatal: unable to access 'https://h/': server certificate verification failed.",
            "certificate",
        ),
        ("fatal: unable to access 'https://h/': Could not resolve host: h", "network"),
        ("fatal: transport 'file' not allowed", "local_refused"),
        ("fatal: something else", "other"),
    ],
)
def test_git_messages_are_classified(stderr, kind):
    assert failure_kind(stderr) == kind


def test_failures_become_typed_errors_with_argos_prefix(tmp_path):
    from drivers.git.clone import failure
    from drivers.git.connection import Session

    session = Session(
        url="https://h/r.git",
        credentials=Credentials(),
        context=DriverContext(temp_dir=tmp_path),
        insecure_skip_tls=False,
        insecure_ignore_host_key=False,
    )
    prefix = 'failed to clone "https://h/r.git"'
    for kind, code in (
        ("unauthorized", Code.UNAUTHORIZED),
        ("forbidden", Code.FORBIDDEN),
        ("host_key", Code.FORBIDDEN),
        ("not_found", Code.NOT_FOUND),
        ("certificate", Code.INTERNAL),
        ("local_refused", Code.BAD_REQUEST),
    ):
        error = failure(prefix, GitFailure("git fetch", "detail", kind=kind), session)
        assert error.code is code and not error.transient and str(error).startswith(prefix)
    network = failure(prefix, GitFailure("git fetch", "detail", kind="network"), session)
    assert network.code is Code.INTERNAL and network.transient


def test_the_revision_parser_is_go_gits():
    assert len(parse_revision("main~2^{/fix}")) == 3
    for bad, reason in (
        ("a b", 'must not contains " "'),
        ("a..b", 'must not contains ".."'),
        ("~1", '"~" or "^" statement must have a reference defined at the beginning'),
        ("main@{yesterday}", 'wrong date "yesterday"'),
    ):
        with pytest.raises(InvalidRevision, match=f"^Revision invalid : {_re(reason)}"):
            parse_revision(bad)
    assert new_hash("abcd") == "abcd" + "0" * 36
    assert new_hash("zz") == "0" * 40
    assert valid_reference_name("refs/heads/v1") and not valid_reference_name("refs/heads/a~1")


# ------------------------------------------------------------------------------ helpers


def _re(text: str) -> str:
    import re

    return re.escape(text)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"git daemon did not listen on port {port}")


def test_a_refspec_is_never_an_option(origin, clones, tmp_path):
    """go-git validates only the colons: "--upload-pack=<cmd>:x" passes, and must stay a
    refspec (git would run the command if it read it as an option)."""
    marker = tmp_path / "ran"
    spec = f"--upload-pack=touch {marker};git-upload-pack:refs/x"
    error = raises(lambda: clones.load(artifact(origin["url"], fetch=[spec])), Code.INTERNAL)
    assert str(error).startswith("failed to fetch [--upload-pack=")
    assert not marker.exists()


def test_the_environment_trusts_the_bundle_only_and_skips_tls_only_for_the_repository(tmp_path):
    from drivers.git.connection import Session

    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    session = Session(
        url="https://h/r.git",
        credentials=Credentials(),
        context=DriverContext(temp_dir=tmp_path / "t", ca_bundle=str(bundle)),
        insecure_skip_tls=True,
        insecure_ignore_host_key=True,  # without a key Argo never ignores host keys
    )
    with session:
        env = session.environment()
        assert env["GIT_SSL_CAINFO"] == str(bundle) and not os.listdir(env["GIT_SSL_CAPATH"])
        assert env["GIT_SSL_NO_VERIFY"] == "1"
        assert "GIT_SSL_NO_VERIFY" not in session.environment(submodules=True)
        assert "StrictHostKeyChecking=yes" in env["GIT_SSH_COMMAND"]
        assert env["GIT_ALLOW_PROTOCOL"] == "http:https:ssh:git"  # file: only for local repos
    assert not any((tmp_path / "t").iterdir())
